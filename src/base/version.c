/* DESIGN: the only translation unit that sees the HORUS_VERSION/HORUS_GIT definitions. */
#include "version.h"

const char *horus_version(void)
{
    return HORUS_VERSION;
}

const char *horus_git_describe(void)
{
    return HORUS_GIT;
}
