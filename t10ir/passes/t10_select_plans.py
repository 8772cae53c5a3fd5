"""`t10-select-plans`: one plan per op for the whole function, fitting SRAM at every op.

Reads the frontiers `t10-partition` attached (within `t10-compile`, the `CompileState`
it returned; run alone, the module's `rtensor.frontiers`, which it removes: only the
decisions stay in the IR), builds the selection problem of `t10ir.planning.select` and
solves it with the chosen strategy. Records (through the `rtensor` accessors), per op: `rtensor.plan` and `rtensor.cost` (the chosen plan),
`rtensor.weights` (`"hot"` or `"cold"`, for an op with weights), `rtensor.prologue`
(cycles to bring its inputs into the plan's layout), `rtensor.predicted` (the op's
cycles: prologue, compute, shifts, syncs and epilogue) and `rtensor.copied` (the
operands it reads from a copy an earlier op made); per function:
`rtensor.strategy`, `rtensor.objective` (the selection's estimate it minimized),
`rtensor.predicted_cycles` (the sum of the ops' predictions), `rtensor.peak_sram`, and
for `optimal` `rtensor.bound` and `rtensor.gap` (of the objective) and
`rtensor.status` (`optimal`, or `time-limit` when stopped, `time-limit, greedy` when
it had not found a fitting choice).

Weights are `{top.weight}` arguments and `arith.constant`s. Under `t10`, `no-rotation`
and `vgm`, activations wait between ops in the default layout (`default_share`): each op
pays a redistribution into its layout (its prologue) and out of it (its epilogue), as
T10 charges them. Under `greedy` and `optimal` (`_layout_problem`), each op's candidates
are its frontier and the plans aligned with where its producers' candidates leave their
results (`planning.align.aligned_plans`); a value waits in the layout its producer leaves
it, and each producer→consumer edge costs the move between the two candidates' layouts
(nothing where they agree, else the plan search's estimate of the round trip through the
default layout, which the lowering's cheaper route never exceeds). The chosen plans are
costed exactly as `t10-lower-to-shift` will write them (`_exact_layout`: each hand-off by
`cheaper_route`, partial sums combined where `combined_layout` says), and so is T10's own
choice: the faster of the two is kept. Then a value several ops read in one layout
is relaid into it once: a later reader takes the copy an earlier one made
(`rtensor.copied`), kept in SRAM in between wherever the ops between still fit
(`_kept_copies`, the copies saving most first). A flat view (a reshape) moves and
computes nothing. Memory is counted where the chip allocates it: every argument from entry (an
activation until its last user, a weight for the whole run, used or not), so that a
function that compiles never runs out of SRAM on the simulated chip.

Where no choice of plans fits, the frontiers may be what is too narrow (the search
prunes its space, and an op that fits alone may hold too much beside the others): the
ops over the capacity under the least-peak choice whose own plan puts them over
(`planning.select.peak_holders`) are searched again one rung looser
(`planning.select.looser`, from the pruning `t10-partition` used, the defaults when the
frontiers come from the IR; rotation stays off for `no-rotation` and `vgm`), their
frontiers merged with what that finds, and the selection runs again, until it fits or
no rung is left. Then the diagnostic names those ops, where they are and their bytes at
the least peak. A model that fits is never searched again: its plans do not change.

The selection weighs options with the plan search's estimates (even shares, rotations
one hop on links of their own): counting who sends what to whom over which links
(`relayout.plan_moves`) takes a tenth of a second for a large tensor, too long for
every candidate of every op. The chosen plans' predictions are then costed exactly so,
on the layouts the lowering will use: they are what the lowered program costs before
elimination, on any topology.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from math import ceil, isfinite, prod

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass

from t10ir.cost.plan_cost import (
    OpSpec,
    PlanCost,
    default_share,
    piece_elements,
    redistribution_cycles,
)
from t10ir.cost.relayout import (
    cheaper_route,
    combined_layout,
    placed_schedule,
    plan_moves,
    relayout_cycles,
)
from t10ir.dialects.rtensor import (
    OpSelection,
    PlanSelection,
    get_frontier,
    get_machine,
    remove_frontiers,
    set_cost,
    set_machine,
    set_op_selection,
    set_plan,
    set_selection,
)
from t10ir.dialects.top import IterationDomainInterface, is_weight
from t10ir.errors import DoesNotFitError, OpError, PassOptionError, op_location
from t10ir.lowering.hand_off import only_consumer, refills_padding, route
from t10ir.lowering.op_spec import element_bytes, op_spec
from t10ir.passes.compile_state import CompileState, OpFrontier
from t10ir.passes.t10_partition import load_target
from t10ir.planning.align import aligned_plans
from t10ir.planning.layout import Layout, default_layout
from t10ir.planning.plan import OpPlan, PlanError
from t10ir.planning.search import FrontierPoint, SearchOptions, search_plans
from t10ir.planning.select import (
    Edge,
    Holder,
    Option,
    Problem,
    Selection,
    SelectionError,
    Value,
    greedy,
    layout_greedy,
    least_peak,
    looser,
    optimal,
    peak_holders,
    prune,
    widened,
)
from t10ir.target import Machine

STRATEGIES = ("greedy", "optimal", "t10", "no-rotation", "vgm")
"""`greedy`, `optimal` and `t10` select among T10's compute-shift plans (`greedy` and
`optimal` with the hand-offs between ops in the objective, `t10` as T10 does). The two
baselines the
evaluation compares with search spatial-only plans (no input rotates: every core holds
whole copies of the pieces it needs): `no-rotation` is T10 without rotation (selected
greedily, weights may stay resident in a plan's layout), `vgm` the virtual-global-memory
baseline (every op fetches all its inputs, weights included, from the default layout)."""
SPATIAL_ONLY = ("no-rotation", "vgm")
LAYOUT_AWARE = ("greedy", "optimal")
"""Strategies whose objective has the hand-offs between ops (`_layout_problem`);
`t10` is T10's selection (each op's plan from its frontier, every activation handed
on through the default layout, T10's greedy memory reconciliation)."""


def _is_weight(value: SSAValue) -> bool:
    if isinstance(value, BlockArgument):
        return is_weight(value)
    return isinstance(value.owner, arith.ConstantOp)


def _storage(value: SSAValue) -> SSAValue:
    """The value whose buffer holds `value`: a flat view (a reshape) reuses its
    operand's pieces, so a view of a weight takes no memory of its own."""
    while (
        isinstance(value, OpResult)
        and isinstance(value.owner, IterationDomainInterface)
        and value.owner.flat_view()
    ):
        value = value.owner.operands[0]
    return value


def _bytes(value: SSAValue, machine: Machine) -> int:
    """Bytes per core of a value in the default layout."""
    assert isinstance(value.type, TensorType)
    return default_share(machine, value.type.get_shape()) * element_bytes(value.type)


@dataclass(frozen=True)
class _OpContext:
    op: IterationDomainInterface
    spec: OpSpec
    points: tuple[FrontierPoint, ...]
    own_weights: tuple[int, ...]  # inputs that are weights used by this op only


def _fetch_cycles(
    machine: Machine, spec: OpSpec, v: int, piece: int, cores: int
) -> int:
    """The plan search's estimate of bringing input `v` from the default layout into
    a plan's layout (even shares)."""
    size = prod(spec.operand_shapes[v])
    return int(
        redistribution_cycles(machine, size, piece, cores, spec.operand_bytes[v])
    )


def _options(machine: Machine, ctx: _OpContext, vgm: bool) -> tuple[Option, ...]:
    """The op's undominated options, with the plan search's estimates: each frontier
    point with its own weights cold (and, unless `vgm`, hot). A flat view has one:
    nothing."""
    if ctx.op.flat_view():
        return (Option(0, "none", 0, 0, 0),)
    options: list[Option] = []
    for index, point in enumerate(ctx.points):
        # Activations and shared weights are fetched whatever this op chooses.
        options += _weight_options(
            machine, ctx, index, point, point.cost.cycles, lambda v: True, not vgm
        )
    return prune(options)


def _weight_options(
    machine: Machine,
    ctx: _OpContext,
    index: int,
    point: FrontierPoint,
    always: int,
    fetched: Callable[[int], bool],
    hot: bool,
) -> list[Option]:
    """Candidate `index` (plan `point`) of the op with its own weights cold and, if
    `hot`, hot: `always` cycles plus the fetch of the inputs `fetched` says come from
    the default layout (its own weights when cold)."""
    spec, own = ctx.spec, ctx.own_weights
    pieces = piece_elements(spec, point.plan)
    fetch = [
        _fetch_cycles(machine, spec, v, piece, point.cost.cores)
        for v, piece in enumerate(pieces)
    ]
    always += sum(c for v, c in enumerate(fetch) if v not in own and fetched(v))
    cold_resident = sum(
        default_share(machine, spec.operand_shapes[v]) * spec.operand_bytes[v]
        for v in own
    )
    memory = point.cost.memory
    options = [
        Option(
            index,
            "cold" if own else "none",
            always + sum(fetch[v] for v in own),
            cold_resident,
            memory,
        )
    ]
    if own and hot:
        resident = sum(pieces[v] * spec.operand_bytes[v] for v in own)
        options.append(Option(index, "hot", always, resident, memory - resident))
    return options


def _exact(
    machine: Machine, ctx: _OpContext, point: FrontierPoint, hot: bool
) -> tuple[int, int]:
    """The op's cycles under `point`'s plan as the lowered program runs it, and their
    prologue (its inputs from the default layout into the plan's; own weights too
    unless `hot`, stored in the plan's layout): the plan's compute, and its relayouts
    and rotations (with their syncs) costed on the layouts the lowering uses."""
    try:
        moves = plan_moves(machine, ctx.spec, point.plan)
    except PlanError as error:
        raise OpError(ctx.op, f"cannot be scheduled: {error}") from error
    prologue = sum(
        cycles
        for v, cycles in enumerate(moves.prologue)
        if not (hot and v in ctx.own_weights)
    )
    cost = point.cost
    total = cost.compute + moves.shift + moves.sync + moves.epilogue + prologue
    return ceil(total), ceil(prologue)


# ---- layout-aware selection (`greedy`, `optimal`) --------------------------------------

ALIGNED_PER_LAYOUT = 2
"""Aligned plans kept per (op, input, producer layout): the cheapest ones."""


@dataclass(frozen=True)
class _Candidate:
    """One plan an op may run with, where it reads each input and where its result
    waits for its consumers (the default layout after a combining epilogue), and the
    producer layouts (per input) it was derived to read in place."""

    point: FrontierPoint
    inputs: tuple[Layout, ...]
    output: Layout
    partial: Layout | None
    """Where the partial results lie before they are combined (a split reduction)."""
    reads: frozenset[tuple[int, Layout]]

    @property
    def combines(self) -> bool:
        return self.partial is not None


def _view_candidate(machine: Machine, op: IterationDomainInterface) -> _Candidate:
    """A flat view reads its operand in the default layout and is its result there."""
    (operand,) = op.operands
    assert isinstance(operand.type, TensorType)
    result = op.results[0].type
    assert isinstance(result, TensorType)
    cost = PlanCost(1, 1, 0, 0, 0, 0, 0, 0)
    return _Candidate(
        FrontierPoint(OpPlan(), cost),
        (default_layout(machine.cores, operand.type.get_shape()),),
        default_layout(machine.cores, result.get_shape()),
        None,
        frozenset(),
    )


def _candidates(
    machine: Machine,
    ctx: _OpContext,
    producers: list[int | None],
    earlier: list[list[_Candidate]],
) -> list[_Candidate]:
    """The op's frontier plans and, for each input another op produces, the cheapest
    plans that read it where one of that op's candidates leaves it
    (`align.aligned_plans`: derived from index maps, checked to move nothing)."""
    reads: dict[OpPlan, set[tuple[int, Layout]]] = {}
    points: dict[OpPlan, FrontierPoint] = {p.plan: p for p in ctx.points}
    for k, producer in enumerate(producers):
        if producer is None:
            continue
        layouts = dict.fromkeys(c.output for c in earlier[producer])
        for layout in layouts:
            try:
                aligned = aligned_plans(machine, ctx.spec, k, layout)
            except PlanError:
                continue
            for point in aligned[:ALIGNED_PER_LAYOUT]:
                points.setdefault(point.plan, point)
                reads.setdefault(point.plan, set()).add((k, layout))
    candidates = []
    for plan, point in points.items():
        try:
            schedule = placed_schedule(machine, ctx.spec, plan)
        except PlanError:
            continue
        combines = schedule.combine is not None
        output = (
            default_layout(machine.cores, ctx.spec.result_shapes[0])
            if combines
            else schedule.output
        )
        candidates.append(
            _Candidate(
                point,
                schedule.inputs,
                output,
                schedule.output if combines else None,
                frozenset(reads.get(plan, ())),
            )
        )
    return candidates


@dataclass(frozen=True)
class _Memory:
    """What a function holds besides its ops' choices: the activations live at each
    op in the default layout (`live`; `live_arguments`: the arguments' share, the
    rest are values the layout-aware problem places), the weights no single op stores
    (`fixed`) and the activation arguments at entry."""

    live: list[int]
    live_arguments: list[int]
    fixed: int
    entry: int


@dataclass(frozen=True)
class _LayoutProblem:
    """The problem with transitions and, per op, its candidates and which candidate
    each option runs."""

    problem: Problem
    candidates: list[list[_Candidate]]


def _layout_options(
    machine: Machine,
    ctx: _OpContext,
    candidates: list[_Candidate],
    producers: list[int | None],
    returned: bool,
) -> tuple[Option, ...]:
    """Each candidate with its own weights cold and hot: its compute, shifts and
    syncs, a combining epilogue, the fetch of inputs no op produces (arguments,
    weights cold), and the move of a returned result to the default layout; the
    hand-offs between ops are the edges'."""
    options: list[Option] = []
    for index, c in enumerate(candidates):
        if ctx.op.flat_view():
            options.append(Option(index, "none", 0, 0, 0))
            continue
        cost = c.point.cost
        always = cost.compute + cost.shift + cost.sync
        if c.combines or returned:
            always += cost.epilogue
        options += _weight_options(
            machine,
            ctx,
            index,
            c.point,
            always,
            lambda v: producers[v] is None,
            True,
        )
    return tuple(options)


def _hand_offs(
    machine: Machine,
    producer: tuple[_OpContext, Sequence[_Candidate]],
    consumer: tuple[_OpContext, Sequence[_Candidate]],
    operand: int,
) -> np.ndarray:
    """Per pair of the producer's and the consumer's candidates, the estimate of
    moving a value from where the producer's leaves it to where the consumer's reads
    it: nothing where they agree, else the plan search's figures for the round trip
    through the default layout (the producer's epilogue unless it combined, the
    consumer's fetch), which the lowering's cheaper route never exceeds. Each side's
    part is worked out once per candidate, not once per pair."""
    (pctx, made), (cctx, reading) = producer, consumer
    sends = [
        0 if m.combines or pctx.op.flat_view() else m.point.cost.relayout for m in made
    ]
    fetches = [
        0
        if cctx.op.flat_view()
        else _fetch_cycles(
            machine,
            cctx.spec,
            operand,
            piece_elements(cctx.spec, read.point.plan)[operand],
            read.point.cost.cores,
        )
        for read in reading
    ]
    return np.array(
        [
            [
                0
                if m.output == read.inputs[operand] or (operand, m.output) in read.reads
                else send + fetch
                for read, fetch in zip(reading, fetches, strict=True)
            ]
            for m, send in zip(made, sends, strict=True)
        ],
        dtype=np.int64,
    ).reshape(len(made), len(reading))


def _layout_problem(
    machine: Machine,
    contexts: list[_OpContext],
    producers: list[list[int | None]],
    last_use: list[int | None],
    returned: list[bool],
    live: list[int],
    fixed: int,
    entry: int,
) -> _LayoutProblem:
    """Candidates, options, edges (one per op-produced input of an op) and values
    (each op's result, waiting in the layout its candidate leaves it until its last
    use) of the function's ops."""
    candidates: list[list[_Candidate]] = []
    options: list[tuple[Option, ...]] = []
    for j, ctx in enumerate(contexts):
        if ctx.op.flat_view():
            found = [_view_candidate(machine, ctx.op)]
        else:
            found = _candidates(machine, ctx, producers[j], candidates)
        candidates.append(found)
        options.append(_layout_options(machine, ctx, found, producers[j], returned[j]))
    edges: list[Edge] = []
    for j, ctx in enumerate(contexts):
        for k, p in enumerate(producers[j]):
            if p is None:
                continue
            matrix = _hand_offs(
                machine,
                (contexts[p], [candidates[p][a.index] for a in options[p]]),
                (ctx, [candidates[j][b.index] for b in options[j]]),
                k,
            )
            edges.append(Edge(p, j, matrix))
    values: list[Value] = []
    for p, ctx in enumerate(contexts):
        end = last_use[p]
        if end is None or end <= p:
            continue
        result_bytes = ctx.spec.result_bytes[0]
        values.append(
            Value(
                p,
                end,
                tuple(
                    candidates[p][a.index].output.piece_elements * result_bytes
                    for a in options[p]
                ),
            )
        )
    problem = Problem(
        tuple(options),
        tuple(live),
        fixed,
        machine.sram_bytes,
        entry,
        tuple(edges),
        tuple(values),
    )
    return _LayoutProblem(problem, candidates)


def _t10_choice(
    machine: Machine,
    contexts: list[_OpContext],
    problem: Problem,
    live: list[int],
    fixed: int,
    entry: int,
) -> list[int] | None:
    """T10's selection (`greedy` over the frontier options, activations in the
    default layout) as a choice among `problem`'s options, whose candidates start
    with each op's frontier; None where it does not fit."""
    options = [_options(machine, c, False) for c in contexts]
    t10 = Problem(tuple(options), tuple(live), fixed, machine.sram_bytes, entry)
    try:
        picked = greedy(t10).choice
    except SelectionError:
        return None
    choice = []
    for ops, mine, pick in zip(options, problem.options, picked, strict=True):
        wanted = ops[pick]
        choice.append(
            next(
                i
                for i, o in enumerate(mine)
                if (o.index, o.weights) == (wanted.index, wanted.weights)
            )
        )
    return choice


def _exact_layout(
    machine: Machine,
    ctx: _OpContext,
    chosen: _Candidate,
    hot: bool,
    brought: Sequence[float | None],
    epilogue: float,
    own: frozenset[int] = frozenset(),
) -> tuple[int, int]:
    """The op's cycles under its chosen candidate as the lowered program runs them,
    and their prologue: `brought[v]`, the cycles of bringing input `v` from where
    another op left it (`_Routes`), else (None) the fetch from the default layout
    (own weights not at all when `hot`); `epilogue`: moving or combining its result
    where it waits. An input in `own` reaches the op as a copy only it reads: if the
    op rotates it, it is not rotated back (`t10-eliminate-redundant-shifts` drops the
    closing rotation)."""
    prologue = 0.0
    moves = None
    if not ctx.op.flat_view():
        try:
            moves = plan_moves(machine, ctx.spec, chosen.point.plan)
        except PlanError as error:
            raise OpError(ctx.op, f"cannot be scheduled: {error}") from error
    unrestored = 0.0
    for v, cycles in enumerate(brought):
        if hot and v in ctx.own_weights:
            continue
        if cycles is not None:
            prologue += cycles
        elif moves is not None:
            prologue += moves.prologue[v]
        if moves is not None and v in own:
            unrestored += moves.closing[v]
    total = prologue + epilogue
    if moves is not None:
        total += chosen.point.cost.compute + moves.shift + moves.sync - unrestored
    return ceil(total), ceil(prologue)


def _own_copies(
    machine: Machine,
    chosen: _Candidate,
    sources: list[Layout | None],
    hot: bool,
    own_weights: tuple[int, ...],
) -> frozenset[int]:
    """The inputs the lowering relays into a buffer only this op reads: a layout other
    than the one the value has (its producer's, else the default one, or a hot
    weight's own) and other than the default layout, whose copy later readers share."""
    own = set()
    for v, layout in enumerate(chosen.inputs):
        default = default_layout(machine.cores, layout.shape)
        src = sources[v] if sources[v] is not None else default
        in_place = hot and v in own_weights
        if not in_place and layout != src and layout != default:
            own.add(v)
    return frozenset(own)


@dataclass
class _Routes:
    """The moves of values between ops as `t10-lower-to-shift`'s `_Moves` makes them,
    in program order: straight or through the default layout (`cheaper_route`), and a
    value's default copy, once made, read by every later consumer (and the return)."""

    machine: Machine
    defaults: set[int] = field(default_factory=set)

    def bring(
        self, producer: int, src: Layout, dst: Layout, elem: int, refill: bool
    ) -> float:
        """The cycles of bringing `producer`'s result from `src` into `dst`
        (`refill`: relaid in place if already there, `refills_padding`)."""
        way = route(self.machine, src, dst, elem, producer in self.defaults, refill)
        default = default_layout(self.machine.cores, src.shape)
        cycles = 0.0
        if way.make_default:
            self.defaults.add(producer)
            cycles += relayout_cycles(self.machine, src, default, elem)
        if way.last:
            start = default if way.from_default else src
            cycles += relayout_cycles(self.machine, start, dst, elem)
        return cycles


def _kept_copies(
    machine: Machine,
    contexts: list[_OpContext],
    chosen: list[_Candidate],
    sources: list[list[Layout | None]],
    memory: list[int],
    capacity: int,
) -> list[frozenset[int]]:
    """Per op, the inputs it reads from the copy an earlier op made of the same value
    in the same layout, kept in SRAM in between instead of being relaid again (a
    value may be relaid once per distinct layout). `sources`: where each op's inputs
    come from (None: not produced by an op); `memory`: each op's bytes per core
    under the choice, which a kept copy adds to at the ops between its readers, and
    never beyond `capacity`. The copies saving the most cycles are kept first; an
    input its op rotates is never shared (the rotation consumes the copy)."""
    readers: dict[tuple[SSAValue, Layout], list[tuple[int, int]]] = {}
    for j, ctx in enumerate(contexts):
        if ctx.op.flat_view():
            continue
        plan = chosen[j].point.plan
        rotated = {r.tensor for r in placed_schedule(machine, ctx.spec, plan).rotations}
        for v, src in enumerate(sources[j]):
            wanted = chosen[j].inputs[v]
            if src is None or src == wanted or v in rotated:
                continue
            readers.setdefault((ctx.op.operands[v], wanted), []).append((j, v))
    saved: list[tuple[float, int, int, list[tuple[int, int]]]] = []
    for group in readers.values():
        if len(group) < 2:
            continue
        j, v = group[0]
        src = sources[j][v]
        assert src is not None
        cycles = cheaper_route(
            machine, src, chosen[j].inputs[v], contexts[j].spec.operand_bytes[v]
        )[0]
        if cycles > 0:
            saved.append((-cycles * (len(group) - 1), j, v, group))
    copied: list[set[int]] = [set() for _ in contexts]
    held = list(memory)
    for _, _, _, group in sorted(saved, key=lambda s: s[:3]):
        members = {j for j, _ in group}
        j0, v0 = group[0]
        size = (
            chosen[j0].inputs[v0].piece_elements * contexts[j0].spec.operand_bytes[v0]
        )
        previous = j0
        for j, v in group[1:]:
            between = [t for t in range(previous + 1, j) if t not in members]
            if all(held[t] + size <= capacity for t in between):
                for t in between:
                    held[t] += size
                copied[j].add(v)
            previous = j
    return [frozenset(c) for c in copied]


class _Unfit(Exception):
    """No choice of the problem built from the ops' current frontiers fits: the
    problem, the solver's error and the least-peak choice."""

    def __init__(self, problem: Problem, error: SelectionError) -> None:
        super().__init__(str(error))
        self.problem = problem
        self.error = error
        self.least = least_peak(problem)[0]


def _widenable(holder: Holder, ops: list[IterationDomainInterface]) -> bool:
    """Whether a plan of the holder's own could bring it under the capacity: its own
    option is what puts it over, and it has plans (a flat view has none)."""
    return holder.own and not ops[holder.op].flat_view()


def _widen(
    machine: Machine,
    ops: list[IterationDomainInterface],
    holders: list[Holder],
    frontiers: dict[Operation, OpFrontier],
    searched: dict[Operation, SearchOptions],
) -> bool:
    """Search each op that holds the peak with its own option (`Holder.own`) again,
    one rung looser than it was (`looser`), further while that adds no plan to its
    frontier, and merge what it finds into the frontier. Whether any frontier grew:
    if none did, no looser search is left that could help."""
    grew = False
    for holder in holders:
        if not _widenable(holder, ops):
            continue
        op = ops[holder.op]
        spec = frontiers[op].spec
        while (rung := looser(searched[op])) is not None:
            searched[op] = rung
            points = widened(
                frontiers[op].points, search_plans(machine, spec, rung).points
            )
            if points != frontiers[op].points:
                frontiers[op] = OpFrontier(spec, points)
                grew = True
                break
    return grew


NAMED_HOLDERS = 3
"""How many of the ops over the capacity the diagnostic names."""


def _unfit_message(
    unfit: _Unfit,
    holders: list[Holder],
    ops: list[IterationDomainInterface],
    searched: dict[Operation, SearchOptions],
    start: SearchOptions,
) -> str:
    """The "no choice of plans fits" diagnostic, with the ops over the capacity under
    the least-peak choice (where, and their bytes per core) and how far their
    frontiers were searched (from `start`, the pruning the frontiers came with: where
    that was already the loosest, nothing was searched again, and it says so)."""
    problem = unfit.problem
    if not holders:
        entry = problem.resident(unfit.least) + problem.entry
        return (
            f"{unfit.error}; the peak is at entry, where the chip holds every "
            f"argument and the weights ({entry} bytes per core)"
        )
    named = []
    for holder in holders[:NAMED_HOLDERS]:
        op = ops[holder.op]
        where = op_location(op)
        at = f" at {where}" if where else f" (op {holder.op} of the function)"
        named.append(f"'{op.name}'{at} ({holder.load} bytes)")
    more = len(holders) - NAMED_HOLDERS
    if more > 0:
        named.append(f"and {more} more")
    own = [ops[h.op] for h in holders if _widenable(h, ops)]
    if own:
        widest = min(
            (searched[op] for op in own),
            key=lambda o: (o.min_core_fraction, -o.max_padding, -o.rotation_dims),
        )
        pruning = (
            f"min-core-fraction={widest.min_core_fraction:g} "
            f"max-padding={widest.max_padding:g} "
            f"rotation-dims={widest.rotation_dims}"
        )
        if widest == start:
            why = f"searched with {pruning}: no looser pruning is left"
        else:
            why = f"searched again with looser pruning, down to {pruning}"
    else:
        why = "besides their own plans, the weights and live values already exceed it"
    ops_word = "op exceeds" if len(holders) == 1 else "ops exceed"
    return (
        f"{unfit.error}; at that peak {len(holders)} {ops_word} it: "
        f"{', '.join(named)} ({why})"
    )


@dataclass(frozen=True)
class T10SelectPlansPass(ModulePass):
    """Whole-function plan selection (`strategy`: greedy, optimal, no-rotation or vgm;
    `time-limit`: seconds for the exact solver)."""

    name = "t10-select-plans"

    target: str = ""
    strategy: str = "greedy"
    time_limit: float | int = 60

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        machine = self._machine(op)
        self._select_all(op, self._recorded_frontiers(op, machine), record=True)
        remove_frontiers(op)

    def select(self, op: ModuleOp, state: CompileState) -> None:
        """Selects among the frontiers `t10-partition` handed on in memory."""
        self.check_options()
        assert state.spatial_only == (self.strategy in SPATIAL_ONLY)
        self._select_all(op, state, record=True)

    def check_fits(self, module: ModuleOp) -> None:
        """Select plans for every function of `module` without recording them: raises
        the pass's "no choice of plans fits" diagnostic where one does not fit. Skips
        costing the chosen plans exactly, most of the pass's time (97% on bert-base at
        batch 32 on ipu-mk2), for callers that only ask whether a model fits."""
        machine = self._machine(module)
        self._select_all(
            module, self._recorded_frontiers(module, machine), record=False
        )

    def check_options(self, pass_name: str | None = None) -> None:
        """A bad strategy or time limit is a diagnostic of `pass_name`'s (by default
        this pass's; `t10-compile` gives its own, whose options they are)."""
        if self.strategy not in STRATEGIES:
            raise PassOptionError(
                pass_name or self.name,
                f"unknown strategy '{self.strategy}' (expected {', '.join(STRATEGIES)})",
            )
        if not (isfinite(self.time_limit) and self.time_limit > 0):
            raise PassOptionError(
                pass_name or self.name,
                f"option 'time-limit' must be a finite number > 0, got {self.time_limit}",
            )

    def _machine(self, module: ModuleOp) -> Machine:
        """The module's machine, or `target`'s for a module that has none yet."""
        self.check_options()
        recorded = get_machine(module)
        if not self.target:
            if recorded is None:
                raise PassOptionError(
                    self.name, "no target: give target=... or run t10-partition first"
                )
            return recorded
        machine = load_target(self.name, self.target)
        if recorded is not None and recorded != machine:
            raise PassOptionError(
                self.name,
                f"the frontiers were searched for '{recorded.name}', not "
                f"'{machine.name}'",
            )
        return machine

    def _recorded_frontiers(self, module: ModuleOp, machine: Machine) -> CompileState:
        """The frontiers the module records. The strategies that rotate nothing use
        a recorded frontier as it is when it holds no rotating plan (as
        `t10-partition{rotation-dims=0}` writes), and search one without rotation
        where it does or where none is recorded (`t10-compile` searches once)."""
        spatial_only = self.strategy in SPATIAL_ONLY
        frontiers: dict[Operation, OpFrontier] = {}
        for op in module.walk():
            if not isinstance(op, IterationDomainInterface):
                continue
            spec = op_spec(op)
            points = get_frontier(module, op)
            if spatial_only and (
                points is None or any(p.plan.steps > 1 for p in points)
            ):
                options = SearchOptions(rotation_dims=0)
                points = search_plans(machine, spec, options).points
            elif points is None:
                raise OpError(op, "has no plan frontier: run t10-partition first")
            frontiers[op] = OpFrontier(spec, points)
        # The frontiers' pruning is not recorded: widening starts from the defaults.
        start = SearchOptions(rotation_dims=0) if spatial_only else SearchOptions()
        return CompileState(machine, frontiers, spatial_only, start)

    def _select_all(self, op: ModuleOp, state: CompileState, record: bool) -> None:
        if record and get_machine(op) is None:
            set_machine(op, state.machine)
        for function in op.walk():
            if isinstance(function, func.FuncOp):
                self._select(function, state, record)

    def _select(self, function: func.FuncOp, state: CompileState, record: bool) -> None:
        machine = state.machine
        ops = [o for o in function.walk() if isinstance(o, IterationDomainInterface)]
        users: dict[SSAValue, set[int]] = {}
        for i, o in enumerate(ops):
            for v in o.operands:
                users.setdefault(v, set()).add(i)
        arguments = function.body.block.args
        weights = {
            v
            for v in [*arguments, *users]
            if _is_weight(v) and isinstance(v.type, TensorType)
        }
        # A weight is stored for the whole run: in the layout its op chooses when one
        # op computes on it, else (shared, read through a view, or unused) cold, once.
        shared = {
            v
            for v in weights
            if len(users.get(v, ())) != 1 or ops[min(users[v])].flat_view()
        }
        fixed = sum(_bytes(v, machine) for v in shared)
        # Activations wait in the default layout from their producer to their last
        # user (to the end when returned); the chip allocates every argument at entry,
        # before op 0, which frees the unused ones.
        returned = {
            v
            for o in function.walk()
            if isinstance(o, func.ReturnOp)
            for v in o.operands
        }
        live = [0] * len(ops)
        live_arguments = [0] * len(ops)  # the part no choice of plans decides
        born = [(a, -1) for a in arguments]
        for value, start in born + [(o.results[0], i) for i, o in enumerate(ops)]:
            if not isinstance(value.type, TensorType) or _storage(value) in weights:
                continue
            end = len(ops) - 1 if value in returned else max(users.get(value, {start}))
            for j in range(start + 1, end + 1):
                live[j] += _bytes(value, machine)
                if start < 0:
                    live_arguments[j] += _bytes(value, machine)
        entry = sum(
            _bytes(a, machine)
            for a in arguments
            if isinstance(a.type, TensorType) and a not in weights
        )
        if not ops:  # nothing to choose, but the chip still allocates every argument
            if fixed + entry > machine.sram_bytes:
                raise DoesNotFitError(
                    function, str(SelectionError(fixed + entry, machine.sram_bytes))
                )
            return
        memory = _Memory(live, live_arguments, fixed, entry)
        frontiers: dict[Operation, OpFrontier] = {o: state.frontiers[o] for o in ops}
        searched: dict[Operation, SearchOptions] = dict.fromkeys(ops, state.options)
        while True:
            contexts = [
                _OpContext(
                    o,
                    frontiers[o].spec,
                    frontiers[o].points,
                    tuple(
                        v
                        for v, x in enumerate(o.operands)
                        if _is_weight(x) and x not in shared
                    ),
                )
                for o in ops
            ]
            try:
                if self.strategy in LAYOUT_AWARE:
                    self._select_layouts(
                        machine,
                        function,
                        ops,
                        contexts,
                        (users, returned),
                        memory,
                        record,
                    )
                else:
                    self._select_default(function, machine, contexts, memory, record)
                return
            except _Unfit as unfit:
                holders = peak_holders(unfit.problem, unfit.least)
                if not _widen(machine, ops, holders, frontiers, searched):
                    message = _unfit_message(
                        unfit, holders, ops, searched, state.options
                    )
                    raise DoesNotFitError(function, message) from None

    def _select_default(
        self,
        function: func.FuncOp,
        machine: Machine,
        contexts: list[_OpContext],
        memory: _Memory,
        record: bool,
    ) -> None:
        """`t10`, `no-rotation` and `vgm`: T10's greedy over the frontier options,
        activations waiting in the default layout; raises `_Unfit` where no choice
        fits."""
        pruned = [_options(machine, c, self.strategy == "vgm") for c in contexts]
        problem = Problem(
            tuple(pruned),
            tuple(memory.live),
            memory.fixed,
            machine.sram_bytes,
            memory.entry,
        )
        try:
            selection = greedy(problem)
        except SelectionError as error:
            raise _Unfit(problem, error) from None
        if record:
            self._record(function, machine, contexts, problem, selection)

    def _select_layouts(
        self,
        machine: Machine,
        function: func.FuncOp,
        ops: list[IterationDomainInterface],
        contexts: list[_OpContext],
        uses: tuple[dict[SSAValue, set[int]], set[SSAValue]],
        memory: _Memory,
        record: bool,
    ) -> None:
        """`greedy` and `optimal`: options that line up with their neighbours and the
        hand-offs between them in the objective (`_layout_problem`). `uses`: each
        value's users and the returned values."""
        users, returned = uses
        index: dict[Operation, int] = {o: i for i, o in enumerate(ops)}
        producers = [
            [
                index.get(v.owner) if isinstance(v, OpResult) else None
                for v in o.operands
            ]
            for o in ops
        ]
        last_use: list[int | None] = []
        for o in ops:
            result = o.results[0]
            if result in returned:
                last_use.append(len(ops) - 1)
            else:
                last_use.append(max(users[result]) if result in users else None)
        fixed, entry = memory.fixed, memory.entry
        built = _layout_problem(
            machine,
            contexts,
            producers,
            last_use,
            [o.results[0] in returned for o in ops],
            memory.live_arguments,
            fixed,
            entry,
        )
        problem = built.problem
        t10 = _t10_choice(machine, contexts, problem, memory.live, fixed, entry)
        try:
            if self.strategy == "optimal":
                selection = optimal(problem, float(self.time_limit))
            else:
                selection = layout_greedy(problem)
        except SelectionError as error:
            # Values waiting in their producers' layouts are counted in full, also
            # where a consumer reads them in place: where that refuses what T10's
            # count accepts, T10's choice is taken (so nothing fits less than it).
            if t10 is None:
                raise _Unfit(problem, error) from None
            selection = Selection(
                tuple(t10), problem.cycles(t10), problem.peak(t10), 0, 0.0, "t10"
            )
        if not record:
            return

        only = [only_consumer(o) for o in ops]

        def placed(
            choice: Sequence[int],
        ) -> tuple[list[_Candidate], list[Layout], list[float]]:
            """Each op's candidate under `choice`, where its result waits as the
            lowering leaves it (partial results combined where `combined_layout`
            says), and the cycles of its epilogue (combining, or moving a returned
            result to the default layout)."""
            chosen = [
                built.candidates[j][problem.options[j][pick].index]
                for j, pick in enumerate(choice)
            ]
            outputs: list[Layout] = []
            epilogues: list[float] = []
            for j, c in enumerate(chosen):
                elem = contexts[j].spec.result_bytes[0]
                if c.partial is not None:
                    use = only[j]
                    wanted = (
                        chosen[index[use.operation]].inputs[use.index]
                        if use is not None
                        else None
                    )
                    target = combined_layout(machine, c.partial, wanted, elem)
                    outputs.append(target)
                    epilogues.append(
                        relayout_cycles(machine, c.partial, target, elem, True)
                    )
                    continue
                outputs.append(c.output)
                default = default_layout(machine.cores, c.output.shape)
                back = ops[j].results[0] in returned and c.output != default
                epilogues.append(
                    relayout_cycles(machine, c.output, default, elem) if back else 0.0
                )
            return chosen, outputs, epilogues

        def exact(
            choice: Sequence[int],
            at: tuple[list[_Candidate], list[Layout], list[float]],
            copied: Sequence[frozenset[int]],
        ) -> list[tuple[int, int]]:
            """Each op's cycles and prologue under `choice` (placed `at`), as the
            lowering runs it (`copied`: the operands each op reads from a kept
            copy, which move nothing)."""
            chosen, outputs, epilogues = at
            routes = _Routes(machine)
            brought: list[list[float | None]] = []
            for j, ctx in enumerate(contexts):
                brought.append(
                    [
                        None
                        if p is None
                        else 0.0
                        if v in copied[j]
                        else routes.bring(
                            p,
                            outputs[p],
                            chosen[j].inputs[v],
                            ctx.spec.operand_bytes[v],
                            refills_padding(
                                not ctx.op.flat_view()
                                and ctx.spec.domain.reads_padding(v),
                                chosen[j].inputs[v],
                                not chosen[p].combines,
                            ),
                        )
                        for v, p in enumerate(producers[j])
                    ]
                )
            return [
                _exact_layout(
                    machine,
                    c,
                    chosen[j],
                    problem.options[j][pick].weights == "hot",
                    brought[j],
                    # a returned result leaves by the default copy a consumer made
                    0.0
                    if j in routes.defaults
                    and ops[j].results[0] in returned
                    and chosen[j].partial is None
                    else epilogues[j],
                    _own_copies(
                        machine,
                        chosen[j],
                        [None if p is None else outputs[p] for p in producers[j]],
                        problem.options[j][pick].weights == "hot",
                        c.own_weights,
                    ),
                )
                for j, (c, pick) in enumerate(zip(contexts, choice, strict=True))
            ]

        def final(
            choice: Sequence[int],
        ) -> tuple[list[tuple[int, int]], list[frozenset[int]]]:
            """`choice` costed exactly, with the copies kept for later readers."""
            at = placed(choice)
            chosen, outputs, _ = at
            copied = _kept_copies(
                machine,
                contexts,
                chosen,
                [[None if p is None else outputs[p] for p in ps] for ps in producers],
                problem.loads(choice),
                machine.sram_bytes,
            )
            return exact(choice, at, copied), copied

        costs, copied = final(selection.choice)
        # The objective estimates the hand-offs; costed exactly, T10's own choice
        # (and, for optimal, greedy's) may run faster: then it is taken, so that
        # optimal <= greedy <= t10 on the chip.
        others: list[tuple[str, Sequence[int] | None]] = [("t10's", t10)]
        if self.strategy == "optimal":
            try:
                others.append(("greedy's", layout_greedy(problem).choice))
            except SelectionError:
                pass
        for name, other in others:
            if other is None or list(other) == list(selection.choice):
                continue
            other_costs, other_copied = final(other)
            if sum(c for c, _ in other_costs) < sum(c for c, _ in costs):
                objective = problem.cycles(other)
                selection = replace(
                    selection,
                    choice=tuple(other),
                    cycles=objective,
                    peak=problem.peak(other),
                    gap=(objective - selection.bound) / objective if objective else 0.0,
                    status=f"{selection.status}, {name} choice runs faster",
                )
                costs, copied = other_costs, other_copied
        for j, ((cycles, prologue), c) in enumerate(zip(costs, contexts, strict=True)):
            option = problem.options[j][selection.choice[j]]
            if c.op.flat_view():
                set_op_selection(c.op, OpSelection(None, prologue, cycles))
                continue
            candidate = built.candidates[j][option.index]
            set_plan(c.op, candidate.point.plan)
            set_cost(c.op, candidate.point.cost)
            weights_at = option.weights if option.weights != "none" else None
            set_op_selection(
                c.op,
                OpSelection(weights_at, prologue, cycles, tuple(sorted(copied[j]))),
            )
        self._record_selection(function, selection, sum(c for c, _ in costs))

    def _record(
        self,
        function: func.FuncOp,
        machine: Machine,
        contexts: list[_OpContext],
        problem: Problem,
        selection: Selection,
    ) -> None:
        predicted = 0
        for c, options, pick in zip(
            contexts, problem.options, selection.choice, strict=True
        ):
            if c.op.flat_view():
                set_op_selection(c.op, OpSelection(None, None, 0))
                continue
            option = options[pick]
            point = c.points[option.index]
            set_plan(c.op, point.plan)
            set_cost(c.op, point.cost)
            cycles, prologue = _exact(machine, c, point, option.weights == "hot")
            weights = option.weights if option.weights != "none" else None
            set_op_selection(c.op, OpSelection(weights, prologue, cycles))
            predicted += cycles
        self._record_selection(function, selection, predicted)

    def _record_selection(
        self, function: func.FuncOp, selection: Selection, predicted: int
    ) -> None:
        optimal = self.strategy == "optimal"
        set_selection(
            function,
            PlanSelection(
                self.strategy,
                selection.cycles,
                predicted,
                selection.peak,
                selection.bound if optimal else None,
                selection.gap if optimal else None,
                selection.status if optimal else None,
            ),
        )
