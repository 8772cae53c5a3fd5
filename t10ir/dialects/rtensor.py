"""The `rtensor` dialect: compute-shift plans carried in IR (T10 primer, section 4).

A plan is the IR form of `t10ir.planning.plan.OpPlan`:

    #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>

It names loop dims of its op's iteration domain and the op's tensors (`in0, ...`,
`out0, ...`); `temporal` is omitted when nothing is cut in time. The verifier checks
the rules that need no domain (`OpPlan.check`); parsing reports a broken rule at the
attribute, as a parse error. On an op with an iteration domain, `verify_attributes`
checks the rest (`plan_problems`: the loop dims and tensors it names, each tensor cut
in time only along dims that index it and into rings that divide its replicas, an
output's included); the search builds only plans that keep them. The other
attributes are the IR forms of a plan's cost (`#rtensor.cost`, a
`PlanCost`), a frontier point (`#rtensor.choice`, a plan and its cost), the machine
(`#rtensor.machine`, a `Machine`) and a lowered op's record (`#rtensor.record`, an
`OpRecord`).

The dialect also owns the state the compiler's passes hand each other in the IR, for
every level (`top`, `shift`, `core`): each attribute below is read and written only
through its accessors here, and `verify_attributes` (run by the tools' verifier on
every op, as an MLIR dialect verifies its discardable attributes) rejects a malformed
one, or an unknown `rtensor.` name, with one diagnostic.

| attribute | on | value | accessors | written by |
|---|---|---|---|---|
| `rtensor.machine` | module | `#rtensor.machine<name = "...", cores = ..., ..., compute = {...}>` | `get_machine`, `set_machine` | `t10-partition` (or `t10-select-plans{target}` on a module without one) |
| `rtensor.frontiers`, `rtensor.frontier` | module, op | frontier name to `[#rtensor.choice<plan, cost>, ...]`; the op's frontier name | `set_frontiers`, `get_frontier`, `get_frontier_name`, `has_frontiers`, `remove_frontiers` | `t10-partition` run alone; `t10-select-plans` removes them |
| `rtensor.plan`, `rtensor.cost` | op | `#rtensor.plan<...>`, `#rtensor.cost<...>` | `get_plan`, `set_plan`, `get_cost`, `set_cost` | `t10-partition`, then `t10-select-plans` |
| `rtensor.weights`, `rtensor.prologue`, `rtensor.predicted`, `rtensor.copied` | op | `"hot"`/`"cold"`, cycles, cycles, operand indices (`array<i64: ...>`) | `get_op_selection`, `set_op_selection` (`OpSelection`) | `t10-select-plans` |
| `rtensor.strategy`, `.objective`, `.predicted_cycles`, `.peak_sram`, `.bound`, `.gap`, `.status` | function | string, integers, float | `get_selection`, `set_selection` (`PlanSelection`) | `t10-select-plans` |
| `t10.ops` | function | `[#rtensor.record<"top.matmul", loc = "...", plan = ..., predicted = N, planned = N, compute = N>, ...]` | `get_records`, `set_records` (`OpRecord`) | `t10-lower-to-shift`; each record's `predicted` by `t10-lower-to-core`, which costs the core program it writes |
| `t10.op` | shift and core ops | the index of the `top` op it was written for in `t10.ops` | `get_op_index`, `set_op_index`, `copy_op_index` | `t10-lower-to-shift`, kept by the later passes |
| `shift.saved_cycles`, `shift.removed` | function | cycles, rewrites per rule | `get_savings`, `set_savings` (`ShiftSavings`) | `t10-eliminate-redundant-shifts` |
| `core.layout` | core function argument, result | `#core.layout<...>` | `with_layout`, `get_layout` | `t10-lower-to-core` |

The names keep their level's prefix where a level's readers know them (`t10.op`,
`shift.*`, `core.layout`); `OP_ATTR`, `OPS_ATTR` and `LAYOUT_ATTR` name three of them
for diagnostics. Within `t10-compile` the frontiers never reach the IR
(`t10ir.passes.compile_state`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    DenseArrayBase,
    DictionaryAttr,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    StringAttr,
    f64,
    i64,
)
from xdsl.ir import (
    Attribute,
    Data,
    Dialect,
    Operation,
    ParametrizedAttribute,
)
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from t10ir.cost.plan_cost import PlanCost
from t10ir.dialects.core import LayoutAttr
from t10ir.dialects.top.domains import IterationDomainInterface
from t10ir.dialects.top.shapes import tensor_shape
from t10ir.planning.plan import Factors, OpPlan, plan_problems
from t10ir.planning.search import FrontierPoint
from t10ir.target.machine import Machine, TargetError

_T = TypeVar("_T")

_BARE_IDENT = re.compile(r"[A-Za-z_][\w$.]*")


def _names(names: Sequence[str]) -> ArrayAttr[StringAttr]:
    return ArrayAttr(StringAttr(n) for n in names)


def _ints(values: Sequence[int]) -> ArrayAttr[IntAttr]:
    return ArrayAttr(IntAttr(v) for v in values)


def _print_name(printer: Printer, name: str) -> None:
    if _BARE_IDENT.fullmatch(name):
        printer.print_string(name)
    else:
        printer.print_string_literal(name)


def _parse_name(parser: AttrParser) -> str:
    return parser.parse_identifier_or_str_literal(" for a name")


def _parse_int(parser: AttrParser) -> int:
    return parser.parse_integer(allow_boolean=False, context_msg=" for a factor")


def _parse_list(parser: AttrParser, element: Callable[[], _T]) -> list[_T]:
    return parser.parse_comma_separated_list(AttrParser.Delimiter.SQUARE, element)


def _parse_field(parser: AttrParser, name: str, value: Callable[[], _T]) -> _T:
    parser.parse_keyword(name)
    parser.parse_punctuation("=")
    return value()


def _parse_factors(parser: AttrParser) -> Factors:
    """`[m = 4, n = 2]`."""

    def entry() -> tuple[str, int]:
        name = _parse_name(parser)
        parser.parse_punctuation("=")
        return name, _parse_int(parser)

    return tuple(_parse_list(parser, entry))


def _print_factors(printer: Printer, factors: Factors) -> None:
    def entry(item: tuple[str, int]) -> None:
        _print_name(printer, item[0])
        printer.print_string(f" = {item[1]}")

    with printer.in_square_brackets():
        printer.print_list(factors, entry)


def _report(parser: AttrParser, start: int, problems: list[str]) -> None:
    """A broken rule as a parse error spanning the attribute's parameters."""
    if problems:
        parser.raise_error("; ".join(problems), start, parser.pos)


def _raise(problems: list[str]) -> None:
    if problems:
        raise VerifyException("; ".join(problems))


@irdl_attr_definition
class OpPlanAttr(ParametrizedAttribute):
    """An `OpPlan`: spatial factors per loop dim, temporal factors per tensor and loop
    dim. Stored as parallel arrays; the order of the spatial dims numbers the cores."""

    name = "rtensor.plan"

    spatial_dims: ArrayAttr[StringAttr]
    spatial_factors: ArrayAttr[IntAttr]
    temporal_tensors: ArrayAttr[StringAttr]
    temporal_dims: ArrayAttr[ArrayAttr[StringAttr]]
    temporal_factors: ArrayAttr[ArrayAttr[IntAttr]]

    @staticmethod
    def from_plan(plan: OpPlan) -> OpPlanAttr:
        return OpPlanAttr(
            _names([d for d, _ in plan.spatial]),
            _ints([f for _, f in plan.spatial]),
            _names([v for v, _ in plan.temporal]),
            ArrayAttr(_names([d for d, _ in fs]) for _, fs in plan.temporal),
            ArrayAttr(_ints([t for _, t in fs]) for _, fs in plan.temporal),
        )

    def to_plan(self) -> OpPlan:
        return OpPlan(
            _pairs(self.spatial_dims, self.spatial_factors),
            tuple(
                (v.data, _pairs(dims, factors))
                for v, dims, factors in zip(
                    self.temporal_tensors,
                    self.temporal_dims,
                    self.temporal_factors,
                    strict=True,
                )
            ),
        )

    def verify(self) -> None:
        lengths = {len(self.spatial_dims), len(self.spatial_factors)}
        nested = {len(self.temporal_tensors), len(self.temporal_dims)}
        nested.add(len(self.temporal_factors))
        if (
            len(lengths) > 1
            or len(nested) > 1
            or any(
                len(d) != len(f)
                for d, f in zip(self.temporal_dims, self.temporal_factors, strict=False)
            )
        ):
            raise VerifyException("plan names and factors differ in number")
        _raise(self.to_plan().check())

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            spatial = _parse_field(parser, "spatial", lambda: _parse_factors(parser))
            temporal: list[tuple[str, Factors]] = []
            if parser.parse_optional_punctuation(","):

                def entry() -> tuple[str, Factors]:
                    name = _parse_name(parser)
                    parser.parse_punctuation("=")
                    return name, _parse_factors(parser)

                temporal = _parse_field(
                    parser, "temporal", lambda: _parse_list(parser, entry)
                )
            plan = OpPlan(spatial, tuple(temporal))
            _report(parser, start, plan.check())
        return OpPlanAttr.from_plan(plan).parameters

    def print_parameters(self, printer: Printer) -> None:
        plan = self.to_plan()
        with printer.in_angle_brackets():
            printer.print_string("spatial = ")
            _print_factors(printer, plan.spatial)
            if plan.temporal:
                printer.print_string(", temporal = ")

                def entry(item: tuple[str, Factors]) -> None:
                    _print_name(printer, item[0])
                    printer.print_string(" = ")
                    _print_factors(printer, item[1])

                with printer.in_square_brackets():
                    printer.print_list(plan.temporal, entry)


def _pairs(names: ArrayAttr[StringAttr], factors: ArrayAttr[IntAttr]) -> Factors:
    return tuple((n.data, f.data) for n, f in zip(names, factors, strict=True))


_COST_FIELDS = tuple(PlanCost.__dataclass_fields__)


@irdl_attr_definition
class PlanCostAttr(ParametrizedAttribute):
    """A `PlanCost`: a plan's predicted steps, cores, bytes per core and cycles by
    phase. `cycles` (their sum) is printed for the reader and checked when parsed."""

    name = "rtensor.cost"

    values: ArrayAttr[IntAttr]

    @staticmethod
    def from_cost(cost: PlanCost) -> PlanCostAttr:
        return PlanCostAttr(_ints([getattr(cost, f) for f in _COST_FIELDS]))

    def to_cost(self) -> PlanCost:
        return PlanCost(*(v.data for v in self.values))

    def verify(self) -> None:
        if len(self.values) != len(_COST_FIELDS):
            raise VerifyException(
                f"a cost has {len(_COST_FIELDS)} values, got {len(self.values)}"
            )
        if any(v.data < 0 for v in self.values):
            raise VerifyException("costs must be >= 0")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            cycles = _parse_field(parser, "cycles", lambda: _parse_int(parser))
            values: list[int] = []
            for f in _COST_FIELDS:
                parser.parse_punctuation(",")
                values.append(_parse_field(parser, f, lambda: _parse_int(parser)))
            cost = PlanCost(*values)
            if cost.cycles != cycles:
                parser.raise_error(
                    f"cycles = {cycles} is not the sum of the phases ({cost.cycles})",
                    start,
                    parser.pos,
                )
        return PlanCostAttr.from_cost(cost).parameters

    def print_parameters(self, printer: Printer) -> None:
        cost = self.to_cost()
        fields = ", ".join(f"{f} = {getattr(cost, f)}" for f in _COST_FIELDS)
        printer.print_string(f"<cycles = {cost.cycles}, {fields}>")


@irdl_attr_definition
class ChoiceAttr(ParametrizedAttribute):
    """One point of a frontier: a plan and its cost."""

    name = "rtensor.choice"

    plan: OpPlanAttr
    cost: PlanCostAttr

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            plan = parser.parse_attribute()
            parser.parse_punctuation(",")
            cost = parser.parse_attribute()
        if not isinstance(plan, OpPlanAttr) or not isinstance(cost, PlanCostAttr):
            parser.raise_error("expected #rtensor.plan<...>, #rtensor.cost<...>")
        return plan, cost

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.plan)
            printer.print_string(", ")
            printer.print_attribute(self.cost)


# --- the compiler's state in IR ------------------------------------------------------


def _print_float(value: float) -> str:
    """A float the MLIR lexer reads back exactly (it needs a `.` before an exponent)."""
    text = repr(float(value))
    if "." not in text:
        mantissa, _, exponent = text.partition("e")
        text = f"{mantissa}.0e{exponent}" if exponent else f"{mantissa}.0"
    return text


def _print_value(printer: Printer, value: Any) -> None:
    if isinstance(value, bool):
        printer.print_string("true" if value else "false")
    elif isinstance(value, str):
        printer.print_string_literal(value)
    elif isinstance(value, int):
        printer.print_string(str(value))
    elif isinstance(value, float):
        printer.print_string(_print_float(value))
    elif isinstance(value, list):
        with printer.in_square_brackets():
            printer.print_list(value, lambda v: _print_value(printer, v))
    else:
        assert isinstance(value, dict)
        _print_entries(printer, value, printer.in_braces)


def _print_entries(
    printer: Printer, data: dict[str, Any], brackets: Callable[[], Any]
) -> None:
    def entry(item: tuple[str, Any]) -> None:
        printer.print_string(f"{item[0]} = ")
        _print_value(printer, item[1])

    with brackets():
        printer.print_list(data.items(), entry)


def _parse_value(parser: AttrParser) -> Any:
    """A machine figure: a string, a boolean, a number, `[rows, cols]` or `{...}`."""
    if (text := parser.parse_optional_str_literal()) is not None:
        return text
    if (flag := parser.parse_optional_boolean()) is not None:
        return flag
    if (number := parser.parse_optional_number()) is not None:
        return number
    if parser.parse_optional_punctuation("[") is not None:
        values: list[Any] = []
        if parser.parse_optional_punctuation("]") is None:
            values = [_parse_value(parser)]
            while parser.parse_optional_punctuation(",") is not None:
                values.append(_parse_value(parser))
            parser.parse_punctuation("]")
        return values
    return _parse_entries(parser, AttrParser.Delimiter.BRACES)


def _parse_entries(
    parser: AttrParser, delimiter: AttrParser.Delimiter
) -> dict[str, Any]:
    data: dict[str, Any] = {}

    def entry() -> None:
        key = parser.parse_identifier(" for a machine key")
        parser.parse_punctuation("=")
        data[key] = _parse_value(parser)

    parser.parse_comma_separated_list(delimiter, entry)
    return data


@irdl_attr_definition
class MachineAttr(Data[Machine]):
    """The machine a module is compiled for, every field written out (the IR needs no
    file): `#rtensor.machine<name = "ipu-mk2", cores = 1472, ..., compute = {...}>`.
    Parsed with the machine file's validation, so a bad figure is one parse error
    naming its key."""

    name = "rtensor.machine"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> Machine:
        start = parser.pos
        data = _parse_entries(parser, AttrParser.Delimiter.ANGLE)
        try:
            return Machine.from_dict(data, source="#rtensor.machine")
        except TargetError as error:
            parser.raise_error(error.message, start, parser.pos)

    def print_parameter(self, printer: Printer) -> None:
        _print_entries(printer, self.data.to_dict(), printer.in_angle_brackets)


@dataclass(frozen=True)
class OpRecord:
    """What reports say about one lowered `top` op: its kind, source location, plan,
    the cycles predicted for it (`predicted`: the cost of the core program written for
    it; `planned`: the plan selection's figure) and the compute its plan costs (to tell
    a report's gaps in compute from those in moving data)."""

    kind: str
    loc: str | None = None
    plan: OpPlan | None = None
    predicted: int | None = None
    planned: int | None = None
    compute: int | None = None


_RECORD_INTS = ("predicted", "planned", "compute")
_RECORD_FIELDS = ("loc", "plan", *_RECORD_INTS)


def _parse_record_field(parser: AttrParser, key: str) -> str | OpPlan | int:
    if key == "loc":
        return parser.parse_str_literal(" for a location")
    if key == "plan":
        start = parser.pos
        plan = parser.parse_attribute()
        if not isinstance(plan, OpPlanAttr):
            parser.raise_error("expected #rtensor.plan<...>", start, parser.pos)
        return plan.to_plan()
    start = parser.pos
    value = parser.parse_integer(allow_boolean=False, context_msg=" for cycles")
    if value < 0:
        parser.raise_error("cycles must be >= 0", start, parser.pos)
    return value


@irdl_attr_definition
class OpRecordAttr(Data[OpRecord]):
    """An `OpRecord`: `#rtensor.record<"top.matmul", loc = "f.mlir:4:3", plan =
    #rtensor.plan<...>, predicted = 1404, planned = 1500, compute = 848>`, the fields
    after the kind optional, in this order."""

    name = "rtensor.record"

    @classmethod
    def parse_parameter(cls, parser: AttrParser) -> OpRecord:
        with parser.in_angle_brackets():
            kind = parser.parse_str_literal(" for the op's kind")
            fields: dict[str, Any] = {}
            while parser.parse_optional_punctuation(",") is not None:
                start = parser.pos
                key = parser.parse_identifier(" for a record field")
                if key not in _RECORD_FIELDS or key in fields:
                    parser.raise_error(
                        f"expected one of {', '.join(_RECORD_FIELDS)} once, got {key}",
                        start,
                        parser.pos,
                    )
                parser.parse_punctuation("=")
                fields[key] = _parse_record_field(parser, key)
        return OpRecord(kind, **fields)

    def print_parameter(self, printer: Printer) -> None:
        record = self.data
        with printer.in_angle_brackets():
            printer.print_string_literal(record.kind)
            if record.loc is not None:
                printer.print_string(", loc = ")
                printer.print_string_literal(record.loc)
            if record.plan is not None:
                printer.print_string(", plan = ")
                printer.print_attribute(OpPlanAttr.from_plan(record.plan))
            for key in _RECORD_INTS:
                if (value := getattr(record, key)) is not None:
                    printer.print_string(f", {key} = {value}")


# --- accessors: the names above, read and written in one place ------------------------

_MACHINE_ATTR = "rtensor.machine"
_FRONTIERS_ATTR = "rtensor.frontiers"
_FRONTIER_ATTR = "rtensor.frontier"
_PLAN_ATTR = "rtensor.plan"
_COST_ATTR = "rtensor.cost"
_WEIGHTS_ATTR = "rtensor.weights"
_PROLOGUE_ATTR = "rtensor.prologue"
_PREDICTED_ATTR = "rtensor.predicted"
_COPIED_ATTR = "rtensor.copied"
OP_ATTR = "t10.op"
OPS_ATTR = "t10.ops"
_SAVED_ATTR = "shift.saved_cycles"
_REMOVED_ATTR = "shift.removed"
LAYOUT_ATTR = "core.layout"
"""The name of a core-level argument's or result's layout (an argument attribute)."""

_SELECTION_INTS = ("objective", "predicted_cycles", "peak_sram", "bound")
_SELECTION_STRINGS = ("strategy", "status")
WEIGHT_MODES = ("hot", "cold")


def get_machine(module: Operation) -> Machine | None:
    attr = module.attributes.get(_MACHINE_ATTR)
    return attr.data if isinstance(attr, MachineAttr) else None


def set_machine(module: Operation, machine: Machine) -> None:
    module.attributes[_MACHINE_ATTR] = MachineAttr(machine)


def set_frontiers(
    module: Operation, ops: Sequence[tuple[Operation, str, Sequence[FrontierPoint]]]
) -> None:
    """Each op's frontier, named: ops of one name share one frontier."""
    frontiers: dict[str, Attribute] = {}
    for op, name, points in ops:
        op.attributes[_FRONTIER_ATTR] = StringAttr(name)
        if name not in frontiers:
            frontiers[name] = ArrayAttr(
                ChoiceAttr(OpPlanAttr.from_plan(p.plan), PlanCostAttr.from_cost(p.cost))
                for p in points
            )
    module.attributes[_FRONTIERS_ATTR] = DictionaryAttr(frontiers)


def get_frontier_name(op: Operation) -> str | None:
    name = op.attributes.get(_FRONTIER_ATTR)
    return name.data if isinstance(name, StringAttr) else None


def get_frontier(module: Operation, op: Operation) -> tuple[FrontierPoint, ...] | None:
    """The frontier `t10-partition` attached to `op`, by increasing memory."""
    frontiers = module.attributes.get(_FRONTIERS_ATTR)
    name = get_frontier_name(op)
    if (
        not isinstance(frontiers, DictionaryAttr)
        or name is None
        or name not in frontiers.data
    ):
        return None
    choices = frontiers.data[name]
    assert isinstance(choices, ArrayAttr)
    return tuple(
        FrontierPoint(c.plan.to_plan(), c.cost.to_cost())
        for c in choices.data
        if isinstance(c, ChoiceAttr)
    )


def has_frontiers(module: Operation) -> bool:
    return isinstance(module.attributes.get(_FRONTIERS_ATTR), DictionaryAttr)


def remove_frontiers(module: Operation) -> None:
    """Drops the frontiers (a search space) once the plans are chosen."""
    for op in module.walk():
        op.attributes.pop(_FRONTIER_ATTR, None)
    module.attributes.pop(_FRONTIERS_ATTR, None)


def get_plan(op: Operation) -> OpPlan | None:
    attr = op.attributes.get(_PLAN_ATTR)
    return attr.to_plan() if isinstance(attr, OpPlanAttr) else None


def set_plan(op: Operation, plan: OpPlan) -> None:
    op.attributes[_PLAN_ATTR] = OpPlanAttr.from_plan(plan)


def set_cost(op: Operation, cost: PlanCost) -> None:
    """The predicted cost of the op's plan (`t10-partition`'s, then the chosen one's)."""
    op.attributes[_COST_ATTR] = PlanCostAttr.from_cost(cost)


def get_cost(op: Operation) -> PlanCost | None:
    attr = op.attributes.get(_COST_ATTR)
    return attr.to_cost() if isinstance(attr, PlanCostAttr) else None


@dataclass(frozen=True)
class OpSelection:
    """What plan selection decided for one op besides its plan: whether its own
    weights stay in the plan's layout (`hot`) or are fetched (`cold`; None: it has
    none), the cycles of bringing its inputs into its layout, and its predicted
    cycles (prologue, compute, shifts, syncs and epilogue). `copied`: the operands
    it reads from the copy an earlier op made of the same value in the same layout,
    kept in SRAM for it, so they move nothing."""

    weights: str | None
    prologue: int | None
    predicted: int
    copied: tuple[int, ...] = ()


def set_op_selection(op: Operation, selection: OpSelection) -> None:
    if selection.weights is not None:
        op.attributes[_WEIGHTS_ATTR] = StringAttr(selection.weights)
    if selection.prologue is not None:
        op.attributes[_PROLOGUE_ATTR] = IntegerAttr(selection.prologue, i64)
    op.attributes[_PREDICTED_ATTR] = IntegerAttr(selection.predicted, i64)
    if selection.copied:
        op.attributes[_COPIED_ATTR] = DenseArrayBase.from_list(i64, selection.copied)


def get_op_selection(op: Operation) -> OpSelection | None:
    predicted = _int(op.attributes.get(_PREDICTED_ATTR))
    if predicted is None:
        return None
    weights = op.attributes.get(_WEIGHTS_ATTR)
    copied = op.attributes.get(_COPIED_ATTR)
    return OpSelection(
        weights.data if isinstance(weights, StringAttr) else None,
        _int(op.attributes.get(_PROLOGUE_ATTR)),
        predicted,
        tuple(copied.get_values()) if isinstance(copied, DenseArrayBase) else (),
    )


@dataclass(frozen=True)
class PlanSelection:
    """What plan selection decided for a function: the strategy, the estimate it
    minimized, the sum of the ops' predictions, the peak SRAM per core, and for
    `optimal` the bound and gap of the objective and the solver's status
    (`optimal`, `time-limit`, or `time-limit, greedy` when it had found no fitting
    choice)."""

    strategy: str
    objective: int
    predicted_cycles: int
    peak_sram: int
    bound: int | None = None
    gap: float | None = None
    status: str | None = None


def set_selection(function: Operation, selection: PlanSelection) -> None:
    function.attributes["rtensor.strategy"] = StringAttr(selection.strategy)
    for key in _SELECTION_INTS:
        if (value := getattr(selection, key)) is not None:
            function.attributes[f"rtensor.{key}"] = IntegerAttr(value, i64)
    if selection.gap is not None:
        function.attributes["rtensor.gap"] = FloatAttr(selection.gap, f64)
    if selection.status is not None:
        function.attributes["rtensor.status"] = StringAttr(selection.status)


def get_selection(function: Operation) -> PlanSelection | None:
    attrs = function.attributes
    strategy = attrs.get("rtensor.strategy")
    ints = [_int(attrs.get(f"rtensor.{key}")) for key in _SELECTION_INTS]
    if not isinstance(strategy, StringAttr) or None in ints[:3]:
        return None
    gap, status = attrs.get("rtensor.gap"), attrs.get("rtensor.status")
    objective, predicted, peak, bound = ints
    assert objective is not None and predicted is not None and peak is not None
    return PlanSelection(
        strategy.data,
        objective,
        predicted,
        peak,
        bound,
        gap.value.data if isinstance(gap, FloatAttr) else None,
        status.data if isinstance(status, StringAttr) else None,
    )


def get_op_index(op: Operation) -> int | None:
    """The index, in its function's records, of the `top` op `op` was written for."""
    return _int(op.attributes.get(OP_ATTR))


def set_op_index(op: Operation, index: int) -> None:
    op.attributes[OP_ATTR] = IntegerAttr(index, i64)


def copy_op_index(op: Operation, like: Operation) -> None:
    """`op` is attributed to the same `top` op as `like` (if any)."""
    if OP_ATTR in like.attributes:
        op.attributes[OP_ATTR] = like.attributes[OP_ATTR]


def get_records(function: Operation) -> tuple[OpRecord, ...] | None:
    records = function.attributes.get(OPS_ATTR)
    if not isinstance(records, ArrayAttr):
        return None
    return tuple(r.data for r in records.data if isinstance(r, OpRecordAttr))


def set_records(function: Operation, records: Sequence[OpRecord]) -> None:
    function.attributes[OPS_ATTR] = ArrayAttr(OpRecordAttr(r) for r in records)


@dataclass(frozen=True)
class ShiftSavings:
    """What eliminating redundant shifts saved a function: the cost model's cycles of
    the communication removed (less that of what replaced it), and the rewrites
    applied per rule; a second run adds to them."""

    saved_cycles: int
    removed: dict[str, int]


def get_savings(function: Operation) -> ShiftSavings | None:
    saved = _int(function.attributes.get(_SAVED_ATTR))
    removed = function.attributes.get(_REMOVED_ATTR)
    if saved is None or not isinstance(removed, DictionaryAttr):
        return None
    counts = {k: _int(v) for k, v in removed.data.items()}
    return ShiftSavings(saved, {k: v for k, v in counts.items() if v is not None})


def set_savings(function: Operation, savings: ShiftSavings) -> None:
    function.attributes[_SAVED_ATTR] = IntegerAttr(savings.saved_cycles, i64)
    function.attributes[_REMOVED_ATTR] = DictionaryAttr(
        {rule: IntegerAttr(count, i64) for rule, count in savings.removed.items()}
    )


def with_layout(attrs: DictionaryAttr, layout: LayoutAttr) -> DictionaryAttr:
    """A core-level argument's (or result's) attributes, with its layout."""
    return DictionaryAttr({**attrs.data, LAYOUT_ATTR: layout})


def get_layout(attrs: DictionaryAttr) -> LayoutAttr | None:
    layout = attrs.data.get(LAYOUT_ATTR)
    return layout if isinstance(layout, LayoutAttr) else None


def _int(value: Attribute | None) -> int | None:
    return value.value.data if isinstance(value, IntegerAttr) else None


# --- the dialect's verifier of the attributes above ----------------------------------

_INTEGER = (IntegerAttr, "an integer")
_STRING = (StringAttr, "a string")
_SCHEMA: dict[str, tuple[type[Attribute], str]] = {
    _MACHINE_ATTR: (MachineAttr, "a #rtensor.machine<...>"),
    _FRONTIERS_ATTR: (DictionaryAttr, "a dictionary of frontiers"),
    _FRONTIER_ATTR: _STRING,
    _PLAN_ATTR: (OpPlanAttr, "a #rtensor.plan<...>"),
    _COST_ATTR: (PlanCostAttr, "a #rtensor.cost<...>"),
    _WEIGHTS_ATTR: _STRING,
    _PROLOGUE_ATTR: _INTEGER,
    _PREDICTED_ATTR: _INTEGER,
    _COPIED_ATTR: (DenseArrayBase, "an array<i64: ...> of operand indices"),
    **{f"rtensor.{key}": _INTEGER for key in _SELECTION_INTS},
    **{f"rtensor.{key}": _STRING for key in _SELECTION_STRINGS},
    "rtensor.gap": (FloatAttr, "a float"),
    OP_ATTR: _INTEGER,
    OPS_ATTR: (ArrayAttr, "an array of #rtensor.record<...>"),
    _SAVED_ATTR: _INTEGER,
    _REMOVED_ATTR: (DictionaryAttr, "a dictionary of integers"),
}


def _check(name: str, value: Attribute) -> None:
    kind, expected = _SCHEMA[name]
    if isinstance(value, kind):
        if name == _FRONTIERS_ATTR:
            assert isinstance(value, DictionaryAttr)
            good = all(
                isinstance(f, ArrayAttr)
                and all(isinstance(c, ChoiceAttr) for c in f.data)
                for f in value.data.values()
            )
        elif name == OPS_ATTR:
            assert isinstance(value, ArrayAttr)
            good = all(isinstance(r, OpRecordAttr) for r in value.data)
        elif name == _REMOVED_ATTR:
            assert isinstance(value, DictionaryAttr)
            good = all(isinstance(v, IntegerAttr) for v in value.data.values())
        elif name == _WEIGHTS_ATTR:
            assert isinstance(value, StringAttr)
            good = value.data in WEIGHT_MODES
            expected = '"hot" or "cold"'
        elif isinstance(value, IntegerAttr):
            good = value.value.data >= 0
            expected = "an integer >= 0"
        else:
            good = True
        if good:
            return
    raise VerifyException(f"{name} must be {expected}, got {value}")


def _check_operand_indices(name: str, value: Attribute, operands: int) -> None:
    assert isinstance(value, DenseArrayBase)
    indices = list(value.get_values())
    if (
        value.elt_type != i64
        or any(not 0 <= i < operands for i in indices)
        or indices != sorted(set(indices))
    ):
        raise VerifyException(
            f"{name} must be increasing operand indices below {operands}, got {value}"
        )


def _check_plan_fits(op: IterationDomainInterface, value: Attribute) -> None:
    """The first rule the op's plan breaks for its domain and operand shapes."""
    assert isinstance(value, OpPlanAttr)
    shapes = [tensor_shape(v) for v in op.operands]
    problems = plan_problems(value.to_plan(), op.iteration_domain(), None, shapes)
    if problems:
        raise VerifyException(f"{_PLAN_ATTR} does not fit the op: {problems[0]}")


def verify_attributes(op: Operation) -> None:
    """The rules of the attributes above, wherever they appear (as MLIR dialects
    verify their discardable attributes): an unknown `rtensor.` name or a value of
    the wrong kind is a verifier error; so is a `core.layout` argument attribute
    that is not a layout."""
    for name, value in op.attributes.items():
        if name in _SCHEMA:
            _check(name, value)
            if name == _COPIED_ATTR:
                _check_operand_indices(name, value, len(op.operands))
            if name == _PLAN_ATTR and isinstance(op, IterationDomainInterface):
                _check_plan_fits(op, value)
        elif name.startswith("rtensor."):
            raise VerifyException(f"unknown attribute {name}")
    for key in ("arg_attrs", "res_attrs"):
        groups = op.properties.get(key)
        if not isinstance(groups, ArrayAttr):
            continue
        for attrs in groups.data:
            if (
                isinstance(attrs, DictionaryAttr)
                and LAYOUT_ATTR in attrs.data
                and not isinstance(attrs.data[LAYOUT_ATTR], LayoutAttr)
            ):
                raise VerifyException(
                    f"{LAYOUT_ATTR} must be a #core.layout<...>, got "
                    f"{attrs.data[LAYOUT_ATTR]}"
                )


Rtensor = Dialect(
    "rtensor",
    [],
    [OpPlanAttr, PlanCostAttr, ChoiceAttr, MachineAttr, OpRecordAttr],
)
