"""``sync2 bench``: the performance figures the project promises, measured in one run.

Each measured part runs in a fresh Python process, so its CPU time and peak RSS are its own; the
simulated hospitals run in yet another process, so the sync is not charged for serving them.
The results are ratios measured in the same run (these machines are shared and noisy).
"""

from __future__ import annotations

from ._run import BenchPlan, run_bench

__all__ = ["BenchPlan", "run_bench"]
