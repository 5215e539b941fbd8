/* DESIGN: see fs.h. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* Makes every directory of buf up to its end, or up to its last '/' when only_parents. */
static int make_path(char *buf, bool only_parents, bool *created)
{
    if (created)
        *created = false;
    for (char *p = buf + 1;; p++) {
        bool is_end = *p == '\0';
        if (*p != '/' && !is_end)
            continue;
        if (is_end && only_parents)
            return 0;
        *p = '\0';
        if (mkdir(buf, 0700) == 0) {
            if (created)
                *created = is_end;
        } else if (errno != EEXIST) {
            return -errno;
        }
        if (is_end)
            return 0;
        *p = '/';
    }
}

int fs_mkdirs(const char *path, bool *created)
{
    char buf[PATH_MAX];
    if (!path[0] || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return path[0] ? -ENAMETOOLONG : -EINVAL;
    return make_path(buf, false, created);
}

int fs_mkdirs_for(const char *file_path)
{
    char buf[PATH_MAX];
    if (!file_path[0] || snprintf(buf, sizeof(buf), "%s", file_path) >= (int)sizeof(buf))
        return file_path[0] ? -ENAMETOOLONG : -EINVAL;
    return make_path(buf, true, NULL);
}

int fs_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

int fs_pwritev_all(int fd, struct iovec *iov, int n, uint64_t offset)
{
    while (n > 0) {
        ssize_t w = pwritev(fd, iov, n, (off_t)offset);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        offset += (uint64_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int fs_pwrite_all(int fd, const void *buf, size_t n, uint64_t offset)
{
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return fs_pwritev_all(fd, &iov, 1, offset);
}
