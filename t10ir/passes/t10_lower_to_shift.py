"""`t10-lower-to-shift`: every planned `top` op becomes its compute-shift schedule.

Reads the plans `t10-select-plans` chose (`rtensor.plan`, and `rtensor.weights = "hot"`
for ops whose weights stay in their working layout) and writes, per op, what
`t10ir.planning.schedule` derives from the op's iteration domain and plan (see `t10ir.dialects.
shift`): the prologue relayouts, the accumulator, the `scf.for` step loops with the
sub-operator and the ring rotations (of the accumulator too, for an output cut in
time: it is not rotated back after the outermost loop), the rotations that restore the
rotated inputs, and, where a reduction dim is split over cores beyond the output's
rings, the epilogue relayout combining the partial results into the default layout. Otherwise an op's result stays where its
schedule leaves it, and each consumer's prologue moves it from there straight into the
consumer's layout (nothing moves where the two agree), or, for an operand the selection
marked `rtensor.copied`, is the copy an earlier consumer made in that layout. A reshape (`flat_view`) is a
`shift.view` of its operand in the default layout.

Function arguments become distributed tensors: activations and cold weights in the
default layout, hot weights in their op's starting layout; results are returned in the
default layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    AffineMapAttr,
    FileLineColLoc,
    IndexType,
    IntegerAttr,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.ir.affine import AffineMap
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.utils.exceptions import VerifyException

from t10ir.cost.relayout import combined_layout
from t10ir.dialects.core import LayoutAttr, RingAttr
from t10ir.dialects.rtensor import (
    OpRecord,
    copy_op_index,
    get_cost,
    get_op_selection,
    get_plan,
    set_op_index,
    set_records,
)
from t10ir.dialects.shift import (
    ComputeOp,
    DTensorType,
    FillOp,
    RelayoutOp,
    RotateOp,
    ViewOp,
    YieldOp,
)
from t10ir.dialects.top import IterationDomainInterface, check_tensor, is_weight
from t10ir.errors import OpError
from t10ir.lowering.hand_off import (
    only_consumer,
    refills_padding,
    route,
    written_by_kernels,
)
from t10ir.lowering.op_spec import element_bytes
from t10ir.lowering.sub_operators import sub_operator
from t10ir.passes.compile_state import module_machine
from t10ir.planning.domain import COMBINER_IDENTITY
from t10ir.planning.layout import Layout, const, default_layout, floordiv, sym
from t10ir.planning.plan import PlanError
from t10ir.planning.schedule import OpSchedule, Rotation, op_schedule
from t10ir.target import Machine
from t10ir.target.placement import grid_cores


def _shape(value: SSAValue) -> tuple[int, ...]:
    assert isinstance(value.type, TensorType)
    return tuple(value.type.get_shape())


def _dtensor(type: TensorType, layout: Layout) -> DTensorType:
    return DTensorType(type, LayoutAttr.of(layout))


def _only_symbol(amap: AffineMap, keep: int, value: int | None) -> AffineMap:
    """`amap` with step symbol `keep` as its only symbol (or replaced by `value`) and
    the other symbols (which it does not use) gone."""
    symbols = [const(0)] * amap.num_symbols
    symbols[keep] = sym(0) if value is None else const(value)
    return amap.replace_dims_and_symbols(
        list(AffineMap.identity(amap.num_dims).results),
        symbols,
        amap.num_dims,
        0 if value is not None else 1,
    )


@dataclass
class _Lowering:
    """Inserts an op's schedule before `at`."""

    schedule: OpSchedule
    body: Region
    rewriter: Rewriter
    at: Operation

    def insert(self, op: Operation) -> Operation:
        self.rewriter.insert_op(op, InsertPoint.before(self.at))
        return op

    def rotate(
        self, value: SSAValue, rotation: Rotation, step: SSAValue | None
    ) -> SSAValue:
        """The rotation after step `step` of its loop, but not after the last; with no
        step, the one after the loop's last step, which closes the circle."""
        level = self.schedule.step_dims.index(rotation.dim)
        count = self.schedule.steps[level]
        if step is None:
            when = _only_symbol(rotation.when, level, count - 1)
            steps: list[SSAValue] = []
        else:
            when = _only_symbol(rotation.when, level, None)
            when = AffineMap(
                when.num_dims,
                1,
                (*when.results, floordiv(sym(0), count - 1)),
            )
            steps = [step]
        return self.insert(
            RotateOp(value, RingAttr.of(rotation.ring), 1, AffineMapAttr(when), steps)
        ).results[0]


def _schedule(op: Operation, machine: Machine) -> OpSchedule:
    """The op's schedule under the plan `t10-select-plans` chose."""
    assert isinstance(op, IterationDomainInterface)
    plan = get_plan(op)
    if plan is None:
        raise OpError(op, "has no plan: run t10-select-plans first")
    domain = op.iteration_domain()
    try:
        return op_schedule(
            domain,
            plan,
            [_shape(v) for v in op.operands],
            _shape(op.results[0]),
            grid_cores(machine, plan, domain),
        )
    except PlanError as e:
        raise OpError(op, f"cannot be scheduled: {e}") from e


@dataclass
class _Moves:
    """Brings values into the layouts their consumers read them in, by the cheaper of
    two routes (`relayout_cycles`): straight from where the producer left the value,
    or through the default layout, whose even spread shares the sending when few
    cores hold what many need. A value's default copy is made once and kept for its
    later consumers; so is a copy in another layout where the selection kept it for
    a later consumer reading the value in that layout (`OpSelection.copied`)."""

    machine: Machine
    defaults: dict[SSAValue, SSAValue] = field(default_factory=dict)
    copies: dict[tuple[SSAValue, LayoutAttr], SSAValue] = field(default_factory=dict)

    def kept(self, value: SSAValue, layout: Layout) -> SSAValue | None:
        """The copy of `value` in `layout` an earlier consumer made, if any."""
        return self.copies.get((value, LayoutAttr.of(layout)))

    def bring(
        self,
        value: SSAValue,
        layout: Layout,
        insert: Callable[[Operation], Operation],
        keep: bool = True,
        refill: bool = False,
    ) -> SSAValue:
        """`value` in `layout`; `keep`: the copy made may be read by a later
        consumer (not when this one rotates it, which consumes it); `refill`: the
        consumer reads padding the value does not hold (`refills_padding`)."""
        src = value.type
        assert isinstance(src, DTensorType)
        way = route(
            self.machine,
            src.layout.layout,
            layout,
            element_bytes(src.tensor),
            value in self.defaults,
            refill,
        )
        if way.make_default:
            default = default_layout(self.machine.cores, src.tensor.get_shape())
            relaid = insert(RelayoutOp(value, LayoutAttr.of(default))).results[0]
            self.defaults[value] = relaid
        start = self.defaults[value] if way.from_default else value
        if not way.last:
            return start
        wanted = LayoutAttr.of(layout)
        moved = insert(RelayoutOp(start, wanted)).results[0]
        if keep:
            self.copies[value, wanted] = moved
        return moved


def lower_op(
    op: Operation,
    schedule: OpSchedule,
    body: Region,
    machine: Machine,
    inputs: Sequence[SSAValue],
    rewriter: Rewriter,
    moves: _Moves,
    consumer: Layout | None = None,
) -> SSAValue:
    """Writes `op`'s schedule, computing `body` (`sub_operator_body`) every step,
    before it; returns its result where the schedule leaves it, or, when a reduction
    dim is split over cores, combined into the default layout (partial results would
    wait in SRAM several times over)."""
    result_type = op.results[0].type
    assert isinstance(result_type, TensorType)
    lowering = _Lowering(schedule, body, rewriter, op)
    selected = get_op_selection(op)
    copied = selected.copied if selected is not None else ()
    rotated = {r.tensor for r in schedule.rotations}
    values: list[SSAValue] = []
    for v, (value, layout) in enumerate(zip(inputs, schedule.inputs, strict=True)):
        if v not in copied:
            refill = refills_padding(
                schedule.padded_reads[v], layout, written_by_kernels(value)
            )
            values.append(
                moves.bring(value, layout, lowering.insert, v not in rotated, refill)
            )
            continue
        kept = moves.kept(value, layout)
        if kept is None:
            raise OpError(
                op,
                f"reads operand #{v} from a kept copy (rtensor.copied), but no "
                "earlier op made one in its layout",
            )
        values.append(kept)
    acc_type = _dtensor(result_type, schedule.output)
    acc: SSAValue = lowering.insert(
        FillOp(COMBINER_IDENTITY.get(schedule.accumulate or "", 0.0), acc_type)
    ).results[0]
    values, acc = _loops(lowering, values, acc, 0, [])
    for rotation in schedule.rotations:
        if schedule.step_dims.index(rotation.dim) == 0:
            values[rotation.tensor] = lowering.rotate(
                values[rotation.tensor], rotation, None
            )
    if schedule.combine is None:
        return acc
    target = combined_layout(
        machine, schedule.output, consumer, element_bytes(result_type)
    )
    return lowering.insert(
        RelayoutOp(acc, LayoutAttr.of(target), schedule.combine)
    ).results[0]


def _loops(
    lowering: _Lowering,
    values: list[SSAValue],
    acc: SSAValue,
    level: int,
    steps: list[SSAValue],
) -> tuple[list[SSAValue], SSAValue]:
    schedule = lowering.schedule
    if level == len(schedule.step_dims):
        compute = lowering.insert(_compute(schedule, lowering.body, values, acc, steps))
        return values, compute.results[0]
    count = schedule.steps[level]
    bounds = [
        lowering.insert(arith.ConstantOp(IntegerAttr(v, IndexType()))).results[0]
        for v in (0, count, 1)
    ]
    carried = [*values, acc]
    body = Block(arg_types=[IndexType(), *(v.type for v in carried)])
    loop = scf.ForOp(bounds[0], bounds[1], bounds[2], carried, Region(body))
    lowering.insert(loop)
    yield_op = scf.YieldOp(*body.args[1:])
    body.add_op(yield_op)
    inner = _Lowering(schedule, lowering.body, lowering.rewriter, yield_op)
    step = body.args[0]
    inner_values, inner_acc = _loops(
        inner, list(body.args[1:-1]), body.args[-1], level + 1, [*steps, step]
    )
    for rotation in schedule.rotations:
        rotation_level = schedule.step_dims.index(rotation.dim)
        if rotation_level == level + 1:
            inner_values[rotation.tensor] = inner.rotate(
                inner_values[rotation.tensor], rotation, None
            )
    for rotation in schedule.output_rotations:
        if schedule.step_dims.index(rotation.dim) == level + 1:
            inner_acc = inner.rotate(inner_acc, rotation, None)
    for rotation in schedule.rotations:
        if schedule.step_dims.index(rotation.dim) == level:
            inner_values[rotation.tensor] = inner.rotate(
                inner_values[rotation.tensor], rotation, step
            )
    for rotation in schedule.output_rotations:
        if schedule.step_dims.index(rotation.dim) == level:
            inner_acc = inner.rotate(inner_acc, rotation, step)
    yield_op.operands = [*inner_values, inner_acc]
    return list(loop.results[:-1]), loop.results[-1]


def sub_operator_body(op: Operation, schedule: OpSchedule) -> Region:
    """The op on one step's windows, ending in `shift.yield`: built while the op's
    operands are still whole tensors, which some sub-operators read (a `top.expr`'s
    bounds guards)."""
    element = op.results[0].type
    assert isinstance(element, TensorType)
    arg_types = []
    for value, shape in zip(op.operands, schedule.input_window_shapes, strict=True):
        assert isinstance(value.type, TensorType)
        arg_types.append(TensorType(value.type.get_element_type(), shape))
    body = Block(arg_types=arg_types)
    result_type = TensorType(element.get_element_type(), schedule.output_window_shape)
    assert isinstance(op, IterationDomainInterface)
    try:
        subs = sub_operator(op, body.args, result_type, schedule.pieces)
        body.add_ops(subs)
        for sub in subs:
            sub.verify()
    except VerifyException as e:
        raise OpError(
            op, f"its sub-operator on {result_type} does not verify: {e}"
        ) from e
    if subs[-1].results[0].type != result_type:
        raise OpError(
            op,
            f"its sub-operator gives {subs[-1].results[0].type}, not the window "
            f"{result_type}",
        )
    body.add_op(YieldOp(subs[-1].results[0]))
    return Region(body)


def _compute(
    schedule: OpSchedule,
    body: Region,
    values: list[SSAValue],
    acc: SSAValue,
    steps: list[SSAValue],
) -> ComputeOp:
    return ComputeOp(
        values,
        acc,
        steps,
        [AffineMapAttr(w) for w in schedule.input_windows],
        AffineMapAttr(schedule.output_window),
        schedule.accumulate,
        body.clone(),
    )


@dataclass(frozen=True)
class T10LowerToShiftPass(ModulePass):
    """Each planned op becomes its compute-shift schedule in dialect `shift`."""

    name = "t10-lower-to-shift"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        machine = module_machine(op)
        for function in list(op.walk()):
            if isinstance(function, func.FuncOp) and not function.is_declaration:
                _lower_function(function, machine)


def _record(op: Operation) -> OpRecord:
    """What reports say about a lowered op (`rtensor.OpRecord`): the selection's
    figure as `planned`; `t10-lower-to-core` predicts it from the program written."""
    loc = op.location
    where = (
        f"{loc.filename.data}:{loc.line.data}:{loc.column.data}"
        if isinstance(loc, FileLineColLoc)
        else None
    )
    selected = get_op_selection(op)
    cost = get_cost(op)
    return OpRecord(
        op.name,
        where,
        get_plan(op),
        None,
        selected.predicted if selected is not None else None,
        cost.compute if selected is not None and cost is not None else None,
    )


def _view(
    op: Operation, machine: Machine, rewriter: Rewriter, moves: _Moves
) -> SSAValue:
    """A reshape: its operand in the default layout, whose pieces are the result's."""
    (value,) = op.operands
    assert isinstance(value.type, DTensorType)
    result_type = op.results[0].type
    assert isinstance(result_type, TensorType)

    def insert(new: Operation) -> Operation:
        rewriter.insert_op(new, InsertPoint.before(op))
        return new

    value = moves.bring(
        value,
        default_layout(machine.cores, value.type.tensor.get_shape()),
        insert,
    )
    layout = default_layout(machine.cores, result_type.get_shape())
    view = ViewOp(value, _dtensor(result_type, layout))
    rewriter.insert_op(view, InsertPoint.before(op))
    return view.output


def _return_in_default_layouts(
    op: func.ReturnOp, machine: Machine, rewriter: Rewriter, moves: _Moves
) -> None:
    """Results leave in the default layout, as arguments arrive: a value is relaid
    before the return only if its producer left it elsewhere (the producer's
    epilogue, attributed to it)."""
    returned: list[SSAValue] = []
    for value in op.arguments:
        assert isinstance(value.type, DTensorType)

        def insert(new: Operation, value: SSAValue = value) -> Operation:
            if isinstance(value.owner, Operation):
                copy_op_index(new, value.owner)
            rewriter.insert_op(new, InsertPoint.before(op))
            return new

        shape = value.type.tensor.get_shape()
        returned.append(
            moves.bring(value, default_layout(machine.cores, shape), insert)
        )
    op.operands = returned


def _consumer_layout(
    op: Operation, schedules: dict[Operation, OpSchedule]
) -> Layout | None:
    """The layout the only consumer of `op`'s result reads it in (`only_consumer`)."""
    use = only_consumer(op)
    return None if use is None else schedules[use.operation].inputs[use.index]


def _lower_function(function: func.FuncOp, machine: Machine) -> None:
    rewriter = Rewriter()
    block = function.body.block
    schedules: dict[Operation, OpSchedule] = {}
    bodies: dict[Operation, Region] = {}
    views: list[Operation] = []
    for op in block.ops:
        if isinstance(op, func.ReturnOp):
            continue
        if not isinstance(op, IterationDomainInterface):
            raise OpError(op, "cannot be lowered to shift: it is not a top op")
        if op.flat_view():
            views.append(op)
        else:
            schedules[op] = _schedule(op, machine)
            bodies[op] = sub_operator_body(op, schedules[op])
    layouts: list[Layout] = []
    for arg in block.args:
        if not isinstance(arg.type, TensorType):
            raise OpError(
                function, f"argument of type {arg.type} cannot be distributed"
            )
        try:
            check_tensor(arg, f"argument #{arg.index}")
        except VerifyException as error:
            raise OpError(function, f"cannot be distributed: {error}") from None
        users = [use.operation for use in arg.uses]
        hot = (
            is_weight(arg)
            and len(users) == 1
            and users[0] in schedules
            and (selected := get_op_selection(users[0])) is not None
            and selected.weights == "hot"
        )
        if hot:
            layouts.append(schedules[users[0]].inputs[next(iter(arg.uses)).index])
        else:
            layouts.append(default_layout(machine.cores, arg.type.get_shape()))
    for arg, layout in zip(list(block.args), layouts, strict=True):
        assert isinstance(arg.type, TensorType)
        rewriter.replace_value_with_new_type(arg, _dtensor(arg.type, layout))
    records: list[OpRecord] = []
    moves = _Moves(machine)
    for op in list(block.ops):
        before = op.prev_op
        if isinstance(op, func.ReturnOp):
            _return_in_default_layouts(op, machine, rewriter, moves)
            continue
        if op in schedules:
            result = lower_op(
                op,
                schedules[op],
                bodies[op],
                machine,
                list(op.operands),
                rewriter,
                moves,
                _consumer_layout(op, schedules),
            )
        elif op in views:
            result = _view(op, machine, rewriter, moves)
        else:
            continue
        new = before.next_op if before is not None else block.first_op
        while new is not op and new is not None:
            set_op_index(new, len(records))
            new = new.next_op
        records.append(_record(op))
        op.results[0].replace_all_uses_with(result)
        rewriter.erase_op(op)
    set_records(function, records)
    function.update_function_type()
