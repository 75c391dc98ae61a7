#ifndef TROVE_INTERNAL_H
#define TROVE_INTERNAL_H

#include <sys/types.h>

/// Sets a lock of `type` on one byte of `fd` at `offset` with the fcntl `command` (F_SETLK,
/// F_SETLKW, or their F_OFD_ forms), retried on EINTR. Shared by the C files of this target;
/// not part of its public header.
int trove_fcntl_lock(int fd, off_t offset, short type, int command);

#endif
