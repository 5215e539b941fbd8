/*
 * DESIGN: the tracker's Kalman filter, ByteTrack's (itself SORT/DeepSORT's)
 * constant-velocity model on (cx, cy, aspect, height) with noise scaled by
 * the box height, so that near and far objects are filtered alike.
 *
 * Time is continuous: the prediction takes the elapsed time in steps of
 * 1/30 s (the frame interval ByteTrack's constants were tuned for), and the
 * process noise grows linearly with it (a random walk), so a 5 fps sampler
 * and a 30 fps one see the same motion model. The matrix code is our own,
 * fixed size: 8x8 covariance, 4x4 innovation solved by Cholesky. H is
 * [I 0], which the update uses to skip the multiplications by it.
 * Pure: no I/O, no clocks, no allocation.
 */
#include "track_kalman_int.h"

#include <math.h>
#include <string.h>

#define STD_POS (1.0 / 20.0)
#define STD_VEL (1.0 / 160.0)
#define MIN_H 1e-4

void det_kalman_init(struct det_kalman *k, const double z[4])
{
    memset(k, 0, sizeof(*k));
    double h = z[3] > MIN_H ? z[3] : MIN_H;
    double sd[8] = {2 * STD_POS * h,  2 * STD_POS * h,  1e-2, 2 * STD_POS * h,
                    10 * STD_VEL * h, 10 * STD_VEL * h, 1e-5, 10 * STD_VEL * h};
    for (int i = 0; i < 4; i++)
        k->x[i] = z[i];
    for (int i = 0; i < 8; i++)
        k->p[i * 8 + i] = sd[i] * sd[i];
}

void det_kalman_predict(struct det_kalman *k, double steps, int freeze_size)
{
    if (!(steps > 0))
        return;
    if (freeze_size) {
        k->x[6] = 0;
        k->x[7] = 0;
    }
    for (int i = 0; i < 4; i++)
        k->x[i] += steps * k->x[4 + i];
    /* P = F P F^T with F = [I dt*I; 0 I]: in blocks, A' = A + dt(B + B^T) +
       dt^2 D, B' = B + dt D, D' = D (P = [A B; B^T D]). */
    double q[64];
    memcpy(q, k->p, sizeof(q));
    for (int r = 0; r < 4; r++) {
        for (int c = 0; c < 4; c++) {
            double a = q[r * 8 + c], b = q[r * 8 + 4 + c], bt = q[(4 + r) * 8 + c],
                   d = q[(4 + r) * 8 + 4 + c];
            k->p[r * 8 + c] = a + steps * (b + bt) + steps * steps * d;
            k->p[r * 8 + 4 + c] = b + steps * d;
            k->p[(4 + r) * 8 + c] = bt + steps * d;
        }
    }
    double h = k->x[3] > MIN_H ? k->x[3] : MIN_H;
    double sd[8] = {STD_POS * h, STD_POS * h, 1e-2, STD_POS * h,
                    STD_VEL * h, STD_VEL * h, 1e-5, STD_VEL * h};
    for (int i = 0; i < 8; i++)
        k->p[i * 8 + i] += sd[i] * sd[i] * steps;
}

/* Solves S y = b for the 4x4 symmetric positive definite S (Cholesky). */
static void solve4(const double s[16], double b[4])
{
    double l[16] = {0};
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j <= i; j++) {
            double sum = s[i * 4 + j];
            for (int m = 0; m < j; m++)
                sum -= l[i * 4 + m] * l[j * 4 + m];
            if (i == j)
                l[i * 4 + i] = sqrt(sum > 1e-18 ? sum : 1e-18);
            else
                l[i * 4 + j] = sum / l[j * 4 + j];
        }
    }
    for (int i = 0; i < 4; i++) { /* L y = b */
        for (int m = 0; m < i; m++)
            b[i] -= l[i * 4 + m] * b[m];
        b[i] /= l[i * 4 + i];
    }
    for (int i = 3; i >= 0; i--) { /* L^T x = y */
        for (int m = i + 1; m < 4; m++)
            b[i] -= l[m * 4 + i] * b[m];
        b[i] /= l[i * 4 + i];
    }
}

void det_kalman_update(struct det_kalman *k, const double z[4])
{
    double h = k->x[3] > MIN_H ? k->x[3] : MIN_H;
    double r[4] = {STD_POS * h, STD_POS * h, 1e-1, STD_POS * h};
    double s[16];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            s[i * 4 + j] = k->p[i * 8 + j] + (i == j ? r[i] * r[i] : 0);
    /* K^T = S^-1 B with B = P[0:4, :] (H P), one column of B at a time */
    double kt[4][8];
    for (int c = 0; c < 8; c++) {
        double col[4];
        for (int i = 0; i < 4; i++)
            col[i] = k->p[i * 8 + c];
        solve4(s, col);
        for (int i = 0; i < 4; i++)
            kt[i][c] = col[i];
    }
    double y[4];
    for (int i = 0; i < 4; i++)
        y[i] = z[i] - k->x[i];
    double b[32];
    memcpy(b, k->p, sizeof(b)); /* the first four rows: H P */
    for (int r8 = 0; r8 < 8; r8++) {
        for (int i = 0; i < 4; i++)
            k->x[r8] += kt[i][r8] * y[i];
        /* P -= K H P */
        for (int c = 0; c < 8; c++) {
            double sum = 0;
            for (int i = 0; i < 4; i++)
                sum += kt[i][r8] * b[i * 8 + c];
            k->p[r8 * 8 + c] -= sum;
        }
    }
    for (int i = 0; i < 8; i++) /* keep it symmetric against rounding */
        for (int j = i + 1; j < 8; j++)
            k->p[i * 8 + j] = k->p[j * 8 + i] = 0.5 * (k->p[i * 8 + j] + k->p[j * 8 + i]);
}
