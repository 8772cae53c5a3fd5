"""The cost model applied to a `core` program: what each executed core op costs.

It reads `core` ops, so it sits with the interpreter that runs them; the formulas are
the cost model's (`t10ir.cost`), which reads no IR.

The planner costs a plan before it exists (`t10ir.cost.plan_cost`); the interpreter's
accountant (`t10ir.interp.accounting`) costs what actually ran. Both must charge the
same formulas of `t10ir.cost.model` for the same work, or a predicted-vs-simulated gap
would measure two models rather than the plan. This module only decides which formula
each core op takes and on what counts:

- `core.kernel`: `compute_cycles` of each `top` op of its body on the window shapes it
  computes on (the sub-operator of one step), as the planner costs one step's box: the
  op's iteration domain gives the kind and the extents, its result the element size;
  every core of the grid runs the same windows (SPMD), so this is the slowest core's;
- `core.shift`, `core.redistribute`: `routing.exchange_time` of the transfers: on an
  all-to-all chip `shift_cycles` of the most elements any physical core sends or
  receives (per-core send and receive bandwidth bound the exchange), on a mesh the
  busiest link of the routes and the longest route's hops (the planner assumes one
  hop and no shared links: its gap on a mesh is that contention).
  A combining redistribution also pays `elementwise_cycles` on the most elements a
  core receives, as the planner's reduce-scatter epilogue does. Exchanges that share
  a superstep are charged one after the other (the lowering gives each its own);
- `core.sync`: `sync_cycles`, `SYNCS_PER_SHIFT` times when it ends a superstep that
  shifted (the planner's two syncs per shift round), once when it ends a
  redistribution (as `exchange_cycles` does), nothing when nothing moved: a barrier
  only makes exchanged data visible, and a core program whose predicated shift leaves
  every piece in place needs none;
- `core.alloc`, `core.free`, `core.fill`: nothing, as in the planner, which charges
  no setup of an op's buffers or of its accumulator's initial value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.ir import Operation

from t10ir.cost.classify import SubOpShape
from t10ir.cost.model import compute_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT
from t10ir.cost.relayout import Transfers, transfer_cycles
from t10ir.dialects import core
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import T10Error, op_location
from t10ir.lowering.op_spec import op_spec
from t10ir.target import Machine


@dataclass(frozen=True)
class KernelCost:
    """One execution of a kernel: cycles on each core, the floating-point operations
    of all its cores together (2 per multiply-accumulate of a contraction, 1 per loop
    point of any other computation, none for copies; padding in the windows counts, as
    the chip computes it), and the element size of its most expensive body op."""

    cycles: float
    flops: int
    elem_bytes: int


def kernel_cost(machine: Machine, op: core.KernelOp) -> KernelCost:
    """What one execution of `op` costs: each body op through the planner's formula."""
    cycles, flops, costliest, elem_bytes = 0.0, 0, -1.0, 0
    for inner in op.body.block.ops:
        if isinstance(inner, core.YieldOp):
            break
        if not isinstance(inner, IterationDomainInterface):
            raise T10Error(
                f"'{inner.name}' op in a kernel has no iteration domain to cost",
                op_location(inner),
            )
        spec = op_spec(inner)
        shape = SubOpShape.of(spec.domain, spec.is_copy)
        extents = {d.name: d.extent for d in spec.domain.dims}
        inner_cycles = float(
            compute_cycles(machine, shape, extents, spec.compute_bytes)
        )
        cycles += inner_cycles
        per_point = 2 if shape.kind.is_contraction else int(not spec.is_copy)
        flops += per_point * spec.domain.points
        if inner_cycles > costliest:
            costliest, elem_bytes = inner_cycles, spec.compute_bytes
    return KernelCost(cycles, flops * op.grid.grid.size, elem_bytes)


def element_bytes(op: core.ShiftOp | core.RedistributeOp) -> int:
    """Bytes of one element the exchange moves."""
    buffer = op.buf if isinstance(op, core.ShiftOp) else op.src
    assert isinstance(buffer.type, core.BufferType)
    return core.ELEMENT_BYTES[buffer.type.element_type]


def exchange_cores(op: core.ShiftOp | core.RedistributeOp) -> int:
    """Physical cores taking part in the exchange (for the multi-chip factor)."""
    if isinstance(op, core.ShiftOp):
        return op.ring.ring.grid.size
    layouts = (op.src_layout.layout, op.dst_layout.layout)
    return len(np.union1d(*(layout.grid.physical() for layout in layouts)))


def exchange_cycles(
    machine: Machine, op: core.ShiftOp | core.RedistributeOp, transfers: Transfers
) -> float:
    """One execution of an exchange moving `transfers` (the sync that ends it is
    `sync_cycles`): `relayout.transfer_cycles`, routed over shared links on a mesh."""
    return transfer_cycles(
        machine,
        transfers,
        element_bytes(op),
        exchange_cores(op),
        isinstance(op, core.RedistributeOp) and op.combine is not None,
    )


def sync_cycles(machine: Machine, moved: Sequence[Operation]) -> float:
    """The barrier ending a superstep whose exchanges `moved` data: none if nothing
    moved, else the planner's count for a shift round or for a redistribution."""
    if not moved:
        return 0.0
    shifted = any(isinstance(op, core.ShiftOp) for op in moved)
    return (SYNCS_PER_SHIFT if shifted else 1) * machine.sync_cycles
