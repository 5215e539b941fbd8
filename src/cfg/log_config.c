/*
 * DESIGN: schema table for the `log:` section; the logger itself knows
 * nothing about YAML.
 */
#include "log_config.h"

#include <stddef.h>

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const format_names[] = {"json", "text", NULL};

static const cfg_field rotation_fields[] = {
    {.name = "max_size",
     .type = CFG_BYTES,
     .offset = offsetof(struct log_config, rotation.max_size_bytes) -
               offsetof(struct log_config, rotation),
     .def = "100MiB",
     .min = 0,
     .max = 1099511627776.0,
     .is_reloadable = true,
     .help = "Rotate the log file before it grows past this; 0 = never"},
    {.name = "max_files",
     .type = CFG_INT,
     .offset =
         offsetof(struct log_config, rotation.max_files) - offsetof(struct log_config, rotation),
     .def = "5",
     .min = 0,
     .max = 1000,
     .is_reloadable = true,
     .help = "Rotated files kept (FILE.1 .. FILE.N)"},
    {0},
};

const cfg_field log_config_fields[] = {
    {.name = "level",
     .type = CFG_ENUM,
     .offset = offsetof(struct log_config, level),
     .def = "info",
     .enum_names = level_names,
     .is_reloadable = true,
     .help = "error|warn|info|debug|trace; also changeable at run time via PATCH /api/v1/system"},
    {.name = "format",
     .type = CFG_ENUM,
     .offset = offsetof(struct log_config, format),
     .def = "json",
     .enum_names = format_names,
     .is_reloadable = true,
     .help = "json (one object per line) or text"},
    {.name = "file",
     .type = CFG_STRING,
     .offset = offsetof(struct log_config, file),
     .def = "",
     .is_reloadable = true,
     .help = "Log file path; empty = standard error"},
    {.name = "buffered",
     .type = CFG_BOOL,
     .offset = offsetof(struct log_config, buffered),
     .def = "true",
     .is_reloadable = true,
     .help = "Batch info/debug lines (written within 1 s; warnings and errors at once); "
             "never applies to a terminal"},
    {.name = "rotation",
     .type = CFG_SECTION,
     .offset = offsetof(struct log_config, rotation),
     .sub = rotation_fields,
     .help = "Size-based rotation of the log file"},
    {0},
};

void log_config_options(const struct log_config *c, struct log_options *out)
{
    out->level = (enum log_level)c->level;
    out->format = (enum log_format)c->format;
    out->file = c->file;
    out->buffered = c->buffered;
    out->max_bytes = c->rotation.max_size_bytes;
    out->max_files = (unsigned)c->rotation.max_files;
}
