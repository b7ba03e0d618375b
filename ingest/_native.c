/* Native kernels for the flow readers: the parts of ingest.stitch that are one pass over
 * the rows with a hash table, where numpy needs a dozen full-array passes and a sort.
 *
 * Every function has a pure numpy twin in the Python module that calls it (the reference,
 * used when this extension is not built); tests/readers/test_native.py checks both give the
 * same answer. Arrays are passed through the buffer protocol (numpy arrays, Arrow buffers),
 * never copied; the GIL is released while the kernel runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

static inline uint64_t hash_str(const strcol *c, int64_t i, uint64_t h) {
    const uint8_t *p = c->data + c->off[i];
    int32_t len = c->off[i + 1] - c->off[i];
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

static inline int cmp_str(const strcol *c, int64_t i, const strcol *d, int64_t j) {
    int32_t a0 = c->off[i], a1 = c->off[i + 1], b0 = d->off[j], b1 = d->off[j + 1];
    int32_t la = a1 - a0, lb = b1 - b0;
    int r = memcmp(c->data + a0, d->data + b0, (size_t)(la < lb ? la : lb));
    if (r) return r;
    return (la > lb) - (la < lb);
}

static inline int eq_str(const strcol *c, int64_t i, const strcol *d, int64_t j) {
    int32_t la = c->off[i + 1] - c->off[i], lb = d->off[j + 1] - d->off[j];
    return la == lb && memcmp(c->data + c->off[i], d->data + d->off[j], (size_t)la) == 0;
}

/* the row's endpoints, the smaller (address, port) first */
typedef struct {
    const strcol *lo_c, *hi_c;
    int64_t lo_p, hi_p;
} ends;

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

    size_t cap = 16;
    while (cap < (size_t)n * 2) cap <<= 1;
    slot *slots = malloc(cap * sizeof(slot));
    int64_t *group = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    int64_t *last = malloc((size_t)(n ? n : 1) * sizeof(int64_t)); /* group -> its last row */
    int64_t *gstart = malloc((size_t)(n + 2) * sizeof(int64_t));
    sortent *ord = malloc((size_t)(n ? n : 1) * sizeof(sortent));
    int64_t *anchor_end = malloc((size_t)(n ? n : 1) * sizeof(int64_t));
    uint64_t *hashes = malloc((size_t)(n ? n : 1) * sizeof(uint64_t));
    if (!slots || !group || !last || !gstart || !ord || !anchor_end || !hashes) {
        free(slots); free(group); free(last); free(gstart); free(ord); free(anchor_end);
        free(hashes);
        release(b, 14);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    memset(slots, 0xff, cap * sizeof(slot));
    int64_t ngroups = 0;
    size_t mask = cap - 1;
    /* the hashes first, so that the probes can fetch their slots ahead */
    for (int64_t i = 0; i < n; i++) {
        int c = cmp_str(&src, i, &dst, i);
        int f = c < 0 || (c == 0 && sport[i] <= dport[i]);
        fwd[i] = (uint8_t)f;
        partner[i] = -1;
        absorbed[i] = -1;
        const strcol *lc = f ? &src : &dst, *hc = f ? &dst : &src;
        int64_t lp = f ? sport[i] : dport[i], hp = f ? dport[i] : sport[i];
        uint64_t h = hash_str(hc, i, hash_str(lc, i, 0));
        h = hash_str(&pro, i, h);
        hashes[i] = mix(h ^ (uint64_t)lp ^ ((uint64_t)hp << 20) ^ ((uint64_t)hp >> 44));
    }
    for (int64_t i = 0; i < n; i++) {
        if (i + 16 < n) __builtin_prefetch(&slots[(size_t)hashes[i + 16] & mask], 1);
        int f = fwd[i];
        const strcol *lc = f ? &src : &dst, *hc = f ? &dst : &src;
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
                group[i] = ngroups++;
                break;
            }
            if (slots[s].tag == tag) {
                /* the group's last row so far: in time-ordered input it is near, in cache */
                int64_t j = last[g];
                int fj = fwd[j];
                const strcol *ljc = fj ? &src : &dst, *hjc = fj ? &dst : &src;
                int64_t ljp = fj ? sport[j] : dport[j], hjp = fj ? dport[j] : sport[j];
                if (lp == ljp && hp == hjp && eq_str(lc, i, ljc, j) && eq_str(hc, i, hjc, j)
                    && eq_str(&pro, i, &pro, j)) {
                    group[i] = g;
                    last[g] = i;
                    break;
                }
            }
            s = (s + 1) & mask;
        }
    }
    /* rows grouped by 5-tuple (stable counting sort), each group by (start, score, row) */
    memset(gstart, 0, (size_t)(ngroups + 2) * sizeof(int64_t));
    for (int64_t i = 0; i < n; i++) gstart[group[i] + 2]++;
    for (int64_t g = 0; g < ngroups; g++) gstart[g + 2] += gstart[g + 1];
    for (int64_t i = 0; i < n; i++) {
        int64_t fl = flags[i];
        int syn_only = fl >= 0 && (fl & 0x02) && !(fl & 0x10);
        int syn_ack = fl >= 0 && (fl & 0x12) == 0x12;
        int64_t score = (syn_only ? 0 : (syn_ack ? 4 : 2)) + (sport[i] < dport[i]);
        sortent e = {ts[i] * 8 + score, i};
        ord[gstart[group[i] + 1]++] = e;
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
    Py_END_ALLOW_THREADS
    free(slots); free(group); free(last); free(gstart); free(ord); free(anchor_end);
    free(hashes);
    release(b, 14);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"pair", pair, METH_VARARGS, pair_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "ingest._native",
    "Native kernels for the flow readers (see ingest/_native.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
