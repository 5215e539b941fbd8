/* DESIGN: see fs.h. */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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
        if (mkdir(buf, 0750) == 0) {
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
