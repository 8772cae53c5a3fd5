"""The cost model applied to a `core` program: what each executed core op costs.

It reads `core` ops, which the cost model (`t10ir.cost`, whose formulas it applies)
does not; it sits below both of its users, `t10-lower-to-core`, which predicts each
`top` op's cycles from the program it writes (`predict`), and the interpreter's
accountant (`t10ir.interp.accounting`), which times a run: both charge every executed
op through `Charges`, so a prediction and a run differ only in what ran.

The planner costs a plan before it exists (`t10ir.cost.plan_cost`); this module costs
the program that was written. All charge the same formulas of `t10ir.cost.model` for
the same work, or a predicted-vs-simulated gap would measure two models rather than
the plan. This module only decides which formula each core op takes and on what
counts:

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

Each charge counts in one phase of the `top` op it was written for (`PHASES`): a
kernel in compute, a shift in shift and its barrier in sync, a redistribution and its
barrier in the op's prologue before its first kernel and in its epilogue after it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import ceil, prod

from xdsl.dialects import func
from xdsl.ir import Block, Operation, SSAValue

from t10ir.cost.classify import SubOpShape
from t10ir.cost.model import compute_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT
from t10ir.cost.relayout import (
    Transfers,
    relayout_transfers,
    rotation_transfers,
    transfer_cycles,
)
from t10ir.dialects import core
from t10ir.dialects.rtensor import get_op_index
from t10ir.dialects.top import IterationDomainInterface
from t10ir.errors import T10Error, op_location
from t10ir.lowering.op_spec import op_spec
from t10ir.planning.layout import cores_spanned, evaluate_map
from t10ir.target import Machine

PHASES = ("compute", "shift", "sync", "prologue", "epilogue")


def whole(cycles: float) -> int:
    """Cycles rounded up, as the planner rounds each phase; a sum of many equal float
    terms may land an ulp above the integer it stands for."""
    return ceil(round(cycles, 6))


def total(phases: Mapping[str, float]) -> int:
    """An op's cycles: each phase rounded up (`whole`), summed."""
    return sum(whole(phases[phase]) for phase in PHASES)


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
    return cores_spanned(op.src_layout.layout.grid, op.dst_layout.layout.grid)


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


def shift_transfers(
    machine: Machine, op: core.ShiftOp, symbols: Sequence[int]
) -> Transfers:
    """The transfers of `op` at the values `symbols` of its step indices (`op.at`):
    the cores where its predicate is all zeros move."""
    ring = op.ring.ring
    grid = ring.grid
    moving = None
    if op.when is not None:
        when = evaluate_map(op.when.data, grid.digits(), symbols, grid.size)
        moving = (when == 0).all(axis=1)
    assert isinstance(op.buf.type, core.BufferType)
    return rotation_transfers(
        ring, op.by.value.data, prod(op.buf.type.get_shape()), moving, machine.cores
    )


def redistribute_transfers(op: core.RedistributeOp) -> Transfers:
    """The transfers of `op` (raises ValueError if its destination holds an element
    its source does not), counted over the cores of its layouts: the cached answer
    the selection's exact costing and `t10-eliminate-redundant-shifts` already asked
    for (`relayout_cycles`), which costs what the machine-wide count does."""
    return relayout_transfers(
        op.src_layout.layout, op.dst_layout.layout, op.combine is not None
    )


@dataclass
class Charges:
    """Charges a program's ops one execution at a time, in the order they run: a
    kernel `kernel_cost` (costed once per kernel op), an exchange `exchange_cycles`
    of what it moves, a barrier `sync_cycles` of the exchanges since the previous
    one that moved data."""

    machine: Machine
    kernels: dict[core.KernelOp, KernelCost] = field(default_factory=dict)
    moved: list[tuple[Operation, str]] = field(default_factory=list)

    def kernel(self, op: core.KernelOp) -> KernelCost:
        if op not in self.kernels:
            self.kernels[op] = kernel_cost(self.machine, op)
        return self.kernels[op]

    def charge(
        self, op: Operation, transfers: Transfers | None, before_kernel: bool
    ) -> tuple[float, str]:
        """One execution of `op` (an exchange moving `transfers`): its cycles and
        the phase they count in; `before_kernel`: its `top` op's first kernel has not
        run yet (a redistribution then is the op's prologue)."""
        if isinstance(op, core.KernelOp):
            return self.kernel(op).cycles, "compute"
        if isinstance(op, core.ShiftOp | core.RedistributeOp):
            assert transfers is not None
            if isinstance(op, core.ShiftOp):
                phase = "shift"
            else:
                phase = "prologue" if before_kernel else "epilogue"
            if transfers.sent.any():
                self.moved.append((op, phase))
            return exchange_cycles(self.machine, op, transfers), phase
        if isinstance(op, core.SyncOp):
            moved, self.moved = self.moved, []
            phases = {phase for _, phase in moved}
            phase = "sync" if "shift" in phases or not moved else moved[-1][1]
            return sync_cycles(self.machine, [o for o, _ in moved]), phase
        return 0.0, "compute"


@dataclass
class _Prediction:
    """The walk of `predict`: the charges so far, per record and phase."""

    charges: Charges
    phases: list[dict[str, float]]
    started: set[int] = field(default_factory=set)
    """Records whose first kernel has been charged."""
    steps: dict[SSAValue, int] = field(default_factory=dict)
    shifts: dict[tuple[core.ShiftOp, tuple[int, ...]], Transfers] = field(
        default_factory=dict
    )

    def op(self, op: Operation, index: int | None, times: int) -> None:
        """Charges `op`, run `times` times, to record `index` (None: to no one)."""
        if isinstance(op, core.StepsOp):
            self.loop(op, index, times)
            return
        transfers = None
        if isinstance(op, core.ShiftOp):
            transfers = self.shift(op)
        elif isinstance(op, core.RedistributeOp):
            transfers = redistribute_transfers(op)
        cycles, phase = self.charges.charge(op, transfers, index not in self.started)
        if index is not None:
            if isinstance(op, core.KernelOp):
                self.started.add(index)
            self.phases[index][phase] += times * cycles

    def block(self, block: Block, index: int | None, times: int) -> None:
        for op in block.ops:
            self.op(op, index, times)

    def loop(self, op: core.StepsOp, index: int | None, times: int) -> None:
        """A step loop's body once per step where a predicated shift reads the
        step, else once for all its steps."""
        count = op.count.value.data
        if not count:
            return
        read = any(
            isinstance(inner, core.ShiftOp)
            and inner.when is not None
            and op.index in inner.at
            for inner in op.walk()
        )
        if not read:
            self.block(op.body.block, index, times * count)
            return
        for step in range(count):
            self.steps[op.index] = step
            self.block(op.body.block, index, times)
        del self.steps[op.index]

    def shift(self, op: core.ShiftOp) -> Transfers:
        symbols = tuple(self.steps[v] for v in op.at) if op.when is not None else ()
        if (op, symbols) not in self.shifts:
            self.shifts[op, symbols] = shift_transfers(
                self.charges.machine, op, symbols
            )
        return self.shifts[op, symbols]


def predict(machine: Machine, function: func.FuncOp, records: int) -> list[int]:
    """The cycles of each of the `records` `top` ops of the core-level `function`
    (the ops tagged with its index, `t10.op`), charged as the accountant charges a
    run of it on `machine` (`Charges`, `total`), without running it: the program
    runs the same ops at every run, and only a predicated shift depends on the step
    it runs at."""
    prediction = _Prediction(
        Charges(machine), [dict.fromkeys(PHASES, 0.0) for _ in range(records)]
    )
    for op in function.body.block.ops:
        index = get_op_index(op)
        if index is not None and not 0 <= index < records:
            index = None
        prediction.op(op, index, 1)
    return [total(phases) for phases in prediction.phases]
