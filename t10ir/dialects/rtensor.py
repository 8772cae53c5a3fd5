"""The `rtensor` dialect: compute-shift plans carried in IR (T10 primer, section 4).

Two attributes, each the IR form of a plain-Python type of `t10ir.planning.plan`:

    #rtensor.plan<spatial = [m = 4, n = 4, k = 1], temporal = [in0 = [k = 4], in1 = [k = 4]]>
    #rtensor.tensor<tensor<64x64xf32>, spatial = [4, 1], replicas = 4, temporal = [1, 4],
                    pace = 1, ring = 4, along = [n], skew = [m]>

A plan names loop dims of its op's iteration domain and the op's tensors (`in0, ...`,
`out0, ...`); `temporal` is omitted when nothing is cut in time, `along` and `skew` when
the tensor does not rotate. Verifiers check the rules that need no domain
(`OpPlan.check`, `RTensor.check`); `OpPlan.validate` checks a plan against its op.
Parsing reports a broken rule at the attribute, as a parse error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from xdsl.context import Context
from xdsl.dialects.builtin import ArrayAttr, IntAttr, StringAttr, TensorType
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, TypeAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from t10ir.cost.plan_cost import PlanCost
from t10ir.planning.plan import Factors, OpPlan, Placement, RTensor

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


def element_type(name: str) -> TypeAttribute:
    """The builtin type spelled `name` (`f16`, `bf16`, `i8`, ...)."""
    return Parser(Context(), name).parse_type()


@irdl_attr_definition
class RTensorAttr(ParametrizedAttribute):
    """An `RTensor`: one tensor's split over cores and time, and its rings."""

    name = "rtensor.tensor"

    type: TensorType
    spatial: ArrayAttr[IntAttr]
    replicas: IntAttr
    temporal: ArrayAttr[IntAttr]
    pace: IntAttr
    ring: IntAttr
    along: ArrayAttr[StringAttr]
    skew: ArrayAttr[StringAttr]

    @staticmethod
    def from_rtensor(rtensor: RTensor) -> RTensorAttr:
        placement = rtensor.placement
        return RTensorAttr(
            TensorType(element_type(rtensor.element), rtensor.shape),
            _ints(rtensor.spatial),
            IntAttr(rtensor.replicas),
            _ints(rtensor.temporal),
            IntAttr(rtensor.pace),
            IntAttr(placement.ring_size),
            _names(placement.along),
            _names(placement.skew),
        )

    def to_rtensor(self) -> RTensor:
        return RTensor(
            shape=tuple(self.type.get_shape()),
            element=str(self.type.element_type),
            spatial=tuple(f.data for f in self.spatial),
            replicas=self.replicas.data,
            temporal=tuple(t.data for t in self.temporal),
            pace=self.pace.data,
            placement=Placement(
                self.ring.data,
                tuple(d.data for d in self.along),
                tuple(d.data for d in self.skew),
            ),
        )

    def verify(self) -> None:
        _raise(self.to_rtensor().check())

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            type = parser.parse_type()
            if not isinstance(type, TensorType):
                parser.raise_error(f"expected a ranked tensor type, got {type}", start)
            parser.parse_punctuation(",")

            def ints() -> list[int]:
                return _parse_list(parser, lambda: _parse_int(parser))

            def names() -> list[str]:
                return _parse_list(parser, lambda: _parse_name(parser))

            spatial = _parse_field(parser, "spatial", ints)
            parser.parse_punctuation(",")
            replicas = _parse_field(parser, "replicas", lambda: _parse_int(parser))
            parser.parse_punctuation(",")
            temporal = _parse_field(parser, "temporal", ints)
            parser.parse_punctuation(",")
            pace = _parse_field(parser, "pace", lambda: _parse_int(parser))
            parser.parse_punctuation(",")
            ring = _parse_field(parser, "ring", lambda: _parse_int(parser))
            along: list[str] = []
            skew: list[str] = []
            if parser.parse_optional_punctuation(","):
                along = _parse_field(parser, "along", names)
                if parser.parse_optional_punctuation(","):
                    skew = _parse_field(parser, "skew", names)
            rtensor = RTensor(
                tuple(type.get_shape()),
                str(type.element_type),
                tuple(spatial),
                replicas,
                tuple(temporal),
                pace,
                Placement(ring, tuple(along), tuple(skew)),
            )
            _report(parser, start, rtensor.check())
        return RTensorAttr.from_rtensor(rtensor).parameters

    def print_parameters(self, printer: Printer) -> None:
        def ints(values: ArrayAttr[IntAttr]) -> None:
            with printer.in_square_brackets():
                printer.print_list(values, lambda v: printer.print_string(str(v.data)))

        def names(values: ArrayAttr[StringAttr]) -> None:
            with printer.in_square_brackets():
                printer.print_list(values, lambda v: _print_name(printer, v.data))

        with printer.in_angle_brackets():
            printer.print_attribute(self.type)
            printer.print_string(", spatial = ")
            ints(self.spatial)
            printer.print_string(f", replicas = {self.replicas.data}, temporal = ")
            ints(self.temporal)
            printer.print_string(f", pace = {self.pace.data}, ring = {self.ring.data}")
            if self.along or self.skew:
                printer.print_string(", along = ")
                names(self.along)
            if self.skew:
                printer.print_string(", skew = ")
                names(self.skew)


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


Rtensor = Dialect("rtensor", [], [RTensorAttr, OpPlanAttr, PlanCostAttr, ChoiceAttr])
