"""The one exception type for bad input."""


class InvalidInputError(ValueError):
    """Malformed input: names the offending field (as a JSON path) and its value.

    Raised for bad instances, files, options and arguments; never for an outcome such as a time
    limit or an infeasible deadline, which solvers report as a status in their result.
    """

    def __init__(self, path: str, message: str):
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self):
        # rebuilt from (path, reason), so that it crosses process boundaries (loky, Dask, Ray)
        return (type(self), (self.path, self.reason))
