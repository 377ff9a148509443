/* OG: the exact grouping dynamic programme of docs/coinference.rst section 3.
 *
 * Plain C, no Python: arrays by pointer, a status code of status.h out. Users are given already sorted by
 * (absolute deadline, index); position p below is a rank in that order. A grouping splits the
 * order into contiguous groups; group g = positions [j, i) takes a first edge sub-task n in
 * 1..N+1 and finishes at G = min(D[j], F), where F is the start of the next group's first batch
 * (+inf for the last group). Member p of a group picks the cheapest of: local (cost
 * local_cost[p]) or an upload point s in n-1..N-1 with threshold[p*N+s] <= G (cost
 * energy[p*(N+1)+s]); at most `cap` members of a group upload. The earlier groups then must
 * finish by G - R[n].
 *
 * Cost is one double: energy plus, for a user that misses its deadline, a penalty larger than
 * any energy difference, so fewer violations always win (the caller picks the penalty). Among
 * groupings of equal cost the one planning less GPU time, sum over groups of R[n_g], wins;
 * costs and GPU times within OG_REL_TIE relative count as equal. Remaining ties go to the
 * grouping whose last group is largest, then to the later first sub-task of that group, and so
 * on backwards through the chain (docs/coinference.rst section 7, step 3).
 *
 * Method: V_i(F), the least cost of positions [0, i) when their last group must finish by F,
 * is a step function of F. It is built for i = 1..K from
 *   Q_{i+1}^{n,c}(F) = min(A^c(F) + l_i, A^{c'}(F) + o_i^n(F)),  A^c = min(Q_i^{n,c}, [c = 0] V_i(. - R[n]))
 * (groups whose first member's deadline exceeds F, so they finish exactly at F; c counts the
 * uploading members, c' = c-1 with a cap, c' = c without) and the groups that end at their own
 * first deadline, W(j, i) = min_n C(j, i, n, D[j]) + V_j(D[j] - R[n]), which do not depend on F.
 * Storing V_i as a step function is the reuse of a solved state over the whole interval of F
 * in which its answer stays optimal. Every step carries the (j, n) of a term achieving it, so
 * the plan is read back in O(groups). States whose cost plus the per-user lower bounds of the
 * remaining users exceeds `bound` are dropped (an exact cut when bound >= the optimum).
 * Work: O(K^2 N) for the clamped groups plus O(K N L S) merges, L the layers (cap + 1 with a
 * cap, else 1) and S the steps of a function; memory O(sum of the steps of every V_i).
 */
#ifndef J3O_COINFERENCE_OG_H
#define J3O_COINFERENCE_OG_H

#include <stdint.h>

#include "status.h"

/* Relative difference below which two costs (or two GPU times) tie. */
#define OG_REL_TIE 1e-12

typedef struct {
    int64_t n_users;          /* K >= 1 */
    int64_t n_subtasks;       /* N >= 1 */
    const double *deadline;   /* K: D[p], non-decreasing */
    const double *threshold;  /* K*N: earliest finish of upload point s, rho + a(s) + R[s+1] */
    const double *energy;     /* K*(N+1): E_p(s) for s = 0..N */
    const double *local_cost; /* K: E_p(N), plus the penalty when all-local misses the deadline */
    const double *tail;       /* N+2: R[n] for n = 1..N+1 (R[N+1] = 0); tail[0] unused */
    int64_t cap;              /* uploading members per group; >= K means no cap */
    double bound;             /* cut states that cannot reach a total <= bound; +inf: no cut */
} og_problem;

typedef struct {
    double cost;           /* V_K(+inf) */
    int64_t n_groups;
    int64_t *group_start;  /* K: first position of each group, in time order */
    int64_t *group_first;  /* K: first edge sub-task n of each group (N+1: no edge work) */
    double *group_finish;  /* K: finish time G of each group */
    int64_t *choice;       /* K: partition point s of each position (N: local) */
    int64_t n_steps;       /* total steps of the V_i stored (a size measure) */
} og_plan;

/* Solve; arrays of `out` are caller-allocated with K entries. Returns J3O_OK, J3O_ERR_NOMEM or
 * J3O_NO_PLAN (every state was cut by `bound`: no grouping costs <= bound; out->cost is then
 * +inf and no group is written). The caller checks the sizes: K >= 1, N >= 1, cap >= 0. */
int og_solve(const og_problem *p, og_plan *out);

/* The choices of the members of one group (positions [j, i), first sub-task n, finish G), as
 * og_solve makes them: cheapest option, ties to the larger partition point, and with more than
 * `cap` would-be uploaders the `cap` largest savings (ties to the earlier position) upload.
 * Writes choice[p - j]; returns the group's cost. `work` holds 2*(i-j) doubles. */
double og_group_choices(const og_problem *p, int64_t j, int64_t i, int64_t n, double G,
                        int64_t *choice, double *work);

#endif
