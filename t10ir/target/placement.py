"""Placement of an op's logical cores on the chip's physical cores.

On an all-to-all chip (the IPU) every core is one exchange away from every other, so the
logical order is kept (`None`: the identity). On a `mesh2d` chip a rotation step should
cost few hops: each grid axis is *folded* within its rings (ring order 0, 2, 4, ..., 5,
3, 1 puts ring neighbours at most two positions apart, wrap-around included), the first
axes are laid along the mesh rows and the others along the columns, so a ring along
the last axis of either group moves at most two hops per step. A grid of one axis, or
one whose axes do not fit this split, is numbered row-major over its folded axes and
laid out in a boustrophedon over the mesh, which keeps the neighbours of rings along
the last axis within two hops.
"""

from __future__ import annotations

from math import prod

import numpy as np

from t10ir.planning.domain import IterationDomain
from t10ir.planning.layout import Grid
from t10ir.planning.plan import OpPlan, tensor_names
from t10ir.target.machine import Machine


def fold(size: int, block: int) -> np.ndarray:
    """Position of each index when every `block` consecutive indices form a ring laid
    out folded (ring index i at position 2i on the way out, back on the odd positions):
    ring neighbours, the two ends included, are at most two positions apart."""
    within = np.arange(block)
    out, back = within[: (block + 1) // 2], within[(block + 1) // 2 :]
    position = np.concatenate([2 * out, 2 * (block - 1 - back) + 1])
    index = np.arange(size)
    return (index // block) * block + position[index % block]


def _ring_blocks(plan: OpPlan, domain: IterationDomain) -> dict[str, int]:
    """Per spatial dim, the largest ring that runs along it alone."""
    blocks: dict[str, int] = {}
    for v in tensor_names(domain)[: len(domain.operands)]:
        axes = plan.free_axes(domain, v)
        size = plan.ring_size(v)
        if size > 1 and len(axes) == 1:
            blocks[axes[0]] = max(blocks.get(axes[0], 1), size)
    return blocks


def grid_cores(
    machine: Machine, plan: OpPlan, domain: IterationDomain
) -> tuple[int, ...] | None:
    """The physical core of each logical core of `plan` (None: the same number)."""
    if machine.topology != "mesh2d" or machine.mesh is None:
        return None
    rows, cols = machine.mesh
    shape = [f for _, f in plan.spatial] or [1]
    blocks = _ring_blocks(plan, domain)
    dims = [d for d, _ in plan.spatial] or [""]
    folded = [
        fold(f, blocks.get(d, f))[x]
        for d, f, x in zip(dims, shape, Grid(tuple(shape)).digits(), strict=True)
    ]
    for split in range(1, len(shape)):
        if prod(shape[:split]) <= rows and prod(shape[split:]) <= cols:
            row = Grid(tuple(shape[:split])).logical(folded[:split])
            col = Grid(tuple(shape[split:])).logical(folded[split:])
            return tuple(int(c) for c in row * cols + col)
    sequence = Grid(tuple(shape)).logical(folded)
    row, col = sequence // cols, sequence % cols
    col = np.where(row % 2 == 1, cols - 1 - col, col)
    return tuple(int(c) for c in row * cols + col)
