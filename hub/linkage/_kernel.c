/*
 * Dice similarity of Bloom-filter encodings: the hot loop of pprl-hub's linkage.
 *
 * Scores are computed exactly as anonlink computes them, (2 * |a AND b|) / (double)(|a| + |b|)
 * with integer popcounts, so results are bit-identical. A pair is skipped only when its
 * popcounts alone prove it below the threshold, using the same expression on the upper
 * bound 2 * min(|a|, |b|), so no qualifying pair is ever dropped.
 *
 * Three paths for 1024-bit encodings, picked at run time: AVX-512 VPOPCNTDQ, AVX2 (nibble
 * lookup), and a portable scalar loop over 64-bit POPCNT that also serves other sizes. No global state: callers run blocks on several
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

static inline uint32_t and_count16(const uint64_t *x, const uint64_t *y);

/* Listed pairs (from LSH buckets) touch rows all over memory; without prefetching, each
 * pair waits on two cache misses. Rows are 128 bytes: two cache lines each. */
#define PPRL_AHEAD 12
static inline void prefetch_pair(const uint64_t *a, const uint64_t *b, const int64_t *ia,
                                 const int64_t *ib, int64_t k, int64_t n) {
    if (k < n) {
        const uint64_t *x = a + ia[k] * 16, *y = b + ib[k] * 16;
        __builtin_prefetch(x);
        __builtin_prefetch(x + 8);
        __builtin_prefetch(y);
        __builtin_prefetch(y + 8);
    }
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
    if (nwords == 16) {
        for (int64_t k = 0; k < n; k++) {
            int64_t i = ia[k], j = ib[k];
            prefetch_pair(a, b, ia, ib, k + PPRL_AHEAD, n);
            out[k] = dice(and_count16(a + i * 16, b + j * 16), pa[i], pb[j]);
        }
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        int64_t i = ia[k], j = ib[k];
        out[k] = dice(and_count(a + i * nwords, b + j * nwords, nwords), pa[i], pb[j]);
    }
}

/* Append one qualifying pair; -1 when the output is full (the caller splits the block). */
static inline int64_t emit(int64_t found, int64_t capacity, int64_t i, int64_t j, double s,
                           int64_t *out_i, int64_t *out_j, double *out_s) {
    if (found == capacity)
        return -1;
    out_i[found] = i;
    out_j[found] = j;
    out_s[found] = s;
    return found + 1;
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
                if ((found = emit(found, capacity, i, j, s, out_i, out_j, out_s)) < 0)
                    return -1;
            }
        }
    }
    return found;
}

/* need[t], t = |a| + |b| in 0 .. 2 * bits: the least |a AND b| whose score reaches the
 * threshold (t + 1 when none does), found with the very expression that scores, so
 * "both >= need[t]" and "dice(both, t) >= threshold" agree exactly. The hot loops then
 * compare integers and divide only for pairs that qualify. */
static void reach_table(double threshold, int32_t bits, uint32_t *need) {
    for (uint32_t t = 0; t <= (uint32_t)(2 * bits); t++) {
        uint32_t c = 0;
        double guess = threshold * (double)t / 2.0 - 2.0;
        if (guess > 0)
            c = (uint32_t)guess;
        while (c <= t && dice(c, t, 0) < threshold)
            c++;
        need[t] = c;
    }
}

static inline uint32_t and_count16(const uint64_t *x, const uint64_t *y) {
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    for (int w = 0; w < 16; w += 4) {
        c0 += (uint64_t)__builtin_popcountll(x[w] & y[w]);
        c1 += (uint64_t)__builtin_popcountll(x[w + 1] & y[w + 1]);
        c2 += (uint64_t)__builtin_popcountll(x[w + 2] & y[w + 2]);
        c3 += (uint64_t)__builtin_popcountll(x[w + 3] & y[w + 3]);
    }
    return (uint32_t)(c0 + c1 + c2 + c3);
}

/* 1024-bit encodings without AVX-512: candidates that may reach the threshold are listed
 * first (integer test), then scored two at a time so each word of `a` is loaded once for
 * both. */
#define PPRL_STRIP 256
static int64_t block_scalar16(const uint64_t *a, const uint32_t *pa, int64_t na,
                              const uint64_t *b, const uint32_t *pb, int64_t nb,
                              double threshold, int64_t *out_i, int64_t *out_j, double *out_s,
                              int64_t capacity) {
    uint32_t need[2 * 1024 + 1];
    int64_t strip[PPRL_STRIP];
    int64_t found = 0;
    reach_table(threshold, 1024, need);
    for (int64_t i = 0; i < na; i++) {
        const uint64_t *x = a + i * 16;
        uint32_t p = pa[i];
        for (int64_t j0 = 0; j0 < nb; j0 += PPRL_STRIP) {
            int64_t end = j0 + PPRL_STRIP < nb ? j0 + PPRL_STRIP : nb;
            int32_t m = 0;
            for (int64_t j = j0; j < end; j++) {
                uint32_t q = pb[j], low = p < q ? p : q;
                strip[m] = j;
                m += low >= need[p + q];
            }
            for (int32_t k = 0; k < m; k += 2) {
                int64_t j1 = strip[k], j2 = k + 1 < m ? strip[k + 1] : strip[k];
                const uint64_t *y1 = b + j1 * 16, *y2 = b + j2 * 16;
                uint64_t c0 = 0, c1 = 0, d0 = 0, d1 = 0;
                for (int w = 0; w < 16; w += 2) {
                    uint64_t x0 = x[w], x1 = x[w + 1];
                    c0 += (uint64_t)__builtin_popcountll(x0 & y1[w]);
                    c1 += (uint64_t)__builtin_popcountll(x1 & y1[w + 1]);
                    d0 += (uint64_t)__builtin_popcountll(x0 & y2[w]);
                    d1 += (uint64_t)__builtin_popcountll(x1 & y2[w + 1]);
                }
                uint32_t both1 = (uint32_t)(c0 + c1), both2 = (uint32_t)(d0 + d1);
                if (both1 >= need[p + pb[j1]]) {
                    if ((found = emit(found, capacity, i, j1, dice(both1, p, pb[j1]), out_i, out_j, out_s)) < 0)
                        return -1;
                }
                if (k + 1 < m && both2 >= need[p + pb[j2]]) {
                    if ((found = emit(found, capacity, i, j2, dice(both2, p, pb[j2]), out_i, out_j, out_s)) < 0)
                        return -1;
                }
            }
        }
    }
    return found;
}

#ifdef PPRL_X86
/* 1024-bit encodings on AVX2: four 256-bit registers per encoding, popcounts by nibble
 * lookup (PSHUFB), summed per byte and then with PSADBW. */
__attribute__((target("avx2")))
static inline __m256i nibble_count(__m256i v) {
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                         0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256i lo = _mm256_and_si256(v, low);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
    return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

__attribute__((target("avx2")))
static inline __m256i and_count_avx2(const __m256i *x, const uint64_t *y) {
    __m256i c = nibble_count(_mm256_and_si256(x[0], _mm256_loadu_si256((const __m256i *)y)));
    c = _mm256_add_epi8(c, nibble_count(_mm256_and_si256(x[1], _mm256_loadu_si256((const __m256i *)(y + 4)))));
    c = _mm256_add_epi8(c, nibble_count(_mm256_and_si256(x[2], _mm256_loadu_si256((const __m256i *)(y + 8)))));
    c = _mm256_add_epi8(c, nibble_count(_mm256_and_si256(x[3], _mm256_loadu_si256((const __m256i *)(y + 12)))));
    return _mm256_sad_epu8(c, _mm256_setzero_si256());
}

__attribute__((target("avx2")))
static inline uint32_t hsum4(__m256i s) {
    __m128i t = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return (uint32_t)(_mm_cvtsi128_si64(t) + _mm_extract_epi64(t, 1));
}

__attribute__((target("avx2")))
static int64_t block_avx2_16(const uint64_t *a, const uint32_t *pa, int64_t na,
                             const uint64_t *b, const uint32_t *pb, int64_t nb,
                             double threshold, int64_t *out_i, int64_t *out_j, double *out_s,
                             int64_t capacity) {
    uint32_t need[2 * 1024 + 1];
    int64_t strip[PPRL_STRIP];
    int64_t found = 0;
    reach_table(threshold, 1024, need);
    for (int64_t i = 0; i < na; i++) {
        __m256i x[4];
        for (int v = 0; v < 4; v++)
            x[v] = _mm256_loadu_si256((const __m256i *)(a + i * 16 + 4 * v));
        uint32_t p = pa[i];
        for (int64_t j0 = 0; j0 < nb; j0 += PPRL_STRIP) {
            int64_t end = j0 + PPRL_STRIP < nb ? j0 + PPRL_STRIP : nb;
            int32_t m = 0;
            for (int64_t j = j0; j < end; j++) {
                uint32_t q = pb[j], low = p < q ? p : q;
                strip[m] = j;
                m += low >= need[p + q];
            }
            for (int32_t k = 0; k < m; k += 4) {
                /* Four candidates per step (the last repeated to fill), their sums
                 * reduced together. */
                int64_t j[4];
                for (int t = 0; t < 4; t++)
                    j[t] = strip[k + t < m ? k + t : m - 1];
                __m256i s0 = and_count_avx2(x, b + j[0] * 16);
                __m256i s1 = and_count_avx2(x, b + j[1] * 16);
                __m256i s2 = and_count_avx2(x, b + j[2] * 16);
                __m256i s3 = and_count_avx2(x, b + j[3] * 16);
                /* [s0 lanes 0+1, s1 lanes 0+1, s0 lanes 2+3, s1 lanes 2+3], likewise s2/s3 */
                __m256i u01 = _mm256_add_epi64(_mm256_unpacklo_epi64(s0, s1), _mm256_unpackhi_epi64(s0, s1));
                __m256i u23 = _mm256_add_epi64(_mm256_unpacklo_epi64(s2, s3), _mm256_unpackhi_epi64(s2, s3));
                __m256i lo = _mm256_permute2x128_si256(u01, u23, 0x20);
                __m256i hi = _mm256_permute2x128_si256(u01, u23, 0x31);
                uint64_t both[4];
                _mm256_storeu_si256((__m256i *)both, _mm256_add_epi64(lo, hi));
                int32_t count = m - k < 4 ? m - k : 4;
                for (int t = 0; t < count; t++) {
                    uint32_t q = pb[j[t]];
                    if ((uint32_t)both[t] >= need[p + q]) {
                        if ((found = emit(found, capacity, i, j[t], dice((uint32_t)both[t], p, q), out_i, out_j, out_s)) < 0)
                            return -1;
                    }
                }
            }
        }
    }
    return found;
}

__attribute__((target("avx2")))
static void pairs_avx2_16(const uint64_t *a, const uint32_t *pa, const uint64_t *b,
                          const uint32_t *pb, const int64_t *ia, const int64_t *ib, int64_t n,
                          double *out) {
    for (int64_t k = 0; k < n; k++) {
        __m256i x[4];
        const uint64_t *row = a + ia[k] * 16;
        prefetch_pair(a, b, ia, ib, k + PPRL_AHEAD, n);
        for (int v = 0; v < 4; v++)
            x[v] = _mm256_loadu_si256((const __m256i *)(row + 4 * v));
        out[k] = dice(hsum4(and_count_avx2(x, b + ib[k] * 16)), pa[ia[k]], pb[ib[k]]);
    }
}

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
                if ((found = emit(found, capacity, i, j, s, out_i, out_j, out_s)) < 0)
                    return -1;
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
        prefetch_pair(a, b, ia, ib, k + PPRL_AHEAD, n);
        __m512i x0 = _mm512_loadu_si512((const void *)x);
        __m512i x1 = _mm512_loadu_si512((const void *)(x + 8));
        out[k] = dice(count16(x0, x1, b + ib[k] * 16), pa[ia[k]], pb[ib[k]]);
    }
}
#endif

/* The widest path this CPU runs for 1024-bit encodings: 2 AVX-512 VPOPCNTDQ, 1 AVX2,
 * 0 scalar POPCNT. */
int32_t pprl_simd(void) {
#ifdef PPRL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq"))
        return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0;
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
    if (use_simd == 2 && nwords == 16)
        return block_avx512_16(a, pa, na, b, pb, nb, threshold, out_i, out_j, out_s, capacity);
    if (use_simd == 1 && nwords == 16)
        return block_avx2_16(a, pa, na, b, pb, nb, threshold, out_i, out_j, out_s, capacity);
#endif
    (void)use_simd;
    if (nwords == 16)
        return block_scalar16(a, pa, na, b, pb, nb, threshold, out_i, out_j, out_s, capacity);
    return block_scalar(a, pa, na, b, pb, nb, nwords, threshold, out_i, out_j, out_s, capacity);
}

/* Scores of listed pairs (a[ia[k]], b[ib[k]]). */
void pprl_dice_pairs(const uint64_t *a, const uint32_t *pa, const uint64_t *b, const uint32_t *pb,
                     const int64_t *ia, const int64_t *ib, int64_t n, int32_t nwords,
                     int32_t use_simd, double *out) {
#ifdef PPRL_X86
    if (use_simd == 2 && nwords == 16) {
        pairs_avx512_16(a, pa, b, pb, ia, ib, n, out);
        return;
    }
    if (use_simd == 1 && nwords == 16) {
        pairs_avx2_16(a, pa, b, pb, ia, ib, n, out);
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

/* Greedy clustering (see solving.py): edges in `order`; an edge between two clusters
 * joins them unless their agency masks overlap; an edge within one agency is a possible
 * duplicate. Nodes are 0 .. n_nodes - 1; parent[] ends as each node's root. */
static int64_t find_root(int64_t *parent, int64_t x) {
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

void pprl_greedy(int64_t n_nodes, const uint64_t *agency_mask, int64_t n_edges,
                 const int64_t *left, const int64_t *right, const int64_t *order,
                 int64_t *parent, uint64_t *mask, uint8_t *link, uint8_t *duplicate) {
    for (int64_t i = 0; i < n_nodes; i++) {
        parent[i] = i;
        mask[i] = agency_mask[i];
    }
    /* Pass 0: an agency's own records of one person join first, best pair first; each
       group then takes part in pass 1 (across agencies) as one record of its agency. */
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t k = 0; k < n_edges; k++) {
            int64_t e = order[k];
            int64_t a = left[e], b = right[e];
            int same = agency_mask[a] == agency_mask[b];
            if (same != (pass == 0))
                continue;
            if (same)
                duplicate[e] = 1;
            int64_t ra = find_root(parent, a), rb = find_root(parent, b);
            if (ra == rb || (!same && (mask[ra] & mask[rb])))
                continue;
            if (ra > rb) {
                int64_t t = ra;
                ra = rb;
                rb = t;
            }
            parent[rb] = ra;
            mask[ra] |= mask[rb];
            if (!same)
                link[e] = 1;
        }
    }
    for (int64_t i = 0; i < n_nodes; i++)
        parent[i] = find_root(parent, i);
}
