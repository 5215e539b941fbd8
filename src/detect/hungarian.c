/*
 * DESIGN: minimum-cost assignment with the option of leaving pairs out, for
 * the tracker's association of tracks (rows) and detections (columns).
 *
 * The Hungarian method with potentials (Kuhn-Munkres in the O(n^2 m) form
 * that adds one row at a time and grows a shortest augmenting path over
 * reduced costs). "Leave it unassigned" is modelled by `rows` extra dummy
 * columns that every row may take at cost `limit`: with Sum(pairs) +
 * limit * (rows - pairs) minimised, a pair costing more than limit can
 * always be swapped for a free dummy at a lower total, so it never
 * appears; this is the objective ByteTrack gets from lapjv's cost_limit
 * with half the matrix. Costs are read in place, never copied; the work
 * arrays are O(rows + cols). Pure: no I/O, no state.
 */
#include "hungarian_int.h"

#include "mem.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

static double cost_at(const float *cost, size_t cols, float limit, size_t i, size_t j)
{
    if (j >= cols)
        return limit; /* a dummy column: row i stays unassigned */
    float c = cost[i * cols + j];
    if (!isfinite(c) || c > limit)
        return (double)limit + 1.0; /* worse than a dummy, so never chosen */
    return c;
}

size_t det_assign(const float *cost, size_t rows, size_t cols, float limit, int *row_to_col)
{
    for (size_t i = 0; i < rows; i++)
        row_to_col[i] = -1;
    if (rows == 0 || cols == 0 || !isfinite(limit))
        return 0;
    size_t m = cols + rows; /* real columns, then one dummy per row */
    /* 1-based as in the textbook form: index 0 is the virtual start */
    double *u = horus_calloc(rows + 1, sizeof(double));
    double *v = horus_calloc(m + 1, sizeof(double));
    double *minv = horus_calloc(m + 1, sizeof(double));
    size_t *p = horus_calloc(m + 1, sizeof(size_t));
    size_t *way = horus_calloc(m + 1, sizeof(size_t));
    bool *used = horus_calloc(m + 1, sizeof(bool));

    for (size_t i = 1; i <= rows; i++) {
        p[0] = i;
        size_t j0 = 0;
        for (size_t j = 0; j <= m; j++) {
            minv[j] = DBL_MAX;
            used[j] = false;
        }
        do {
            used[j0] = true;
            size_t i0 = p[j0], j1 = 0;
            double delta = DBL_MAX;
            for (size_t j = 1; j <= m; j++) {
                if (used[j])
                    continue;
                double cur = cost_at(cost, cols, limit, i0 - 1, j - 1) - u[i0] - v[j];
                if (cur < minv[j]) {
                    minv[j] = cur;
                    way[j] = j0;
                }
                if (minv[j] < delta) {
                    delta = minv[j];
                    j1 = j;
                }
            }
            for (size_t j = 0; j <= m; j++) {
                if (used[j]) {
                    u[p[j]] += delta;
                    v[j] -= delta;
                } else {
                    minv[j] -= delta;
                }
            }
            j0 = j1;
        } while (p[j0] != 0);
        do {
            size_t j1 = way[j0];
            p[j0] = p[j1];
            j0 = j1;
        } while (j0);
    }

    size_t assigned = 0;
    for (size_t j = 1; j <= cols; j++) {
        if (!p[j])
            continue;
        size_t i = p[j] - 1;
        float c = cost[i * cols + (j - 1)];
        if (isfinite(c) && c <= limit) {
            row_to_col[i] = (int)(j - 1);
            assigned++;
        }
    }
    free(u);
    free(v);
    free(minv);
    free(p);
    free(way);
    free(used);
    return assigned;
}
