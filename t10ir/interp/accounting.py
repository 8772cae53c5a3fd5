"""Time, memory and traffic of a mesh run, per `top` op: the report and the trace.

The chip is bulk-synchronous: the executed ops (`MeshRun.events`) run one after another
on a single clock, each costing what `t10ir.lowering.program_cost.Charges` says (the
planner's formulas on what actually ran, charged as `t10-lower-to-core` charged the
program to predict it), so the program's time is their sum. Every event belongs
to the `top` op it was written for (the `t10.op` tag of its top-level ancestor, an index
into the function's `t10.ops` records, `rtensor.OpRecord`), and to one phase of that op,
as the planner splits its prediction:

- compute: kernels;
- shift: ring rotations; sync: the barriers ending them;
- prologue: redistributions before the op's first kernel (its inputs moving into the
  plan's layout), with their barriers;
- epilogue: redistributions after it (partial sums combined, the output moving to the
  layout the next op starts from), with their barriers.

Of the prologue and epilogue, two parts are told apart (`MOVES`, each with the barriers
of its exchanges when nothing else moved before them): `weights`, a weight fetched
from where it waits into the plan's layout (a `{top.weight}` argument, cold), and
`partial_sums`, a split reduction's partial results combined (`combine`). The rest
hands activations from one op to the next.

SRAM in use is replayed from the allocations and frees (and the arguments, resident
from the start), which gives each op's peak while it runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from math import ceil
from typing import Any

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, IntegerAttr
from xdsl.ir import BlockArgument, Operation, SSAValue

from t10ir.dialects import core
from t10ir.dialects.rtensor import (
    OP_ATTR,
    OPS_ATTR,
    OpPlanAttr,
    OpRecordAttr,
)
from t10ir.dialects.top import is_weight
from t10ir.errors import T10Error, op_location
from t10ir.interp.mesh import Event, MeshRun, function_layouts
from t10ir.lowering.program_cost import (
    PHASES,
    Charges,
    element_bytes,
    total,
    whole,
)
from t10ir.planning.plan import OpPlan
from t10ir.target import Machine

MOVES = ("weights", "partial_sums")
"""The parts of an op's prologue and epilogue the report tells apart (module
docstring), by their column `<move>_cycles`."""
HISTOGRAM_BINS = 10
EXPLAINED_GAP = 0.05
"""A report explains every op whose run differs from its prediction by more."""
"""Bins of the per-core SRAM peak histogram: equal widths up to the largest peak, so
that it shows how evenly the cores are loaded (the largest over the capacity says how
full they are)."""


@dataclass(eq=False)
class OpAccount:
    """One `top` op of the program (`index` None: events written for no op), what
    the compiler predicted for it (`planned`: the plan selection's figure;
    `predicted`: the program `t10-lower-to-core` wrote, charged as a run is) and what
    it cost: cycles per phase (unrounded), flops, bytes received by all cores, and the
    most SRAM any core used while it ran."""

    index: int | None
    kind: str | None = None
    plan: OpPlan | None = None
    loc: str | None = None
    predicted: int | None = None
    planned: int | None = None
    predicted_compute: int | None = None
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    moves: dict[str, float] = field(default_factory=lambda: dict.fromkeys(MOVES, 0.0))
    flops: int = 0
    bytes_exchanged: int = 0
    sram_peak_bytes: int = 0

    @property
    def name(self) -> str:
        if self.index is None:
            return "untagged"
        kind = (self.kind or "op").removeprefix("top.")
        return f"{self.index}:{kind}"

    def cycles_of(self, phase: str) -> int:
        return whole(self.phases[phase])

    def moved(self, move: str) -> int:
        """Cycles of the prologue and epilogue that are `move` (one of `MOVES`)."""
        return whole(self.moves[move])

    @property
    def cycles(self) -> int:
        return total(self.phases)

    @property
    def gap(self) -> float | None:
        """Simulated over predicted cycles, less one (positive: slower than planned)."""
        if not self.predicted:
            return None
        return self.cycles / self.predicted - 1

    @property
    def explanation(self) -> str | None:
        """Why the run differs from the prediction by more than `EXPLAINED_GAP`: the
        difference split into compute (the plan's sub-operators against the kernels
        that ran) and moving data (prologue, shifts, syncs, epilogue), with what
        makes the larger part differ."""
        gap = self.gap
        if gap is None or abs(gap) <= EXPLAINED_GAP or self.predicted_compute is None:
            return None
        assert self.predicted is not None
        compute = self.cycles_of("compute") - self.predicted_compute
        moves = self.cycles - self.cycles_of("compute")
        moves -= self.predicted - self.predicted_compute
        if abs(compute) >= abs(moves):
            cause = (
                "the kernels run work the plan's cost does not count"
                if compute > 0
                else "the plan's cost counts work the kernels do not run"
            )
        elif moves > 0:
            cause = (
                "exchanges take longer than predicted: more elements, hops or "
                "shared links than the prediction counted"
            )
        else:
            cause = (
                "exchanges take less than predicted: moves the prediction counts "
                "were removed or found their data in place"
            )
        return f"compute {compute:+d}, moving data {moves:+d} cycles: {cause}"


@dataclass(frozen=True)
class Slice:
    """One event that took time: when it starts, for how long, whose phase it is."""

    start: float
    cycles: float
    op: OpAccount
    phase: str
    event: Event


@dataclass
class Account:
    """A run accounted: the ops in program order, the timed events, the machine-wide
    figures."""

    machine: Machine
    ops: list[OpAccount]
    slices: list[Slice]
    sram_peak_bytes: np.ndarray
    supersteps: int
    flops_elem_bytes: int

    @property
    def cycles(self) -> int:
        return sum(op.cycles for op in self.ops)

    @property
    def flops(self) -> int:
        return sum(op.flops for op in self.ops)

    @property
    def bytes_exchanged(self) -> int:
        return sum(op.bytes_exchanged for op in self.ops)

    @property
    def predicted(self) -> int | None:
        known = [op.predicted for op in self.ops if op.predicted is not None]
        return sum(known) if known else None

    def phase_cycles(self, phase: str) -> int:
        return sum(op.cycles_of(phase) for op in self.ops)

    def moved(self, move: str) -> int:
        return sum(op.moved(move) for op in self.ops)


def _records(func_op: func.FuncOp) -> list[OpAccount]:
    """The ops of the function's `t10.ops` records, with what the planner predicted."""
    records = func_op.attributes.get(OPS_ATTR)
    ops: list[OpAccount] = []
    if not isinstance(records, ArrayAttr):
        return ops
    for index, attr in enumerate(records.data):
        if not isinstance(attr, OpRecordAttr):
            raise T10Error(
                f"'{func_op.name}' op {OPS_ATTR}[{index}] is {attr}: expected a "
                "#rtensor.record<...> (the record of one `top` op)",
                op_location(func_op),
            )
        record = attr.data
        ops.append(
            OpAccount(
                index,
                record.kind,
                record.plan,
                record.loc,
                record.predicted,
                record.planned if record.planned is not None else record.predicted,
                record.compute,
            )
        )
    return ops


def _tags(func_op: func.FuncOp, count: int) -> dict[Operation, int | None]:
    """Every op's `top` op: the tag of its top-level ancestor, an index into the
    function's `count` records. Without a record (a hand-written program) tags name
    nothing and are ignored; with one, a tag that is not one of its indices would
    charge the op to the wrong `top` op (or to none), so it is refused."""
    tags: dict[Operation, int | None] = {}
    for top_level in func_op.body.block.ops:
        tag = top_level.attributes.get(OP_ATTR)
        index: int | None = None
        if tag is not None and count:
            if not isinstance(tag, IntegerAttr) or not 0 <= tag.value.data < count:
                raise T10Error(
                    f"'{top_level.name}' op has {OP_ATTR} = {tag}: expected an index "
                    f"of the function's {OPS_ATTR} (0 to {count - 1})",
                    op_location(top_level),
                )
            index = tag.value.data
        for op in top_level.walk():
            tags[op] = index
    return tags


class _Memory:
    """SRAM in use per physical core, replayed from the arguments, allocs and frees."""

    def __init__(self, func_op: func.FuncOp, machine: Machine):
        self.used = np.zeros(machine.cores, dtype=np.int64)
        self.buffers: dict[SSAValue, tuple[np.ndarray, int]] = {}
        for arg, layout in zip(func_op.args, function_layouts(func_op)[0], strict=True):
            self._take(arg, layout.grid.physical())
        self.in_use = int(self.used.max(initial=0))

    def _take(self, value: SSAValue, cores: np.ndarray) -> None:
        assert isinstance(value.type, core.BufferType)
        need = value.type.bytes_per_core
        self.buffers[value] = (cores, need)
        self.used[cores] += need

    def apply(self, op: Operation) -> None:
        if isinstance(op, core.AllocOp):
            self._take(op.buffer, op.grid.grid.physical())
        elif isinstance(op, core.FreeOp):
            cores, need = self.buffers[op.buffer]
            self.used[cores] -= need
        else:
            return
        self.in_use = int(self.used.max(initial=0))


def account(func_op: func.FuncOp, run: MeshRun, machine: Machine) -> Account:
    """Time every event of `run` (of the core-level `func_op` on `machine`) and sum
    time, flops, traffic and SRAM per op."""
    ops = _records(func_op)
    untagged = OpAccount(None)
    tags = _tags(func_op, len(ops))

    def owner(op: Operation) -> OpAccount:
        index = tags.get(op)
        return ops[index] if index is not None else untagged

    first_kernel: dict[OpAccount, int] = {}
    for position, event in enumerate(run.events):
        if isinstance(event.op, core.KernelOp):
            first_kernel.setdefault(owner(event.op), position)
    charges = Charges(machine)
    flops_by_size: dict[int, int] = {}
    memory = _Memory(func_op, machine)
    slices: list[Slice] = []
    clock = 0.0
    for position, event in enumerate(run.events):
        op, account_of = event.op, owner(event.op)
        memory.apply(op)
        account_of.sram_peak_bytes = max(account_of.sram_peak_bytes, memory.in_use)
        before_kernel = position < first_kernel.get(account_of, len(run.events))
        ended = charges.moved  # the exchanges a sync ends: those since the last
        cycles, phase = charges.charge(op, event.transfers, before_kernel)
        if not isinstance(op, core.SyncOp):
            ended = [(op, phase)]
        if isinstance(op, core.KernelOp):
            cost = charges.kernel(op)
            account_of.flops += cost.flops
            flops_by_size[cost.elem_bytes] = (
                flops_by_size.get(cost.elem_bytes, 0) + cost.flops
            )
        elif isinstance(op, core.ShiftOp | core.RedistributeOp):
            assert event.received is not None
            account_of.bytes_exchanged += int(event.received.sum()) * (
                element_bytes(op)
            )
        if cycles:
            account_of.phases[phase] += cycles
            parts = {_move(o, p) for o, p in ended}
            if len(parts) == 1 and (move := parts.pop()) is not None:
                account_of.moves[move] += cycles
            slices.append(Slice(clock, cycles, account_of, phase, event))
            clock += cycles
    if any(owner(event.op) is untagged for event in run.events):
        ops.append(untagged)  # a hand-written program, or ops of no `top` op
    flops_elem_bytes = max(
        flops_by_size, key=lambda size: (flops_by_size[size], -size), default=4
    )
    return Account(
        machine,
        ops,
        slices,
        run.sram_peak_bytes,
        run.supersteps,
        flops_elem_bytes,
    )


# --- the report ----------------------------------------------------------------------


def _plan_text(value: OpPlan | None) -> str:
    """A plan as the plan report prints it: `m=2 k=2; in0: k=4`."""
    if value is None:
        return "-"

    def factors(items: tuple[tuple[str, int], ...]) -> str:
        return " ".join(f"{d}={f}" for d, f in items)

    parts = [factors(value.spatial) or "-"]
    parts += [f"{v}: {factors(fs)}" for v, fs in value.temporal]
    return "; ".join(parts)


def _move(op: Operation, phase: str) -> str | None:
    """The part of `MOVES` an exchange in `phase` is, if any: partial sums combined,
    or in a prologue a weight argument fetched."""
    if not isinstance(op, core.RedistributeOp):
        return None
    if op.combine is not None:
        return "partial_sums"
    if phase == "prologue" and isinstance(op.src, BlockArgument) and is_weight(op.src):
        return "weights"
    return None


def _op_report(op: OpAccount) -> dict[str, Any]:
    gap = op.gap
    return {
        "name": op.name,
        "kind": op.kind,
        "loc": op.loc,
        "plan": str(OpPlanAttr.from_plan(op.plan)) if op.plan is not None else None,
        "cycles": op.cycles,
        **{f"{phase}_cycles": op.cycles_of(phase) for phase in PHASES},
        **{f"{move}_cycles": op.moved(move) for move in MOVES},
        "predicted_cycles": op.predicted,
        "planned_cycles": op.planned,
        "gap": round(gap, 6) if gap is not None else None,
        "explanation": op.explanation,
        "flops": op.flops,
        "sram_peak_bytes": op.sram_peak_bytes,
        "bytes_exchanged": op.bytes_exchanged,
    }


def report(account: Account) -> dict[str, Any]:
    """The report as JSON-ready data, in a fixed key order."""
    machine, peaks = account.machine, account.sram_peak_bytes
    seconds = account.cycles / machine.clock_hz
    width = max(1, ceil(int(peaks.max()) / HISTOGRAM_BINS))
    counts, _ = np.histogram(
        peaks, bins=HISTOGRAM_BINS, range=(0, width * HISTOGRAM_BINS)
    )
    predicted = account.predicted
    return {
        "target": machine.name,
        "cores": machine.cores,
        "clock_hz": machine.clock_hz,
        "cycles": account.cycles,
        "seconds": seconds,
        **{f"{phase}_cycles": account.phase_cycles(phase) for phase in PHASES},
        **{f"{move}_cycles": account.moved(move) for move in MOVES},
        "predicted_cycles": predicted,
        "gap": round(account.cycles / predicted - 1, 6) if predicted else None,
        "flops": account.flops,
        "achieved_flops_per_s": account.flops / seconds if seconds else 0.0,
        "peak_flops_per_s": machine.peak_flops(account.flops_elem_bytes),
        "sram_capacity_bytes": machine.sram_bytes,
        "sram_peak_bytes": int(peaks.max()),
        "sram_peak_per_core": {
            "min": int(peaks.min()),
            "median": int(np.sort(peaks)[(len(peaks) - 1) // 2]),
            "max": int(peaks.max()),
            "histogram_bin_bytes": width,
            "histogram": [int(c) for c in counts],
        },
        "bytes_exchanged": account.bytes_exchanged,
        "supersteps": account.supersteps,
        "ops": [_op_report(op) for op in account.ops],
    }


def report_json(account: Account) -> str:
    return json.dumps(report(account), indent=2) + "\n"


def _percent(gap: float | None) -> str:
    return f"{gap:+.1%}" if gap is not None else "-"


def table(account: Account) -> str:
    """The report as text: one row per op, slowest first, then the totals."""
    header = [
        "op",
        "loc",
        "plan",
        "cycles",
        *PHASES,
        "predicted",
        "gap",
        "sram peak",
        "exchanged",
    ]
    rows = [header]
    ordered = sorted(account.ops, key=lambda op: (-op.cycles, account.ops.index(op)))
    for op in ordered:
        rows.append(
            [
                op.name,
                op.loc or "-",
                _plan_text(op.plan),
                str(op.cycles),
                *(str(op.cycles_of(phase)) for phase in PHASES),
                str(op.predicted) if op.predicted is not None else "-",
                _percent(op.gap),
                str(op.sram_peak_bytes),
                str(op.bytes_exchanged),
            ]
        )
    data = report(account)
    rows.append(
        [
            "total",
            "",
            "",
            str(data["cycles"]),
            *(str(data[f"{phase}_cycles"]) for phase in PHASES),
            str(data["predicted_cycles"] or "-"),
            _percent(data["gap"]),
            str(data["sram_peak_bytes"]),
            str(data["bytes_exchanged"]),
        ]
    )
    text = [_aligned(rows, left=3)]
    text += [
        f"gap of {op.name} {_percent(op.gap)}: {op.explanation}"
        for op in ordered
        if op.explanation is not None
    ]
    machine, peaks = account.machine, data["sram_peak_per_core"]
    text.append(
        f"{data['cycles']} cycles = {data['seconds'] * 1e6:.3f} us at "
        f"{machine.clock_hz / 1e9:g} GHz on {machine.name} ({machine.cores} cores), "
        f"{data['supersteps']} supersteps"
    )
    text.append(
        f"{data['flops']:.4g} flops: {data['achieved_flops_per_s']:.4g} FLOP/s, "
        f"{data['achieved_flops_per_s'] / data['peak_flops_per_s']:.2%} of the "
        f"{8 * account.flops_elem_bytes}-bit peak {data['peak_flops_per_s']:.4g} FLOP/s"
    )
    text.append(
        f"SRAM peak per core: max {peaks['max']}, median {peaks['median']}, min "
        f"{peaks['min']} of {data['sram_capacity_bytes']} bytes; "
        f"{data['bytes_exchanged']} bytes exchanged"
    )
    return "\n".join(text)


def _aligned(rows: list[list[str]], left: int) -> str:
    """Columns padded to their widest cell: the first `left` flush left, the rest
    flush right (numbers)."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if c < left else cell.rjust(width)
            for c, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


# --- the trace -----------------------------------------------------------------------

_CHIP, _CORES = 1, 2
"""Trace process ids: the chip's tracks (ops, then one per phase) and the cores'."""


def _track(pid: int, tid: int, name: str) -> list[dict[str, Any]]:
    """Trace metadata naming a track and keeping tracks in `tid` order."""
    return [
        {
            "name": "thread_name",
            "ph": "M",
            "pid": pid,
            "tid": tid,
            "args": {"name": name},
        },
        {
            "name": "thread_sort_index",
            "ph": "M",
            "pid": pid,
            "tid": tid,
            "args": {"sort_index": tid},
        },
    ]


def _process(pid: int, name: str) -> dict[str, Any]:
    return {"name": "process_name", "ph": "M", "pid": pid, "args": {"name": name}}


def _span(
    name: str, pid: int, tid: int, start: float, length: float, args: dict[str, Any]
) -> dict[str, Any]:
    """A complete trace event; times in microseconds."""
    return {
        "name": name,
        "ph": "X",
        "pid": pid,
        "tid": tid,
        "ts": round(start, 6),
        "dur": round(length, 6),
        "args": args,
    }


def trace(account: Account, cores: int = 0) -> dict[str, Any]:
    """A Chrome trace-event file (Perfetto, chrome://tracing) of the run, times in
    microseconds: a track with each op's span, one per phase with its events, and
    for the first `cores` physical cores one track each with the kernels they run
    and the exchanges they send or receive in (tracks for every core of a large chip
    would be more than a viewer shows)."""
    us = 1e6 / account.machine.clock_hz
    events: list[dict[str, Any]] = [_process(_CHIP, account.machine.name)]
    events += _track(_CHIP, 0, "ops")
    for number, phase in enumerate(PHASES, 1):
        events += _track(_CHIP, number, phase)
    runs: list[list[Slice]] = []
    for piece in account.slices:
        if runs and runs[-1][-1].op is piece.op:
            runs[-1].append(piece)
        else:
            runs.append([piece])
    for run in runs:
        op, start, last = run[0].op, run[0].start, run[-1]
        args: dict[str, Any] = {"loc": op.loc, "plan": _plan_text(op.plan)}
        length = last.start + last.cycles - start
        events.append(_span(op.name, _CHIP, 0, start * us, length * us, args))
    shown = min(cores, account.machine.cores)
    if shown:
        events.append(_process(_CORES, "cores"))
        for number in range(shown):
            events += _track(_CORES, number, f"core {number}")
    for piece in account.slices:
        event, name = piece.event, piece.op.name
        start, length = piece.start * us, piece.cycles * us
        args = {"op": event.op.name, "steps": list(event.steps), "cycles": piece.cycles}
        tid = PHASES.index(piece.phase) + 1
        events.append(_span(name, _CHIP, tid, start, length, args))
        if not shown:
            continue
        if isinstance(event.op, core.KernelOp):
            physical = event.op.grid.grid.physical()
            for number in np.sort(physical[physical < shown]):
                events.append(_span(name, _CORES, int(number), start, length, args))
        elif event.sent is not None and event.received is not None:
            for number in range(shown):
                sent, received = int(event.sent[number]), int(event.received[number])
                if sent or received:
                    detail = args | {"sent": sent, "received": received}
                    events.append(_span(name, _CORES, number, start, length, detail))
    return {"traceEvents": events, "displayTimeUnit": "ns"}


def trace_json(account: Account, cores: int = 0) -> str:
    return json.dumps(trace(account, cores), separators=(",", ":")) + "\n"
