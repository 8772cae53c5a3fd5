"""`t10-select-plans`: one plan per op for the whole function, fitting SRAM at every op.

Reads the frontiers `t10-partition` attached (within `t10-compile`, the `CompileState`
it returned; run alone, the module's `rtensor.frontiers`, which it removes: only the
decisions stay in the IR), builds the selection problem of `t10ir.planning.select` and
solves it with the chosen strategy. Records (through the `rtensor` accessors), per op: `rtensor.plan` and `rtensor.cost` (the chosen plan),
`rtensor.weights` (`"hot"` or `"cold"`, for an op with weights), `rtensor.prologue`
(cycles to bring its inputs into the plan's layout) and `rtensor.predicted` (the op's
cycles: prologue, compute, shifts, syncs and epilogue); per function:
`rtensor.strategy`, `rtensor.objective` (the selection's estimate it minimized),
`rtensor.predicted_cycles` (the sum of the ops' predictions), `rtensor.peak_sram`, and
for `optimal` `rtensor.bound` and `rtensor.gap` (of the objective) and
`rtensor.status` (`optimal`, or `time-limit` when stopped, `time-limit, greedy` when
it had not found a fitting choice).

Weights are `{top.weight}` arguments and `arith.constant`s. Activations wait between
ops in the default layout (`default_share`): each op pays a redistribution into its
layout (its prologue) and out of it (its epilogue); `t10-eliminate-redundant-shifts`
later removes the pairs that change nothing. A flat view (a reshape) moves and computes
nothing. Memory is counted where the chip allocates it: every argument from entry (an
activation until its last user, a weight for the whole run, used or not), so that a
function that compiles never runs out of SRAM on the simulated chip.

The selection weighs options with the plan search's estimates (even shares, rotations
one hop on links of their own): counting who sends what to whom over which links
(`relayout.plan_moves`) takes a tenth of a second for a large tensor, too long for
every candidate of every op. The chosen plans' predictions are then costed exactly so,
on the layouts the lowering will use: they are what the lowered program costs before
elimination, on any topology.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, isfinite, prod

from xdsl.context import Context
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import ModuleOp, TensorType
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue
from xdsl.passes import ModulePass

from t10ir.cost.plan_cost import (
    OpSpec,
    default_share,
    piece_elements,
    redistribution_cycles,
)
from t10ir.cost.relayout import plan_moves
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
from t10ir.errors import DoesNotFitError, OpError, PassOptionError
from t10ir.lowering.op_spec import element_bytes, op_spec
from t10ir.passes.compile_state import CompileState, OpFrontier
from t10ir.passes.t10_partition import load_target
from t10ir.planning.plan import PlanError
from t10ir.planning.search import FrontierPoint, SearchOptions, search_plans
from t10ir.planning.select import (
    Option,
    Problem,
    Selection,
    SelectionError,
    greedy,
    optimal,
    prune,
)
from t10ir.target import Machine

STRATEGIES = ("greedy", "optimal", "no-rotation", "vgm")
"""`greedy` and `optimal` select among T10's compute-shift plans. The two baselines the
evaluation compares with search spatial-only plans (no input rotates: every core holds
whole copies of the pieces it needs): `no-rotation` is T10 without rotation (selected
greedily, weights may stay resident in a plan's layout), `vgm` the virtual-global-memory
baseline (every op fetches all its inputs, weights included, from the default layout)."""
SPATIAL_ONLY = ("no-rotation", "vgm")


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
    spec = ctx.spec
    own = ctx.own_weights
    cold_resident = sum(
        default_share(machine, spec.operand_shapes[v]) * spec.operand_bytes[v]
        for v in own
    )
    options: list[Option] = []
    for index, point in enumerate(ctx.points):
        pieces = piece_elements(spec, point.plan)
        fetch = [
            _fetch_cycles(machine, spec, v, piece, point.cost.cores)
            for v, piece in enumerate(pieces)
        ]
        # Activations and shared weights are fetched whatever this op chooses.
        always = point.cost.cycles + sum(
            cycles for v, cycles in enumerate(fetch) if v not in own
        )
        options.append(
            Option(
                index,
                "cold" if own else "none",
                always + sum(fetch[v] for v in own),
                cold_resident,
                point.cost.memory,
            )
        )
        if own and not vgm:
            hot_resident = sum(pieces[v] * spec.operand_bytes[v] for v in own)
            options.append(
                Option(
                    index,
                    "hot",
                    always,
                    hot_resident,
                    point.cost.memory - hot_resident,
                )
            )
    return prune(options)


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

    def check_options(self) -> None:
        if self.strategy not in STRATEGIES:
            raise PassOptionError(
                self.name,
                f"unknown strategy '{self.strategy}' (expected {', '.join(STRATEGIES)})",
            )
        if not (isfinite(self.time_limit) and self.time_limit > 0):
            raise PassOptionError(
                self.name,
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
        return CompileState(machine, frontiers, spatial_only)

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
        born = [(a, -1) for a in arguments]
        for value, start in born + [(o.results[0], i) for i, o in enumerate(ops)]:
            if not isinstance(value.type, TensorType) or _storage(value) in weights:
                continue
            end = len(ops) - 1 if value in returned else max(users.get(value, {start}))
            for j in range(start + 1, end + 1):
                live[j] += _bytes(value, machine)
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
        contexts = [
            _OpContext(
                o,
                state.frontiers[o].spec,
                state.frontiers[o].points,
                tuple(
                    v
                    for v, x in enumerate(o.operands)
                    if _is_weight(x) and x not in shared
                ),
            )
            for o in ops
        ]
        pruned = [_options(machine, c, self.strategy == "vgm") for c in contexts]
        problem = Problem(tuple(pruned), tuple(live), fixed, machine.sram_bytes, entry)
        try:
            if self.strategy == "optimal":
                selection = optimal(problem, float(self.time_limit))
            else:
                selection = greedy(problem)
        except SelectionError as error:
            raise DoesNotFitError(function, str(error)) from None
        if record:
            self._record(function, machine, contexts, problem, selection)

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
