"""Study texts and helpers shared by the sweep tests (test_sweep, test_sweep_faults)."""

from pathlib import Path

import pandas as pd


def mip_study(name: str, root_seed: int, seeds: int, *, limits: str = "") -> str:
    """TOML of a small placement study: MIP and J3O on 15-client `nyu`, with and without batching.

    ``limits``: lines of a [limits] table (empty: none)."""
    limits_table = f"[limits]\n{limits}\n" if limits else ""
    return f"""
name = "{name}"
root_seed = {root_seed}
seeds = {seeds}
{limits_table}[[experiment]]
name = "mips"
domain = "placement"
methods = ["mip", "j3o"]
[experiment.params]
family = "nyu"
n_edges = 2
[experiment.grid]
n_clients = [15]
window = ["none", 0.05]
"""


def rows_in_chunks(out: Path) -> pd.DataFrame:
    """Every row the study's chunk files in ``out`` hold, in chunk order."""
    return pd.concat([pd.read_parquet(p) for p in sorted((Path(out) / "chunks").glob("chunk-*.parquet"))])
