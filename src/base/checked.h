/*
 * Overflow-checked 64-bit arithmetic, the one set of helpers every time,
 * range, size and count from a request or a stream goes through
 * (issue #16): a sum, difference or product that does not fit answers
 * false and leaves *out unchanged, so a caller refuses the input instead
 * of computing with a wrapped value (signed overflow is undefined in C).
 * Built on the compiler's __builtin_*_overflow. Thread: any (pure).
 */
#ifndef HORUS_CHECKED_H
#define HORUS_CHECKED_H

#include <stdbool.h>
#include <stdint.h>

/* *out = a + b; false (and *out untouched) when the sum does not fit in int64_t. */
static inline bool horus_add_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* *out = a - b; false (and *out untouched) when the difference does not fit. */
static inline bool horus_sub_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* *out = a * b; false (and *out untouched) when the product does not fit. */
static inline bool horus_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* *out = a + b for sizes; false (and *out untouched) when the sum wraps. */
static inline bool horus_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

/* *out = a * b for sizes; false (and *out untouched) when the product wraps. */
static inline bool horus_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return false;
    *out = r;
    return true;
}

#endif
