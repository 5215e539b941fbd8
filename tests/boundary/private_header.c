/*
 * Compiled with the api library's include path (tests/CMakeLists.txt):
 * storage's private header must not be found, so this must fail to build.
 * The test build.boundary_private_header expects exactly that failure.
 */
#include "storage_int.h"

int boundary_probe(void);
int boundary_probe(void)
{
    return 0;
}
