/*
 * Optimal assignment for the tracker's small cost matrices (track.c).
 * Private to detect.
 */
#ifndef HORUS_DETECT_HUNGARIAN_INT_H
#define HORUS_DETECT_HUNGARIAN_INT_H

#include <stddef.h>

/*
 * Assigns rows to distinct columns of the rows x cols matrix cost (row
 * major) so that the sum of the assigned costs plus `limit` for every row
 * left unassigned is the least possible: a pair costing more than limit is
 * never assigned, and a row is left out only when every way of assigning
 * it costs more than leaving it (and its partner) alone. Non-finite costs
 * mean "never". Writes the column of row i, or -1, to row_to_col[i] and
 * returns the number of rows assigned. O(rows^2 (rows + cols)) time,
 * O(rows + cols) memory (allocated; aborts on OOM). Thread: any.
 */
size_t det_assign(const float *cost, size_t rows, size_t cols, float limit, int *row_to_col);

#endif
