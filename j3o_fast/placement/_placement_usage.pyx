# cython: language_level=3
"""Binding over csrc/placement_usage.c: NumPy arrays in, checked, NumPy arrays out.

The binding checks every array's type, dtype, layout and shape, and every index the kernel
uses to address an array (route clients, tasks and models, each client's edge), before the
kernel runs, raising InvalidInputError named after the argument; a failure status of the kernel
becomes RuntimeError.
"""

import numpy as np

from libc.stdint cimport int64_t, uint8_t

from j3o_fast.errors import InvalidInputError


cdef extern from "status.h" nogil:
    int J3O_OK
    const char *j3o_status_name(int status)


cdef extern from "placement_usage.h" nogil:
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


cdef object _array(str name, object a, object dtype, tuple shape):
    """``a`` if it is a C-contiguous ndarray of ``dtype`` and ``shape``, else InvalidInputError.
    ``shape`` None: any one-dimensional shape. A bool array stands for uint8 (viewed, not copied)."""
    if not isinstance(a, np.ndarray):
        raise InvalidInputError(name, f"must be a NumPy array, got {type(a).__name__}")
    if dtype == np.uint8 and a.dtype == np.bool_:
        a = a.view(np.uint8)
    if a.dtype != dtype:
        raise InvalidInputError(name, f"must have dtype {np.dtype(dtype)}, got {a.dtype}")
    if shape is None and a.ndim != 1:
        raise InvalidInputError(name, f"must be one-dimensional, got shape {a.shape}")
    if shape is not None and a.shape != shape:
        raise InvalidInputError(name, f"must have shape {shape}, got {a.shape}")
    if not a.flags.c_contiguous:
        raise InvalidInputError(name, "must be C-contiguous")
    return a


cdef object _routes(str kind, str prefix, client, task, model, frac, Py_ssize_t N, Py_ssize_t K,
                    Py_ssize_t M):
    """The four arrays of one route list, checked: equal lengths, every index in range."""
    frac = _array(f"{prefix}_frac", frac, np.float64, None)
    count = (frac.shape[0],)
    arrays = [_array(f"{prefix}_{what}", a, np.int64, count)
              for what, a in (("client", client), ("task", task), ("model", model))]
    if count[0] > 0:
        bad = np.zeros(count[0], dtype=bool)
        for a, size in zip(arrays, (N, K, M)):
            bad |= (a < 0) | (a >= size)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            c, t, m = (int(a[i]) for a in arrays)
            raise InvalidInputError(
                f"routing.{kind}[{i}]",
                f"client, task or model index out of range, got [{c}, {t}, {m}] "
                f"({prefix}_client, {prefix}_task, {prefix}_model must lie in [0, {N}), [0, {K}), [0, {M}))")
    return (*arrays, frac)


# Pointers to the first element, NULL for an empty array (nothing is read from it then).
cdef const int64_t *_iptr(const int64_t[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef const double *_dptr(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef const double *_dptr2(const double[:, ::1] a) noexcept nogil:
    return &a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL


cdef const uint8_t *_bptr2(const uint8_t[:, ::1] a) noexcept nogil:
    return &a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL


cdef double *_wptr(double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef double *_wptr2(double[:, ::1] a) noexcept nogil:
    return &a[0, 0] if a.shape[0] > 0 and a.shape[1] > 0 else NULL


def routing_usage(
    rate, accuracy, gflop, cover, payload, cloud_accuracy, client_edge, Py_ssize_t n_edges,
    l_client, l_task, l_model, l_frac, h_client, h_task, h_model, h_frac,
    cloud, drop, x, y, double tol,
):
    """Usage of every resource row by a sparse routing; see csrc/placement_usage.h.

    C-contiguous arrays, N clients, E = ``n_edges`` edges, M models, K tasks: rate (N, K),
    accuracy and gflop (M, K) float64; cover (M, K) uint8 (or bool); payload, cloud_accuracy
    (K,) float64; client_edge (N,) int64 in [0, E); local routes l_client, l_task, l_model
    (L,) int64 in [0, N), [0, K), [0, M) with l_frac (L,) float64, edge routes h_* likewise;
    cloud, drop (N, K) float64; x (N, M), y (E, M) uint8 (or bool).

    Returns (status, bad_entry, assigned, client_gflops, uplink_mbps, backhaul_mbps, edge_load,
    served_accuracy, n_uncoupled, first_uncoupled) with status J3O_OK (0) and bad_entry -1.
    Raises InvalidInputError for bad arguments (a route entry out of range is named as
    ``routing.local[i]`` or ``routing.edge[i]``).
    """
    if not isinstance(rate, np.ndarray) or rate.ndim != 2:
        raise InvalidInputError("rate", f"must be a two-dimensional NumPy array, got "
                                        f"{getattr(rate, 'shape', type(rate).__name__)}")
    if not isinstance(accuracy, np.ndarray) or accuracy.ndim != 2:
        raise InvalidInputError("accuracy", f"must be a two-dimensional NumPy array, got "
                                            f"{getattr(accuracy, 'shape', type(accuracy).__name__)}")
    cdef Py_ssize_t N = rate.shape[0], K = rate.shape[1], M = accuracy.shape[0]
    if n_edges < 0:
        raise InvalidInputError("n_edges", f"must be >= 0, got {n_edges}")
    rate = _array("rate", rate, np.float64, (N, K))
    accuracy = _array("accuracy", accuracy, np.float64, (M, K))
    gflop = _array("gflop", gflop, np.float64, (M, K))
    cover = _array("cover", cover, np.uint8, (M, K))
    payload = _array("payload", payload, np.float64, (K,))
    cloud_accuracy = _array("cloud_accuracy", cloud_accuracy, np.float64, (K,))
    client_edge = _array("client_edge", client_edge, np.int64, (N,))
    cloud = _array("cloud", cloud, np.float64, (N, K))
    drop = _array("drop", drop, np.float64, (N, K))
    x = _array("x", x, np.uint8, (N, M))
    y = _array("y", y, np.uint8, (n_edges, M))
    if N > 0:
        bad = (client_edge < 0) | (client_edge >= n_edges)
        if bad.any():
            n = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"client_edge[{n}]", f"must be an edge index in [0, {n_edges}), "
                                                         f"got {client_edge[n]}")
    l_client, l_task, l_model, l_frac = _routes("local", "l", l_client, l_task, l_model, l_frac, N, K, M)
    h_client, h_task, h_model, h_frac = _routes("edge", "h", h_client, h_task, h_model, h_frac, N, K, M)

    assigned = np.zeros((N, K))
    client_gflops = np.zeros(N)
    uplink = np.zeros(N)
    backhaul = np.zeros(n_edges)
    load = np.zeros((n_edges, M))
    cdef double[:, ::1] assigned_v = assigned
    cdef double[::1] client_v = client_gflops, uplink_v = uplink, backhaul_v = backhaul
    cdef double[:, ::1] load_v = load
    cdef const double[:, ::1] rate_v = rate, accuracy_v = accuracy, gflop_v = gflop
    cdef const double[:, ::1] cloud_v = cloud, drop_v = drop
    cdef const uint8_t[:, ::1] cover_v = cover, x_v = x, y_v = y
    cdef const double[::1] payload_v = payload, cloud_acc_v = cloud_accuracy
    cdef const int64_t[::1] client_edge_v = client_edge

    cdef j3o_placement p
    p.n_clients, p.n_edges, p.n_models, p.n_tasks = N, n_edges, M, K
    p.rate, p.accuracy, p.gflop = _dptr2(rate_v), _dptr2(accuracy_v), _dptr2(gflop_v)
    p.cover = _bptr2(cover_v)
    p.payload, p.cloud_accuracy, p.client_edge = _dptr(payload_v), _dptr(cloud_acc_v), _iptr(client_edge_v)

    cdef j3o_routes loc, edg
    loc.count, loc.client, loc.task, loc.model, loc.frac = (
        l_frac.shape[0], _iptr(l_client), _iptr(l_task), _iptr(l_model), _dptr(l_frac))
    edg.count, edg.client, edg.task, edg.model, edg.frac = (
        h_frac.shape[0], _iptr(h_client), _iptr(h_task), _iptr(h_model), _dptr(h_frac))

    cdef j3o_usage out
    out.assigned, out.client_gflops, out.uplink_mbps = _wptr2(assigned_v), _wptr(client_v), _wptr(uplink_v)
    out.backhaul_mbps, out.edge_load = _wptr(backhaul_v), _wptr2(load_v)
    out.bad_entry = -1
    cdef int status
    with nogil:
        status = j3o_routing_usage(&p, &loc, &edg, _dptr2(cloud_v), _dptr2(drop_v), _bptr2(x_v),
                                   _bptr2(y_v), tol, &out)
    if status != J3O_OK:
        raise RuntimeError(f"j3o_routing_usage failed with status {status} ({j3o_status_name(status).decode()}), "
                           f"entry {out.bad_entry}")
    return (status, out.bad_entry, assigned, client_gflops, uplink, backhaul, load,
            out.served_accuracy, out.n_uncoupled, out.first_uncoupled)

