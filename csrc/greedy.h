/* Lazy greedy for a weighted facility-location function under per-node knapsacks
 * (docs/placement.rst section 3, step (i): Lagrangian-relaxed onloading).
 *
 * Candidates j = 0..n_cand-1 (a model on a node) serve the slots slot[indptr[j]:indptr[j+1]]
 * (a slot is a (client, task) pair) with net values value[...] per query. Maximised:
 *
 *     f(S) = sum_s weight[s] * max(0, max_{j in S serving s} v_js - base_s) - sum_{j in S} fixed_cost[j]
 *
 * under, per node, sum_{j in S on it} memory[j] <= memory capacity and sum fixed_use[j] <= share
 * capacity. The caller passes cur[s] = base_s (or the value already reached by a pre-selected
 * set) and the remaining capacities; the kernel updates them in place.
 *
 * Plain C, no Python: arrays by pointer, a status code of status.h out, nothing raised.
 */
#ifndef J3O_GREEDY_H
#define J3O_GREEDY_H

#include <stdint.h>

#include "status.h"

#define J3O_KEY_PER_MEMORY 0    /* heap key = gain / memory[j] (cost-benefit greedy) */
#define J3O_KEY_GAIN 1          /* heap key = gain */

/* Fit tolerances: memory in MB, fixed GPU share in [0, 1]. */
#define J3O_MEMORY_TOL 1e-9
#define J3O_SHARE_TOL 1e-12

typedef struct {
    int64_t n_cand, n_slots, n_nodes;
    const int64_t *indptr;     /* n_cand + 1, CSR row starts into slot/value */
    const int32_t *slot;       /* nnz, slot served (ascending within a candidate is not required) */
    const double *value;       /* nnz, net value of one query of the slot via the candidate */
    const double *weight;      /* n_slots, query rate w_s >= 0 */
    const int64_t *node;       /* n_cand, knapsack node of the candidate */
    const double *memory;      /* n_cand, memory weight (> 0 for key mode J3O_KEY_PER_MEMORY) */
    const double *fixed_cost;  /* n_cand, subtracted from the gain once */
    const double *fixed_use;   /* n_cand, share of the node's fixed-share capacity */
    const uint8_t *eligible;   /* n_cand, 0 = never considered (e.g. pre-selected); NULL = all */
    /* Optional partition into independent groups (NULL = one group): candidates of different
     * groups share no slot and no node. The greedy then runs group by group on small, cache-
     * resident heaps and merges the acceptances; the result is the same as without groups
     * (see greedy.c). A partition that is not independent is rejected as bad input. */
    const int64_t *group;      /* n_cand, in [0, n_groups) */
    int64_t n_groups;
} j3o_greedy_problem;

typedef struct {
    double *cur;          /* n_slots, in/out: best value reached so far (starts at base) */
    int64_t *best;        /* n_slots, in/out: candidate providing cur, -1 = base */
    double *memory_left;  /* n_nodes, in/out: remaining memory capacity */
    double *share_left;   /* n_nodes, in/out: remaining fixed-share capacity */
    int64_t *order;       /* n_cand, out: accepted candidates, in the order one global
                           * greedy accepts them (also with groups) */
    int64_t n_selected;   /* out: number of entries written to order */
    double total_gain;    /* out: sum of the accepted (net) gains */
    int64_t n_evaluations;/* out: gain evaluations, initial ones included */
} j3o_greedy_state;

/* Run the lazy greedy with the given key mode. Heap order: larger key first, ties to the
 * smaller candidate index. Returns J3O_OK; J3O_ERR_BAD_INPUT (nothing written) for a slot,
 * node or group index out of range, indptr not starting at 0 or not monotone, an unknown key
 * mode, memory <= 0 in J3O_KEY_PER_MEMORY mode, or groups that share a slot or a node; or
 * J3O_ERR_NOMEM (a workspace allocation failed; the state may be partly updated). */
int j3o_lazy_greedy(const j3o_greedy_problem *p, int key_mode, j3o_greedy_state *s);

#endif
