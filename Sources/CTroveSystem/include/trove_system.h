#ifndef TROVE_SYSTEM_H
#define TROVE_SYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// AT_EMPTY_PATH and RENAME_NOREPLACE, which the C library declares only with _GNU_SOURCE.
#define TROVE_AT_EMPTY_PATH 0x1000
#define TROVE_RENAME_NOREPLACE 1

/// File status as Trove needs it, filled by trove_statx.
typedef struct {
    uint64_t size;
    uint32_t mode;
    uint64_t inode;
    int64_t mtime_sec;
    uint32_t mtime_nsec;
    int64_t ctime_sec;
    uint32_t ctime_nsec;
    int64_t btime_sec;
    uint32_t btime_nsec;
    int has_btime;
} trove_stat_t;

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: `path` may not
/// leave `dirfd` nor pass through any symbolic link. Returns the descriptor or -1 with errno set
/// (ENOSYS where the kernel lacks openat2).
int trove_open_beneath(int dirfd, const char *path, int flags, mode_t mode);

/// renameat2(2); flags 1 = RENAME_NOREPLACE.
int trove_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);

/// Takes (exclusive) or releases an open-file-description lock on one byte of `fd` at `offset`,
/// waiting for it. Returns 0 or -1 with errno set.
int trove_lock_byte(int fd, off_t offset, int lock);

/// Tries to take an open-file-description lock on one byte of `fd` at `offset` without waiting:
/// `kind` 1 shared, 2 exclusive, 0 releases. Returns 0, or -1 with errno EAGAIN when another open
/// file description holds a conflicting lock.
int trove_try_lock_byte(int fd, off_t offset, int kind);

/// statx(2) of `path` relative to `dirfd` (an empty path with AT_EMPTY_PATH in `flags` for the
/// descriptor itself). Returns 0 or -1 with errno set.
int trove_statx(int dirfd, const char *path, int flags, trove_stat_t *out);

/// Writes all of `a` then all of `b` then all of `c` (any may be empty), retrying short writes.
/// Returns 0 or -1 with errno set.
int trove_write3(int fd, const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen);

/// Reads up to `alen` bytes into `a` and then up to `blen` into `b` from offset 0, retrying
/// short reads until end of file. Returns the total read or -1 with errno set.
ssize_t trove_read2(int fd, void *a, size_t alen, void *b, size_t blen);

/// pread(2) that retries short reads until `len` bytes or end of file. Returns the total or -1.
ssize_t trove_pread_full(int fd, void *buf, size_t len, off_t offset);

/// The kernel's real-time clock (the clock file timestamps come from), in nanoseconds since 1970.
int64_t trove_realtime_ns(void);

/// errno of the calling thread.
int trove_errno(void);

#endif
