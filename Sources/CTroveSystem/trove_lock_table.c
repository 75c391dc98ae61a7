#ifdef __linux__
#define _GNU_SOURCE
#endif
#include "trove_system.h"
#include "trove_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/vfs.h>
#endif

/// The bytes of the lock file, beyond its stripes, that say which locks the store's writers use.
/// Every writer holds a shared lock on the byte of its kind for as long as it has the store open;
/// openers decide their kind one at a time, under an exclusive lock on the third byte.
#define TROVE_MARKER_MUTEXES ((off_t)1 << 20)
#define TROVE_MARKER_RECORDS (((off_t)1 << 20) + 1)
#define TROVE_MARKER_OPENING (((off_t)1 << 20) + 2)

#define TROVE_TABLE_MAGIC "TROVELCK"
#define TROVE_TABLE_VERSION 2u
#define TROVE_TABLE_SLOT_SIZE 64u
#define TROVE_TABLE_FIRST_SLOT 4096u
/// Where the table's shared words lie, after the header and before the first slot.
#define TROVE_TABLE_WORDS_OFFSET 512u

#if defined(__GLIBC__)
#define TROVE_TABLE_LIBC "glibc"
#else
#define TROVE_TABLE_LIBC "libc"
#endif
#if defined(__x86_64__)
#define TROVE_TABLE_ARCH "x86_64"
#elif defined(__aarch64__)
#define TROVE_TABLE_ARCH "aarch64"
#else
#define TROVE_TABLE_ARCH "other"
#endif

_Static_assert(sizeof(pthread_mutex_t) <= TROVE_TABLE_SLOT_SIZE, "a mutex fits its slot");

/// The first bytes of the table file. Every process that maps the table checks them all: a
/// table written by a different C library or architecture lays its mutexes out differently.
typedef struct {
    char magic[8];
    uint32_t version;
    uint32_t slot_count;
    uint32_t slot_size;
    uint32_t mutex_size;
    char abi[24];
    uint32_t ready;
} trove_table_header_t;

_Static_assert(sizeof(trove_table_header_t) <= TROVE_TABLE_WORDS_OFFSET, "the header fits before the words");
_Static_assert(TROVE_TABLE_WORDS_OFFSET + TROVE_LOCK_TABLE_WORDS * sizeof(uint32_t) <= TROVE_TABLE_FIRST_SLOT,
               "the words fit before the first slot");

/// One change of a directory's names in the change log.
typedef struct {
    /// The change's number, or 0 while it is being written (a sequence lock around the rest).
    uint64_t sequence;
    uint64_t directory;
    uint32_t operation;
    uint32_t length;
    char name[256];
} trove_change_record_t;

struct trove_lock_table {
    int fd;
    uint32_t slot_count;
    size_t length;
    unsigned char *base;
    /// The number of the last change noted (the log's head), then the records.
    uint64_t *head;
    trove_change_record_t *records;
};

static size_t trove_table_log_offset(uint32_t slot_count) {
    size_t end = TROVE_TABLE_FIRST_SLOT + (size_t)slot_count * TROVE_TABLE_SLOT_SIZE;
    return (end + 63) & ~(size_t)63;
}

static int trove_ofd_lock(int fd, off_t offset, short type, int wait) {
#ifdef __linux__
    return trove_fcntl_lock(fd, offset, type, wait ? F_OFD_SETLKW : F_OFD_SETLK);
#else
    (void)fd; (void)offset; (void)type; (void)wait;
    errno = ENOTSUP;
    return -1;
#endif
}

/// Whether another open file description holds any lock on byte `offset` of `fd`: 1, 0, or -1.
static int trove_ofd_held_elsewhere(int fd, off_t offset) {
#ifdef __linux__
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = offset;
    fl.l_len = 1;
    if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return -1;
    return fl.l_type != F_UNLCK;
#else
    (void)fd; (void)offset;
    errno = ENOTSUP;
    return -1;
#endif
}

int trove_shares_mapped_pages(int fd) {
#ifdef __linux__
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return -1;
    switch ((unsigned long)fs.f_type) {
    case 0x01021994UL:  // tmpfs
    case 0x858458f6UL:  // ramfs
    case 0xEF53UL:      // ext2, ext3, ext4
    case 0x58465342UL:  // xfs
    case 0x9123683EUL:  // btrfs
    case 0xF2F52010UL:  // f2fs
    case 0x2FC12FC1UL:  // zfs
    case 0xCA451A4EUL:  // bcachefs
    case 0x794C7630UL:  // overlayfs
        return 1;
    default:
        return 0;
    }
#else
    (void)fd;
    return 0;
#endif
}

static void trove_table_fill_header(trove_table_header_t *header, uint32_t slot_count) {
    memset(header, 0, sizeof *header);
    memcpy(header->magic, TROVE_TABLE_MAGIC, 8);
    header->version = TROVE_TABLE_VERSION;
    header->slot_count = slot_count;
    header->slot_size = TROVE_TABLE_SLOT_SIZE;
    header->mutex_size = (uint32_t)sizeof(pthread_mutex_t);
    strncpy(header->abi, TROVE_TABLE_LIBC " " TROVE_TABLE_ARCH, sizeof header->abi - 1);
}

static pthread_mutex_t *trove_table_slot(trove_lock_table_t *table, uint32_t slot) {
    return (pthread_mutex_t *)(table->base + TROVE_TABLE_FIRST_SLOT + (size_t)slot * TROVE_TABLE_SLOT_SIZE);
}

/// Makes every mutex of a mapped table new and marks the table ready. Only while no other
/// process has the table open (the caller holds the opening lock and saw no other user).
static int trove_table_initialize(trove_lock_table_t *table) {
    trove_table_header_t *header = (trove_table_header_t *)table->base;
    header->ready = 0;
    pthread_mutexattr_t attributes;
    if (pthread_mutexattr_init(&attributes) != 0) return -1;
    int failed = pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED) != 0;
#ifdef __linux__
    failed = failed || pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST) != 0;
#else
    failed = 1;
#endif
    for (uint32_t slot = 0; !failed && slot < table->slot_count; slot++) {
        pthread_mutex_t *mutex = trove_table_slot(table, slot);
        memset(mutex, 0, TROVE_TABLE_SLOT_SIZE);
        failed = pthread_mutex_init(mutex, &attributes) != 0;
    }
    pthread_mutexattr_destroy(&attributes);
    if (failed) {
        errno = ENOTSUP;
        return -1;
    }
    memset(table->base + TROVE_TABLE_WORDS_OFFSET, 0, TROVE_LOCK_TABLE_WORDS * sizeof(uint32_t));
    memset(table->head, 0, 64 + TROVE_CHANGE_LOG_RECORDS * sizeof(trove_change_record_t));
    trove_table_header_t fresh;
    trove_table_fill_header(&fresh, table->slot_count);
    fresh.ready = 0;
    memcpy(header, &fresh, sizeof fresh);
    __atomic_store_n(&header->ready, 1u, __ATOMIC_RELEASE);
    return 0;
}

/// Whether the mapped table's header is the one this build writes, and ready.
static int trove_table_header_matches(trove_lock_table_t *table) {
    trove_table_header_t expected;
    trove_table_fill_header(&expected, table->slot_count);
    trove_table_header_t *header = (trove_table_header_t *)table->base;
    expected.ready = __atomic_load_n(&header->ready, __ATOMIC_ACQUIRE);
    return expected.ready == 1 && memcmp(header, &expected, sizeof expected) == 0;
}

static void trove_table_unmap(trove_lock_table_t *table) {
    if (table->base != NULL) munmap(table->base, table->length);
    if (table->fd >= 0) close(table->fd);
    free(table);
}

/// Maps the table file `name` (created if missing) and makes it usable; the caller holds the
/// opening lock. `alone`: no other process has the table open, so it may be made anew.
static trove_lock_table_t *trove_table_map(int dirfd, const char *name, uint32_t slot_count, int alone) {
    trove_lock_table_t *table = calloc(1, sizeof *table);
    if (table == NULL) return NULL;
    table->fd = -1;
    table->slot_count = slot_count;
    table->length = trove_table_log_offset(slot_count) + 64 + TROVE_CHANGE_LOG_RECORDS * sizeof(trove_change_record_t);
    int saved;
    table->fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (table->fd < 0) goto fail;
    struct stat status;
    if (fstat(table->fd, &status) != 0) goto fail;
    if (!S_ISREG(status.st_mode)) {
        errno = EPROTO;
        goto fail;
    }
    if ((size_t)status.st_size != table->length) {
        if (!alone) {
            errno = EPROTO;  // in use, yet not laid out as this build lays it out
            goto fail;
        }
        if (ftruncate(table->fd, 0) != 0) goto fail;
    }
    if (alone) {
        // Every page of the table gets its blocks now: a page first touched through the mapping
        // on a full file system would kill the process (SIGBUS) instead of failing here.
        int allocated = posix_fallocate(table->fd, 0, (off_t)table->length);
        if (allocated != 0) {
            errno = allocated;
            goto fail;
        }
    }
    void *base = mmap(NULL, table->length, PROT_READ | PROT_WRITE, MAP_SHARED, table->fd, 0);
    if (base == MAP_FAILED) goto fail;
    table->base = base;
    // The mapping keeps the file; its descriptor is not needed any more.
    close(table->fd);
    table->fd = -1;
    table->head = (uint64_t *)(table->base + trove_table_log_offset(slot_count));
    table->records = (trove_change_record_t *)(table->base + trove_table_log_offset(slot_count) + 64);
    if (alone) {
        // Nobody holds any of these mutexes: make them anew, which also clears any left locked
        // by a process that a reboot ended (its death was never seen by a robust-list walk).
        if (trove_table_initialize(table) != 0) goto fail;
    } else if (!trove_table_header_matches(table)) {
        errno = EPROTO;
        goto fail;
    }
    return table;
fail:
    saved = errno;
    trove_table_unmap(table);
    errno = saved;
    return NULL;
}

int trove_lock_table_open(int lockfd, int dirfd, const char *name, uint32_t slot_count, int may_use_mutexes,
                          trove_lock_table_t **out) {
    *out = NULL;
#ifndef __linux__
    (void)lockfd; (void)dirfd; (void)name; (void)slot_count; (void)may_use_mutexes;
    return TROVE_LOCKS_RECORDS;
#else
    int prefers_mutexes = may_use_mutexes && trove_shares_mapped_pages(dirfd) == 1;
    if (trove_ofd_lock(lockfd, TROVE_MARKER_OPENING, F_WRLCK, 1) != 0) return -1;
    int result = -1;
    int mutexes_elsewhere = trove_ofd_held_elsewhere(lockfd, TROVE_MARKER_MUTEXES);
    int records_elsewhere = trove_ofd_held_elsewhere(lockfd, TROVE_MARKER_RECORDS);
    if (mutexes_elsewhere < 0 || records_elsewhere < 0) goto done;
    if (mutexes_elsewhere && records_elsewhere) {
        errno = EPROTO;  // cannot happen while every opener follows these rules
        goto done;
    }
    if (mutexes_elsewhere && !prefers_mutexes) {
        // Writers elsewhere use the table, which this opener may not share (a network file
        // system's client: its mapped pages are not theirs). Record locks would not exclude them.
        errno = ENOLCK;
        goto done;
    }
    int uses_mutexes = mutexes_elsewhere || (prefers_mutexes && !records_elsewhere);
    if (uses_mutexes) {
        trove_lock_table_t *table = trove_table_map(dirfd, name, slot_count, !mutexes_elsewhere);
        if (table == NULL) {
            // Other writers use this table: none may use record locks beside them.
            if (mutexes_elsewhere) goto done;
            uses_mutexes = 0;
        } else {
            *out = table;
        }
    }
    if (trove_ofd_lock(lockfd, uses_mutexes ? TROVE_MARKER_MUTEXES : TROVE_MARKER_RECORDS, F_RDLCK, 0) != 0) {
        if (*out != NULL) {
            int saved = errno;
            trove_table_unmap(*out);
            *out = NULL;
            errno = saved;
        }
        goto done;
    }
    result = uses_mutexes ? TROVE_LOCKS_MUTEXES : TROVE_LOCKS_RECORDS;
done:;
    int saved = errno;
    (void)trove_ofd_lock(lockfd, TROVE_MARKER_OPENING, F_UNLCK, 0);
    errno = saved;
    return result;
#endif
}

int trove_lock_table_has_other_writers(int lockfd) {
    int mutexes = trove_ofd_held_elsewhere(lockfd, TROVE_MARKER_MUTEXES);
    if (mutexes != 0) return mutexes;
    return trove_ofd_held_elsewhere(lockfd, TROVE_MARKER_RECORDS);
}

void trove_lock_table_close(trove_lock_table_t *table) {
    if (table != NULL) trove_table_unmap(table);
}

int trove_lock_table_lock(trove_lock_table_t *table, uint32_t slot, int wait, int *recovered) {
    if (slot >= table->slot_count) return EINVAL;
    pthread_mutex_t *mutex = trove_table_slot(table, slot);
    int result = wait ? pthread_mutex_lock(mutex) : pthread_mutex_trylock(mutex);
#ifdef __linux__
    if (result == EOWNERDEAD) {
        // Its holder died inside a critical section. Those are single atomic file-system calls,
        // so what the mutex guards is whole: mark the mutex usable again and go on.
        if (recovered != NULL) *recovered = 1;
        result = pthread_mutex_consistent(mutex);
    }
#endif
    return result;
}

int trove_lock_table_unlock(trove_lock_table_t *table, uint32_t slot) {
    if (slot >= table->slot_count) return EINVAL;
    return pthread_mutex_unlock(trove_table_slot(table, slot));
}

static uint32_t *trove_table_word(trove_lock_table_t *table, uint32_t index) {
    return (uint32_t *)(table->base + TROVE_TABLE_WORDS_OFFSET) + index;
}

uint32_t trove_lock_table_load_word(trove_lock_table_t *table, uint32_t index) {
    if (index >= TROVE_LOCK_TABLE_WORDS) return 0;
    return __atomic_load_n(trove_table_word(table, index), __ATOMIC_ACQUIRE);
}

void trove_lock_table_store_word(trove_lock_table_t *table, uint32_t index, uint32_t value) {
    if (index >= TROVE_LOCK_TABLE_WORDS) return;
    __atomic_store_n(trove_table_word(table, index), value, __ATOMIC_RELEASE);
}

uint64_t trove_changes_head(trove_lock_table_t *table) {
    return __atomic_load_n(table->head, __ATOMIC_ACQUIRE);
}

void trove_changes_note(trove_lock_table_t *table, uint64_t directory, uint32_t operation, const char *name, uint32_t length) {
    uint64_t number = __atomic_add_fetch(table->head, 1, __ATOMIC_ACQ_REL);
    trove_change_record_t *record = &table->records[number % TROVE_CHANGE_LOG_RECORDS];
    __atomic_store_n(&record->sequence, 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    record->directory = directory;
    if (length > sizeof record->name) {
        // Longer than any file name: noted as a change that cannot be replayed.
        operation = TROVE_CHANGE_OTHER;
        length = 0;
    }
    record->operation = operation;
    record->length = length;
    if (length > 0) memcpy(record->name, name, length);
    __atomic_store_n(&record->sequence, number, __ATOMIC_RELEASE);
}

int trove_changes_read(trove_lock_table_t *table, uint64_t number, uint64_t *directory, uint32_t *operation,
                       char *name, uint32_t *length) {
    trove_change_record_t *record = &table->records[number % TROVE_CHANGE_LOG_RECORDS];
    if (__atomic_load_n(&record->sequence, __ATOMIC_ACQUIRE) != number) return 0;
    *directory = record->directory;
    *operation = record->operation;
    uint32_t stored = record->length;
    if (stored > sizeof record->name) return 0;
    memcpy(name, record->name, stored);
    *length = stored;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&record->sequence, __ATOMIC_RELAXED) == number;
}
