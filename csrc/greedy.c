#include "greedy.h"

#include <stdlib.h>
#include <string.h>

/* Why groups give the same result as one global lazy greedy.
 *
 * Greedy accepts, at each step, the remaining candidate with the largest (fresh key, -index)
 * among those that fit and have gain > 0. Keys only fall (gains only fall, capacities only
 * shrink), so the accepted (key, -index) pairs form a strictly decreasing sequence. Candidates
 * of independent groups share no slot and no node, so acceptances in one group never change
 * keys or capacities in another: each group's acceptances are exactly what greedy restricted to
 * that group accepts, with the same keys, and the global sequence is their merge by (key
 * descending, index ascending). */

/* A key with its candidate. Keys in a heap are >= 0 (only gains > 0 enter), and non-negative
 * doubles order like their bit patterns read as unsigned integers, so entries hold the bits. */
typedef struct {
    uint64_t bits;
    int64_t idx;
} entry;

/* One acceptance: its fresh key, candidate and net gain. */
typedef struct {
    entry at;
    double gain;
} accepted;

/* Acceptances, grown on demand: their number is usually far below the candidate count. */
typedef struct {
    accepted *data;
    int64_t size, cap;
} accepted_list;

static int append(accepted_list *list, entry at, double gain)
{
    if (list->size == list->cap) {
        const int64_t cap = list->cap > 0 ? 2 * list->cap : 1024;
        accepted *data = realloc(list->data, sizeof(accepted) * (size_t)cap);
        if (data == NULL)
            return 0;
        list->data = data;
        list->cap = cap;
    }
    list->data[list->size].at = at;
    list->data[list->size].gain = gain;
    list->size++;
    return 1;
}

static inline entry make_entry(double key, int64_t idx)
{
    entry e;
    memcpy(&e.bits, &key, sizeof e.bits);
    e.idx = idx;
    return e;
}

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128; /* a GCC/Clang extension, hence the guard */
#endif

/* Heap order: larger key first, ties to the smaller candidate index, so that the result does
 * not depend on the order in which equal candidates were pushed. Written without short-circuits
 * (one 128-bit comparison where available) because which side wins is a coin flip to the branch
 * predictor, and the heap walks are chains of exactly these comparisons. */
static inline int above(entry a, entry b)
{
#ifdef __SIZEOF_INT128__
    const u128 x = ((u128)a.bits << 64) | (uint64_t)~a.idx;
    const u128 y = ((u128)b.bits << 64) | (uint64_t)~b.idx;
    return x > y;
#else
    return (a.bits > b.bits) | ((a.bits == b.bits) & (a.idx < b.idx));
#endif
}

/* Heaps are 1-based, h[1..size] with h[0] unused, and start on a 64-byte boundary: siblings
 * 2i and 2i+1 then share one cache line. */
static void sift_down(entry *h, int64_t size, int64_t i)
{
    const entry moving = h[i];
    for (;;) {
        int64_t child = 2 * i;
        if (child > size)
            break;
        if (child < size) /* predictable: false only at the bottom level */
            child += above(h[child + 1], h[child]);
        if (!above(h[child], moving))
            break;
        h[i] = h[child];
        i = child;
    }
    h[i] = moving;
}

static void heapify(entry *h, int64_t size)
{
    for (int64_t i = size / 2; i >= 1; i--)
        sift_down(h, size, i);
}

static void pop_root(entry *h, int64_t *size)
{
    h[1] = h[*size];
    (*size)--;
    if (*size > 0)
        sift_down(h, *size, 1);
}

/* sum_{s in j} w_s * max(0, v_js - cur_s) - fixed_cost_j, summed in CSR order. The order is
 * part of the contract: the Python twins sum the same terms in the same order, and since every
 * term can only shrink as cur grows, a stale gain stays an upper bound in floating point. */
static double net_gain(const j3o_greedy_problem *p, const double *cur, int64_t j)
{
    const int64_t end = p->indptr[j + 1];
    double g = 0.0;
    for (int64_t k = p->indptr[j]; k < end; k++) {
        const int32_t s = p->slot[k];
        const double d = p->value[k] - cur[s];
        if (d > 0.0)
            g += p->weight[s] * d;
    }
    return g - p->fixed_cost[j];
}

static inline double key_of(const j3o_greedy_problem *p, int key_mode, int64_t j, double gain)
{
    return key_mode == J3O_KEY_PER_MEMORY ? gain / p->memory[j] : gain;
}

/* Capacities only shrink, so a candidate that does not fit now never fits again. */
static inline int fits(const j3o_greedy_problem *p, const j3o_greedy_state *s, int64_t j)
{
    const int64_t v = p->node[j];
    return p->memory[j] <= s->memory_left[v] + J3O_MEMORY_TOL &&
           p->fixed_use[j] <= s->share_left[v] + J3O_SHARE_TOL;
}

/* Checks every index and, with groups, that no slot or node is shared by two groups; counts
 * the candidates of each group into start[g + 1]. owner (n_nodes + n_slots) is scratch, used
 * only with groups. */
static int check_input(const j3o_greedy_problem *p, int key_mode, int64_t G, int64_t *start,
                       int64_t *owner)
{
    if (key_mode != J3O_KEY_PER_MEMORY && key_mode != J3O_KEY_GAIN)
        return 0;
    if (p->n_cand < 0 || p->n_slots < 0 || p->n_nodes < 0 || p->indptr[0] != 0)
        return 0;
    if (owner != NULL)
        for (int64_t i = 0; i < p->n_nodes + p->n_slots; i++)
            owner[i] = -1;
    for (int64_t j = 0; j < p->n_cand; j++) {
        const int64_t v = p->node[j], g = G > 1 ? p->group[j] : 0;
        if (p->indptr[j + 1] < p->indptr[j] || v < 0 || v >= p->n_nodes || g < 0 || g >= G)
            return 0;
        if (key_mode == J3O_KEY_PER_MEMORY && !(p->memory[j] > 0.0))
            return 0;
        start[g + 1]++;
        for (int64_t k = p->indptr[j]; k < p->indptr[j + 1]; k++)
            if (p->slot[k] < 0 || (int64_t)p->slot[k] >= p->n_slots)
                return 0;
        if (owner == NULL)
            continue;
        if (owner[v] >= 0 && owner[v] != g)
            return 0;
        owner[v] = g;
        for (int64_t k = p->indptr[j]; k < p->indptr[j + 1]; k++) {
            int64_t *o = &owner[p->n_nodes + p->slot[k]];
            if (*o >= 0 && *o != g)
                return 0;
            *o = g;
        }
    }
    return 1;
}

/* Lazy greedy on one group whose heap heap[1..size] (exact keys of its candidates with gain > 0)
 * is given, appending its acceptances to out. Returns 0 if out could not grow. */
static int greedy_group(const j3o_greedy_problem *p, int key_mode, j3o_greedy_state *s,
                        entry *heap, int64_t size, accepted_list *out, int64_t *n_eval)
{
    heapify(heap, size);
    while (size > 0) {
        const int64_t j = heap[1].idx;
        if (!fits(p, s, j)) {
            pop_root(heap, &size);
            continue;
        }
        const double gain = net_gain(p, s->cur, j);
        (*n_eval)++;
        if (!(gain > 0.0)) {
            pop_root(heap, &size);
            continue;
        }
        const entry fresh = make_entry(key_of(p, key_mode, j, gain), j);
        /* The next top is the better child of the root: every other entry is below it. */
        if (size > 1) {
            const int64_t next = (size > 2 && above(heap[3], heap[2])) ? 3 : 2;
            if (above(heap[next], fresh)) {
                heap[1] = fresh; /* push back with its fresh (lower) key */
                sift_down(heap, size, 1);
                continue;
            }
        }
        pop_root(heap, &size);
        if (!append(out, fresh, gain))
            return 0;
        for (int64_t k = p->indptr[j]; k < p->indptr[j + 1]; k++) {
            const int32_t sl = p->slot[k];
            if (p->value[k] > s->cur[sl]) {
                s->cur[sl] = p->value[k];
                s->best[sl] = j;
            }
        }
        s->memory_left[p->node[j]] -= p->memory[j];
        s->share_left[p->node[j]] -= p->fixed_use[j];
    }
    return 1;
}

/* Write the groups' acceptance runs acc[run[g] .. run[g+1]) (each already in order) to
 * s->order merged by (key descending, index ascending), summing the gains in that order. The
 * merge heap holds the head of each run; heap is scratch for G + 1 entries. */
static void merge_runs(const j3o_greedy_problem *p, const accepted *acc, const int64_t *run,
                       int64_t *next, int64_t G, entry *heap, j3o_greedy_state *s)
{
    int64_t size = 0, n = 0;
    double total = 0.0;
    for (int64_t g = 0; g < G; g++) {
        next[g] = run[g];
        if (run[g] < run[g + 1])
            heap[++size] = acc[run[g]].at;
    }
    heapify(heap, size);
    while (size > 0) {
        const int64_t g = G > 1 ? p->group[heap[1].idx] : 0;
        const accepted *a = &acc[next[g]++];
        s->order[n++] = a->at.idx;
        total += a->gain;
        if (next[g] < run[g + 1]) {
            heap[1] = acc[next[g]].at;
            sift_down(heap, size, 1);
        } else {
            pop_root(heap, &size);
        }
    }
    s->n_selected = n;
    s->total_gain = total;
}

int j3o_lazy_greedy(const j3o_greedy_problem *p, int key_mode, j3o_greedy_state *s)
{
    const int64_t C = p->n_cand;
    const int64_t G = (p->group != NULL && C > 0) ? p->n_groups : 1;
    if (G < 1)
        return J3O_ERR_BAD_INPUT;

    int64_t *start = calloc((size_t)(G + 1), sizeof(int64_t));
    int64_t *run = malloc(sizeof(int64_t) * (size_t)(G + 1));
    int64_t *fill = malloc(sizeof(int64_t) * (size_t)G);
    /* Group g's heap: 4 entries (64 bytes) of alignment and a spare slot per group. */
    void *heap_block = malloc(sizeof(entry) * (size_t)((C > G ? C : G) + 4 * G + 4) + 64);
    entry *heaps = (entry *)(((uintptr_t)heap_block + 63) & ~(uintptr_t)63);
    int64_t *owner = G > 1 ? malloc(sizeof(int64_t) * (size_t)(p->n_nodes + p->n_slots + 1)) : NULL;
    accepted_list acc = {NULL, 0, 0};
    int status = J3O_OK;
    if (start == NULL || run == NULL || fill == NULL || heap_block == NULL || (G > 1 && owner == NULL))
        status = J3O_ERR_NOMEM;
    else if (!check_input(p, key_mode, G, start, owner))
        status = J3O_ERR_BAD_INPUT;
    free(owner);

    if (status == J3O_OK) {
        /* Group g's heap is h[1..fill[g]] with h = heaps + base[g], base[g] a multiple of 4
         * entries (kept in run[] until the runs need it). The exact gains of every eligible
         * candidate that fits are computed in index order, which reads the CSR sequentially; a
         * gain <= 0 never becomes positive, so those are left out. */
        for (int64_t g = 0; g < G; g++) {
            start[g + 1] += start[g];
            fill[g] = 0;
            run[g] = start[g] + 4 * g - start[g] % 4;
        }
        int64_t n_eval = 0;
        for (int64_t j = 0; j < C; j++) {
            if ((p->eligible != NULL && !p->eligible[j]) || !fits(p, s, j))
                continue;
            const double gain = net_gain(p, s->cur, j);
            n_eval++;
            if (gain > 0.0) {
                const int64_t g = G > 1 ? p->group[j] : 0;
                heaps[run[g] + 1 + fill[g]++] = make_entry(key_of(p, key_mode, j, gain), j);
            }
        }
        for (int64_t g = 0; g < G && status == J3O_OK; g++) {
            entry *h = heaps + run[g];
            run[g] = acc.size;
            if (!greedy_group(p, key_mode, s, h, fill[g], &acc, &n_eval))
                status = J3O_ERR_NOMEM;
        }
        if (status == J3O_OK) {
            run[G] = acc.size;
            merge_runs(p, acc.data, run, fill, G, heaps, s);
            s->n_evaluations = n_eval;
        }
    }
    free(start);
    free(run);
    free(fill);
    free(heap_block);
    free(acc.data);
    return status;
}
