"""`t10-compile`: the whole lowering from `top` to the per-core program, as one pass.

`builtin.module(t10-compile{target=ipu-mk2 strategy=greedy})` is
`t10-partition{target=...}, t10-select-plans{strategy=...}, t10-lower-to-shift,
t10-eliminate-redundant-shifts, t10-lower-to-core`: the pipeline a user runs when they
want the program the chip executes rather than one level of it. It takes
`t10-partition`'s pruning options too (`min-core-fraction`, `max-padding`,
`rotation-dims`) and forwards them; a driver that compiles with it (`t10-run`) passes
them as the fields of the same names. The frontiers go from
the search to the selection in memory (a `CompileState`), not through the IR; for the
strategies that rotate nothing (`no-rotation`, `vgm`) the search runs with rotation
off, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass

from t10ir.passes.compile_state import CompileState
from t10ir.passes.t10_eliminate_redundant_shifts import (
    T10EliminateRedundantShiftsPass,
)
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass, load_target
from t10ir.passes.t10_select_plans import SPATIAL_ONLY, T10SelectPlansPass
from t10ir.planning.search import SearchOptions
from t10ir.target import DEFAULT_TARGET

Step = Callable[[ModuleOp], None]


@dataclass(frozen=True)
class T10CompilePass(ModulePass):
    """Partition, select plans, lower to `shift`, drop redundant shifts, lower to
    `core`."""

    name = "t10-compile"

    target: str = DEFAULT_TARGET
    strategy: str = "greedy"
    time_limit: float | int = 60
    min_core_fraction: float | int = SearchOptions.min_core_fraction
    max_padding: float | int = SearchOptions.max_padding
    rotation_dims: int = SearchOptions.rotation_dims

    def steps(self, ctx: Context) -> tuple[Step, ...]:
        """The five passes, in order, as steps of one compilation (callers time them
        one by one): the search hands its frontiers to the selection in memory."""
        partition = T10PartitionPass(
            self.target, self.min_core_fraction, self.max_padding, self.rotation_dims
        )
        select = T10SelectPlansPass(strategy=self.strategy, time_limit=self.time_limit)
        searched: list[CompileState] = []

        def search(module: ModuleOp) -> None:
            # Every option is t10-compile's: a bad one is its diagnostic.
            partition.options(self.name)
            load_target(self.name, self.target)
            select.check_options(self.name)
            searched.append(
                partition.search(module, spatial_only=self.strategy in SPATIAL_ONLY)
            )

        def choose(module: ModuleOp) -> None:
            select.select(module, searched.pop())

        def lower(step: ModulePass) -> Step:
            return lambda module: step.apply(ctx, module)

        return (
            search,
            choose,
            lower(T10LowerToShiftPass()),
            lower(T10EliminateRedundantShiftsPass()),
            lower(T10LowerToCorePass()),
        )

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for step in self.steps(ctx):
            step(op)
