"""`t10-compile`: the whole lowering from `top` to the per-core program, as one pass.

`builtin.module(t10-compile{target=ipu-mk2 strategy=greedy})` is
`t10-partition{target=...}, t10-select-plans{strategy=...}, t10-lower-to-shift,
t10-eliminate-redundant-shifts, t10-lower-to-core`: the pipeline a user runs when they
want the program the chip executes rather than one level of it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from t10ir.passes.t10_eliminate_redundant_shifts import (
    T10EliminateRedundantShiftsPass,
)
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.target import DEFAULT_TARGET


@dataclass(frozen=True)
class T10CompilePass(ModulePass):
    """Partition, select plans, lower to `shift`, drop redundant shifts, lower to
    `core`."""

    name = "t10-compile"

    target: str = DEFAULT_TARGET
    strategy: str = "greedy"
    time_limit: float | int = 60

    def passes(self) -> tuple[ModulePass, ...]:
        return (
            T10PartitionPass(target=self.target),
            T10SelectPlansPass(strategy=self.strategy, time_limit=self.time_limit),
            T10LowerToShiftPass(),
            T10EliminateRedundantShiftsPass(),
            T10LowerToCorePass(),
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for step in self.passes():
            step.apply(ctx, op)
