/*
 * File-system helpers every module that makes durable files needs: create a
 * directory path, fsync a directory so that a create or rename in it
 * survives power loss (docs/design/0003-recording-files.md), and write a
 * whole buffer at an offset. One copy here instead of one per module.
 * Thread: any.
 */
#ifndef HORUS_FS_H
#define HORUS_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iovec;

/*
 * mkdir -p with mode 0700 (owner only: recordings and the database are private). *created (may be
 * NULL) tells whether the last component was made now. Returns 0 or -errno (-ENAMETOOLONG past
 * PATH_MAX).
 */
int fs_mkdirs(const char *path, bool *created);

/* Like fs_mkdirs for the directory part of file_path ("a/b/c.db" makes a/b). */
int fs_mkdirs_for(const char *file_path);

/* fsync(2) of the directory dir. Returns 0 or -errno. */
int fs_fsync_dir(const char *dir);

/*
 * pwritev(2) of all of iov at offset, going on after short writes and
 * EINTR (iov is consumed: its entries are advanced). Returns 0, -EIO when
 * the kernel writes nothing, or -errno.
 */
int fs_pwritev_all(int fd, struct iovec *iov, int n, uint64_t offset);

/* fs_pwritev_all of one buffer. */
int fs_pwrite_all(int fd, const void *buf, size_t n, uint64_t offset);

#endif
