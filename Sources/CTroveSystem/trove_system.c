#ifdef __linux__
#define _GNU_SOURCE
#endif
#include "trove_system.h"
#include "trove_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

/// The mutexes that make process-associated record locks exclude two descriptors of one file in
/// one process: one per (device, inode, byte), hashed into a fixed table. Two bytes that share a
/// slot only wait for each other.
#define TROVE_LOCK_SLOTS 1024
static pthread_mutex_t trove_lock_slots[TROVE_LOCK_SLOTS];
static pthread_once_t trove_lock_slots_once = PTHREAD_ONCE_INIT;

static void trove_lock_slots_init(void) {
    for (int i = 0; i < TROVE_LOCK_SLOTS; i++) pthread_mutex_init(&trove_lock_slots[i], NULL);
}

static pthread_mutex_t *trove_lock_slot(int fd, off_t offset) {
    struct stat st;
    if (fstat(fd, &st) != 0) return NULL;
    pthread_once(&trove_lock_slots_once, trove_lock_slots_init);
    uint64_t hash = 1469598103934665603ULL;
    uint64_t parts[3] = { (uint64_t)st.st_dev, (uint64_t)st.st_ino, (uint64_t)offset };
    for (int i = 0; i < 3; i++) {
        hash ^= parts[i];
        hash *= 1099511628211ULL;
        hash ^= hash >> 29;
    }
    return &trove_lock_slots[hash % TROVE_LOCK_SLOTS];
}

/// Sets a lock of `type` on one byte of `fd` at `offset` with the fcntl `command` (F_SETLK,
/// F_SETLKW, or their F_OFD_ forms), retried on EINTR.
int trove_fcntl_lock(int fd, off_t offset, short type, int command) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = offset;
    fl.l_len = 1;
    int result;
    do {
        result = fcntl(fd, command, &fl);
    } while (result < 0 && errno == EINTR);
    return result;
}

static int trove_record_lock(int fd, off_t offset, short type, int wait) {
    return trove_fcntl_lock(fd, offset, type, wait ? F_SETLKW : F_SETLK);
}

static int trove_portable_lock_byte(int fd, off_t offset, int lock) {
    pthread_mutex_t *slot = trove_lock_slot(fd, offset);
    if (slot == NULL) return -1;
    if (lock) {
        pthread_mutex_lock(slot);
        if (trove_record_lock(fd, offset, F_WRLCK, 1) != 0) {
            int saved = errno;
            pthread_mutex_unlock(slot);
            errno = saved;
            return -1;
        }
        return 0;
    }
    int result = trove_record_lock(fd, offset, F_UNLCK, 0);
    int saved = errno;
    pthread_mutex_unlock(slot);
    errno = saved;
    return result;
}

static int trove_portable_try_lock_byte(int fd, off_t offset) {
    pthread_mutex_t *slot = trove_lock_slot(fd, offset);
    if (slot == NULL) return -1;
    if (pthread_mutex_trylock(slot) != 0) {
        errno = EAGAIN;
        return -1;
    }
    if (trove_record_lock(fd, offset, F_WRLCK, 0) != 0) {
        int saved = errno;
        pthread_mutex_unlock(slot);
        errno = (saved == EACCES || saved == EWOULDBLOCK) ? EAGAIN : saved;
        return -1;
    }
    return 0;
}

static int trove_portable_try_lock(int fd, int kind) {
    int operation = kind == 2 ? LOCK_EX | LOCK_NB : (kind == 1 ? LOCK_SH | LOCK_NB : LOCK_UN);
    int result;
    do {
        result = flock(fd, operation);
    } while (result < 0 && errno == EINTR);
    if (result < 0 && errno == EWOULDBLOCK) errno = EAGAIN;
    return result;
}

static int trove_portable_stat(int dirfd, const char *path, int flags, trove_stat_t *out) {
    struct stat st;
    int result = (flags & TROVE_AT_EMPTY_PATH) && path[0] == 0
        ? fstat(dirfd, &st)
        : fstatat(dirfd, path, &st, flags & AT_SYMLINK_NOFOLLOW);
    if (result != 0) return -1;
    out->size = (uint64_t)st.st_size;
    out->mode = (uint32_t)st.st_mode;
    out->inode = (uint64_t)st.st_ino;
#ifdef __APPLE__
    out->mtime_sec = st.st_mtimespec.tv_sec;
    out->mtime_nsec = (uint32_t)st.st_mtimespec.tv_nsec;
    out->ctime_sec = st.st_ctimespec.tv_sec;
    out->ctime_nsec = (uint32_t)st.st_ctimespec.tv_nsec;
    out->has_btime = 1;
    out->btime_sec = st.st_birthtimespec.tv_sec;
    out->btime_nsec = (uint32_t)st.st_birthtimespec.tv_nsec;
#else
    out->mtime_sec = st.st_mtim.tv_sec;
    out->mtime_nsec = (uint32_t)st.st_mtim.tv_nsec;
    out->ctime_sec = st.st_ctim.tv_sec;
    out->ctime_nsec = (uint32_t)st.st_ctim.tv_nsec;
    out->has_btime = 0;
    out->btime_sec = 0;
    out->btime_nsec = 0;
#endif
    return 0;
}

static int trove_portable_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    if (linkat(olddirfd, oldpath, newdirfd, newpath, 0) != 0) return -1;
    // The new name is in place: the rename has happened, whatever becomes of the old name.
    (void)unlinkat(olddirfd, oldpath, 0);
    return 0;
}

int trove_open_beneath(int dirfd, const char *path, int flags, mode_t mode, trove_calls_t calls) {
#if defined(__linux__) && defined(SYS_openat2)
    if (calls == TROVE_CALLS_NATIVE) {
        struct open_how how;
        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)flags;
        how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
        long fd;
        do {
            fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
        return (int)fd;
    }
#endif
    (void)dirfd; (void)path; (void)flags; (void)mode; (void)calls;
    errno = ENOSYS;
    return -1;
}

int trove_directory_has_entries(int fd, trove_calls_t calls) {
#if defined(__linux__) && defined(SYS_getdents64)
    if (calls == TROVE_CALLS_NATIVE) {
        /* Room for a few entries: "." and "..", and one more if there is one. */
        _Alignas(8) char buffer[512];
        for (;;) {
            long count = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
            if (count < 0) return -1;
            if (count == 0) return 0;
            for (long offset = 0; offset < count; ) {
                /* struct linux_dirent64: inode (8), offset (8), record length (2), type (1), name. */
                unsigned short length;
                memcpy(&length, buffer + offset + 16, sizeof length);
                const char *name = buffer + offset + 19;
                if (!(name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0)))) return 1;
                if (length == 0) return -1;
                offset += length;
            }
        }
    }
#endif
    (void)fd;
    (void)calls;
    return -1;
}

int trove_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags,
                    trove_calls_t calls) {
    if (flags == 0) return renameat(olddirfd, oldpath, newdirfd, newpath);
#ifdef __linux__
    if (calls == TROVE_CALLS_NATIVE) return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
#endif
    (void)calls;
    if (flags != TROVE_RENAME_NOREPLACE) {
        errno = EINVAL;
        return -1;
    }
    return trove_portable_rename_noreplace(olddirfd, oldpath, newdirfd, newpath);
}

int trove_lock_byte(int fd, off_t offset, int lock, trove_calls_t calls) {
#ifdef __linux__
    if (calls == TROVE_CALLS_NATIVE) {
        int result = trove_fcntl_lock(fd, offset, lock ? F_WRLCK : F_UNLCK, lock ? F_OFD_SETLKW : F_OFD_SETLK);
        return result;
    }
#endif
    (void)calls;
    return trove_portable_lock_byte(fd, offset, lock);
}

int trove_try_lock_byte(int fd, off_t offset, int kind, trove_calls_t calls) {
#ifdef __linux__
    if (calls == TROVE_CALLS_NATIVE) {
        int result = trove_fcntl_lock(fd, offset, kind == 2 ? F_WRLCK : (kind == 1 ? F_RDLCK : F_UNLCK), F_OFD_SETLK);
        return result;
    }
#endif
    (void)calls; (void)offset;
    return trove_portable_try_lock(fd, kind);
}

int trove_try_lock_stripe(int fd, off_t offset, trove_calls_t calls) {
#ifdef __linux__
    if (calls == TROVE_CALLS_NATIVE) {
        int result = trove_fcntl_lock(fd, offset, F_WRLCK, F_OFD_SETLK);
        if (result < 0 && errno == EACCES) errno = EAGAIN;
        return result;
    }
#endif
    (void)calls;
    return trove_portable_try_lock_byte(fd, offset);
}

int trove_statx(int dirfd, const char *path, int flags, trove_stat_t *out, trove_calls_t calls) {
#ifdef __linux__
    if (calls == TROVE_CALLS_NATIVE) {
        struct statx sx;
        if (statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) return -1;
        out->size = sx.stx_size;
        out->mode = sx.stx_mode;
        out->inode = sx.stx_ino;
        out->mtime_sec = sx.stx_mtime.tv_sec;
        out->mtime_nsec = sx.stx_mtime.tv_nsec;
        out->ctime_sec = sx.stx_ctime.tv_sec;
        out->ctime_nsec = sx.stx_ctime.tv_nsec;
        out->has_btime = (sx.stx_mask & STATX_BTIME) != 0;
        out->btime_sec = out->has_btime ? sx.stx_btime.tv_sec : 0;
        out->btime_nsec = out->has_btime ? sx.stx_btime.tv_nsec : 0;
        return 0;
    }
#endif
    (void)calls;
    return trove_portable_stat(dirfd, path, flags, out);
}

int trove_close(int fd) { return close(fd); }

int trove_write3(int fd, const void *a, size_t alen, const void *b, size_t blen, const void *c, size_t clen) {
    struct iovec iov[3] = {
        { (void *)a, alen }, { (void *)b, blen }, { (void *)c, clen },
    };
    int first = 0;
    while (first < 3) {
        if (iov[first].iov_len == 0) { first++; continue; }
        ssize_t written = writev(fd, iov + first, 3 - first);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        size_t left = (size_t)written;
        while (first < 3 && left >= iov[first].iov_len) {
            left -= iov[first].iov_len;
            iov[first].iov_len = 0;
            first++;
        }
        if (first < 3) {
            iov[first].iov_base = (char *)iov[first].iov_base + left;
            iov[first].iov_len -= left;
        }
    }
    return 0;
}

ssize_t trove_read2(int fd, void *a, size_t alen, void *b, size_t blen) {
    struct iovec iov[2] = { { a, alen }, { b, blen } };
    size_t total = 0;
    int first = 0;
    while (first < 2) {
        if (iov[first].iov_len == 0) { first++; continue; }
        ssize_t got = readv(fd, iov + first, 2 - first);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) break;
        total += (size_t)got;
        size_t left = (size_t)got;
        while (first < 2 && left >= iov[first].iov_len) {
            left -= iov[first].iov_len;
            iov[first].iov_len = 0;
            first++;
        }
        if (first < 2) {
            iov[first].iov_base = (char *)iov[first].iov_base + left;
            iov[first].iov_len -= left;
        }
    }
    return (ssize_t)total;
}

ssize_t trove_pread_full(int fd, void *buf, size_t len, off_t offset) {
    size_t total = 0;
    while (total < len) {
        ssize_t got = pread(fd, (char *)buf + total, len - total, offset + (off_t)total);
        if (got < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (got == 0) break;
        total += (size_t)got;
    }
    return (ssize_t)total;
}

int64_t trove_realtime_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

int trove_errno(void) { return errno; }
