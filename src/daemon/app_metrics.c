/*
 * DESIGN: process-level metrics (CPU, memory, descriptors, start time,
 * build info), computed at scrape time from /proc so nothing runs between
 * scrapes.
 */
#include "app.h"
#include "version.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void collect_cpu(metrics_family *f, void *arg)
{
    FILE *fp = fopen("/proc/self/stat", "r");
    if (!fp)
        return;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* Fields after the ")" that ends the command name: state is field 3, utime 14, stime 15. */
    char *p = strrchr(buf, ')');
    unsigned long utime = 0, stime = 0;
    if (p &&
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2)
        metrics_gauge_set(metrics_series_get(f),
                          (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK));
}

static void collect_rss(metrics_family *f, void *arg)
{
    FILE *fp = fopen("/proc/self/statm", "r");
    if (!fp)
        return;
    unsigned long size = 0, resident = 0;
    if (fscanf(fp, "%lu %lu", &size, &resident) == 2)
        metrics_gauge_set(metrics_series_get(f), (double)resident * (double)sysconf(_SC_PAGESIZE));
    fclose(fp);
}

static void collect_fds(metrics_family *f, void *arg)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int n = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    metrics_gauge_set(metrics_series_get(f), n - 1); /* minus the directory stream itself */
}

void app_metrics_register(metrics_registry *r, int64_t started_ms)
{
    metrics_gauge_set(
        metrics_series_get(
            metrics_family_add(r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                                         .name = "horus_build_info",
                                                         .help = "Always 1; labels carry the build",
                                                         .labels = "version,git"}),
            horus_version(), horus_git_describe()),
        1);
    metrics_gauge_set(
        metrics_series_get(metrics_family_add(
            r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                      .name = "horus_process_start_time_seconds",
                                      .help = "Start time of the process since the Unix epoch"})),
        (double)started_ms / 1000.0);
    /* CPU time only grows, but it is set from /proc at scrape time, so it is exposed as a counter
     * whose value is assigned: the gauge setter is the atomic store we need. */
    metrics_family_add(r, &(struct metrics_desc){.type = METRICS_COUNTER,
                                                 .name = "horus_process_cpu_seconds_total",
                                                 .help = "User and system CPU time of all threads",
                                                 .collect_cb = collect_cpu});
    metrics_family_add(r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                                 .name = "horus_process_resident_memory_bytes",
                                                 .help = "Resident set size",
                                                 .collect_cb = collect_rss});
    metrics_family_add(r, &(struct metrics_desc){.type = METRICS_GAUGE,
                                                 .name = "horus_process_open_fds",
                                                 .help = "Open file descriptors",
                                                 .collect_cb = collect_fds});
}
