"""Type stub of the compiled binding _greedy.pyx (csrc/greedy.h): what mypy reads of it."""

import numpy as np
from numpy.typing import NDArray

OK: int
BAD_INPUT: int
NO_MEMORY: int
KEY_PER_MEMORY: int
KEY_GAIN: int

def lazy_greedy(indptr: NDArray[np.int64], slot: NDArray[np.int32], value: NDArray[np.float64],
                weight: NDArray[np.float64], node: NDArray[np.int64], memory: NDArray[np.float64],
                fixed_cost: NDArray[np.float64], fixed_use: NDArray[np.float64],
                eligible: NDArray[np.uint8] | NDArray[np.bool_], cur: NDArray[np.float64], best: NDArray[np.int64],
                memory_left: NDArray[np.float64], share_left: NDArray[np.float64], key_mode: int,
                group: NDArray[np.int64] | None = ..., n_groups: int = ...,
                ) -> tuple[int, NDArray[np.int64], float, int]: ...
