/*
 * The horus-camsim command line.
 */
#ifndef HORUS_CAMSIM_ARGS_H
#define HORUS_CAMSIM_ARGS_H

#include "camsim.h"

/*
 * Fills out from argv (strings in out are borrowed from argv). Returns 0;
 * 1 when --help was printed (exit 0); or -EINVAL after printing what is
 * wrong and the usage to stderr (exit 2).
 */
int cs_options_parse(int argc, char **argv, cs_options *out);

#endif
