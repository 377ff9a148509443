"""The one exception type for bad input."""


class InvalidInputError(ValueError):
    """Malformed input: names the offending field (as a JSON path) and its value.

    Raised for bad instances, files, options and arguments; never for an outcome such as a time
    limit or an infeasible deadline, which solvers report as a status in their result.
    """

    #: Longer reasons are cut (a value such as a million-entry list is shown by its start).
    MAX_REASON = 500

    def __init__(self, path: str, message: str) -> None:
        if len(message) > self.MAX_REASON:
            message = message[:self.MAX_REASON - 3] + "..."
        self.path = path
        self.reason = message
        super().__init__(f"{path}: {message}" if path else message)

    def __reduce__(self):
        # rebuilt from (path, reason), so that it crosses process boundaries (loky, Dask, Ray)
        return (type(self), (self.path, self.reason))
