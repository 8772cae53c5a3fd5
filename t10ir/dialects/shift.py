"""The `shift` dialect: every planned op as an explicit compute-shift schedule.

Values are distributed tensors, `!shift.dtensor<tensor<64x64xf32>, #core.layout<...>>`:
the tensor, and which box of it each core holds (`#core.layout`, `t10ir.planning.layout`). An op
becomes, in value semantics:

- `shift.relayout`: its prologue (inputs from the layout they wait in to the plan's
  skewed starting layout) and epilogue (its result to the layout the next op reads,
  combining partial results);
- `shift.view`: a reshape, which keeps the pieces of a flat layout;
- `shift.fill`: the output share each core accumulates into;
- `scf.for` step loops along the rotated loop dims, whose body runs `shift.compute` (the
  sub-operator on the pieces held, a `top` op on the window shapes) and `shift.rotate`
  (the ring rotation, with ring membership, distance, and the steps at which a core
  rotates);
- after the loops, the rotations that bring each rotated input back to its start.

A rotated value has the type of its start: a rotation moves pieces around rings and
keeps the layout's set of pieces, so the schedule, not the type, says where each piece
is (`t10-eliminate-redundant-shifts` tracks it).
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.dialects.builtin import (
    I64,
    AffineMapAttr,
    ArrayAttr,
    FloatAttr,
    IndexType,
    IntegerAttr,
    StringAttr,
    TensorType,
    f64,
    i64,
)
from xdsl.ir import (
    Attribute,
    Dialect,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator, Pure
from xdsl.utils.exceptions import VerifyException

from t10ir.dialects.core import LayoutAttr, RingAttr, check_combine, check_map


@irdl_attr_definition
class DTensorType(ParametrizedAttribute, TypeAttribute):
    """A tensor distributed over cores as `layout` says."""

    name = "shift.dtensor"

    tensor: TensorType
    layout: LayoutAttr

    def verify(self) -> None:
        if tuple(self.tensor.get_shape()) != self.layout.layout.shape:
            raise VerifyException(
                f"the layout is of a {list(self.layout.layout.shape)} tensor, not of "
                f"{self.tensor}"
            )

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            tensor = parser.parse_type()
            parser.parse_punctuation(",")
            layout = parser.parse_attribute()
        return (tensor, layout)

    def print_parameters(self, printer: Printer) -> None:
        printer.print_string("<")
        printer.print_attribute(self.tensor)
        printer.print_string(", ")
        printer.print_attribute(self.layout)
        printer.print_string(">")


@irdl_op_definition
class RelayoutOp(IRDLOperation):
    """Moves a distributed tensor into another layout; with `combine`, the copies of an
    element (partial results) are combined on the way."""

    name = "shift.relayout"

    input = operand_def(DTensorType)
    combine = opt_prop_def(StringAttr)
    output = result_def(DTensorType)

    irdl_options = (ParsePropInAttrDict(),)
    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, layout: LayoutAttr, combine: str | None = None):
        source = input.type
        assert isinstance(source, DTensorType)
        super().__init__(
            operands=[input],
            result_types=[DTensorType(source.tensor, layout)],
            properties={"combine": StringAttr(combine)} if combine else {},
        )

    def verify_(self) -> None:
        check_combine(self.combine)
        assert isinstance(self.input.type, DTensorType)
        assert isinstance(self.output.type, DTensorType)
        if self.input.type.tensor != self.output.type.tensor:
            raise VerifyException("a relayout keeps the tensor type")


@irdl_op_definition
class ViewOp(IRDLOperation):
    """The same pieces seen as another tensor of as many elements (a reshape): both
    layouts cut the row-major flattening the same way, so no element moves."""

    name = "shift.view"

    input = operand_def(DTensorType)
    output = result_def(DTensorType)

    traits = traits_def(Pure())
    assembly_format = "$input attr-dict `:` type($input) `->` type($output)"

    def __init__(self, input: SSAValue, type: DTensorType):
        super().__init__(operands=[input], result_types=[type])

    def verify_(self) -> None:
        source, target = self.input.type, self.output.type
        assert isinstance(source, DTensorType) and isinstance(target, DTensorType)
        a, b = source.layout.layout, target.layout.layout
        if source.tensor.get_element_type() != target.tensor.get_element_type():
            raise VerifyException("a view keeps the element type")
        if not (a.flat and b.flat) or (a.view, a.piece, a.grid, a.origin) != (
            b.view,
            b.piece,
            b.grid,
            b.origin,
        ):
            raise VerifyException(
                "a view needs flat layouts cutting the same pieces of the same number "
                "of elements"
            )


@irdl_op_definition
class FillOp(IRDLOperation):
    """A distributed tensor whose every piece holds `value` (an accumulator's start)."""

    name = "shift.fill"

    value = prop_def(FloatAttr)
    output = result_def(DTensorType)

    irdl_options = (ParsePropInAttrDict(),)
    traits = traits_def(Pure())
    assembly_format = "attr-dict `:` type($output)"

    def __init__(self, value: float, type: DTensorType):
        super().__init__(
            result_types=[type], properties={"value": FloatAttr(value, f64)}
        )


@irdl_op_definition
class RotateOp(IRDLOperation):
    """Every core for which `when` is all zeros (every core when absent) receives the
    piece of the core `distance` places further around `ring`."""

    name = "shift.rotate"

    input = operand_def(DTensorType)
    steps = var_operand_def(IndexType)
    ring = prop_def(RingAttr)
    distance = prop_def(IntegerAttr[I64])
    when = opt_prop_def(AffineMapAttr)
    output = result_def(DTensorType)

    irdl_options = (ParsePropInAttrDict(), AttrSizedOperandSegments())
    traits = traits_def(Pure())
    assembly_format = (
        "$input (`at` `(` $steps^ `)`)? attr-dict `:` type($input) `->` type($output)"
    )

    def __init__(
        self,
        input: SSAValue,
        ring: RingAttr,
        distance: int,
        when: AffineMapAttr | None = None,
        steps: Sequence[SSAValue] = (),
    ):
        properties: dict[str, Attribute] = {
            "ring": ring,
            "distance": IntegerAttr(distance, i64),
        }
        if when is not None:
            properties["when"] = when
        super().__init__(
            operands=[input, list(steps)],
            result_types=[input.type],
            properties=properties,
        )

    def verify_(self) -> None:
        if self.input.type != self.output.type:
            raise VerifyException("a rotation keeps the type")
        assert isinstance(self.input.type, DTensorType)
        layout = self.input.type.layout.layout
        if self.ring.ring.grid != layout.grid:
            raise VerifyException("the ring runs over another grid than the layout's")
        if self.when is not None:
            m = self.when.data
            if m.num_dims != len(layout.grid.shape) or m.num_symbols != len(self.steps):
                raise VerifyException(
                    f"when must take the {len(layout.grid.shape)} grid digits and "
                    f"{len(self.steps)} step indices, got {m}"
                )


@irdl_op_definition
class ComputeOp(IRDLOperation):
    """One step of the sub-operator on every core: the body reads the window of each
    held piece at the origin its `windows` map gives (from grid digits and the step
    indices `at`), of its block argument's shape, and writes (or, with `combine`,
    accumulates) its result into the window of the output share at `output`."""

    name = "shift.compute"

    inputs = var_operand_def(DTensorType)
    acc = operand_def(DTensorType)
    steps = var_operand_def(IndexType)
    windows = prop_def(ArrayAttr[AffineMapAttr])
    output_window = prop_def(AffineMapAttr, prop_name="output")
    combine = opt_prop_def(StringAttr)
    body = region_def("single_block")
    result = result_def(DTensorType)

    irdl_options = (ParsePropInAttrDict(), AttrSizedOperandSegments())
    assembly_format = (
        "`ins` `(` $inputs `:` type($inputs) `)` `acc` `(` $acc `:` type($acc) `)` "
        "(`at` `(` $steps^ `)`)? attr-dict-with-keyword $body `->` type($result)"
    )

    def __init__(
        self,
        inputs: Sequence[SSAValue],
        acc: SSAValue,
        steps: Sequence[SSAValue],
        windows: Sequence[AffineMapAttr],
        output: AffineMapAttr,
        combine: str | None,
        body: Region,
    ):
        properties: dict[str, Attribute] = {
            "windows": ArrayAttr(windows),
            "output": output,
        }
        if combine:
            properties["combine"] = StringAttr(combine)
        super().__init__(
            operands=[list(inputs), acc, list(steps)],
            result_types=[acc.type],
            properties=properties,
            regions=[body],
        )

    def verify_(self) -> None:
        check_combine(self.combine)
        acc = self.acc.type
        assert isinstance(acc, DTensorType)
        rank = len(acc.layout.layout.grid.shape)
        args = self.body.block.args
        if len(self.windows) != len(self.inputs) or len(args) != len(self.inputs):
            raise VerifyException(
                f"{len(self.inputs)} inputs need as many windows and body arguments, "
                f"got {len(self.windows)} and {len(args)}"
            )
        for number, (value, window, arg) in enumerate(
            zip(self.inputs, self.windows, args, strict=True)
        ):
            assert isinstance(value.type, DTensorType)
            layout = value.type.layout.layout
            if layout.grid != acc.layout.layout.grid:
                raise VerifyException(f"input #{number} lives on another grid")
            check_map(
                f"window #{number}",
                window.data,
                rank,
                len(self.steps),
                len(layout.piece),
            )
            _check_window(arg.type, layout.piece, f"input #{number}")
        output = acc.layout.layout
        check_map(
            "output", self.output_window.data, rank, len(self.steps), len(output.piece)
        )
        terminator = self.body.block.last_op
        if not isinstance(terminator, YieldOp) or len(terminator.values) != 1:
            raise VerifyException("the body must end in shift.yield of one tensor")
        _check_window(terminator.values[0].type, output.piece, "the result")
        if self.result.type != acc:
            raise VerifyException("the result has the accumulator's type")


def _check_window(type: Attribute, piece: Sequence[int], what: str) -> None:
    if not isinstance(type, TensorType) or len(type.get_shape()) != len(piece):
        raise VerifyException(f"{what}'s window must be a rank-{len(piece)} tensor")
    if any(w > p for w, p in zip(type.get_shape(), piece, strict=True)):
        raise VerifyException(
            f"{what}'s window {list(type.get_shape())} exceeds its piece {list(piece)}"
        )


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a `shift.compute` body with the sub-operator's result."""

    name = "shift.yield"

    values = var_operand_def()

    traits = traits_def(IsTerminator())
    assembly_format = "$values attr-dict `:` type($values)"

    def __init__(self, *values: SSAValue):
        super().__init__(operands=[list(values)])


Shift = Dialect(
    "shift",
    [RelayoutOp, ViewOp, FillOp, RotateOp, ComputeOp, YieldOp],
    [DTensorType],
)
