/* Tests for src/base/fs.c: directory paths made once, and directory fsync. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdirs_makes_every_level_and_says_when_the_last_is_new(void **state)
{
    char root[] = "/tmp/horus-fs-XXXXXX";
    assert_non_null(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof(path), "%s/a/b/c", root);
    bool created = false;
    assert_int_equal(fs_mkdirs(path, &created), 0);
    assert_true(created && is_dir(path));
    assert_int_equal(fs_mkdirs(path, &created), 0);
    assert_false(created);
    assert_int_equal(fs_fsync_dir(path), 0);

    /* Only the parents of a file path. */
    char file[300];
    snprintf(file, sizeof(file), "%s/x/y/horus.db", root);
    assert_int_equal(fs_mkdirs_for(file), 0);
    snprintf(path, sizeof(path), "%s/x/y", root);
    assert_true(is_dir(path));
    assert_false(is_dir(file));

    /* A file in the way is an error, not a silent success. */
    snprintf(file, sizeof(file), "%s/plain", root);
    fclose(fopen(file, "w"));
    snprintf(path, sizeof(path), "%s/plain/sub", root);
    assert_int_equal(fs_mkdirs(path, NULL), -ENOTDIR);
    assert_int_equal(fs_fsync_dir("/nonexistent/horus"), -ENOENT);
    assert_int_equal(fs_mkdirs("", NULL), -EINVAL);

    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mkdirs_makes_every_level_and_says_when_the_last_is_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
