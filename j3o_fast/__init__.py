"""j3o_fast: exact and fast planning of where deep-learning inference runs.

Two domains: ``j3o_fast.placement`` (J3O model onloading and query offloading over clients,
edges and the cloud) and ``j3o_fast.coinference`` (multi-user DNN partitioning with a
batch-processing edge GPU).
"""

from .errors import InvalidInputError
from .result import SolveResult

__version__ = "0.1.0"
__all__ = ["InvalidInputError", "SolveResult", "__version__"]
