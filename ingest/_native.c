/* Native kernels for the flow readers: the parts of ingest.stitch that are one pass over
 * the rows with a hash table, where numpy needs a dozen full-array passes and a sort.
 *
 * Every function has a pure numpy twin in the Python module that calls it (the reference,
 * used when this extension is not built); tests/readers/test_native.py checks both give the
 * same answer. Arrays are passed through the buffer protocol (numpy arrays, Arrow buffers),
 * never copied; the GIL is released while the kernel runs.
 */
#define PY_SSIZE_T_CLEAN
#define _GNU_SOURCE
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <pthread.h>
#include <locale.h>

typedef struct {
    const int32_t *off;
    const uint8_t *data;
    const uint8_t *limit; /* end of the values: a word read must not pass it */
} strcol;

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* The first `len` (0..8) bytes of p as a little-endian word, the rest zero; p + 8 readable. */
static inline uint64_t low_bytes(const uint8_t *p, int32_t len) {
    uint64_t w;
    memcpy(&w, p, 8);
    return len >= 8 ? w : w & ((1ULL << (8 * len)) - 1);
}

static inline uint64_t hash_str(const strcol *c, int64_t i, uint64_t h) {
    const uint8_t *p = c->data + c->off[i];
    int32_t len = c->off[i + 1] - c->off[i];
    if (len <= 16) { /* addresses, protocol names: two multiplies */
        uint64_t w0, w1 = 0;
        if (p + 16 <= c->limit) {
            w0 = low_bytes(p, len < 8 ? len : 8);
            if (len > 8) w1 = low_bytes(p + 8, len - 8);
        } else { /* the same words, byte by byte: the hash must not depend on the position */
            w0 = 0;
            for (int32_t k = 0; k < len; k++)
                if (k < 8) w0 |= (uint64_t)p[k] << (8 * k);
                else w1 |= (uint64_t)p[k] << (8 * (k - 8));
        }
        uint64_t x = (h ^ w0 ^ ((uint64_t)len << 56)) * 0x9e3779b97f4a7c15ULL;
        x ^= x >> 32;
        x = (x ^ w1) * 0xc2b2ae3d27d4eb4fULL;
        return x ^ (x >> 29);
    }
    uint64_t tail = (uint64_t)len << 56;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    if (len) {
        if (p + 8 <= c->limit) { /* one word, the bytes past the value masked off */
            memcpy(&w, p, 8);
            w &= ~0ULL >> (64 - 8 * len);
        } else {
            for (int32_t k = 0; k < len; k++) w |= (uint64_t)p[k] << (8 * k);
        }
    }
    return mix(h ^ w ^ tail) + 0x9e3779b97f4a7c15ULL;
}

/* Values of up to 16 bytes (addresses, protocol names) are compared by words, without a
 * library call, when 16 bytes can be read at both; longer ones by memcmp. */
static inline int cmp_str(const strcol *c, int64_t i, const strcol *d, int64_t j) {
    int32_t a0 = c->off[i], a1 = c->off[i + 1], b0 = d->off[j], b1 = d->off[j + 1];
    int32_t la = a1 - a0, lb = b1 - b0, m = la < lb ? la : lb;
    const uint8_t *a = c->data + a0, *b = d->data + b0;
    if (m <= 16 && a + 16 <= c->limit && b + 16 <= d->limit) {
        for (int k = 0; k < 2; k++, m -= 8) {
            int32_t take = m < 0 ? 0 : m;
            uint64_t x = __builtin_bswap64(low_bytes(a + 8 * k, take));
            uint64_t y = __builtin_bswap64(low_bytes(b + 8 * k, take));
            if (x != y) return x < y ? -1 : 1;
        }
        return (la > lb) - (la < lb);
    }
    int r = memcmp(a, b, (size_t)m);
    if (r) return r;
    return (la > lb) - (la < lb);
}

static inline int eq_str(const strcol *c, int64_t i, const strcol *d, int64_t j) {
    int32_t la = c->off[i + 1] - c->off[i], lb = d->off[j + 1] - d->off[j];
    if (la != lb) return 0;
    const uint8_t *a = c->data + c->off[i], *b = d->data + d->off[j];
    if (la <= 16 && a + 16 <= c->limit && b + 16 <= d->limit)
        return low_bytes(a, la) == low_bytes(b, la)
               && (la <= 8 || low_bytes(a + 8, la - 8) == low_bytes(b + 8, la - 8));
    return memcmp(a, b, (size_t)la) == 0;
}

typedef struct {
    uint32_t tag; /* high half of the 5-tuple's hash */
    int32_t group; /* -1: empty */
} slot;

typedef struct {
    int64_t key; /* start * 8 + score */
    int64_t row;
} sortent;

static int cmp_sortent(const void *a, const void *b) {
    const sortent *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

typedef struct {
    int ok;
    Py_buffer b;
} pybuf;

static int get_buf(PyObject *obj, pybuf *pb, int writable, Py_ssize_t itemsize,
                   Py_ssize_t count, const char *name) {
    pb->ok = 0;
    if (PyObject_GetBuffer(obj, &pb->b, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0))
        < 0)
        return -1;
    pb->ok = 1;
    if (itemsize > 0 && pb->b.len < count * itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes, need %zd", name, pb->b.len,
                     count * itemsize);
        return -1;
    }
    return 0;
}

static void release(pybuf *bufs, int n) {
    for (int i = 0; i < n; i++)
        if (bufs[i].ok) PyBuffer_Release(&bufs[i].b);
}

/* Rows grouped by orientation-free 5-tuple (address, port, address, port, protocol; the
 * endpoint with the smaller (address, port) first). Fills fwd[i] (1: the source is that
 * smaller endpoint), gstart[0..ngroups] (group g's rows are rows[gstart[g]..gstart[g+1]]) and
 * rows (each group's rows in row order; both may be NULL: no sort), and group_out[i] (row ->
 * group, when not NULL). Groups are numbered by first appearance. Returns the number of
 * groups, or -1 when out of memory. Runs without the GIL. */
static int64_t group_by_tuple(int64_t n, const strcol *src, const strcol *dst, const strcol *pro,
                              const int64_t *sport, const int64_t *dport, uint8_t *fwd,
                              int64_t *gstart, int64_t *rows, int32_t *group_out) {
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap <<= 1;
    slot *slots = malloc(cap * sizeof(slot));
    int32_t *group = group_out ? group_out : malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int64_t *last = malloc((size_t)(n ? n : 1) * sizeof(int64_t)); /* group -> its last row */
    uint64_t *hashes = malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (!slots || !group || !last || !hashes) {
        free(slots); free(last); free(hashes);
        if (group != group_out) free(group);
        return -1;
    }
    memset(slots, 0xff, cap * sizeof(slot));
    int64_t ngroups = 0;
    size_t mask = cap - 1;
    /* the hashes first, so that the probes can fetch their slots ahead */
    for (int64_t i = 0; i < n; i++) {
        int c = cmp_str(src, i, dst, i);
        int f = c < 0 || (c == 0 && sport[i] <= dport[i]);
        fwd[i] = (uint8_t)f;
        const strcol *lc = f ? src : dst, *hc = f ? dst : src;
        int64_t lp = f ? sport[i] : dport[i], hp = f ? dport[i] : sport[i];
        uint64_t h = hash_str(hc, i, hash_str(lc, i, 0));
        h = hash_str(pro, i, h);
        hashes[i] = mix(h ^ (uint64_t)lp ^ ((uint64_t)hp << 20) ^ ((uint64_t)hp >> 44));
    }
    for (int64_t i = 0; i < n; i++) {
        if (i + 16 < n) __builtin_prefetch(&slots[(size_t)hashes[i + 16] & mask], 1);
        int f = fwd[i];
        const strcol *lc = f ? src : dst, *hc = f ? dst : src;
        int64_t lp = f ? sport[i] : dport[i], hp = f ? dport[i] : sport[i];
        uint64_t h = hashes[i];
        uint32_t tag = (uint32_t)(h >> 32);
        size_t s = (size_t)h & mask;
        for (;;) {
            int32_t g = slots[s].group;
            if (g < 0) {
                slots[s].tag = tag;
                slots[s].group = (int32_t)ngroups;
                last[ngroups] = i;
                group[i] = (int32_t)ngroups++;
                break;
            }
            if (slots[s].tag == tag) {
                /* the group's last row so far: in time-ordered input it is near, in cache */
                int64_t j = last[g];
                int fj = fwd[j];
                const strcol *ljc = fj ? src : dst, *hjc = fj ? dst : src;
                int64_t ljp = fj ? sport[j] : dport[j], hjp = fj ? dport[j] : sport[j];
                if (lp == ljp && hp == hjp && eq_str(lc, i, ljc, j) && eq_str(hc, i, hjc, j)
                    && eq_str(pro, i, pro, j)) {
                    group[i] = g;
                    last[g] = i;
                    break;
                }
            }
            s = (s + 1) & mask;
        }
    }
    /* stable counting sort by group (when asked for) */
    if (gstart && rows) {
        memset(gstart, 0, (size_t)(ngroups + 2) * sizeof(int64_t));
        for (int64_t i = 0; i < n; i++) gstart[group[i] + 2]++;
        for (int64_t g = 0; g < ngroups; g++) gstart[g + 2] += gstart[g + 1];
        for (int64_t i = 0; i < n; i++) rows[gstart[group[i] + 1]++] = i;
    }
    free(slots); free(last); free(hashes);
    if (group != group_out) free(group);
    return ngroups;
}

/* pair()'s walk: each group ordered by (start, originator score, row), then the pairs and
 * the leftovers (see ingest.stitch). */
static void pair_groups(int64_t n, int64_t ngroups, const int64_t *gstart, const int64_t *rows,
                        const uint8_t *fwd, const int64_t *sport, const int64_t *dport,
                        const int64_t *flags, const int64_t *ts, const int64_t *end,
                        int64_t window, sortent *ord, int64_t *anchor_end, int64_t *partner,
                        int64_t *absorbed) {
    for (int64_t k = 0; k < n; k++) {
        int64_t i = rows[k];
        int64_t fl = flags[i];
        int syn_only = fl >= 0 && (fl & 0x02) && !(fl & 0x10);
        int syn_ack = fl >= 0 && (fl & 0x12) == 0x12;
        int64_t score = (syn_only ? 0 : (syn_ack ? 4 : 2)) + (sport[i] < dport[i]);
        sortent e = {ts[i] * 8 + score, i};
        ord[k] = e;
        partner[i] = -1;
        absorbed[i] = -1;
    }
    for (int64_t g = 0; g < ngroups; g++) {
        int64_t a = gstart[g], z = gstart[g + 1];
        for (int64_t k = a + 1; k < z; k++) {
            if (ord[k].key < ord[k - 1].key) {
                qsort(ord + a, (size_t)(z - a), sizeof(sortent), cmp_sortent);
                break;
            }
        }
        /* pairs: neighbours of opposite direction whose times touch, taken greedily */
        for (int64_t k = a; k + 1 < z;) {
            int64_t r = ord[k].row, q = ord[k + 1].row;
            if (fwd[r] != fwd[q] && ts[q] <= end[r] + window) {
                partner[r] = q;
                anchor_end[r] = end[r] > end[q] ? end[r] : end[q];
                k += 2;
            } else {
                k += 1;
            }
        }
        /* leftovers: join the previous pair if within the window of its end, else the next
         * pair if it starts within the window of this record's end */
        int64_t prev = -1;
        for (int64_t k = a; k < z; k++) {
            int64_t r = ord[k].row;
            if (partner[r] >= 0) {
                prev = r;
                continue;
            }
            if (prev >= 0 && partner[prev] == r) continue; /* a responder */
            if (prev >= 0 && ts[r] <= anchor_end[prev] + window) absorbed[r] = prev;
        }
        int64_t next = -1;
        for (int64_t k = z - 1; k >= a; k--) {
            int64_t r = ord[k].row;
            if (partner[r] >= 0) {
                next = r;
                continue;
            }
            if (absorbed[r] >= 0 || next < 0) continue;
            if (k > a && partner[ord[k - 1].row] == r) continue; /* a responder */
            if (ts[next] <= end[r] + window) absorbed[r] = next;
        }
    }
}

PyDoc_STRVAR(pair_doc,
"pair(n, src_off, src_data, dst_off, dst_data, proto_off, proto_data, sport, dport, flags,\n"
"     ts, end, window_us, fwd, partner, absorbed_into) -> None\n\n"
"The join of ingest.stitch for n one-way records. Inputs: the src/dst address and protocol\n"
"strings (int32 offsets and data), int64 ports (-1 none), flags (-1 unknown), start and end\n"
"(end >= start) in microseconds. Outputs (filled): fwd (uint8, 1 when src is the smaller\n"
"endpoint), partner (int64, the responder's row for an originator, else -1), absorbed_into\n"
"(int64, the originator a leftover record joins, else -1).");

static PyObject *pair(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *o[15];
    long long window;
    if (!PyArg_ParseTuple(args, "nOOOOOOOOOOOLOOO", &n, &o[0], &o[1], &o[2], &o[3], &o[4],
                          &o[5], &o[6], &o[7], &o[8], &o[9], &o[10], &window, &o[11], &o[12],
                          &o[13]))
        return NULL;
    if (n < 0 || n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "pair: n out of range");
        return NULL;
    }
    pybuf b[14];
    memset(b, 0, sizeof b);
    static const char *names[] = {"src_off", "src_data", "dst_off", "dst_data", "proto_off",
                                  "proto_data", "sport", "dport", "flags", "ts", "end",
                                  "fwd", "partner", "absorbed_into"};
    static const Py_ssize_t sizes[] = {4, 0, 4, 0, 4, 0, 8, 8, 8, 8, 8, 1, 8, 8};
    for (int i = 0; i < 14; i++) {
        Py_ssize_t count = (sizes[i] == 4) ? n + 1 : n;
        if (get_buf(o[i], &b[i], i >= 11, sizes[i], count, names[i]) < 0) {
            release(b, 14);
            return NULL;
        }
    }
    strcol src = {b[0].b.buf, b[1].b.buf, (const uint8_t *)b[1].b.buf + b[1].b.len},
           dst = {b[2].b.buf, b[3].b.buf, (const uint8_t *)b[3].b.buf + b[3].b.len},
           pro = {b[4].b.buf, b[5].b.buf, (const uint8_t *)b[5].b.buf + b[5].b.len};
    const int64_t *sport = b[6].b.buf, *dport = b[7].b.buf, *flags = b[8].b.buf,
                  *ts = b[9].b.buf, *end = b[10].b.buf;
    uint8_t *fwd = b[11].b.buf;
    int64_t *partner = b[12].b.buf, *absorbed = b[13].b.buf;

    int64_t *gstart = malloc((size_t)(n + 2) * sizeof(int64_t));
    int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    sortent *ord = malloc((size_t)(n ? n : 1) * sizeof(sortent));
    int64_t *anchor_end = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t ngroups = -1;
    Py_BEGIN_ALLOW_THREADS
    if (gstart && rows && ord && anchor_end)
        ngroups = group_by_tuple(n, &src, &dst, &pro, sport, dport, fwd, gstart, rows, NULL);
    if (ngroups >= 0)
        pair_groups(n, ngroups, gstart, rows, fwd, sport, dport, flags, ts, end, window, ord,
                    anchor_end, partner, absorbed);
    Py_END_ALLOW_THREADS
    free(gstart); free(rows); free(ord); free(anchor_end);
    release(b, 14);
    if (ngroups < 0) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

typedef struct {
    double first;
    int64_t line;
    int64_t row;
} pktent;

static int cmp_pktent(const void *a, const void *b) {
    const pktent *x = a, *y = b;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    if (x->line != y->line) return x->line < y->line ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* aggregate()'s rows: [0, nc) are partial flows (every counter given), [nc, n) packets (one
 * each, as ingest.packets.Packets.of_packets makes them: first == last, bytes and flags the
 * sender's only), so that flows carried over from the previous block are not copied in
 * front of the next block's packets */
typedef struct {
    int64_t nc;
    const double *c_first, *c_last;
    const int64_t *c_line, *c_fb, *c_rb, *c_fp, *c_rp, *c_ff, *c_rf;
    const double *ts;
    const int64_t *line, *len, *flags;
} rowsin;

static inline double row_first(const rowsin *s, int64_t r) {
    return r < s->nc ? s->c_first[r] : s->ts[r - s->nc];
}

static inline double row_last(const rowsin *s, int64_t r) {
    return r < s->nc ? s->c_last[r] : s->ts[r - s->nc];
}

static inline int64_t row_line(const rowsin *s, int64_t r) {
    return r < s->nc ? s->c_line[r] : s->line[r - s->nc];
}

/* the row's bytes, packets and flags each way (c[0..5]: fwd/rev bytes, packets, flags) */
static inline void row_counts(const rowsin *s, int64_t r, int64_t c[6]) {
    if (r < s->nc) {
        c[0] = s->c_fb[r]; c[1] = s->c_rb[r]; c[2] = s->c_fp[r]; c[3] = s->c_rp[r];
        c[4] = s->c_ff[r]; c[5] = s->c_rf[r];
    } else {
        int64_t k = r - s->nc;
        c[0] = s->len[k]; c[1] = 0; c[2] = 1; c[3] = 0;
        c[4] = s->flags[k]; c[5] = s->flags[k] >= 0 ? 0 : -1;
    }
}

/* aggregate()'s cut of one 5-tuple's next row (in (first, line) order) into flows: a new flow
 * at the first row, after a gap over idle since the latest end so far, or when the active
 * timeout's slot, counted from the idle segment's first row, changes */
typedef struct {
    double latest, seg_first;
    int64_t slot, flow;
} tuplewalk;

static inline int64_t walk_step(tuplewalk *w, int first_row, int64_t r, double f, double l,
                                double idle, double active) {
    int cut = first_row || f - w->latest > idle;
    if (cut) {
        w->seg_first = f;
        w->slot = 0;
    } else {
        int64_t sl = (int64_t)floor((f - w->seg_first) / active);
        if (sl != w->slot) cut = 1;
        w->slot = sl;
    }
    if (cut) w->flow = r;
    if (first_row || l > w->latest) w->latest = l;
    return w->flow;
}

/* rows in (first, line) order already: one pass, state per 5-tuple */
static int walk_in_order(int64_t n, int64_t ngroups, const int32_t *group, const rowsin *in,
                         double idle, double active, int64_t *start_of) {
    tuplewalk *ws = malloc((size_t)(ngroups ? ngroups : 1) * sizeof(tuplewalk));
    uint8_t *seen = calloc((size_t)(ngroups ? ngroups : 1), 1);
    if (!ws || !seen) {
        free(ws); free(seen);
        return 0;
    }
    for (int64_t r = 0; r < n; r++) {
        int32_t g = group[r];
        start_of[r] = walk_step(&ws[g], !seen[g], r, row_first(in, r), row_last(in, r), idle,
                                active);
        seen[g] = 1;
    }
    free(ws); free(seen);
    return 1;
}

/* any order: each group's rows sorted by (first, line, row), then walked */
static void walk_sorted(int64_t ngroups, const int64_t *gstart, const int64_t *rows, pktent *ord,
                        const rowsin *in, double idle, double active, int64_t *start_of) {
    for (int64_t g = 0; g < ngroups; g++) {
        int64_t a = gstart[g], z = gstart[g + 1];
        int sorted = 1;
        for (int64_t k = a; k < z; k++) {
            int64_t r = rows[k];
            pktent e = {row_first(in, r), row_line(in, r), r};
            ord[k] = e;
            if (k > a && cmp_pktent(&ord[k - 1], &ord[k]) > 0) sorted = 0;
        }
        if (!sorted) qsort(ord + a, (size_t)(z - a), sizeof(pktent), cmp_pktent);
        tuplewalk w = {0, 0, 0, -1};
        for (int64_t k = a; k < z; k++)
            start_of[ord[k].row] = walk_step(&w, k == a, ord[k].row, ord[k].first,
                                             row_last(in, ord[k].row), idle, active);
    }
}

/* aggregate()'s flows still open (last + idle >= newest) moved after the others, in (first,
 * line) order (the others keep theirs); nclosed: how many are not open. 0 when out of
 * memory. */
static int open_last(int64_t nflows, double idle, double newest, int64_t *o_start,
                     double *o_first, double *o_last, int64_t *o_fb, int64_t *o_rb,
                     int64_t *o_fp, int64_t *o_rp, int64_t *o_ff, int64_t *o_rf,
                     int64_t *o_line, int64_t *nclosed) {
    int64_t nopen = 0;
    for (int64_t k = 0; k < nflows; k++) nopen += o_last[k] + idle >= newest;
    *nclosed = nflows - nopen;
    if (!nopen) return 1;
    pktent *open = malloc((size_t)nopen * sizeof(pktent));
    int64_t *perm = malloc((size_t)nflows * sizeof(int64_t));
    int64_t *tmp = malloc((size_t)nflows * sizeof(int64_t));
    if (!open || !perm || !tmp) {
        free(open); free(perm); free(tmp);
        return 0;
    }
    int64_t c = 0, q = 0;
    for (int64_t k = 0; k < nflows; k++) {
        if (o_last[k] + idle >= newest) {
            pktent e = {o_first[k], o_line[k], k};
            open[q++] = e;
        } else {
            perm[c++] = k;
        }
    }
    qsort(open, (size_t)nopen, sizeof(pktent), cmp_pktent);
    for (int64_t i = 0; i < nopen; i++) perm[c + i] = open[i].row;
    void *cols[] = {o_start, o_first, o_last, o_fb, o_rb, o_fp, o_rp, o_ff, o_rf, o_line};
    for (size_t j = 0; j < sizeof cols / sizeof cols[0]; j++) { /* 8-byte items, any type */
        const char *from = cols[j];
        for (int64_t i = 0; i < nflows; i++) memcpy(tmp + i, from + perm[i] * 8, 8);
        memcpy(cols[j], tmp, (size_t)nflows * 8);
    }
    free(open); free(perm); free(tmp);
    return 1;
}

PyDoc_STRVAR(aggregate_doc,
"aggregate(n, nc, src_off, src_data, dst_off, dst_data, proto_off, proto_data, sport, dport,\n"
"          first, last, line, fwd_bytes, rev_bytes, fwd_pkts, rev_pkts, fwd_flags,\n"
"          rev_flags, ts, pkt_line, length, flags, idle, active, newest, out_start,\n"
"          out_first, out_last, out_fwd_bytes, out_rev_bytes, out_fwd_pkts, out_rev_pkts,\n"
"          out_fwd_flags, out_rev_flags, out_line) -> (nflows, nclosed)\n\n"
"Packets (or partial flows) -> flows, the rules of ingest.packets.Aggregator: rows of one\n"
"5-tuple (either direction) in (first, line) order; a new flow when the gap to the latest\n"
"end so far exceeds idle, or when the active timeout's slot (counted from the idle\n"
"segment's start) changes. The n rows' addresses, protocols (int32 offsets and data) and\n"
"int64 ports (-1: none) are given whole; rows [0, nc) are partial flows (first, last, line\n"
"and the counters, nc each), rows [nc, n) packets (ts, pkt_line, length, flags: n - nc\n"
"each; one packet sent by src). Times are float64 seconds (no NaN), the rest int64 (-1:\n"
"none). Fills, per flow in the order of their first row's position, that row (out_start),\n"
"min first, max last, the byte/packet sums and flag ORs seen from the originator (the first\n"
"row's sender; -1 flags when none known) and min line. The flows still open (last + idle >=\n"
"newest; none when newest is NaN) come after the others, in (first, line) order. Returns\n"
"the number of flows and of those before the open ones.");

static PyObject *aggregate(PyObject *self, PyObject *args) {
    Py_ssize_t n, nc;
    enum { NB = 31 };
    PyObject *o[NB];
    double idle, active, newest;
    if (!PyArg_ParseTuple(args, "nnOOOOOOOOOOOOOOOOOOOOOdddOOOOOOOOOO", &n, &nc, &o[0], &o[1],
                          &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8], &o[9], &o[10],
                          &o[11], &o[12], &o[13], &o[14], &o[15], &o[16], &o[17], &o[18],
                          &o[19], &o[20], &idle, &active, &newest, &o[21], &o[22], &o[23], &o[24],
                          &o[25], &o[26], &o[27], &o[28], &o[29], &o[30]))
        return NULL;
    if (n < 0 || n > INT32_MAX || nc < 0 || nc > n) {
        PyErr_SetString(PyExc_ValueError, "aggregate: n or nc out of range");
        return NULL;
    }
    pybuf b[NB];
    memset(b, 0, sizeof b);
    for (int i = 0; i < NB; i++) {
        /* strings (offsets n + 1), ports n, partial flows nc, packets n - nc, outputs n */
        Py_ssize_t size = i < 6 ? (i % 2 ? 0 : 4) : 8;
        Py_ssize_t count = i < 6 ? n + 1 : i < 8 ? n : i < 17 ? nc : i < 21 ? n - nc : n;
        if (get_buf(o[i], &b[i], i >= 21, size, count, "aggregate argument") < 0) {
            release(b, NB);
            return NULL;
        }
    }
    strcol src = {b[0].b.buf, b[1].b.buf, (const uint8_t *)b[1].b.buf + b[1].b.len},
           dst = {b[2].b.buf, b[3].b.buf, (const uint8_t *)b[3].b.buf + b[3].b.len},
           pro = {b[4].b.buf, b[5].b.buf, (const uint8_t *)b[5].b.buf + b[5].b.len};
    const int64_t *sport = b[6].b.buf, *dport = b[7].b.buf;
    rowsin in = {nc, b[8].b.buf, b[9].b.buf, b[10].b.buf, b[11].b.buf, b[12].b.buf,
                 b[13].b.buf, b[14].b.buf, b[15].b.buf, b[16].b.buf, b[17].b.buf, b[18].b.buf,
                 b[19].b.buf, b[20].b.buf};
    int64_t *o_start = b[21].b.buf;
    double *o_first = b[22].b.buf, *o_last = b[23].b.buf;
    int64_t *o_fb = b[24].b.buf, *o_rb = b[25].b.buf, *o_fp = b[26].b.buf, *o_rp = b[27].b.buf,
            *o_ff = b[28].b.buf, *o_rf = b[29].b.buf, *o_line = b[30].b.buf;

    uint8_t *fwd = malloc((size_t)(n ? n : 1));
    int32_t *group = malloc((size_t)(n ? n : 1) * sizeof(int32_t));
    int64_t *start_of = malloc((size_t)(n ? n : 1) * sizeof(int64_t)); /* row -> flow's row */
    int64_t *flow_id = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t ngroups = -1, nflows = 0, nclosed = 0;
    Py_BEGIN_ALLOW_THREADS
    if (fwd && group && start_of && flow_id) {
        /* rows already in (first, line) order (packets as captured): one pass in row order
         * walks every 5-tuple in its order, state kept per 5-tuple; else sorted per group */
        int in_order = 1;
        for (int64_t r = 1; r < n && in_order; r++) {
            double f0 = row_first(&in, r - 1), f1 = row_first(&in, r);
            in_order = f0 < f1 || (f0 == f1 && row_line(&in, r - 1) <= row_line(&in, r));
        }
        if (in_order) {
            ngroups = group_by_tuple(n, &src, &dst, &pro, sport, dport, fwd, NULL, NULL, group);
            if (ngroups >= 0 && !walk_in_order(n, ngroups, group, &in, idle, active, start_of))
                ngroups = -1;
        } else {
            int64_t *gstart = malloc((size_t)(n + 2) * sizeof(int64_t));
            int64_t *rows = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
            pktent *ord = malloc((size_t)(n ? n : 1) * sizeof(pktent));
            if (gstart && rows && ord)
                ngroups = group_by_tuple(n, &src, &dst, &pro, sport, dport, fwd, gstart, rows,
                                         NULL);
            if (ngroups >= 0)
                walk_sorted(ngroups, gstart, rows, ord, &in, idle, active, start_of);
            free(gstart); free(rows); free(ord);
        }
    }
    if (ngroups >= 0) {
        /* flows numbered by their first row's position */
        for (int64_t r = 0; r < n; r++)
            if (start_of[r] == r) {
                int64_t k = nflows++;
                flow_id[r] = k;
                o_start[k] = r;
                o_first[k] = row_first(&in, r);
                o_last[k] = row_last(&in, r);
                o_line[k] = row_line(&in, r);
                o_fb[k] = o_rb[k] = o_fp[k] = o_rp[k] = 0;
                o_ff[k] = o_rf[k] = -1;
            }
        for (int64_t r = 0; r < n; r++) {
            int64_t s0 = start_of[r], k = flow_id[s0], c[6];
            int same = fwd[r] == fwd[s0];
            double f = row_first(&in, r), l = row_last(&in, r);
            int64_t ln = row_line(&in, r);
            row_counts(&in, r, c);
            if (f < o_first[k]) o_first[k] = f;
            if (l > o_last[k]) o_last[k] = l;
            if (ln < o_line[k]) o_line[k] = ln;
            o_fb[k] += same ? c[0] : c[1];
            o_rb[k] += same ? c[1] : c[0];
            o_fp[k] += same ? c[2] : c[3];
            o_rp[k] += same ? c[3] : c[2];
            int64_t ff = same ? c[4] : c[5], rf = same ? c[5] : c[4];
            if (ff >= 0) o_ff[k] = (o_ff[k] < 0 ? 0 : o_ff[k]) | ff;
            if (rf >= 0) o_rf[k] = (o_rf[k] < 0 ? 0 : o_rf[k]) | rf;
        }
        nclosed = nflows;
        if (!isnan(newest) && !open_last(nflows, idle, newest, o_start, o_first, o_last, o_fb,
                                         o_rb, o_fp, o_rp, o_ff, o_rf, o_line, &nclosed))
            ngroups = -1;
    }
    Py_END_ALLOW_THREADS
    free(fwd); free(group); free(start_of); free(flow_id);
    release(b, NB);
    if (ngroups < 0) return PyErr_NoMemory();
    return Py_BuildValue("LL", (long long)nflows, (long long)nclosed);
}

/* ---- delimited lines -> typed columns ------------------------------------------------- */

enum { K_SKIP = -1, K_STR = 0, K_INT = 1, K_FLOAT = 2, K_TS = 3, K_HEX = 4 };

typedef struct {
    int kind;
    uint8_t *valid;   /* Arrow validity bitmap (set here: all valid, then nulls cleared) */
    int64_t *i64;     /* K_INT, K_HEX, K_TS (microseconds) */
    double *f64;      /* K_FLOAT */
    int32_t *off;     /* K_STR: offsets */
    uint8_t *text;    /* K_STR: room for the whole span; part 1 writes from its lines' start */
    uint8_t *text_end;
    size_t len[2];
    size_t base[2];   /* where each part's text starts in text */
    int64_t nulls[2];
} fieldout;

typedef struct {
    const uint8_t *buf;
    const int32_t *line_off;
    int64_t lo, hi;
    int part, nfields, last_wanted;
    uint8_t delim;
    const int *kinds;
    fieldout *outs;
    locale_t c_locale;
    uint64_t pattern;       /* the delimiter in every byte */
    const uint8_t *limit;   /* end of the data: word reads stop before it */
    int ok;
} parsejob;

/* The first `byte` in [p, end), else end: eight bytes at a time (a word with a zero byte
 * where it matches; the lowest flagged byte is exact), words read up to `limit`. */
static inline const uint8_t *find_byte(const uint8_t *p, const uint8_t *end, uint8_t byte,
                                       uint64_t pattern, const uint8_t *limit) {
    while (p < end && p + 8 <= limit) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t x = w ^ pattern;
        uint64_t t = (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
        if (t) {
            p += __builtin_ctzll(t) >> 3;
            return p < end ? p : end;
        }
        p += 8;
    }
    if (p > end) return end;
    while (p < end && *p != byte) p++;
    return p;
}

static const double POW10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
                               1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
                               1e21, 1e22};

static inline int parse_int(const uint8_t *p, const uint8_t *e, int64_t *out) {
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p == e || e - p > 18) return 0;
    int64_t v = 0;
    for (; p < e; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    *out = neg ? -v : v;
    return 1;
}

/* 0x followed by 1-15 hex digits (tshark's tcp.flags: 0x0012) */
static inline int parse_hex(const uint8_t *p, const uint8_t *e, int64_t *out) {
    if (e - p < 3 || e - p > 17 || p[0] != '0' || (p[1] | 0x20) != 'x') return 0;
    int64_t v = 0;
    for (p += 2; p < e; p++) {
        unsigned c = *p, d = c - '0', h = (c | 0x20) - 'a';
        if (d <= 9) v = v * 16 + d;
        else if (h <= 5) v = v * 16 + 10 + h;
        else return 0;
    }
    *out = v;
    return 1;
}

/* -?digits[.digits] only. With the digits as an integer m <= 2^53 and at most 22 decimals:
 * m / 10^k, both exact doubles and one correctly rounded division; else the C library's
 * correctly rounding strtod in the "C" locale. Either way the double a correctly rounding
 * parser (Arrow's) gives. */
static inline int parse_float(const uint8_t *p, const uint8_t *e, double *out, locale_t loc) {
    const uint8_t *s0 = p;
    int neg = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p == e) return 0;
    uint64_t m = 0;
    int digits = 0, frac = -1;
    for (; p < e; p++) {
        if (*p == '.') {
            if (frac >= 0 || digits == 0) return 0;
            frac = 0;
            continue;
        }
        unsigned d = (unsigned)(*p - '0');
        if (d > 9) return 0;
        m = m * 10 + d;
        digits++;
        if (frac >= 0) frac++;
    }
    if (frac == 0 || digits > 40) return 0; /* "1." */
    if (digits <= 19 && m <= (1ULL << 53) && frac <= 22) {
        double v = (double)m;
        if (frac > 0) v /= POW10[frac];
        *out = neg ? -v : v;
        return 1;
    }
    char tmp[48];
    size_t len = (size_t)(e - s0);
    memcpy(tmp, s0, len);
    tmp[len] = 0;
    char *end;
    *out = strtod_l(tmp, &end, loc);
    return end == tmp + len;
}

static inline int two(const uint8_t *p, int *v) {
    unsigned a = (unsigned)(p[0] - '0'), b = (unsigned)(p[1] - '0');
    if (a > 9 || b > 9) return 0;
    *v = (int)(a * 10 + b);
    return 1;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* YYYY-MM-DD HH:MM:SS[.f{1,6}] -> microseconds since the epoch; strict (the rest is Arrow's) */
static inline int parse_ts(const uint8_t *p, const uint8_t *e, int64_t *out) {
    size_t len = (size_t)(e - p);
    if (len < 19 || p[4] != '-' || p[7] != '-' || p[10] != ' ' || p[13] != ':' || p[16] != ':')
        return 0;
    int yh, yl, mo, d, h, mi, sec;
    if (!two(p, &yh) || !two(p + 2, &yl) || !two(p + 5, &mo) || !two(p + 8, &d)
        || !two(p + 11, &h) || !two(p + 14, &mi) || !two(p + 17, &sec))
        return 0;
    int y = yh * 100 + yl;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap)) return 0;
    int64_t us = 0;
    if (len > 19) {
        if (p[19] != '.' || len == 20 || len > 26) return 0;
        int k = 0;
        for (const uint8_t *q = p + 20; q < e; q++, k++) {
            unsigned dd = (unsigned)(*q - '0');
            if (dd > 9) return 0;
            us = us * 10 + dd;
        }
        for (; k < 6; k++) us *= 10;
    }
    *out = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) * 1000000) + us;
    return 1;
}

static void *parse_part(void *arg) {
    parsejob *j = arg;
    j->ok = 0;
    /* this part's counts live here, not in the shared outputs: two threads writing next to
     * each other would pass the cache line back and forth on every field */
    size_t len[j->nfields];
    int64_t nulls[j->nfields];
    memset(len, 0, sizeof len);
    memset(nulls, 0, sizeof nulls);
    for (int64_t i = j->lo; i < j->hi; i++) {
        const uint8_t *p = j->buf + j->line_off[i], *le = j->buf + j->line_off[i + 1];
        if (le <= p || le[-1] != '\n') return NULL;
        le--; /* the newline */
        int f = 0;
        for (;; f++) {
            if (f > j->last_wanted) {
                /* the rest: only its fields are counted */
                int64_t more = 0;
                for (const uint8_t *q = p; q < le; q++) more += *q == j->delim;
                f += (int)more + 1;
                break;
            }
            if (f >= j->nfields) return NULL;
            const uint8_t *fe = find_byte(p, le, j->delim, j->pattern, j->limit);
            int kind = j->kinds[f];
            if (kind != K_SKIP) {
                fieldout *o = &j->outs[f];
                if (fe == p) {
                    o->valid[i >> 3] &= (uint8_t)~(1u << (i & 7));
                    nulls[f]++;
                    if (kind == K_INT || kind == K_TS || kind == K_HEX) o->i64[i] = 0;
                    else if (kind == K_FLOAT) o->f64[i] = 0;
                    else o->off[i + 1] = (int32_t)len[f];
                } else if (kind == K_INT) {
                    if (!parse_int(p, fe, &o->i64[i])) return NULL;
                } else if (kind == K_FLOAT) {
                    if (!parse_float(p, fe, &o->f64[i], j->c_locale)) return NULL;
                } else if (kind == K_HEX) {
                    if (!parse_hex(p, fe, &o->i64[i])) return NULL;
                } else if (kind == K_TS) {
                    if (!parse_ts(p, fe, &o->i64[i])) return NULL;
                } else {
                    size_t w = (size_t)(fe - p);
                    uint8_t *to = o->text + o->base[j->part] + len[f];
                    /* this part's room ends where the other part's text starts */
                    const uint8_t *room = j->part ? o->text_end : o->text + o->base[1];
                    if (w <= 16 && p + 16 <= j->limit && to + 16 <= room)
                        memcpy(to, p, 16); /* a fixed size: two moves, no library call */
                    else
                        memcpy(to, p, w);
                    len[f] += w;
                    o->off[i + 1] = (int32_t)len[f];
                }
            }
            if (fe == le) {
                f++;
                break;
            }
            p = fe + 1;
        }
        if (f != j->nfields) return NULL;
    }
    for (int f = 0; f < j->nfields; f++) {
        j->outs[f].len[j->part] = len[f];
        j->outs[f].nulls[j->part] = nulls[f];
    }
    j->ok = 1;
    return NULL;
}

PyDoc_STRVAR(parse_lines_doc,
"parse_lines(n, line_off, data, delimiter, quoted, kinds, outputs) -> list | None\n\n"
"Lines data[line_off[i]:line_off[i+1]] (each ending with a newline) split at the delimiter\n"
"byte into len(kinds) fields; kinds per field: -1 skip, 0 text, 1 int64, 2 float64,\n"
"3 timestamp (microseconds), 4 int64 written 0x<hex digits>. outputs per field: None\n"
"(skipped) or (validity bitmap, values or int32 offsets, text room of line_off[n] -\n"
"line_off[0] bytes or None), writable. An empty field is null. Returns per field not\n"
"skipped (null count, text length); None as soon as any line is not plain: another field\n"
"count, a value outside the strict forms read here (-?digits; -?digits.digits;\n"
"YYYY-MM-DD HH:MM:SS[.ffffff]; 0xhex), a byte >= 0x80, a carriage return, or a double\n"
"quote when quoted. Arrow's CSV reader, which reads every form of kinds 1-3 to the same\n"
"values (and leaves kind 4 text), then decides. Two threads.");

static PyObject *parse_lines(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj, *kinds_obj, *outs_obj;
    int delim, quoted;
    if (!PyArg_ParseTuple(args, "nOOipOO", &n, &off_obj, &data_obj, &delim, &quoted,
                          &kinds_obj, &outs_obj))
        return NULL;
    PyObject *kseq = PySequence_Fast(kinds_obj, "kinds: a sequence");
    if (!kseq) return NULL;
    PyObject *oseq = PySequence_Fast(outs_obj, "outputs: a sequence");
    if (!oseq) {
        Py_DECREF(kseq);
        return NULL;
    }
    int nfields = (int)PySequence_Fast_GET_SIZE(kseq);
    int *kinds = malloc(sizeof(int) * (size_t)(nfields ? nfields : 1));
    fieldout *outs = calloc((size_t)(nfields ? nfields : 1), sizeof(fieldout));
    pybuf *bufs = calloc((size_t)(3 * nfields + 2), sizeof(pybuf));
    int nbufs = 3 * nfields + 2;
    PyObject *result = NULL;
    int last_wanted = -1;
    locale_t loc = (locale_t)0;
    if (!kinds || !outs || !bufs) {
        PyErr_NoMemory();
        goto done;
    }
    if (PySequence_Fast_GET_SIZE(oseq) != nfields || n < 0 || n >= INT32_MAX || nfields < 1) {
        PyErr_SetString(PyExc_ValueError, "parse_lines: bad sizes");
        goto done;
    }
    if (get_buf(off_obj, &bufs[0], 0, 4, n + 1, "line_off") < 0
        || get_buf(data_obj, &bufs[1], 0, 0, 0, "data") < 0)
        goto done;
    const int32_t *line_off = bufs[0].b.buf;
    const uint8_t *buf = bufs[1].b.buf;
    if (n && (line_off[0] < 0 || line_off[n] > bufs[1].b.len || line_off[n] < line_off[0])) {
        PyErr_SetString(PyExc_ValueError, "parse_lines: offsets outside the data");
        goto done;
    }
    size_t span = n ? (size_t)(line_off[n] - line_off[0]) : 0;
    size_t nbits = ((size_t)n + 7) / 8;
    for (int f = 0; f < nfields; f++) {
        int kind = (int)PyLong_AsLong(PySequence_Fast_GET_ITEM(kseq, f));
        if (PyErr_Occurred()) goto done;
        kinds[f] = kind;
        fieldout *o = &outs[f];
        o->kind = kind;
        if (kind == K_SKIP) continue;
        if (kind < K_STR || kind > K_HEX) {
            PyErr_SetString(PyExc_ValueError, "parse_lines: unknown kind");
            goto done;
        }
        last_wanted = f;
        PyObject *t = PySequence_Fast_GET_ITEM(oseq, f);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3) {
            PyErr_SetString(PyExc_ValueError, "parse_lines: outputs are 3-tuples");
            goto done;
        }
        pybuf *vb = &bufs[2 + 3 * f];
        if (get_buf(PyTuple_GET_ITEM(t, 0), &vb[0], 1, 1, (Py_ssize_t)nbits, "validity") < 0
            || get_buf(PyTuple_GET_ITEM(t, 1), &vb[1], 1, kind == K_STR ? 4 : 8,
                       kind == K_STR ? n + 1 : n, "values") < 0)
            goto done;
        o->valid = vb[0].b.buf;
        if (kind == K_STR) {
            if (get_buf(PyTuple_GET_ITEM(t, 2), &vb[2], 1, 1, (Py_ssize_t)span, "text") < 0)
                goto done;
            o->off = vb[1].b.buf;
            o->text = vb[2].b.buf;
            o->text_end = o->text + vb[2].b.len;
            o->off[0] = 0;
        } else if (kind == K_FLOAT) {
            o->f64 = vb[1].b.buf;
        } else {
            o->i64 = vb[1].b.buf;
        }
    }
    if (last_wanted < 0) {
        PyErr_SetString(PyExc_ValueError, "parse_lines: no field wanted");
        goto done;
    }
    /* anything not plain anywhere: Arrow decides */
    const uint8_t *start = buf + (n ? line_off[0] : 0);
    uint8_t high = 0; /* UTF-8 checks are Arrow's: any byte >= 0x80 leaves the lines to it */
    for (size_t k = 0; k < span; k++) high |= start[k];
    if ((high & 0x80) || memchr(start, '\r', span) || (quoted && memchr(start, '"', span))) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!loc) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t mid = (n / 2) & ~(int64_t)63; /* parts meet on a byte of every bitmap */
    for (int f = 0; f < nfields; f++) {
        if (outs[f].kind == K_SKIP) continue;
        memset(outs[f].valid, 0xff, nbits);
        outs[f].base[1] = n ? (size_t)(line_off[mid] - line_off[0]) : 0;
    }
    uint64_t pattern = 0x0101010101010101ULL * (uint8_t)delim;
    const uint8_t *limit = buf + bufs[1].b.len;
    parsejob jobs[2] = {
        {buf, line_off, 0, mid, 0, nfields, last_wanted, (uint8_t)delim, kinds, outs, loc,
         pattern, limit, 0},
        {buf, line_off, mid, n, 1, nfields, last_wanted, (uint8_t)delim, kinds, outs, loc,
         pattern, limit, 0}};
    Py_BEGIN_ALLOW_THREADS
    pthread_t th;
    int threaded = mid > 0 && pthread_create(&th, NULL, parse_part, &jobs[0]) == 0;
    if (!threaded) parse_part(&jobs[0]);
    parse_part(&jobs[1]);
    if (threaded) pthread_join(th, NULL);
    if (jobs[0].ok && jobs[1].ok) {
        /* part 1's text joins part 0's; its offsets move with it */
        for (int f = 0; f < nfields; f++) {
            fieldout *o = &outs[f];
            if (o->kind != K_STR) continue;
            memmove(o->text + o->len[0], o->text + o->base[1], o->len[1]);
            for (int64_t i = mid; i < n; i++) o->off[i + 1] += (int32_t)o->len[0];
        }
    }
    Py_END_ALLOW_THREADS
    if (!jobs[0].ok || !jobs[1].ok) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    result = PyList_New(0);
    for (int f = 0; f < nfields && result; f++) {
        fieldout *o = &outs[f];
        if (o->kind == K_SKIP) continue;
        PyObject *item = Py_BuildValue("(LL)", (long long)(o->nulls[0] + o->nulls[1]),
                                       (long long)(o->len[0] + o->len[1]));
        if (!item || PyList_Append(result, item) < 0) Py_CLEAR(result);
        Py_XDECREF(item);
    }
done:
    if (loc) freelocale(loc);
    if (bufs) release(bufs, nbufs);
    free(bufs);
    free(outs);
    free(kinds);
    Py_DECREF(kseq);
    Py_DECREF(oseq);
    return result;
}

PyDoc_STRVAR(line_ends_doc,
"line_ends(data, out) -> int\n\n"
"Fills out (int32, room for one more than the lines of data) with 0 and the position after\n"
"each newline of data; returns how many it wrote.");

static PyObject *line_ends(PyObject *self, PyObject *args) {
    PyObject *data_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "OO", &data_obj, &out_obj)) return NULL;
    pybuf b[2];
    memset(b, 0, sizeof b);
    if (get_buf(data_obj, &b[0], 0, 0, 0, "data") < 0
        || get_buf(out_obj, &b[1], 1, 4, 1, "out") < 0) {
        release(b, 2);
        return NULL;
    }
    const uint8_t *p = b[0].b.buf, *end = p + b[0].b.len;
    int32_t *out = b[1].b.buf;
    Py_ssize_t room = b[1].b.len / 4, k = 0;
    if (b[0].b.len >= INT32_MAX) {
        release(b, 2);
        PyErr_SetString(PyExc_ValueError, "line_ends: data over 2 GiB");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    const uint8_t *start = p;
    out[k++] = 0;
    while (p < end && k < room) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) break;
        p = nl + 1;
        out[k++] = (int32_t)(p - start);
    }
    Py_END_ALLOW_THREADS
    int full = p < end && k >= room && memchr(p, '\n', (size_t)(end - p)) != NULL;
    release(b, 2);
    if (full) {
        PyErr_SetString(PyExc_ValueError, "line_ends: out is too small");
        return NULL;
    }
    return PyLong_FromSsize_t(k);
}

/* The string column (off, data) of n values, for the text kernels below; -1 (exception set)
 * when a buffer is too short for the offsets it gives. */
static int text_column(PyObject *off_obj, PyObject *data_obj, Py_ssize_t n, pybuf *b) {
    if (get_buf(off_obj, &b[0], 0, 4, n + 1, "offsets") < 0
        || get_buf(data_obj, &b[1], 0, 0, 0, "data") < 0)
        return -1;
    const int32_t *off = b[0].b.buf;
    if (n > 0 && (off[0] < 0 || off[n] > b[1].b.len)) {
        PyErr_SetString(PyExc_ValueError, "offsets past the data");
        return -1;
    }
    return 0;
}

/* 1 when p[0..len) is a dotted quad as ipaddress prints it: four decimal octets 0-255, no
 * leading zero (a "010" is octal to some tools), nothing else. */
static inline int dotted_quad(const uint8_t *p, int32_t len) {
    if (len < 7 || len > 15) return 0;
    const uint8_t *end = p + len;
    for (int part = 0; part < 4; part++) {
        if (part) {
            if (p >= end || *p != '.') return 0;
            p++;
        }
        int digits = 0, value = 0;
        const uint8_t *first = p;
        while (p < end && *p >= '0' && *p <= '9' && digits < 4) {
            value = value * 10 + (*p - '0');
            digits++;
            p++;
        }
        if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && *first == '0')) return 0;
    }
    return p == end;
}

PyDoc_STRVAR(dotted_quads_doc,
"dotted_quads(n, offsets, data, out) -> int\n\n"
"out[i] (uint8) = 1 when value i of the string column is a canonical dotted quad (four\n"
"octets 0-255 without leading zeros), else 0; returns how many are not.");

static PyObject *dotted_quads(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "nOOO", &n, &off_obj, &data_obj, &out_obj)) return NULL;
    pybuf b[3];
    memset(b, 0, sizeof b);
    if (text_column(off_obj, data_obj, n, b) < 0
        || get_buf(out_obj, &b[2], 1, 1, n, "out") < 0) {
        release(b, 3);
        return NULL;
    }
    const int32_t *off = b[0].b.buf;
    const uint8_t *data = b[1].b.buf;
    uint8_t *out = b[2].b.buf;
    Py_ssize_t bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        out[i] = (uint8_t)dotted_quad(data + off[i], off[i + 1] - off[i]);
        bad += !out[i];
    }
    Py_END_ALLOW_THREADS
    release(b, 3);
    return PyLong_FromSsize_t(bad);
}

PyDoc_STRVAR(untrimmed_doc,
"untrimmed(n, offsets, data) -> int\n\n"
"How many values of the string column start or end with a byte <= 32 (blank, control) or\n"
">= 0x80 (perhaps a non-ASCII space): the values a trim could change.");

static PyObject *untrimmed(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj;
    if (!PyArg_ParseTuple(args, "nOO", &n, &off_obj, &data_obj)) return NULL;
    pybuf b[2];
    memset(b, 0, sizeof b);
    if (text_column(off_obj, data_obj, n, b) < 0) {
        release(b, 2);
        return NULL;
    }
    const int32_t *off = b[0].b.buf;
    const uint8_t *data = b[1].b.buf;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t a = off[i], z = off[i + 1];
        if (z > a) {
            uint8_t f = data[a], l = data[z - 1];
            count += (f <= 32 || f >= 0x80 || l <= 32 || l >= 0x80);
        }
    }
    Py_END_ALLOW_THREADS
    release(b, 2);
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(has_byte_doc,
"has_byte(data, byte) -> bool\n\n"
"Whether byte (0-255) occurs in the buffer data (memchr).");

static PyObject *has_byte(PyObject *self, PyObject *args) {
    PyObject *data_obj;
    int byte;
    if (!PyArg_ParseTuple(args, "Oi", &data_obj, &byte)) return NULL;
    if (byte < 0 || byte > 255) {
        PyErr_SetString(PyExc_ValueError, "byte out of range 0-255");
        return NULL;
    }
    pybuf b;
    if (get_buf(data_obj, &b, 0, 0, 0, "data") < 0) {
        release(&b, 1);
        return NULL;
    }
    const void *hit;
    Py_BEGIN_ALLOW_THREADS
    hit = memchr(b.b.buf, byte, (size_t)b.b.len);
    Py_END_ALLOW_THREADS
    release(&b, 1);
    return PyBool_FromLong(hit != NULL);
}

PyDoc_STRVAR(first_bytes_doc,
"first_bytes(n, offsets, data, table, out) -> int\n\n"
"out[i] (uint8) = 1 when value i of the string column is not empty and table[its first\n"
"byte] (256 bytes) is not 0, else 0; returns how many are 1. For line_starts.");

static PyObject *first_bytes(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj, *table_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "nOOOO", &n, &off_obj, &data_obj, &table_obj, &out_obj))
        return NULL;
    pybuf b[4];
    memset(b, 0, sizeof b);
    if (text_column(off_obj, data_obj, n, b) < 0
        || get_buf(table_obj, &b[2], 0, 1, 256, "table") < 0
        || get_buf(out_obj, &b[3], 1, 1, n, "out") < 0) {
        release(b, 4);
        return NULL;
    }
    const int32_t *off = b[0].b.buf;
    const uint8_t *data = b[1].b.buf, *table = b[2].b.buf;
    uint8_t *out = b[3].b.buf;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t a = off[i];
        uint8_t hit = off[i + 1] > a && table[data[a]];
        out[i] = hit;
        count += hit;
    }
    Py_END_ALLOW_THREADS
    release(b, 4);
    return PyLong_FromSsize_t(count);
}

PyDoc_STRVAR(distinct_doc,
"distinct(n, offsets, data, codes, first) -> int\n\n"
"Numbers the distinct values of the string column by first appearance: codes[i] (int32) is\n"
"value i's number, first[k] (int64) the row where number k first appears; returns how many\n"
"distinct values there are. For map_distinct: a low-cardinality column's per-value mapping\n"
"without Arrow's dictionary encoding.");

static PyObject *distinct(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj, *codes_obj, *first_obj;
    if (!PyArg_ParseTuple(args, "nOOOO", &n, &off_obj, &data_obj, &codes_obj, &first_obj))
        return NULL;
    pybuf b[4];
    memset(b, 0, sizeof b);
    if (text_column(off_obj, data_obj, n, b) < 0
        || get_buf(codes_obj, &b[2], 1, 4, n, "codes") < 0
        || get_buf(first_obj, &b[3], 1, 8, n, "first") < 0) {
        release(b, 4);
        return NULL;
    }
    strcol col = {b[0].b.buf, b[1].b.buf, (const uint8_t *)b[1].b.buf + b[1].b.len};
    int32_t *codes = b[2].b.buf;
    int64_t *first = b[3].b.buf;
    size_t cap = 1024, mask = cap - 1;
    uint64_t *hashes = malloc(cap * sizeof *hashes);
    int32_t *ids = malloc(cap * sizeof *ids);
    int64_t k = 0;
    int oom = hashes == NULL || ids == NULL;
    Py_BEGIN_ALLOW_THREADS
    if (!oom) memset(ids, 0xff, cap * sizeof *ids);
    for (Py_ssize_t i = 0; i < n && !oom; i++) {
        /* short values (flags, protocol names, states): one word, one multiply */
        int32_t len = col.off[i + 1] - col.off[i];
        uint64_t h;
        if (len <= 8) {
            uint64_t w = 0;
            const uint8_t *p = col.data + col.off[i];
            if (len && p + 8 <= col.limit) {
                memcpy(&w, p, 8);
                w &= ~0ULL >> (64 - 8 * len);
            } else {
                for (int32_t q = 0; q < len; q++) w |= (uint64_t)p[q] << (8 * q);
            }
            h = (w ^ ((uint64_t)len << 59)) * 0x9e3779b97f4a7c15ULL;
            h ^= h >> 29;
        } else {
            h = hash_str(&col, i, 0x243f6a8885a308d3ULL);
        }
        size_t at = h & mask;
        for (;;) {
            int32_t g = ids[at];
            if (g < 0) {
                ids[at] = (int32_t)k;
                hashes[at] = h;
                first[k] = i;
                codes[i] = (int32_t)k++;
                break;
            }
            if (hashes[at] == h && eq_str(&col, first[g], &col, i)) {
                codes[i] = g;
                break;
            }
            at = (at + 1) & mask;
        }
        if ((size_t)k * 2 > cap) { /* grow: rehash by the stored hashes */
            size_t ncap = cap * 4, nmask = ncap - 1;
            uint64_t *nh = malloc(ncap * sizeof *nh);
            int32_t *ni = malloc(ncap * sizeof *ni);
            if (nh == NULL || ni == NULL) {
                free(nh);
                free(ni);
                oom = 1;
                break;
            }
            memset(ni, 0xff, ncap * sizeof *ni);
            for (size_t j = 0; j < cap; j++) {
                if (ids[j] < 0) continue;
                size_t to = hashes[j] & nmask;
                while (ni[to] >= 0) to = (to + 1) & nmask;
                ni[to] = ids[j];
                nh[to] = hashes[j];
            }
            free(hashes);
            free(ids);
            hashes = nh;
            ids = ni;
            cap = ncap;
            mask = nmask;
        }
    }
    Py_END_ALLOW_THREADS
    free(hashes);
    free(ids);
    release(b, 4);
    if (oom) return PyErr_NoMemory();
    return PyLong_FromLongLong(k);
}

PyDoc_STRVAR(first_nonnegative_doc,
"first_nonnegative(n, columns, out) -> None\n\n"
"columns: (values int64, validity bitmap or None, bit offset, addend) each, in order of\n"
"preference. out[i] (int64) = max(v + addend, 0) for the first column whose row i is valid\n"
"and not negative, else -1. (tshark: a packet's ports from the tcp/udp/sctp columns, its\n"
"length from ip.len, ipv6.plen + 40, frame.len less the link header.)");

typedef struct {
    const int64_t *v;
    const uint8_t *valid;
    Py_ssize_t bit;
    int64_t add;
} intcol;

static PyObject *first_nonnegative(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *cols_obj, *out_obj;
    if (!PyArg_ParseTuple(args, "nOO", &n, &cols_obj, &out_obj)) return NULL;
    PyObject *seq = PySequence_Fast(cols_obj, "columns: a sequence");
    if (!seq) return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    pybuf *b = calloc((size_t)(2 * k + 1), sizeof(pybuf));
    intcol *c = calloc((size_t)(k ? k : 1), sizeof(intcol));
    PyObject *result = NULL;
    if (!b || !c) {
        PyErr_NoMemory();
        goto done;
    }
    if (get_buf(out_obj, &b[2 * k], 1, 8, n, "out") < 0) goto done;
    for (Py_ssize_t j = 0; j < k; j++) {
        PyObject *t = PySequence_Fast_GET_ITEM(seq, j);
        PyObject *vals, *valid;
        long long add;
        if (!PyArg_ParseTuple(t, "OOnL", &vals, &valid, &c[j].bit, &add)) goto done;
        c[j].add = add;
        if (c[j].bit < 0 || get_buf(vals, &b[2 * j], 0, 8, n, "values") < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "negative bit offset");
            goto done;
        }
        c[j].v = b[2 * j].b.buf;
        if (valid != Py_None) {
            if (get_buf(valid, &b[2 * j + 1], 0, 1, (c[j].bit + n + 7) / 8, "validity") < 0)
                goto done;
            c[j].valid = b[2 * j + 1].b.buf;
        }
    }
    int64_t *out = b[2 * k].b.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t got = -1;
        for (Py_ssize_t j = 0; j < k; j++) {
            Py_ssize_t at = c[j].bit + i;
            if (c[j].valid && !((c[j].valid[at >> 3] >> (at & 7)) & 1)) continue;
            int64_t v = c[j].v[i];
            if (v < 0) continue;
            v += c[j].add;
            got = v > 0 ? v : 0;
            break;
        }
        out[i] = got;
    }
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    if (b) release(b, (int)(2 * k + 1));
    free(b);
    free(c);
    Py_DECREF(seq);
    return result;
}

PyDoc_STRVAR(count_fields_doc,
"count_fields(n, offsets, data, delimiter, quoted, out) -> int\n\n"
"out[i] (int32) = the fields of line i as Arrow's CSV reader splits it (a double quote opens\n"
"a value only at a field's start, \"\" inside one is a quote, text after the closing quote\n"
"belongs to the field; the line ends at its newline, a CRLF's CR aside), or -1 when the line\n"
"ends inside quotes. Returns how many lines have a quote that is not text.");

static PyObject *count_fields(PyObject *self, PyObject *args) {
    Py_ssize_t n;
    PyObject *off_obj, *data_obj, *out_obj;
    int delim, quoted;
    if (!PyArg_ParseTuple(args, "nOOipO", &n, &off_obj, &data_obj, &delim, &quoted, &out_obj))
        return NULL;
    pybuf b[3];
    memset(b, 0, sizeof b);
    if (text_column(off_obj, data_obj, n, b) < 0
        || get_buf(out_obj, &b[2], 1, 4, n, "out") < 0) {
        release(b, 3);
        return NULL;
    }
    const int32_t *off = b[0].b.buf;
    const uint8_t *data = b[1].b.buf;
    int32_t *out = b[2].b.buf;
    Py_ssize_t with_quotes = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        const uint8_t *p = data + off[i], *e = data + off[i + 1];
        if (e > p && e[-1] == '\n') e--;
        if (e > p && e[-1] == '\r') e--;
        int32_t fields = 1;
        int at_start = 1, in_quotes = 0, saw = 0;
        while (p < e) {
            uint8_t c = *p++;
            if (in_quotes) {
                if (c == '"') {
                    if (p < e && *p == '"') p++;
                    else in_quotes = 0;
                }
                continue;
            }
            if (quoted && at_start && c == '"') {
                in_quotes = saw = 1;
                at_start = 0;
                continue;
            }
            at_start = c == (uint8_t)delim;
            fields += at_start;
        }
        out[i] = in_quotes ? -1 : fields;
        with_quotes += saw;
    }
    Py_END_ALLOW_THREADS
    release(b, 3);
    return PyLong_FromSsize_t(with_quotes);
}

static PyMethodDef methods[] = {
    {"pair", pair, METH_VARARGS, pair_doc},
    {"aggregate", aggregate, METH_VARARGS, aggregate_doc},
    {"parse_lines", parse_lines, METH_VARARGS, parse_lines_doc},
    {"line_ends", line_ends, METH_VARARGS, line_ends_doc},
    {"dotted_quads", dotted_quads, METH_VARARGS, dotted_quads_doc},
    {"untrimmed", untrimmed, METH_VARARGS, untrimmed_doc},
    {"first_bytes", first_bytes, METH_VARARGS, first_bytes_doc},
    {"has_byte", has_byte, METH_VARARGS, has_byte_doc},
    {"distinct", distinct, METH_VARARGS, distinct_doc},
    {"first_nonnegative", first_nonnegative, METH_VARARGS, first_nonnegative_doc},
    {"count_fields", count_fields, METH_VARARGS, count_fields_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ingest._native",
    "Native kernels for the flow readers (see ingest/_native.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
