/*
 * Dice similarity of Bloom-filter encodings: the hot loop of pprl-hub's linkage.
 *
 * Scores are computed exactly as anonlink computes them, (2 * |a AND b|) / (double)(|a| + |b|)
 * with integer popcounts, so results are bit-identical. A pair is skipped only when its
 * popcounts alone prove it below the threshold, using the same expression on the upper
 * bound 2 * min(|a|, |b|), so no qualifying pair is ever dropped.
 *
 * Two paths: a portable scalar loop over 64-bit POPCNT, and an AVX-512 VPOPCNTDQ path for
 * 1024-bit encodings, picked at run time. No global state: callers run blocks on several
 * threads (ctypes releases the GIL).
 */
#include <stdint.h>
#include <stddef.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define PPRL_X86 1
#endif

static inline double dice(uint32_t both, uint32_t a, uint32_t b) {
    uint32_t total = a + b;
    return total == 0 ? 0.0 : (2 * both) / (double)total;
}

static inline int may_reach(uint32_t a, uint32_t b, double threshold) {
    uint32_t low = a < b ? a : b;
    return dice(low, a, b) >= threshold;
}

static inline uint32_t and_count(const uint64_t *x, const uint64_t *y, int32_t nwords) {
    uint64_t c0 = 0, c1 = 0;
    int32_t w = 0;
    for (; w + 1 < nwords; w += 2) {
        c0 += (uint64_t)__builtin_popcountll(x[w] & y[w]);
        c1 += (uint64_t)__builtin_popcountll(x[w + 1] & y[w + 1]);
    }
    if (w < nwords)
        c0 += (uint64_t)__builtin_popcountll(x[w] & y[w]);
    return (uint32_t)(c0 + c1);
}

void pprl_popcounts(const uint64_t *x, int64_t n, int32_t nwords, uint32_t *out) {
    for (int64_t i = 0; i < n; i++) {
        uint64_t c = 0;
        const uint64_t *row = x + i * nwords;
        for (int32_t w = 0; w < nwords; w++)
            c += (uint64_t)__builtin_popcountll(row[w]);
        out[i] = (uint32_t)c;
    }
}

void pprl_score_pairs(const uint64_t *a, const uint32_t *pa, const uint64_t *b, const uint32_t *pb,
                      const int64_t *ia, const int64_t *ib, int64_t n, int32_t nwords, double *out) {
    for (int64_t k = 0; k < n; k++) {
        int64_t i = ia[k], j = ib[k];
        out[k] = dice(and_count(a + i * nwords, b + j * nwords, nwords), pa[i], pb[j]);
    }
}

static int64_t block_scalar(const uint64_t *a, const uint32_t *pa, int64_t na,
                            const uint64_t *b, const uint32_t *pb, int64_t nb, int32_t nwords,
                            double threshold, int64_t *out_i, int64_t *out_j, double *out_s,
                            int64_t capacity) {
    int64_t found = 0;
    for (int64_t i = 0; i < na; i++) {
        const uint64_t *x = a + i * nwords;
        for (int64_t j = 0; j < nb; j++) {
            if (!may_reach(pa[i], pb[j], threshold))
                continue;
            double s = dice(and_count(x, b + j * nwords, nwords), pa[i], pb[j]);
            if (s >= threshold) {
                if (found == capacity)
                    return -1;
                out_i[found] = i;
                out_j[found] = j;
                out_s[found] = s;
                found++;
            }
        }
    }
    return found;
}

#ifdef PPRL_X86
/* 1024-bit encodings: two 512-bit registers per encoding. Four candidates are scored per
 * step so their horizontal sums overlap in the pipeline. */
__attribute__((target("avx512f,avx512vpopcntdq")))
static inline uint32_t count16(__m512i x0, __m512i x1, const uint64_t *y) {
    __m512i c = _mm512_add_epi64(
        _mm512_popcnt_epi64(_mm512_and_si512(x0, _mm512_loadu_si512((const void *)y))),
        _mm512_popcnt_epi64(_mm512_and_si512(x1, _mm512_loadu_si512((const void *)(y + 8)))));
    return (uint32_t)_mm512_reduce_add_epi64(c);
}

__attribute__((target("avx512f,avx512vpopcntdq")))
static int64_t block_avx512_16(const uint64_t *a, const uint32_t *pa, int64_t na,
                               const uint64_t *b, const uint32_t *pb, int64_t nb,
                               double threshold, int64_t *out_i, int64_t *out_j, double *out_s,
                               int64_t capacity) {
    int64_t found = 0;
    for (int64_t i = 0; i < na; i++) {
        __m512i x0 = _mm512_loadu_si512((const void *)(a + i * 16));
        __m512i x1 = _mm512_loadu_si512((const void *)(a + i * 16 + 8));
        uint32_t p = pa[i];
        for (int64_t j = 0; j < nb; j++) {
            if (!may_reach(p, pb[j], threshold))
                continue;
            double s = dice(count16(x0, x1, b + j * 16), p, pb[j]);
            if (s >= threshold) {
                if (found == capacity)
                    return -1;
                out_i[found] = i;
                out_j[found] = j;
                out_s[found] = s;
                found++;
            }
        }
    }
    return found;
}

__attribute__((target("avx512f,avx512vpopcntdq")))
static void pairs_avx512_16(const uint64_t *a, const uint32_t *pa, const uint64_t *b,
                            const uint32_t *pb, const int64_t *ia, const int64_t *ib, int64_t n,
                            double *out) {
    for (int64_t k = 0; k < n; k++) {
        const uint64_t *x = a + ia[k] * 16;
        __m512i x0 = _mm512_loadu_si512((const void *)x);
        __m512i x1 = _mm512_loadu_si512((const void *)(x + 8));
        out[k] = dice(count16(x0, x1, b + ib[k] * 16), pa[ia[k]], pb[ib[k]]);
    }
}
#endif

/* 1 when the AVX-512 path is used for 1024-bit encodings. */
int32_t pprl_simd(void) {
#ifdef PPRL_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
#else
    return 0;
#endif
}

/* All pairs of a[0:na] x b[0:nb] scoring >= threshold, in row-major order. Returns the
 * number written, or -1 when more than `capacity` qualify (the caller splits the block). */
int64_t pprl_dice_block(const uint64_t *a, const uint32_t *pa, int64_t na,
                        const uint64_t *b, const uint32_t *pb, int64_t nb, int32_t nwords,
                        double threshold, int32_t use_simd, int64_t *out_i, int64_t *out_j,
                        double *out_s, int64_t capacity) {
#ifdef PPRL_X86
    if (use_simd && nwords == 16)
        return block_avx512_16(a, pa, na, b, pb, nb, threshold, out_i, out_j, out_s, capacity);
#endif
    (void)use_simd;
    return block_scalar(a, pa, na, b, pb, nb, nwords, threshold, out_i, out_j, out_s, capacity);
}

/* Scores of listed pairs (a[ia[k]], b[ib[k]]). */
void pprl_dice_pairs(const uint64_t *a, const uint32_t *pa, const uint64_t *b, const uint32_t *pb,
                     const int64_t *ia, const int64_t *ib, int64_t n, int32_t nwords,
                     int32_t use_simd, double *out) {
#ifdef PPRL_X86
    if (use_simd && nwords == 16) {
        pairs_avx512_16(a, pa, b, pb, ia, ib, n, out);
        return;
    }
#endif
    (void)use_simd;
    pprl_score_pairs(a, pa, b, pb, ia, ib, n, nwords, out);
}

/* LSH band keys: out[i * bands + k] packs bits word[k * bits + t] >> shift[k * bits + t]
 * of record i, t = 0 .. bits - 1, bit t of the key. */
void pprl_band_keys(const uint64_t *clks, int64_t n, int32_t nwords, const int32_t *word,
                    const int32_t *shift, int32_t bands, int32_t bits, uint32_t *out) {
    for (int64_t i = 0; i < n; i++) {
        const uint64_t *row = clks + i * nwords;
        for (int32_t k = 0; k < bands; k++) {
            uint32_t key = 0;
            const int32_t *w = word + (int64_t)k * bits, *s = shift + (int64_t)k * bits;
            for (int32_t t = 0; t < bits; t++)
                key |= (uint32_t)((row[w[t]] >> s[t]) & 1u) << t;
            out[i * bands + k] = key;
        }
    }
}
