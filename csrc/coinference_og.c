#include "coinference_og.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A step function of the finish time F: cost v[t] (+INFINITY where no state survives) and
 * planned GPU time g[t] on [x[t], x[t+1]), x[0] = -INFINITY. tag_j/tag_n name a term achieving
 * the value: the first position j of the last group and its first sub-task n. */
typedef struct {
    double *x, *v, *g;
    int32_t *tj, *tn;
    int64_t len, cap;
} sfun;

/* (v1, g1) below (v2, g2) in the order of the objective: the cost first, then the planned GPU
 * time, each compared to OG_REL_TIE relative so that sums taken in another order still tie. */
static inline int cost_lt(double v1, double g1, double v2, double g2)
{
    if (v1 == INFINITY)
        return 0;
    if (v2 == INFINITY)
        return 1;
    const double tv = OG_REL_TIE * fmax(fabs(v1), fabs(v2));
    if (v1 < v2 - tv)
        return 1;
    if (v2 < v1 - tv)
        return 0;
    return g1 < g2 - OG_REL_TIE * fmax(fabs(g1), fabs(g2));
}

/* Tie rule between two terms of equal cost and GPU time: the larger last group (smaller first
 * position j) wins, then the later first sub-task n. */
static inline int tag_before(int32_t j1, int32_t n1, int32_t j2, int32_t n2)
{
    return j1 < j2 || (j1 == j2 && n1 > n2);
}

/* (v1, g1, tags 1) preferred to (v2, g2, tags 2). */
static inline int term_better(double v1, double g1, int32_t j1, int32_t n1, double v2, double g2, int32_t j2,
                              int32_t n2)
{
    if (cost_lt(v1, g1, v2, g2))
        return 1;
    if (v1 == INFINITY || cost_lt(v2, g2, v1, g1))
        return 0;
    return tag_before(j1, n1, j2, n2);
}

static int sf_reserve(sfun *f, int64_t need)
{
    if (need <= f->cap)
        return 1;
    int64_t cap = f->cap ? f->cap : 16;
    while (cap < need)
        cap *= 2;
    double *x = realloc(f->x, sizeof(double) * (size_t)cap);
    if (!x)
        return 0;
    f->x = x;
    double *v = realloc(f->v, sizeof(double) * (size_t)cap);
    if (!v)
        return 0;
    f->v = v;
    double *g = realloc(f->g, sizeof(double) * (size_t)cap);
    if (!g)
        return 0;
    f->g = g;
    int32_t *tj = realloc(f->tj, sizeof(int32_t) * (size_t)cap);
    if (!tj)
        return 0;
    f->tj = tj;
    int32_t *tn = realloc(f->tn, sizeof(int32_t) * (size_t)cap);
    if (!tn)
        return 0;
    f->tn = tn;
    f->cap = cap;
    return 1;
}

static void sf_free(sfun *f)
{
    free(f->x);
    free(f->v);
    free(f->g);
    free(f->tj);
    free(f->tn);
    memset(f, 0, sizeof(*f));
}

/* Append a step of V; the same value with the same tag extends the previous step. (A value
 * equal to the previous one under another tag starts a step: the tie rule may prefer the new
 * term from there on.) Capacity must be reserved. */
static inline void sf_push(sfun *f, double x, double v, double g, int32_t tj, int32_t tn)
{
    if (f->len > 0 && v == f->v[f->len - 1] && g == f->g[f->len - 1] && tj == f->tj[f->len - 1] &&
        tn == f->tn[f->len - 1])
        return;
    f->x[f->len] = x;
    f->v[f->len] = v;
    f->g[f->len] = g;
    f->tj[f->len] = tj;
    f->tn[f->len] = tn;
    f->len++;
}

/* Append a step of a Q layer. Its tag must be exact, not just value-achieving: a layer's
 * groups grow by one member per position, and a group that has reached its first deadline
 * (clamped) grows differently, so a step starts wherever the value or the group start changes. */
static inline void sf_push_exact(sfun *f, double x, double v, double g, int32_t tj)
{
    if (f->len > 0 && v == f->v[f->len - 1] &&
        ((tj == f->tj[f->len - 1] && g == f->g[f->len - 1]) || v == INFINITY))
        return;
    f->x[f->len] = x;
    f->v[f->len] = v;
    f->g[f->len] = g;
    f->tj[f->len] = tj;
    f->tn[f->len] = 0;
    f->len++;
}

static void sf_constant(sfun *f, double v, int32_t tj, int32_t tn)
{
    f->len = 0;
    sf_push(f, -INFINITY, v, 0.0, tj, tn);
}

static inline int sf_empty(const sfun *f) { return f->len == 1 && f->v[0] == INFINITY; }

/* Read cursor over a step function, optionally shifted right by `shift` with a fixed tag and
 * `gadd` added to its GPU time. */
typedef struct {
    const double *x, *v, *g;
    const int32_t *tj, *tn;
    int64_t len, pos;
    double shift, gadd;
    int32_t fixed_j; /* >= 0: report this tag_j instead of the stored one */
} cursor;

static inline cursor cur_make(const double *x, const double *v, const double *g, const int32_t *tj,
                              const int32_t *tn, int64_t len, double shift, double gadd, int32_t fixed_j)
{
    cursor c = {x, v, g, tj, tn, len, 0, shift, gadd, fixed_j};
    return c;
}

static inline double cur_next(const cursor *c)
{
    return c->pos + 1 < c->len ? c->x[c->pos + 1] + c->shift : INFINITY;
}

static inline void cur_advance(cursor *c, double x)
{
    while (c->pos + 1 < c->len && c->x[c->pos + 1] + c->shift <= x)
        c->pos++;
}

static inline double cur_value(const cursor *c) { return c->v[c->pos]; }
static inline double cur_gpu(const cursor *c) { return c->g ? c->g[c->pos] + c->gadd : 0.0; }
static inline int32_t cur_tj(const cursor *c) { return c->fixed_j >= 0 ? c->fixed_j : c->tj[c->pos]; }

/* Index of the step of (x, len) holding F: the last t with x[t] <= F (x[0] = -inf). */
static int64_t step_at(const double *x, int64_t len, double F)
{
    int64_t lo = 0, hi = len - 1;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (x[mid] <= F)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* Per-user upload-option step functions o^n(F) = min{E(s): s >= n-1, threshold(s) <= F} for
 * n = 1..N+1, stored as (x, v) runs of at most N+1 steps each. */
typedef struct {
    double *x, *v;   /* (N+1) x (N+1) */
    int64_t *len;    /* N+1 */
    int64_t *order;  /* N: upload points by threshold */
} ofun;

static void build_ofun(const og_problem *p, int64_t user, ofun *o)
{
    const int64_t N = p->n_subtasks, NN = N + 1;
    const double *th = p->threshold + user * N, *en = p->energy + user * NN;
    /* insertion sort: N is small (a DNN's blocks) */
    for (int64_t s = 0; s < N; s++) {
        int64_t k = s;
        while (k > 0 && th[o->order[k - 1]] > th[s]) {
            o->order[k] = o->order[k - 1];
            k--;
        }
        o->order[k] = s;
    }
    for (int64_t n = 1; n <= NN; n++) {
        double *x = o->x + (n - 1) * NN, *v = o->v + (n - 1) * NN;
        int64_t len = 0;
        x[0] = -INFINITY;
        v[0] = INFINITY;
        len = 1;
        for (int64_t k = 0; k < N; k++) {
            int64_t s = o->order[k];
            if (s < n - 1 || !(en[s] < v[len - 1]))
                continue;
            if (th[s] == x[len - 1])
                v[len - 1] = en[s];
            else {
                x[len] = th[s];
                v[len] = en[s];
                len++;
            }
        }
        o->len[n - 1] = len;
    }
}

/* o^n(G) for n = 1..N+1 into out[n-1] (suffix minima over the upload points usable by G). */
static inline void options_at(const og_problem *p, int64_t user, double G, double *out)
{
    const int64_t N = p->n_subtasks;
    const double *th = p->threshold + user * N, *en = p->energy + user * (N + 1);
    double best = INFINITY;
    out[N] = INFINITY;
    for (int64_t s = N - 1; s >= 0; s--) {
        if (th[s] <= G && en[s] < best)
            best = en[s];
        out[s] = best;
    }
}

/* Min-heap of the `cap` largest savings of a clamped group, one per (j, n). */
static void heap_offer(double *h, int64_t *size, int64_t cap, double saving, double *topsum)
{
    if (*size < cap) {
        int64_t k = (*size)++;
        while (k > 0 && h[(k - 1) / 2] > saving) {
            h[k] = h[(k - 1) / 2];
            k = (k - 1) / 2;
        }
        h[k] = saving;
        *topsum += saving;
        return;
    }
    if (!(saving > h[0]))
        return;
    *topsum += saving - h[0];
    int64_t k = 0, n = *size;
    for (;;) {
        int64_t c = 2 * k + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1] < h[c])
            c++;
        if (h[c] >= saving)
            break;
        h[k] = h[c];
        k = c;
    }
    h[k] = saving;
}

/* The state of og_solve. V_i is stored for every i, in one arena: its steps are
 * [voff[i], voff[i+1]) of vx/vv/vg/vj/vn. */
typedef struct {
    int capped;        /* cap < K: the Q layers count uploaders */
    int64_t layers;    /* Q layers per first sub-task: cap + 1 with a cap, else 1 */
    int64_t nq;        /* (N+1) * layers */
    sfun *qold, *qnew; /* nq each */
    sfun acc, tmp;
    double *vx, *vv, *vg; /* arena of all V_i */
    int32_t *vj, *vn;
    int64_t *voff;     /* K+2 */
    int64_t varena_len, varena_cap;
    double *ccl, *lsum, *vd, *vdg, *heap, *topsum, *lbrest, *opt;
    int64_t *hsize, *alive;
    int64_t n_alive;   /* clamped-group starts j still able to reach the bound: alive[0..n_alive) */
    ofun of;
} og_work;

static int varena_append(og_work *w, const sfun *f)
{
    int64_t need = w->varena_len + f->len;
    if (need > w->varena_cap) {
        int64_t cap = w->varena_cap ? w->varena_cap : 1024;
        while (cap < need)
            cap *= 2;
        double *x = realloc(w->vx, sizeof(double) * (size_t)cap);
        if (!x)
            return 0;
        w->vx = x;
        double *v = realloc(w->vv, sizeof(double) * (size_t)cap);
        if (!v)
            return 0;
        w->vv = v;
        double *g = realloc(w->vg, sizeof(double) * (size_t)cap);
        if (!g)
            return 0;
        w->vg = g;
        int32_t *tj = realloc(w->vj, sizeof(int32_t) * (size_t)cap);
        if (!tj)
            return 0;
        w->vj = tj;
        int32_t *tn = realloc(w->vn, sizeof(int32_t) * (size_t)cap);
        if (!tn)
            return 0;
        w->vn = tn;
        w->varena_cap = cap;
    }
    memcpy(w->vx + w->varena_len, f->x, sizeof(double) * (size_t)f->len);
    memcpy(w->vv + w->varena_len, f->v, sizeof(double) * (size_t)f->len);
    memcpy(w->vg + w->varena_len, f->g, sizeof(double) * (size_t)f->len);
    memcpy(w->vj + w->varena_len, f->tj, sizeof(int32_t) * (size_t)f->len);
    memcpy(w->vn + w->varena_len, f->tn, sizeof(int32_t) * (size_t)f->len);
    w->varena_len = need;
    return 1;
}

/* New layer (n, c) after adding position i:
 *   Q'(F) = min(A^c(F) + l, A^{c'}(F) + o^n(F)) for F < hi, +inf from hi on,
 *   A^c = min(Q^{n,c}, [c = 0] V_i(F - R[n]) tagged i, its GPU time + R[n]).
 * Values above `limit` are cut to +inf. Ties go to the earlier group start (the larger group). */
static int layer_update(const sfun *qa, const sfun *qb, int with_v_a, int with_v_b,
                        const double *vx, const double *vv, const double *vg, int64_t vlen, double shift,
                        int32_t i, const double *ox, const double *ov, int64_t olen, double l, double hi,
                        double limit, sfun *out)
{
    if (!sf_reserve(out, qa->len + (qb ? qb->len : 0) + vlen + olen + 2))
        return 0;
    out->len = 0;
    /* With a cap most upper layers are empty (a group cannot have c uploaders before it has c
     * members); an empty layer fed by empty layers stays empty. */
    if (!with_v_a && !with_v_b && sf_empty(qa) && (!qb || sf_empty(qb))) {
        sf_push_exact(out, -INFINITY, INFINITY, 0.0, -1);
        return 1;
    }
    cursor ca = cur_make(qa->x, qa->v, qa->g, qa->tj, NULL, qa->len, 0.0, 0.0, -1);
    cursor cb = qb ? cur_make(qb->x, qb->v, qb->g, qb->tj, NULL, qb->len, 0.0, 0.0, -1) : ca;
    cursor cv = cur_make(vx, vv, vg, NULL, NULL, vlen, shift, shift, i);
    cursor co = cur_make(ox, ov, NULL, NULL, NULL, olen, 0.0, 0.0, 0);
    double x = -INFINITY;
    for (;;) {
        double a = cur_value(&ca), b = qb ? cur_value(&cb) : INFINITY, vs = cur_value(&cv);
        double ga = cur_gpu(&ca), gb = qb ? cur_gpu(&cb) : 0.0, gs = cur_gpu(&cv);
        int32_t ta = cur_tj(&ca), tb = qb ? cur_tj(&cb) : -1;
        /* a new group at i is the latest start: it wins only when strictly better */
        if (with_v_a && cost_lt(vs, gs, a, ga)) {
            a = vs;
            ga = gs;
            ta = i;
        }
        if (with_v_b && cost_lt(vs, gs, b, gb)) {
            b = vs;
            gb = gs;
            tb = i;
        }
        double val = a + l, alt = b + cur_value(&co), gval = ga;
        int32_t tag = ta;
        if (term_better(alt, gb, tb, 0, val, ga, ta, 0)) {
            val = alt;
            gval = gb;
            tag = tb;
        }
        if (val > limit)
            val = INFINITY;
        sf_push_exact(out, x, val, gval, tag);
        double nx = cur_next(&ca);
        if (qb) {
            double t = cur_next(&cb);
            if (t < nx)
                nx = t;
        }
        if (with_v_a || with_v_b) {
            double t = cur_next(&cv);
            if (t < nx)
                nx = t;
        }
        double t = cur_next(&co);
        if (t < nx)
            nx = t;
        if (nx >= hi)
            break;
        x = nx;
        cur_advance(&ca, x);
        if (qb)
            cur_advance(&cb, x);
        if (with_v_a || with_v_b)
            cur_advance(&cv, x);
        cur_advance(&co, x);
    }
    if (hi < INFINITY)
        sf_push_exact(out, hi, INFINITY, 0.0, -1);
    return 1;
}

/* out = min(a, b) with b's steps tagged (b.tj, n); ties by tag_before. */
static int merge_min(const sfun *a, const sfun *b, int32_t n, sfun *out)
{
    if (!sf_reserve(out, a->len + b->len + 1))
        return 0;
    out->len = 0;
    cursor ca = cur_make(a->x, a->v, a->g, a->tj, a->tn, a->len, 0.0, 0.0, -1);
    cursor cb = cur_make(b->x, b->v, b->g, b->tj, NULL, b->len, 0.0, 0.0, -1);
    double x = -INFINITY;
    for (;;) {
        double va = cur_value(&ca), vb = cur_value(&cb);
        double ga = cur_gpu(&ca), gb = cur_gpu(&cb);
        if (term_better(vb, gb, cur_tj(&cb), n, va, ga, ca.tj[ca.pos], ca.tn[ca.pos]))
            sf_push(out, x, vb, gb, cur_tj(&cb), n);
        else
            sf_push(out, x, va, ga, ca.tj[ca.pos], ca.tn[ca.pos]);
        double nx = cur_next(&ca), t = cur_next(&cb);
        if (t < nx)
            nx = t;
        if (nx == INFINITY)
            break;
        x = nx;
        cur_advance(&ca, x);
        cur_advance(&cb, x);
    }
    return 1;
}

double og_group_choices(const og_problem *p, int64_t j, int64_t i, int64_t n, double G,
                        int64_t *choice, double *work)
{
    const int64_t N = p->n_subtasks, NN = N + 1;
    double total = 0.0;
    int64_t want = 0;
    for (int64_t q = j; q < i; q++) {
        const double *th = p->threshold + q * N, *en = p->energy + q * NN;
        double best = INFINITY;
        int64_t arg = N;
        /* descending s with a strict test: among equal energies the larger point wins */
        for (int64_t s = N - 1; s >= n - 1; s--)
            if (th[s] <= G && en[s] < best) {
                best = en[s];
                arg = s;
            }
        double l = p->local_cost[q];
        if (best < l) {
            choice[q - j] = arg;
            work[2 * want] = l - best;
            work[2 * want + 1] = (double)(q - j);
            want++;
            total += best;
        } else {
            choice[q - j] = N;
            total += l;
        }
    }
    if (want <= p->cap)
        return total;
    /* Too many would-be uploaders: keep the `cap` largest savings (ties: earlier position). */
    for (int64_t a = 1; a < want; a++) {
        double s = work[2 * a], idx = work[2 * a + 1];
        int64_t b = a;
        while (b > 0 && (work[2 * (b - 1)] < s || (work[2 * (b - 1)] == s && work[2 * (b - 1) + 1] > idx))) {
            work[2 * b] = work[2 * (b - 1)];
            work[2 * b + 1] = work[2 * (b - 1) + 1];
            b--;
        }
        work[2 * b] = s;
        work[2 * b + 1] = idx;
    }
    for (int64_t a = p->cap; a < want; a++) {
        int64_t q = (int64_t)work[2 * a + 1];
        choice[q] = N;
        total += work[2 * a];
    }
    return total;
}

static void work_free(og_work *w)
{
    if (w->qold)
        for (int64_t k = 0; k < w->nq; k++)
            sf_free(&w->qold[k]);
    if (w->qnew)
        for (int64_t k = 0; k < w->nq; k++)
            sf_free(&w->qnew[k]);
    free(w->qold);
    free(w->qnew);
    sf_free(&w->acc);
    sf_free(&w->tmp);
    free(w->vx);
    free(w->vv);
    free(w->vg);
    free(w->vj);
    free(w->vn);
    free(w->voff);
    free(w->ccl);
    free(w->lsum);
    free(w->vd);
    free(w->vdg);
    free(w->heap);
    free(w->topsum);
    free(w->lbrest);
    free(w->opt);
    free(w->hsize);
    free(w->alive);
    free(w->of.x);
    free(w->of.v);
    free(w->of.len);
    free(w->of.order);
}

/* The fixed-size workspaces: K x (N+1) tables of the clamped groups, the option functions of
 * one user, and with a cap one heap of `cap` savings per (j, n). Returns 0 if one is missing. */
static int work_alloc(const og_problem *p, og_work *w)
{
    const int64_t K = p->n_users, N = p->n_subtasks, NN = N + 1;
    w->capped = p->cap < K;
    w->layers = w->capped ? p->cap + 1 : 1;
    w->nq = NN * w->layers;
    w->qold = calloc((size_t)w->nq, sizeof(sfun));
    w->qnew = calloc((size_t)w->nq, sizeof(sfun));
    w->voff = malloc(sizeof(int64_t) * (size_t)(K + 2));
    w->ccl = calloc((size_t)(K * NN), sizeof(double));
    w->vd = malloc(sizeof(double) * (size_t)(K * NN));
    w->vdg = malloc(sizeof(double) * (size_t)(K * NN));
    w->lbrest = malloc(sizeof(double) * (size_t)(K + 1));
    w->opt = malloc(sizeof(double) * (size_t)NN);
    w->alive = malloc(sizeof(int64_t) * (size_t)K);
    w->of.x = malloc(sizeof(double) * (size_t)(NN * NN));
    w->of.v = malloc(sizeof(double) * (size_t)(NN * NN));
    w->of.len = malloc(sizeof(int64_t) * (size_t)NN);
    w->of.order = malloc(sizeof(int64_t) * (size_t)N);
    if (!w->qold || !w->qnew || !w->voff || !w->ccl || !w->vd || !w->vdg || !w->lbrest || !w->opt || !w->alive ||
        !w->of.x || !w->of.v || !w->of.len || !w->of.order)
        return 0;
    if (w->capped) {
        w->lsum = calloc((size_t)K, sizeof(double));
        w->topsum = calloc((size_t)(K * NN), sizeof(double));
        w->hsize = calloc((size_t)(K * NN), sizeof(int64_t));
        w->heap = malloc(sizeof(double) * (size_t)(K * NN * (p->cap > 0 ? p->cap : 1)));
        if (!w->lsum || !w->topsum || !w->hsize || !w->heap)
            return 0;
    }
    return 1;
}

/* Lower bounds of the cost still to come: lbrest[q] = sum over q' >= q of the least cost of
 * user q' alone, finishing at its own deadline, min(local_cost[q'], o^1(D[q'])) (the upload
 * options only when cap > 0); lbrest[K] = 0. Cost units: energy (J) plus penalties. */
static void lower_bounds(const og_problem *p, og_work *w)
{
    const int64_t K = p->n_users;
    w->lbrest[K] = 0.0;
    for (int64_t q = K - 1; q >= 0; q--) {
        options_at(p, q, p->deadline[q], w->opt);
        double lb = p->local_cost[q];
        if (p->cap > 0 && w->opt[0] < lb)
            lb = w->opt[0];
        w->lbrest[q] = w->lbrest[q + 1] + lb;
    }
}

/* The start of the DP: every Q layer is +inf (no group is open) and V_0 = 0 for every F,
 * stored as the arena's first function. Returns 0 if out of memory. */
static int dp_start(og_work *w)
{
    for (int64_t k = 0; k < w->nq; k++) {
        if (!sf_reserve(&w->qold[k], 4))
            return 0;
        sf_constant(&w->qold[k], INFINITY, -1, 0);
    }
    if (!sf_reserve(&w->acc, 4))
        return 0;
    sf_constant(&w->acc, 0.0, -1, 0);
    w->voff[0] = 0;
    if (!varena_append(w, &w->acc))
        return 0;
    w->voff[1] = w->varena_len;
    w->n_alive = 0;
    return 1;
}

/* The cost before a group that starts at position i and ends at its own deadline, for each
 * first sub-task n = 1..N+1: vd[i*(N+1) + n-1] = V_i(D[i] - R[n]) (cost units) and
 * vdg[...] = the GPU time planned up to there plus R[n] (seconds). */
static void clamped_entry_costs(const og_problem *p, og_work *w, int64_t i)
{
    const int64_t NN = p->n_subtasks + 1;
    const double *vx = w->vx + w->voff[i], *vv = w->vv + w->voff[i], *vg = w->vg + w->voff[i];
    const int64_t vlen = w->voff[i + 1] - w->voff[i];
    for (int64_t n = 1; n <= NN; n++) {
        const int64_t t = step_at(vx, vlen, p->deadline[i] - p->tail[n]);
        w->vd[i * NN + n - 1] = vv[t];
        w->vdg[i * NN + n - 1] = vg[t] + p->tail[n];
    }
}

/* Groups that finish before their first member's deadline, after adding position i: every Q
 * layer (n, c) becomes
 *   Q'^{n,c}(F) = min(A^c(F) + l_i, A^{c'}(F) + o_i^n(F)) for F < D[i], +inf from D[i] on,
 *   A^c = min(Q^{n,c}, [c = 0] V_i(F - R[n])),
 * (cost units; F in seconds) with values above `limit` cut. New and old layers then swap.
 * Returns 0 if out of memory. */
static int open_groups(const og_problem *p, og_work *w, int64_t i, double limit)
{
    const int64_t NN = p->n_subtasks + 1, layers = w->layers;
    const int capped = w->capped;
    const double *vx = w->vx + w->voff[i], *vv = w->vv + w->voff[i], *vg = w->vg + w->voff[i];
    const int64_t vlen = w->voff[i + 1] - w->voff[i];
    const double l = p->local_cost[i];
    build_ofun(p, i, &w->of);
    for (int64_t n = 1; n <= NN; n++) {
        const double *ox = w->of.x + (n - 1) * NN, *ov = w->of.v + (n - 1) * NN;
        const int64_t olen = p->cap > 0 ? w->of.len[n - 1] : 1;
        for (int64_t c = 0; c < layers; c++) {
            const sfun *qa = &w->qold[(n - 1) * layers + c];
            const sfun *qb = capped ? (c > 0 ? &w->qold[(n - 1) * layers + c - 1] : NULL) : NULL;
            int with_a = c == 0, with_b = capped ? c == 1 : c == 0;
            /* uncapped: A^{c'} = A^c; the same cursor is read twice through qb = qa */
            if (!capped)
                qb = qa;
            if (!layer_update(qa, qb, with_a, with_b, vx, vv, vg, vlen, p->tail[n], (int32_t)i, ox, ov, olen, l,
                              p->deadline[i], limit, &w->qnew[(n - 1) * layers + c]))
                return 0;
        }
    }
    sfun *swap = w->qold;
    w->qold = w->qnew;
    w->qnew = swap;
    return 1;
}

/* Groups [j, i+1) that end at their own first deadline D[j], for every start j still alive:
 *   W(j, i+1) = min_n C(j, i+1, n, D[j]) + V_j(D[j] - R[n])   (cost units),
 * C the members' cost, kept as running sums over i in ccl (with a cap: all-local sum lsum minus
 * the `cap` largest savings, kept in one heap per (j, n)). W(j, .) applies to every F >= D[j],
 * so their running minimum over ascending j is a staircase in F, written to w->acc. Starts
 * whose W exceeds `limit` leave `alive` for good. Returns 0 if out of memory. */
static int clamped_groups(const og_problem *p, og_work *w, int64_t i, double limit)
{
    const int64_t NN = p->n_subtasks + 1;
    const int capped = w->capped;
    const double *D = p->deadline;
    const double l = p->local_cost[i];
    w->alive[w->n_alive++] = i;
    if (capped) {
        w->lsum[i] = 0.0;
        for (int64_t n = 0; n < NN; n++) {
            w->topsum[i * NN + n] = 0.0;
            w->hsize[i * NN + n] = 0;
        }
    } else {
        for (int64_t n = 0; n < NN; n++)
            w->ccl[i * NN + n] = 0.0;
    }
    if (!sf_reserve(&w->acc, 2 * w->n_alive + 2))
        return 0;
    w->acc.len = 0;
    sf_push(&w->acc, -INFINITY, INFINITY, 0.0, -1, 0);
    double run = INFINITY, grun = 0.0;
    int64_t kept = 0;
    for (int64_t a = 0; a < w->n_alive; a++) {
        const int64_t j = w->alive[a];
        options_at(p, i, D[j], w->opt);
        double best = INFINITY, gbest = 0.0;
        int32_t bn = (int32_t)NN;
        for (int64_t n = 0; n < NN; n++) {
            double c;
            if (capped) {
                if (n == 0)
                    w->lsum[j] += l;
                if (p->cap > 0 && w->opt[n] < l)
                    heap_offer(w->heap + (j * NN + n) * p->cap, &w->hsize[j * NN + n], p->cap, l - w->opt[n],
                               &w->topsum[j * NN + n]);
                c = w->lsum[j] - w->topsum[j * NN + n];
                w->ccl[j * NN + n] = c;
            } else {
                c = w->ccl[j * NN + n] += (w->opt[n] < l ? w->opt[n] : l);
            }
            /* ascending n, replaced unless strictly worse: among ties the later sub-task */
            const double tot = c + w->vd[j * NN + n], gtot = w->vdg[j * NN + n];
            if (tot < INFINITY && !cost_lt(best, gbest, tot, gtot)) {
                best = tot;
                gbest = gtot;
                bn = (int32_t)(n + 1);
            }
        }
        /* a clamped group only grows costlier as members join (each adds at least its own
         * lower bound), so once it cannot reach the bound it never will */
        if (best > limit)
            best = INFINITY;
        else
            w->alive[kept++] = j;
        /* ascending j, replaced only when strictly better: among ties the larger group */
        if (cost_lt(best, gbest, run, grun)) {
            run = best;
            grun = gbest;
            if (w->acc.x[w->acc.len - 1] == D[j]) {
                w->acc.v[w->acc.len - 1] = run;
                w->acc.g[w->acc.len - 1] = grun;
                w->acc.tj[w->acc.len - 1] = (int32_t)j;
                w->acc.tn[w->acc.len - 1] = bn;
            } else
                sf_push(&w->acc, D[j], run, grun, (int32_t)j, bn);
        }
    }
    w->n_alive = kept;
    return 1;
}

/* V_{i+1}(F) = min(the clamped staircase, every Q layer (n, c) tagged with its n), the least
 * cost of positions [0, i+1) whose last group finishes by F; appended to the arena as
 * [voff[i+1], voff[i+2]). Returns 0 if out of memory. */
static int next_value_function(const og_problem *p, og_work *w, int64_t i)
{
    const int64_t NN = p->n_subtasks + 1, layers = w->layers;
    for (int64_t n = 1; n <= NN; n++)
        for (int64_t c = 0; c < layers; c++) {
            if (sf_empty(&w->qold[(n - 1) * layers + c]))
                continue;
            if (!merge_min(&w->acc, &w->qold[(n - 1) * layers + c], (int32_t)n, &w->tmp))
                return 0;
            sfun t = w->acc;
            w->acc = w->tmp;
            w->tmp = t;
        }
    if (!varena_append(w, &w->acc))
        return 0;
    w->voff[i + 2] = w->varena_len;
    return 1;
}

/* The plan of V_K(+inf), read back from the step tags, last group first: the step of V_i
 * holding F names the last group [j, i) and its first sub-task n; it finishes at
 * G = min(D[j], F) and the groups before it by G - R[n] (seconds). Then the groups are put in
 * time order and each member's choice is made as the DP priced it (og_group_choices).
 * Returns J3O_OK, J3O_NO_PLAN (V_K(+inf) = +inf: every state was cut) or J3O_ERR_NOMEM. */
static int read_plan(const og_problem *p, const og_work *w, og_plan *out)
{
    const int64_t K = p->n_users;
    const double *D = p->deadline, *R = p->tail;
    const int64_t off = w->voff[K], len = w->voff[K + 1] - w->voff[K];
    double cost = w->vv[off + len - 1];
    if (!(cost < INFINITY))
        return J3O_NO_PLAN;
    out->cost = cost;
    int64_t i = K, g = 0;
    double F = INFINITY;
    while (i > 0) {
        const int64_t o = w->voff[i], ln = w->voff[i + 1] - w->voff[i];
        const int64_t t = step_at(w->vx + o, ln, F);
        const int64_t j = w->vj[o + t], n = w->vn[o + t];
        const double G = D[j] < F ? D[j] : F;
        out->group_start[g] = j;
        out->group_first[g] = n;
        out->group_finish[g] = G;
        g++;
        F = G - R[n];
        i = j;
    }
    out->n_groups = g;
    /* time order */
    for (int64_t a = 0, b = g - 1; a < b; a++, b--) {
        int64_t s = out->group_start[a];
        out->group_start[a] = out->group_start[b];
        out->group_start[b] = s;
        s = out->group_first[a];
        out->group_first[a] = out->group_first[b];
        out->group_first[b] = s;
        double f = out->group_finish[a];
        out->group_finish[a] = out->group_finish[b];
        out->group_finish[b] = f;
    }
    double *buf = malloc(sizeof(double) * (size_t)(2 * K));
    if (!buf)
        return J3O_ERR_NOMEM;
    for (int64_t a = 0; a < g; a++) {
        const int64_t j = out->group_start[a], e = a + 1 < g ? out->group_start[a + 1] : K;
        og_group_choices(p, j, e, out->group_first[a], out->group_finish[a], out->choice + j, buf);
    }
    free(buf);
    return J3O_OK;
}

int og_solve(const og_problem *p, og_plan *out)
{
    og_work w;
    memset(&w, 0, sizeof(w));
    int status = J3O_ERR_NOMEM;

    out->cost = INFINITY;
    out->n_groups = 0;
    out->n_steps = 0;

    if (!work_alloc(p, &w))
        goto done;
    lower_bounds(p, &w);
    /* A state of positions [0, i+1) is cut above limit = bound - lbrest[i+1] (+ a tolerance
     * relative to the bound): the users after it cost at least lbrest[i+1]. */
    const double tol = 1e-9 * (1.0 + fabs(p->bound));
    if (!dp_start(&w))
        goto done;
    for (int64_t i = 0; i < p->n_users; i++) {
        const double limit = p->bound - w.lbrest[i + 1] + tol;
        clamped_entry_costs(p, &w, i);
        if (!open_groups(p, &w, i, limit) || !clamped_groups(p, &w, i, limit) || !next_value_function(p, &w, i))
            goto done;
    }
    out->n_steps = w.varena_len;
    status = read_plan(p, &w, out);

done:
    work_free(&w);
    return status;
}
