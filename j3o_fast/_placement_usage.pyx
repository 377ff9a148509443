# cython: language_level=3
"""Binding over csrc/placement_usage.c: typed memoryviews in, NumPy arrays out."""

import numpy as np

from libc.stdint cimport int64_t, uint8_t


cdef extern from "placement_usage.h" nogil:
    int J3O_OK
    int J3O_BAD_INDEX

    ctypedef struct j3o_placement:
        int64_t n_clients, n_edges, n_models, n_tasks
        const double *rate
        const double *accuracy
        const double *gflop
        const uint8_t *cover
        const double *payload
        const double *cloud_accuracy
        const int64_t *client_edge

    ctypedef struct j3o_routes:
        int64_t count
        const int64_t *client
        const int64_t *task
        const int64_t *model
        const double *frac

    ctypedef struct j3o_usage:
        double *assigned
        double *client_gflops
        double *uplink_mbps
        double *backhaul_mbps
        double *edge_load
        double served_accuracy
        int64_t n_uncoupled
        int64_t first_uncoupled
        int64_t bad_entry

    int j3o_routing_usage(const j3o_placement *p, const j3o_routes *local, const j3o_routes *edge,
                          const double *cloud, const double *drop, const uint8_t *x,
                          const uint8_t *y, double tol, j3o_usage *out)


cdef const int64_t *_iptr(const int64_t[::1] a):
    return &a[0] if a.shape[0] > 0 else NULL


cdef const double *_dptr(const double[::1] a):
    return &a[0] if a.shape[0] > 0 else NULL


def routing_usage(
    const double[:, ::1] rate, const double[:, ::1] accuracy, const double[:, ::1] gflop,
    const uint8_t[:, ::1] cover, const double[::1] payload, const double[::1] cloud_accuracy,
    const int64_t[::1] client_edge, Py_ssize_t n_edges,
    const int64_t[::1] l_client, const int64_t[::1] l_task, const int64_t[::1] l_model,
    const double[::1] l_frac,
    const int64_t[::1] h_client, const int64_t[::1] h_task, const int64_t[::1] h_model,
    const double[::1] h_frac,
    const double[:, ::1] cloud, const double[:, ::1] drop,
    const uint8_t[:, ::1] x, const uint8_t[:, ::1] y, double tol,
):
    """Usage of every resource row by a sparse routing; see csrc/placement_usage.h.

    Returns (status, bad_entry, assigned, client_gflops, uplink_mbps, backhaul_mbps, edge_load,
    served_accuracy, n_uncoupled, first_uncoupled). Shapes are checked by the Python caller.
    """
    cdef Py_ssize_t N = rate.shape[0], K = rate.shape[1], M = accuracy.shape[0]
    assigned = np.zeros((N, K))
    client_gflops = np.zeros(N)
    uplink = np.zeros(N)
    backhaul = np.zeros(n_edges)
    load = np.zeros((n_edges, M))
    cdef double[:, ::1] assigned_v = assigned
    cdef double[::1] client_v = client_gflops, uplink_v = uplink, backhaul_v = backhaul
    cdef double[:, ::1] load_v = load

    cdef j3o_placement p
    p.n_clients, p.n_edges, p.n_models, p.n_tasks = N, n_edges, M, K
    p.rate, p.accuracy, p.gflop, p.cover = &rate[0, 0], &accuracy[0, 0], &gflop[0, 0], &cover[0, 0]
    p.payload, p.cloud_accuracy, p.client_edge = &payload[0], &cloud_accuracy[0], &client_edge[0]

    cdef j3o_routes loc, edg
    loc.count, loc.client, loc.task, loc.model, loc.frac = (
        l_frac.shape[0], _iptr(l_client), _iptr(l_task), _iptr(l_model), _dptr(l_frac))
    edg.count, edg.client, edg.task, edg.model, edg.frac = (
        h_frac.shape[0], _iptr(h_client), _iptr(h_task), _iptr(h_model), _dptr(h_frac))

    cdef j3o_usage out
    out.assigned, out.client_gflops, out.uplink_mbps = &assigned_v[0, 0], &client_v[0], &uplink_v[0]
    out.backhaul_mbps, out.edge_load = &backhaul_v[0], &load_v[0, 0]
    out.bad_entry = -1
    cdef int status
    with nogil:
        status = j3o_routing_usage(&p, &loc, &edg, &cloud[0, 0], &drop[0, 0], &x[0, 0], &y[0, 0],
                                   tol, &out)
    return (status, out.bad_entry, assigned, client_gflops, uplink, backhaul, load,
            out.served_accuracy, out.n_uncoupled, out.first_uncoupled)
