#define _GNU_SOURCE
#include "trove_system.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int trove_open_beneath(int dirfd, const char *path, int flags, mode_t mode) {
#ifdef SYS_openat2
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
#else
    errno = ENOSYS;
    return -1;
#endif
}

int trove_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, flags);
}

int trove_lock_byte(int fd, off_t offset, int lock) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = lock ? F_WRLCK : F_UNLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = offset;
    fl.l_len = 1;
    int result;
    do {
        result = fcntl(fd, lock ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
    } while (result < 0 && errno == EINTR);
    return result;
}

int trove_try_lock_byte(int fd, off_t offset, int kind) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = kind == 2 ? F_WRLCK : (kind == 1 ? F_RDLCK : F_UNLCK);
    fl.l_whence = SEEK_SET;
    fl.l_start = offset;
    fl.l_len = 1;
    int result;
    do {
        result = fcntl(fd, F_OFD_SETLK, &fl);
    } while (result < 0 && errno == EINTR);
    return result;
}

int trove_statx(int dirfd, const char *path, int flags, trove_stat_t *out) {
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
