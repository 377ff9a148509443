"""Co-inference: multi-user DNN partitioning with a batch-processing edge GPU (docs/coinference.rst).

K users run the same chain of N sub-tasks; each picks a partition point, uploads the
intermediate result and the edge GPU runs the rest in batches. Methods minimise the users'
total energy under their deadlines: IP-SSA and OG (``solve``), the baselines LC, FO and
IP-no-batch, and an exhaustive oracle for tiny instances; ``verify`` checks any plan.

The entry points have the names and shapes of ``j3o_fast.placement``'s: ``solve(instance,
method="og", **options)``, ``verify`` (the instance, a decision, then keyword-only ``tol``), ``load_instance``,
``save_instance``, ``save_solution`` and ``load_solution(path, instance)``. ``verify_plan``,
``save_plan`` and ``load_plan`` are the older names, kept as aliases.
"""

from .baselines import solve_fo, solve_ip_no_batch, solve_lc
from .instance import CoInferenceInstance
from .io import load_instance, load_plan, load_solution, save_instance, save_plan, save_solution
from .oracle import solve_oracle
from .plan import Batch, CoInferencePlan, make_result
from .profiles import MOBILENETV2, PROFILES, VGG16, Profile, generate, shannon_rate_mbps
from .solve import METHODS, option_target, solve
from .verify import PlanReport, Verdict, Violation, plan_verdict, verify, verify_plan

__all__ = [
    "Batch", "CoInferenceInstance", "CoInferencePlan", "METHODS", "MOBILENETV2", "PROFILES", "PlanReport",
    "Profile", "VGG16", "Verdict", "Violation", "generate", "load_instance", "load_plan", "load_solution", "make_result",
    "option_target", "plan_verdict", "save_instance", "save_plan", "save_solution", "shannon_rate_mbps", "solve",
    "solve_fo", "solve_ip_no_batch", "solve_lc", "solve_oracle", "verify", "verify_plan", "solve_ipssa", "solve_og",
]


def __getattr__(name):
    # IP-SSA and OG load on first use, like the ``solve`` registry does.
    if name == "solve_ipssa":
        from .ipssa import solve_ipssa

        return solve_ipssa
    if name == "solve_og":
        from .og import solve_og

        return solve_og
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
