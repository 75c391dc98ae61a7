#ifndef TROVE_SYSTEM_H
#define TROVE_SYSTEM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// AT_EMPTY_PATH and RENAME_NOREPLACE, which the C library declares only with _GNU_SOURCE.
#define TROVE_AT_EMPTY_PATH 0x1000
#define TROVE_RENAME_NOREPLACE 1

/// Which calls a wrapper makes where platforms differ.
///
/// - TROVE_CALLS_NATIVE: the platform's own. On Linux: openat2, renameat2(RENAME_NOREPLACE),
///   open-file-description locks, statx. Elsewhere the same as TROVE_CALLS_PORTABLE.
/// - TROVE_CALLS_PORTABLE: POSIX calls that every platform has, even on Linux (so that tests
///   prove the fallbacks where the package is built): no openat2 (ENOSYS, and the caller walks
///   the path one component at a time with O_NOFOLLOW), link + unlink for a rename that must
///   not replace, process-associated record locks (F_SETLKW) behind a process-wide mutex per
///   locked byte, flock for try-locks, fstatat for status.
typedef enum {
    TROVE_CALLS_NATIVE = 0,
    TROVE_CALLS_PORTABLE = 1,
} trove_calls_t;

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
/// leave `dirfd` nor pass through any symbolic link. Returns the descriptor or -1 with errno set:
/// ENOSYS where the kernel lacks openat2, on every platform but Linux, and with
/// TROVE_CALLS_PORTABLE; the caller then walks the path itself.
int trove_open_beneath(int dirfd, const char *path, int flags, mode_t mode, trove_calls_t calls);

/// Renames `oldpath` to `newpath`, atomically: flags 0 replaces what `newpath` names (renameat),
/// flags 1 (RENAME_NOREPLACE) fails with EEXIST if `newpath` exists.
///
/// Natively on Linux the latter is renameat2(RENAME_NOREPLACE). Portably it is linkat, which
/// is just as atomic (it fails with EEXIST if the name exists), then unlinkat of the old name.
/// What is lost: between the two calls the file has both names, so a process that dies there
/// leaves the old name behind (a scratch file, which the file store reclaims as abandoned), and
/// a file system without hard links (FAT, some network and FUSE file systems) fails with the
/// errno of linkat (EPERM, ENOTSUP or EMLINK) instead of renaming.
int trove_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags,
                    trove_calls_t calls);

/// Takes (exclusive, `lock` 1) or releases (`lock` 0) a lock on one byte of `fd` at `offset`,
/// waiting for it. Returns 0 or -1 with errno set.
///
/// Natively on Linux an open-file-description lock: it excludes every other open file
/// description of the file, in this process or another. Portably a process-associated record
/// lock (F_SETLKW), which by itself would not exclude two descriptors of the file in one
/// process, so a process-wide mutex per (device, inode, byte) is taken first. What is lost:
/// closing any descriptor of the file in this process releases this process's record locks on
/// it, so another process may enter while a store of this process that shares the lock file
/// with a store just closed holds a byte; and a thread may hold one locked byte at a time, of
/// any file (two bytes can share a mutex, which is not recursive). The file store's critical
/// sections hold one stripe and call no other store.
int trove_lock_byte(int fd, off_t offset, int lock, trove_calls_t calls);

/// Tries to take a lock on one byte of `fd` at `offset` without waiting: `kind` 1 shared,
/// 2 exclusive, 0 releases. Returns 0, or -1 with errno EAGAIN (or EWOULDBLOCK) when another open
/// file description holds a conflicting lock.
///
/// Natively on Linux an open-file-description lock. Portably flock(2), which also belongs to
/// the open file description (so two opens in one process conflict, and the lock goes with the
/// last descriptor of it) but covers the whole file: right for a file whose only lock is byte 0.
/// Linux keeps flock and record locks apart, so a process taking one kind does not see the
/// other kind: every process on one machine must run with the same `calls`.
int trove_try_lock_byte(int fd, off_t offset, int kind, trove_calls_t calls);

/// Tries to take the exclusive lock of trove_lock_byte on one byte of `fd` at `offset`, without
/// waiting: returns 0 (release it with trove_lock_byte(fd, offset, 0, calls)), or -1 with errno
/// EAGAIN when another open file description (natively) or another thread or process
/// (portably: the process-wide mutex, then F_SETLK) holds it.
int trove_try_lock_stripe(int fd, off_t offset, trove_calls_t calls);

/// The status of `path` relative to `dirfd` (an empty path with TROVE_AT_EMPTY_PATH in `flags`
/// for the descriptor itself; AT_SYMLINK_NOFOLLOW honoured). Returns 0 or -1 with errno set.
///
/// Natively on Linux statx(2), with the birth time where the file system keeps one. Portably
/// fstat or fstatat(2): the birth time on macOS and the BSDs (st_birthtimespec), none elsewhere
/// (`has_btime` 0).
int trove_statx(int dirfd, const char *path, int flags, trove_stat_t *out, trove_calls_t calls);

/// Whether the directory open on `fd` (not yet read from) holds any entry besides `.` and `..`:
/// 1 when it does, 0 when it is empty, -1 when that cannot be told cheaply (an error, or a
/// platform or `calls` without getdents64(2)). Reads at most one small buffer of entries.
int trove_directory_has_entries(int fd, trove_calls_t calls);

/// close(2), under a name that Swift types with a `close()` of their own can call.
int trove_close(int fd);

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

/// Which locks a file store's writers take: see trove_lock_table_open.
#define TROVE_LOCKS_RECORDS 0
#define TROVE_LOCKS_MUTEXES 1

/// A table of process-shared robust mutexes in a file that every writer of a store maps.
typedef struct trove_lock_table trove_lock_table_t;

/// 1 when the file system of `fd` is a local one whose mapped pages every process on the
/// machine shares (tmpfs, ext4, xfs, btrfs, ...), 0 when it is not or may not be (NFS, SMB, FUSE,
/// 9p, and any file system not known here), -1 with errno set.
int trove_shares_mapped_pages(int fd);

/// Decides which locks this opener of a store takes, and holds that choice for as long as
/// `lockfd` (the store's lock file, open for writing) stays open.
///
/// Mutexes in the table file `name` under `dirfd` (`slot_count` of them, created and made ready
/// when no other process has the table open) where `may_use_mutexes` is 1, the file system
/// shares mapped pages and no other writer uses record locks: taking and releasing one costs no system call unless it is
/// contended, and one whose holder died is handed on (EOWNERDEAD, then made consistent). Record
/// locks (open-file-description locks on bytes of `lockfd`) otherwise. Writers of both kinds
/// never run side by side: each holds a shared lock on a byte of `lockfd` that says its kind,
/// and openers decide one at a time under an exclusive lock on another byte, joining the kind
/// in use. Returns TROVE_LOCKS_MUTEXES (with `*out` set) or TROVE_LOCKS_RECORDS (`*out` NULL),
/// or -1 with errno set: EPROTO when other writers use a table that this opener cannot use
/// (another layout, C library or architecture, or it cannot be mapped); ENOLCK when other
/// writers use the table and this opener may not use mutexes (a network file system, or
/// `may_use_mutexes` 0, which portable calls pass).
///
/// Only on Linux, where both robust mutexes and open-file-description locks exist; elsewhere
/// it returns TROVE_LOCKS_RECORDS at once and takes no lock.
int trove_lock_table_open(int lockfd, int dirfd, const char *name, uint32_t slot_count, int may_use_mutexes,
                          trove_lock_table_t **out);

/// Whether an open file description other than `lockfd`'s (another store, in this process or
/// another, or a child's inherited copy of one not yet closed by its exec) holds a writer's
/// marker on the lock file: 1 or 0, or -1 with errno set (ENOTSUP off Linux).
int trove_lock_table_has_other_writers(int lockfd);

/// How many 32-bit words a table shares beside its mutexes, all 0 when the table is made anew.
#define TROVE_LOCK_TABLE_WORDS 64

/// Word `index` of the table's shared words (acquire), 0 for an index past them.
uint32_t trove_lock_table_load_word(trove_lock_table_t *table, uint32_t index);

/// Sets word `index` of the table's shared words (release); an index past them is ignored.
void trove_lock_table_store_word(trove_lock_table_t *table, uint32_t index, uint32_t value);

/// How many changes the table's change log keeps: a reader that falls further behind reads again.
#define TROVE_CHANGE_LOG_RECORDS 2048

/// What a change did to a directory's names.
#define TROVE_CHANGE_ADDED 1
#define TROVE_CHANGE_REMOVED 2
#define TROVE_CHANGE_OTHER 3

/// The number of the last change noted in the table's change log (0 before the first).
uint64_t trove_changes_head(trove_lock_table_t *table);

/// Notes a change in the log: `operation` (TROVE_CHANGE_ADDED or _REMOVED, with the file's name;
/// TROVE_CHANGE_OTHER for one a reader cannot replay) in the directory whose identity is
/// `directory`. Writers note a change after making it and before releasing the key's lock,
/// so that the changes of one name are noted in the order they were made.
void trove_changes_note(trove_lock_table_t *table, uint64_t directory, uint32_t operation, const char *name, uint32_t length);

/// Reads change `number` into the out-parameters (`name` must hold 256 bytes). Returns 1, or 0
/// when the log no longer holds it (overwritten by a later one) or it is still being written.
int trove_changes_read(trove_lock_table_t *table, uint64_t number, uint64_t *directory, uint32_t *operation,
                       char *name, uint32_t *length);

/// Unmaps and closes a table (NULL is ignored). Its mutexes must not be held.
void trove_lock_table_close(trove_lock_table_t *table);

/// Takes mutex `slot`, waiting for it when `wait` is 1. Returns 0, EBUSY when `wait` is 0 and
/// the mutex is held, or another errno value. Sets `*recovered` to 1 when its last holder died
/// holding it. The calling thread must release it.
int trove_lock_table_lock(trove_lock_table_t *table, uint32_t slot, int wait, int *recovered);

/// Releases mutex `slot`, which the calling thread holds. Returns 0 or an errno value.
int trove_lock_table_unlock(trove_lock_table_t *table, uint32_t slot);

#endif
