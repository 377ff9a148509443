#include "placement_usage.h"

#include <string.h>

static int entry_ok(const j3o_placement *p, const j3o_routes *r, int64_t i)
{
    return r->client[i] >= 0 && r->client[i] < p->n_clients && r->task[i] >= 0 &&
           r->task[i] < p->n_tasks && r->model[i] >= 0 && r->model[i] < p->n_models;
}

static void note_uncoupled(j3o_usage *out, int64_t entry)
{
    if (out->n_uncoupled == 0)
        out->first_uncoupled = entry;
    out->n_uncoupled++;
}

int j3o_routing_usage(const j3o_placement *p, const j3o_routes *local, const j3o_routes *edge,
                      const double *cloud, const double *drop, const uint8_t *x, const uint8_t *y,
                      double tol, j3o_usage *out)
{
    const int64_t N = p->n_clients, E = p->n_edges, M = p->n_models, K = p->n_tasks;

    /* Validate every index before touching any output, so a bad entry cannot write out of bounds. */
    for (int64_t n = 0; n < N; n++)
        if (p->client_edge[n] < 0 || p->client_edge[n] >= E) {
            out->bad_entry = -1;
            return J3O_ERR_BAD_INPUT;
        }
    for (int64_t i = 0; i < local->count; i++)
        if (!entry_ok(p, local, i)) {
            out->bad_entry = i;
            return J3O_ERR_BAD_INPUT;
        }
    for (int64_t i = 0; i < edge->count; i++)
        if (!entry_ok(p, edge, i)) {
            out->bad_entry = local->count + i;
            return J3O_ERR_BAD_INPUT;
        }

    memset(out->client_gflops, 0, sizeof(double) * (size_t)N);
    memset(out->uplink_mbps, 0, sizeof(double) * (size_t)N);
    memset(out->backhaul_mbps, 0, sizeof(double) * (size_t)E);
    memset(out->edge_load, 0, sizeof(double) * (size_t)(E * M));
    out->served_accuracy = 0.0;
    out->n_uncoupled = 0;
    out->first_uncoupled = -1;
    out->bad_entry = -1;

    /* Cloud and drop are dense (N, K): they seed the conservation sums and the bandwidth rows. */
    for (int64_t n = 0; n < N; n++) {
        const int64_t e = p->client_edge[n];
        for (int64_t t = 0; t < K; t++) {
            const int64_t nt = n * K + t;
            const double r = p->rate[nt], c = cloud[nt];
            out->assigned[nt] = c + drop[nt];
            out->uplink_mbps[n] += r * p->payload[t] * c;
            out->backhaul_mbps[e] += r * p->payload[t] * c;
            out->served_accuracy += r * p->cloud_accuracy[t] * c;
        }
    }

    for (int64_t i = 0; i < local->count; i++) {
        const int64_t n = local->client[i], t = local->task[i], m = local->model[i];
        const double f = local->frac[i], r = p->rate[n * K + t];
        const int64_t mt = m * K + t;
        out->assigned[n * K + t] += f;
        if (f > tol && !(x[n * M + m] && p->cover[mt]))
            note_uncoupled(out, i);
        if (!p->cover[mt])
            continue; /* an uncovered entry has no accuracy or compute to add */
        out->client_gflops[n] += r * p->gflop[mt] * f;
        out->served_accuracy += r * p->accuracy[mt] * f;
    }

    for (int64_t i = 0; i < edge->count; i++) {
        const int64_t n = edge->client[i], t = edge->task[i], m = edge->model[i];
        const int64_t e = p->client_edge[n];
        const double f = edge->frac[i], r = p->rate[n * K + t];
        const int64_t mt = m * K + t;
        out->assigned[n * K + t] += f;
        out->uplink_mbps[n] += r * p->payload[t] * f;
        out->edge_load[e * M + m] += r * f;
        if (f > tol && !(y[e * M + m] && p->cover[mt]))
            note_uncoupled(out, local->count + i);
        if (p->cover[mt])
            out->served_accuracy += r * p->accuracy[mt] * f;
    }
    return J3O_OK;
}
