/*
 * Compiled with the api library's include path (tests/CMakeLists.txt):
 * another module's public header is visible, so this must build. It is the
 * control for private_header.c, which differs only in the header it names.
 */
#include "storage.h"

int boundary_probe(void);
int boundary_probe(void)
{
    return 0;
}
