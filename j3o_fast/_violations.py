"""The record verifiers use for one violated constraint family, and the summary of a report."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Violation:
    """One violated constraint family: how many rows or cases, the worst one and by how much."""

    constraint: str
    count: int
    worst_where: str
    worst_amount: float

    def __str__(self) -> str:
        return f"{self.constraint}: {self.count} violated, worst {self.worst_where} by {self.worst_amount:.3g}"


def summarize(head: str, violations: tuple, tol: float) -> str:
    """``head`` (the recomputed objective) followed by 'all constraints hold' or one line per violation."""
    if not violations:
        return head + f"all constraints hold (tol {tol:g})"
    return head + "VIOLATED:\n  " + "\n  ".join(str(v) for v in violations)
