"""The SRAM a `core` program takes on every core, replayed from the program itself.

The simulated chip (`t10ir.interp.mesh`) allocates every argument at entry, each
`core.alloc` on every core of its grid, and frees a buffer at its `core.free`; it
stops a run that needs more than a core has. The selection counts memory with its own
model, before any program exists, and the lowering adds copies it keeps for later
readers; so `t10-lower-to-core` replays the allocations of the program it wrote, in
order, the way the chip will take them (`program_peak`), and refuses one that does not
fit: a program that compiles never runs out of SRAM. The lowering allocates outside
the step loops only (a loop's buffers are made before it), so one pass over the ops in
order is the run's order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from xdsl.dialects import func
from xdsl.ir import Operation, SSAValue

from t10ir.dialects import core
from t10ir.dialects.rtensor import get_layout
from t10ir.planning.layout import Grid


@dataclass(frozen=True)
class MemoryPeak:
    """The most bytes any core holds during the program, which core, and the op
    whose allocation reached it (None: the arguments, at entry)."""

    bytes: int
    core: int
    at: Operation | None


def _argument_grids(function: func.FuncOp) -> list[Grid | None]:
    attrs = function.arg_attrs
    if attrs is None:
        return [None] * len(function.args)
    grids: list[Grid | None] = []
    for group in attrs.data:
        layout = get_layout(group)
        grids.append(layout.layout.grid if layout is not None else None)
    return grids


def program_peak(function: func.FuncOp, cores: int) -> MemoryPeak:
    """Every core's bytes in use, replayed over `function`'s allocations and frees
    (arguments from entry), and where the most is reached."""
    used = np.zeros(cores, dtype=np.int64)
    grids: dict[SSAValue, Grid] = {}
    best = MemoryPeak(0, 0, None)

    def take(value: SSAValue, grid: Grid, sign: int) -> None:
        assert isinstance(value.type, core.BufferType)
        used[grid.physical()] += sign * value.type.bytes_per_core

    for arg, grid in zip(function.args, _argument_grids(function), strict=True):
        if grid is not None and isinstance(arg.type, core.BufferType):
            grids[arg] = grid
            take(arg, grid, 1)
    top = int(used.argmax())
    best = MemoryPeak(int(used[top]), top, None)
    for op in function.body.walk():
        if isinstance(op, core.AllocOp):
            grid = op.grid.grid
            grids[op.buffer] = grid
            take(op.buffer, grid, 1)
            top = int(used.argmax())
            if used[top] > best.bytes:
                best = MemoryPeak(int(used[top]), top, op)
        elif isinstance(op, core.FreeOp) and op.buffer in grids:
            take(op.buffer, grids.pop(op.buffer), -1)
    return best
