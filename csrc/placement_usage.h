/* Resource usage of a placement routing (docs/placement.rst section 2, constraints 1-7).
 *
 * Plain C, no Python: arrays by pointer, a status code of status.h out. Row-major layouts:
 * rate[n*K+t], accuracy/gflop/cover[m*K+t], cloud/drop/assigned[n*K+t], x[n*M+m], y[e*M+m],
 * edge_load[e*M+m].
 */
#ifndef J3O_PLACEMENT_USAGE_H
#define J3O_PLACEMENT_USAGE_H

#include <stdint.h>

#include "status.h"

typedef struct {
    int64_t n_clients, n_edges, n_models, n_tasks;
    const double *rate;           /* N*K, queries/s */
    const double *accuracy;       /* M*K */
    const double *gflop;          /* M*K, GFLOP per query */
    const uint8_t *cover;         /* M*K, 1 where model m serves task t */
    const double *payload;        /* K, Mbit per query */
    const double *cloud_accuracy; /* K */
    const int64_t *client_edge;   /* N */
} j3o_placement;

/* Sparse routing fractions: entry i sends fraction frac[i] of (client[i], task[i]) to model[i]. */
typedef struct {
    int64_t count;
    const int64_t *client, *task, *model;
    const double *frac;
} j3o_routes;

typedef struct {
    double *assigned;       /* N*K: sum of every fraction of (n,t), local + edge + cloud + drop */
    double *client_gflops;  /* N: sum_{t,m} rate*gflop*l, GFLOP/s */
    double *uplink_mbps;    /* N: sum_t rate*payload*(sum_m h + c), Mbit/s */
    double *backhaul_mbps;  /* E: sum over clients of e of rate*payload*c, Mbit/s */
    double *edge_load;      /* E*M: L[e,m] = sum over clients of e of rate*h, queries/s */
    double served_accuracy; /* sum rate*(acc*(l+h) + acc_cloud*c), the unnormalised objective */
    int64_t n_uncoupled;    /* entries with frac > tol on a model not onloaded or not serving t */
    int64_t first_uncoupled;/* index of the first such entry (local first, then edge + count), or -1 */
    int64_t bad_entry;      /* on J3O_ERR_BAD_INPUT: index of the offending route entry (edge: +
                             * local count), or -1 when a client's edge is out of range */
} j3o_usage;

/* Fill `out` (arrays zeroed here). Returns J3O_OK, or J3O_ERR_BAD_INPUT if an entry's client,
 * task or model or a client's edge is out of range (nothing is read or written out of bounds). */
int j3o_routing_usage(const j3o_placement *p, const j3o_routes *local, const j3o_routes *edge,
                      const double *cloud, const double *drop, const uint8_t *x, const uint8_t *y,
                      double tol, j3o_usage *out);

#endif
