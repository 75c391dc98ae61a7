#ifndef TROVE_TEST_SPAWN_H
#define TROVE_TEST_SPAWN_H

#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (both NULL-terminated) in `directory` (or this
/// process's own when NULL), its standard input, output and error on `input`, `output` and
/// `error`, and every other descriptor closed. Returns 0 and the child's PID in `pid`, or an
/// errno value.
///
/// Foundation's Process on Linux (Swift 6.3) copies whole `dirent` names while it scans
/// /proc/self/fd before each spawn, which reads past glibc's buffer and now and then crashes a
/// process with many descriptors open; this spawns without that scan.
int trove_test_spawn(const char *path, char *const argv[], char *const envp[], const char *directory,
                     int input, int output, int error, pid_t *pid);

/// Opens a new pseudo-terminal in raw mode (no translation of line breaks): returns 0 with its
/// controlling side in `controller` and its terminal side (for a child's standard stream) in
/// `terminal`, both close-on-exec, or an errno value.
int trove_test_open_pseudo_terminal(int *controller, int *terminal);

#endif
