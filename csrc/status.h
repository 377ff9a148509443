/* Status codes of the C kernels in csrc/: every kernel returns one of these.
 *
 * J3O_OK and J3O_NO_PLAN are outcomes the caller reads; J3O_ERR_* are failures. The Cython
 * bindings check their inputs before calling a kernel, so a kernel's own J3O_ERR_BAD_INPUT
 * means that a binding let bad input through (a bug, raised as RuntimeError); J3O_ERR_NOMEM
 * is raised as MemoryError.
 */
#ifndef J3O_STATUS_H
#define J3O_STATUS_H

#define J3O_OK 0
#define J3O_NO_PLAN 1       /* og_solve: no grouping costs <= the caller's bound (an outcome) */
#define J3O_ERR_NOMEM 2     /* a workspace allocation failed */
#define J3O_ERR_BAD_INPUT 3 /* an index, size or mode out of range; nothing was written */

/* The name of a status code, for error messages. */
static inline const char *j3o_status_name(int status)
{
    switch (status) {
    case J3O_OK:
        return "J3O_OK";
    case J3O_NO_PLAN:
        return "J3O_NO_PLAN";
    case J3O_ERR_NOMEM:
        return "J3O_ERR_NOMEM";
    case J3O_ERR_BAD_INPUT:
        return "J3O_ERR_BAD_INPUT";
    default:
        return "unknown status";
    }
}

#endif
