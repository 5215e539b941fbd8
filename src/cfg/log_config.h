/* The `log:` section of horus.yaml, owned by base/log (docs/conventions.md §7). */
#ifndef HORUS_LOG_CONFIG_H
#define HORUS_LOG_CONFIG_H

#include "cfg.h"
#include "log.h"

struct log_config {
    int level; /* enum log_level */
    int format; /* enum log_format */
    char *file; /* "" = stderr */
    bool buffered;
    struct {
        uint64_t max_size_bytes;
        int64_t max_files;
    } rotation;
};

extern const cfg_field log_config_fields[];

/* Fills log_options from a config section; borrowed strings stay owned by c. */
void log_config_options(const struct log_config *c, struct log_options *out);

#endif
