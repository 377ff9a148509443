"""Type stub of the compiled binding _og.pyx (csrc/coinference_og.h): what mypy reads of it."""

import numpy as np
from numpy.typing import NDArray

STATUS_OK: int
STATUS_NO_MEMORY: int
STATUS_NO_PLAN: int

def og_solve_sorted(deadline: NDArray[np.float64], threshold: NDArray[np.float64], energy: NDArray[np.float64],
                    local_cost: NDArray[np.float64], tail: NDArray[np.float64], cap: int, bound: float,
                    ) -> tuple[int, float, NDArray[np.int64], NDArray[np.int64], NDArray[np.float64],
                               NDArray[np.int64], int]: ...
