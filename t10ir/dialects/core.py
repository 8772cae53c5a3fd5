"""The `core` dialect: the per-core SPMD program the simulated chip runs.

A program is a sequence of bulk-synchronous supersteps over per-core SRAM buffers
(`!core.buffer<16x16xf32>`: one such buffer on every core of a grid). Cores compute on
windows of their buffers (`core.kernel`, whose body is the only place `top` ops remain),
exchange data (`core.shift` along a ring, `core.redistribute` between layouts), and
`core.sync` ends a superstep; `core.steps` repeats its body over a step index that
selects windows and shifting cores. That is all an interpreter needs:

    %a = core.alloc on #core.grid<[2, 2]> : !core.buffer<4x4xf32>
    core.fill %a, -inf : !core.buffer<4x4xf32>
    core.redistribute %x to %a from #core.layout<...> to #core.layout<...>
        : !core.buffer<8x8xf32>, !core.buffer<4x4xf32>
    core.steps %s = 0 to 2 {
      core.kernel on #core.grid<[2, 2]> ins(%a, %b : ...) outs(%c : ...)
          windows [affine_map<...>, affine_map<...>] output affine_map<...> at(%s)
          combine "sum" {
      ^bb0(%x: tensor<4x4xf32>, %y: tensor<4x4xf32>):
        %r = top.matmul %x, %y : ...
        core.yield %r : tensor<4x4xf32>
      }
      core.shift %a via %t around #core.ring<...> by 1 when affine_map<...> at(%s)
          : !core.buffer<4x4xf32>
      core.sync
    }
    core.free %a : !core.buffer<4x4xf32>

Attributes describe where data lives:

    #core.grid<[4, 4]>
    #core.layout<[64, 64], piece = [16, 16], grid = [4, 4],
                 origin = affine_map<(d0, d1) -> (d0 * 16, ((d0 + d1) mod 4) * 16)>>
    #core.layout<[64, 64], piece = [2731], grid = [2], origin = affine_map<(d0) ->
                 (d0 * 2731)>, flat>
    #core.ring<grid = [4, 4], size = 4, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 4)>>

Options after the required fields: `flat` (the layout cuts the row-major flattening),
`padding = -inf` (what elements outside the tensor hold; 0.0 when omitted) and
`cores = [...]` (the physical core of every logical core, when not the identity).
The `shift` and `core` levels both use them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from xdsl.dialects.builtin import (
    DYNAMIC_INDEX,
    I64,
    AffineMapAttr,
    ArrayAttr,
    ContainerType,
    Float64Type,
    FloatAttr,
    FloatData,
    IndexType,
    IntAttr,
    IntegerAttr,
    IntegerType,
    ShapedType,
    StringAttr,
    TensorType,
    f16,
    f32,
    f64,
    i1,
    i32,
    i64,
)
from xdsl.ir import (
    Attribute,
    Block,
    BlockArgument,
    Dialect,
    Operation,
    ParametrizedAttribute,
    Region,
    SSAValue,
    TypeAttribute,
)
from xdsl.ir.affine import AffineMap
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_attr_definition,
    irdl_op_definition,
    lazy_traits_def,
    operand_def,
    opt_prop_def,
    prop_def,
    region_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.irdl.declarative_assembly_format import (
    AttributeVariable,
    CustomDirective,
    ParsingState,
    PrintingState,
    TypeDirective,
    irdl_custom_directive,
)
from xdsl.parser import AttrParser, Parser
from xdsl.printer import Printer
from xdsl.traits import (
    HasParent,
    IsolatedFromAbove,
    IsTerminator,
    SingleBlockImplicitTerminator,
    ensure_terminator,
)
from xdsl.utils.exceptions import VerifyException

from t10ir.planning.domain import COMBINER_IDENTITY
from t10ir.planning.layout import Grid, Layout, Ring


def _ints(values: Sequence[int]) -> ArrayAttr[IntAttr]:
    return ArrayAttr(IntAttr(v) for v in values)


def _values(array: ArrayAttr[IntAttr]) -> tuple[int, ...]:
    return tuple(v.data for v in array.data)


def _parse_ints(parser: AttrParser) -> list[int]:
    return parser.parse_comma_separated_list(
        parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False)
    )


def _parse_key(parser: AttrParser, key: str) -> None:
    parser.parse_keyword(key)
    parser.parse_punctuation("=")


def _parse_map(parser: AttrParser) -> AffineMapAttr:
    start = parser.pos
    value = parser.parse_attribute()
    if not isinstance(value, AffineMapAttr):
        parser.raise_error("expected an affine_map", start, parser.pos)
    return value


def _format_float(value: float) -> str:
    """`value` as `_parse_float` reads it back: MLIR float literals need a `.`, and
    `inf` and `nan` are keywords (`repr` spells NaN `nan`, which no literal parses)."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    mantissa, _, exponent = repr(value).partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}e{exponent}" if exponent else mantissa


def _parse_float(parser: AttrParser) -> float:
    negative = parser.parse_optional_punctuation("-") is not None
    if parser.parse_optional_keyword("inf") is not None:
        value = math.inf
    elif parser.parse_optional_keyword("nan") is not None:
        value = math.nan
    else:
        value = float(parser.parse_number())
    return -value if negative else value


def _grid(shape: ArrayAttr[IntAttr], cores: ArrayAttr[IntAttr]) -> Grid:
    return Grid(_values(shape), _values(cores) or None)


def _parse_cores(parser: AttrParser) -> list[int]:
    _parse_key(parser, "cores")
    return _parse_ints(parser)


def _print_cores(grid: Grid) -> str:
    return f", cores = {list(grid.cores)}" if grid.cores is not None else ""


def _check(problems: list[str], what: str) -> None:
    if problems:
        raise VerifyException(f"invalid {what}: {'; '.join(problems)}")


@irdl_attr_definition
class GridAttr(ParametrizedAttribute):
    """The logical cores of an op (`t10ir.planning.layout.Grid`)."""

    name = "core.grid"

    shape: ArrayAttr[IntAttr]
    cores: ArrayAttr[IntAttr]

    @staticmethod
    def of(grid: Grid) -> GridAttr:
        return GridAttr(_ints(grid.shape), _ints(grid.cores or ()))

    @property
    def grid(self) -> Grid:
        return _grid(self.shape, self.cores)

    def verify(self) -> None:
        _check(self.grid.check(), "grid")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape = _parse_ints(parser)
            cores: list[int] = []
            if parser.parse_optional_punctuation(","):
                cores = _parse_cores(parser)
        return (_ints(shape), _ints(cores))

    def print_parameters(self, printer: Printer) -> None:
        grid = self.grid
        printer.print_string(f"<{list(grid.shape)}{_print_cores(grid)}>")


@irdl_attr_definition
class LayoutAttr(ParametrizedAttribute):
    """Which box of a tensor every core holds (`t10ir.planning.layout.Layout`)."""

    name = "core.layout"

    shape: ArrayAttr[IntAttr]
    piece: ArrayAttr[IntAttr]
    grid_shape: ArrayAttr[IntAttr]
    cores: ArrayAttr[IntAttr]
    origin: AffineMapAttr
    flat: IntAttr
    padding: FloatData

    @staticmethod
    def of(layout: Layout) -> LayoutAttr:
        return LayoutAttr(
            _ints(layout.shape),
            _ints(layout.piece),
            _ints(layout.grid.shape),
            _ints(layout.grid.cores or ()),
            AffineMapAttr(layout.origin),
            IntAttr(int(layout.flat)),
            FloatData(layout.padding),
        )

    @property
    def layout(self) -> Layout:
        return Layout(
            _values(self.shape),
            _values(self.piece),
            _grid(self.grid_shape, self.cores),
            self.origin.data,
            bool(self.flat.data),
            self.padding.data,
        )

    def verify(self) -> None:
        _check(self.layout.check(), "layout")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            shape = _parse_ints(parser)
            parser.parse_punctuation(",")
            _parse_key(parser, "piece")
            piece = _parse_ints(parser)
            parser.parse_punctuation(",")
            _parse_key(parser, "grid")
            grid = _parse_ints(parser)
            parser.parse_punctuation(",")
            _parse_key(parser, "origin")
            origin = _parse_map(parser)
            flat, padding, cores = False, 0.0, []
            while parser.parse_optional_punctuation(","):
                if parser.parse_optional_keyword("flat"):
                    flat = True
                elif parser.parse_optional_keyword("padding"):
                    parser.parse_punctuation("=")
                    padding = _parse_float(parser)
                else:
                    cores = _parse_cores(parser)
        return (
            _ints(shape),
            _ints(piece),
            _ints(grid),
            _ints(cores),
            origin,
            IntAttr(int(flat)),
            FloatData(padding),
        )

    def print_parameters(self, printer: Printer) -> None:
        layout = self.layout
        printer.print_string(
            f"<{list(layout.shape)}, piece = {list(layout.piece)}, grid = "
            f"{list(layout.grid.shape)}, origin = "
        )
        printer.print_attribute(self.origin)
        if layout.flat:
            printer.print_string(", flat")
        if layout.padding != 0.0:
            printer.print_string(f", padding = {_format_float(layout.padding)}")
        printer.print_string(f"{_print_cores(layout.grid)}>")


@irdl_attr_definition
class RingAttr(ParametrizedAttribute):
    """Who every core receives from when pieces rotate (`t10ir.planning.layout.Ring`)."""

    name = "core.ring"

    grid_shape: ArrayAttr[IntAttr]
    cores: ArrayAttr[IntAttr]
    size: IntAttr
    next: AffineMapAttr

    @staticmethod
    def of(ring: Ring) -> RingAttr:
        return RingAttr(
            _ints(ring.grid.shape),
            _ints(ring.grid.cores or ()),
            IntAttr(ring.size),
            AffineMapAttr(ring.next),
        )

    @property
    def ring(self) -> Ring:
        return Ring(_grid(self.grid_shape, self.cores), self.size.data, self.next.data)

    def verify(self) -> None:
        _check(self.ring.check(), "ring")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            _parse_key(parser, "grid")
            grid = _parse_ints(parser)
            parser.parse_punctuation(",")
            _parse_key(parser, "size")
            size = parser.parse_integer(allow_boolean=False)
            parser.parse_punctuation(",")
            _parse_key(parser, "next")
            next_map = _parse_map(parser)
            cores: list[int] = []
            if parser.parse_optional_punctuation(","):
                cores = _parse_cores(parser)
        return (_ints(grid), _ints(cores), IntAttr(size), next_map)

    def print_parameters(self, printer: Printer) -> None:
        ring = self.ring
        printer.print_string(
            f"<grid = {list(ring.grid.shape)}, size = {ring.size}, next = "
        )
        printer.print_attribute(self.next)
        printer.print_string(f"{_print_cores(ring.grid)}>")


# --------------------------------------------------------------------------------------
# The buffer type.
# --------------------------------------------------------------------------------------

ELEMENT_BYTES: dict[Attribute, int] = {f16: 2, f32: 4, f64: 8, i1: 1, i32: 4, i64: 8}
"""The element types a buffer may hold, and their width in bytes."""

COMBINE_KINDS = tuple(COMBINER_IDENTITY)
"""How partial results meeting in one element are combined."""

FLOAT_TYPES: dict[Attribute, str] = {f16: "f16", f32: "f32", f64: "f64"}
"""The float element types, by the names machine descriptions give them."""


def is_accumulator(buffer: Attribute, narrow: Attribute) -> bool:
    """Whether elements of type `buffer` accumulate values of type `narrow`: both
    floats, `buffer` the wider. A kernel yielding `narrow` tiles into such a buffer
    keeps its float values in the buffer's type (nothing is rounded to `narrow`), and
    a redistribution from it into a `narrow` buffer rounds once, as it writes."""
    return (
        buffer in FLOAT_TYPES
        and narrow in FLOAT_TYPES
        and ELEMENT_BYTES[buffer] > ELEMENT_BYTES[narrow]
    )


def _buffer_problems(shape: Sequence[int], element_type: Attribute) -> list[str]:
    problems: list[str] = []
    if element_type not in ELEMENT_BYTES:
        problems.append(
            f"elements must be f16, f32, f64, i1, i32 or i64, got {element_type}"
        )
    if any(s < 1 for s in shape):
        dims = "x".join("?" if s == DYNAMIC_INDEX else str(s) for s in shape)
        problems.append(f"extents must be static and >= 1, got {dims}")
    return problems


@irdl_attr_definition
class BufferType(ParametrizedAttribute, TypeAttribute, ShapedType, ContainerType):
    """One buffer of a static shape on every core of a grid (per-core SRAM)."""

    name = "core.buffer"

    shape: ArrayAttr[IntAttr]
    element_type: Attribute

    def __init__(self, element_type: Attribute, shape: Sequence[int]):
        super().__init__(_ints(shape), element_type)

    def get_num_dims(self) -> int:
        return len(self.shape)

    def get_shape(self) -> tuple[int, ...]:
        return _values(self.shape)

    def get_element_type(self) -> Attribute:
        return self.element_type

    @property
    def bytes_per_core(self) -> int:
        return math.prod(self.get_shape()) * ELEMENT_BYTES[self.element_type]

    def verify(self) -> None:
        _check(_buffer_problems(self.get_shape(), self.element_type), "buffer")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> Sequence[Attribute]:
        with parser.in_angle_brackets():
            start = parser.pos
            shape, element_type = parser.parse_ranked_shape()
            problems = _buffer_problems(shape, element_type)
            if problems:
                parser.raise_error(f"invalid buffer: {'; '.join(problems)}", start)
        return (_ints(shape), element_type)

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_string("".join(f"{s}x" for s in self.get_shape()))
            printer.print_attribute(self.element_type)


def _buffer(value: SSAValue) -> BufferType:
    assert isinstance(value.type, BufferType), "checked by the operand constraint"
    return value.type


# --------------------------------------------------------------------------------------
# Shared verification.
# --------------------------------------------------------------------------------------


def check_combine(combine: StringAttr | None) -> None:
    if combine is not None and combine.data not in COMBINE_KINDS:
        raise VerifyException(
            f"combine must be one of {', '.join(COMBINE_KINDS)}, got '{combine.data}'"
        )


def _check_step_indices(op: Operation, values: Sequence[SSAValue]) -> None:
    """`at` operands are step indices of enclosing `core.steps`: the only values the
    interpreter knows at run time."""
    for number, value in enumerate(values):
        loop = value.block.parent_op() if isinstance(value, BlockArgument) else None
        if not isinstance(loop, StepsOp) or not loop.is_ancestor(op):
            raise VerifyException(
                f"`at` operand #{number} must be the step index of an enclosing "
                "core.steps"
            )


def check_map(
    what: str, amap: AffineMap, dims: int, symbols: int, results: int
) -> None:
    if (amap.num_dims, amap.num_symbols, len(amap.results)) != (dims, symbols, results):
        raise VerifyException(
            f"{what} map {amap} must take the {dims} grid digits and {symbols} `at` "
            f"symbols and give {results} results (the buffer's rank)"
        )


def _check_window(
    what: str, buffer: BufferType, tensor: Attribute, accumulated: bool = False
) -> None:
    """A kernel's window of `buffer` is a tensor of its elements that fits in it; an
    `accumulated` one (the yielded tile) may also be of a narrower float type than an
    accumulator buffer (`is_accumulator`)."""
    if not isinstance(tensor, TensorType) or tensor.get_num_dims() != len(buffer.shape):
        raise VerifyException(
            f"{what} must be a rank-{len(buffer.shape)} tensor like its buffer "
            f"{buffer}, got {tensor}"
        )
    element = tensor.get_element_type()
    if element != buffer.element_type and not (
        accumulated and is_accumulator(buffer.element_type, element)
    ):
        raise VerifyException(
            f"{what} has {tensor.get_element_type()} elements, its buffer "
            f"{buffer.element_type}"
        )
    shape, room = tensor.get_shape(), buffer.get_shape()
    if any(not 1 <= s <= r for s, r in zip(shape, room, strict=True)):
        raise VerifyException(
            f"{what} shape {list(shape)} does not fit in its buffer {list(room)}"
        )


# --------------------------------------------------------------------------------------
# Custom directives.
# --------------------------------------------------------------------------------------


@irdl_custom_directive
class FloatValue(CustomDirective):
    """An f64 `FloatAttr` as a bare number, `inf`, `-inf` or `nan` (the builtin syntax
    spells them in hex)."""

    value: AttributeVariable

    def parse(self, parser: Parser, state: ParsingState) -> None:
        self.value.set(state, FloatAttr(_parse_float(parser), f64))

    def print(self, printer: Printer, state: PrintingState, op: IRDLOperation) -> None:
        value = self.value.get(op)
        assert isinstance(value, FloatAttr)
        state.print_whitespace(printer)
        printer.print_string(_format_float(value.value.data))


@irdl_custom_directive
class SameType(CustomDirective):
    """The type of two operands, printed once when they agree (the verifier checks that
    they do; differing types still round-trip as `first, second`)."""

    first: TypeDirective
    second: TypeDirective

    def parse(self, parser: Parser, state: ParsingState) -> None:
        first = parser.parse_type()
        second = (
            parser.parse_type() if parser.parse_optional_punctuation(",") else first
        )
        self.first.set(state, (first,))
        self.second.set(state, (second,))

    def print(self, printer: Printer, state: PrintingState, op: IRDLOperation) -> None:
        (first,), (second,) = self.first.get(op), self.second.get(op)
        state.print_whitespace(printer)
        printer.print_attribute(first)
        if second != first:
            printer.print_string(", ")
            printer.print_attribute(second)


# --------------------------------------------------------------------------------------
# Ops.
# --------------------------------------------------------------------------------------


@irdl_op_definition
class AllocOp(IRDLOperation):
    """A buffer on every core of `grid`."""

    name = "core.alloc"

    grid = prop_def(GridAttr)
    buffer = result_def(BufferType)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "`on` qualified($grid) attr-dict `:` type($buffer)"

    def __init__(self, grid: Grid, buffer_type: BufferType):
        super().__init__(
            properties={"grid": GridAttr.of(grid)}, result_types=[buffer_type]
        )


@irdl_op_definition
class FreeOp(IRDLOperation):
    """The end of a buffer's life: its bytes are free for later allocations."""

    name = "core.free"

    buffer = operand_def(BufferType)

    assembly_format = "$buffer attr-dict `:` type($buffer)"

    def __init__(self, buffer: SSAValue | Operation):
        super().__init__(operands=[buffer])


@irdl_op_definition
class FillOp(IRDLOperation):
    """Every element of the buffer on every core becomes `value` (the padding of a
    layout, the start of an accumulation)."""

    name = "core.fill"

    buffer = operand_def(BufferType)
    value = prop_def(FloatAttr[Float64Type])

    irdl_options = (ParsePropInAttrDict(),)
    custom_directives = (FloatValue,)
    assembly_format = (
        "$buffer `,` custom<FloatValue>($value) attr-dict `:` type($buffer)"
    )

    def __init__(self, buffer: SSAValue | Operation, value: float):
        super().__init__(operands=[buffer], properties={"value": FloatAttr(value, f64)})

    def verify_(self) -> None:
        value, element = self.value.value.data, _buffer(self.buffer).element_type
        if isinstance(element, IntegerType) and not float(value).is_integer():
            raise VerifyException(f"cannot fill a buffer of {element} with {value}")


@irdl_op_definition
class YieldOp(IRDLOperation):
    """Ends a step body (no operands) or a kernel body (the kernel's result tile)."""

    name = "core.yield"

    values = var_operand_def()

    traits = lazy_traits_def(lambda: (IsTerminator(), HasParent(StepsOp, KernelOp)))
    assembly_format = "attr-dict ($values^ `:` type($values))?"

    def __init__(self, *values: SSAValue | Operation):
        super().__init__(operands=[values])


@irdl_op_definition
class StepsOp(IRDLOperation):
    """The body once per step `0 <= s < count`, in order: the temporal loop whose index
    selects the windows kernels read and the cores shifts move."""

    name = "core.steps"

    count = prop_def(IntegerAttr[I64])
    body = region_def("single_block")

    traits = traits_def(SingleBlockImplicitTerminator(YieldOp))

    def __init__(self, count: int, body: Region | None = None):
        if body is None:
            body = Region(Block(arg_types=[IndexType()]))
        super().__init__(properties={"count": IntegerAttr(count, i64)}, regions=[body])

    @property
    def index(self) -> BlockArgument:
        return self.body.block.args[0]

    def verify_(self) -> None:
        if self.count.value.data < 1:
            raise VerifyException(
                f"step count must be >= 1, got {self.count.value.data}"
            )
        if [a.type for a in self.body.block.args] != [IndexType()]:
            raise VerifyException("the steps body takes exactly the step index (index)")
        terminator = self.body.block.last_op
        if isinstance(terminator, YieldOp) and terminator.values:
            raise VerifyException("core.yield of a steps body takes no operands")

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_ssa_value(self.index)
        printer.print_string(f" = 0 to {self.count.value.data} ")
        printer.print_region(
            self.body,
            print_entry_block_args=False,
            print_empty_block=False,
            print_block_terminators=False,
        )
        printer.print_op_attributes(self.attributes)

    @classmethod
    def parse(cls, parser: Parser) -> StepsOp:
        index = parser.parse_argument(expect_type=False)
        parser.parse_punctuation("=")
        start = parser.pos
        if parser.parse_integer(allow_boolean=False) != 0:
            parser.raise_error("steps count from 0", start, parser.pos)
        parser.parse_keyword("to")
        count = parser.parse_integer(allow_boolean=False)
        body = parser.parse_region((index.resolve(IndexType()),))
        op = cls(count, body)
        op.attributes |= parser.parse_optional_attr_dict()
        for trait in op.get_traits_of_type(SingleBlockImplicitTerminator):
            ensure_terminator(op, trait)
        return op


@irdl_op_definition
class KernelOp(IRDLOperation):
    """The body (a sub-operator of `top` ops) on every core of `grid`: block argument
    `i` is the window of the core's `ins[i]` at origin `windows[i](digits)[at]`, shaped
    like the argument; the yielded tile goes into `out` at `out_window(digits)[at]`,
    replacing what is there or, with `combine`, combined with it."""

    name = "core.kernel"

    ins = var_operand_def(BufferType)
    out = operand_def(BufferType)
    at = var_operand_def(IndexType)

    grid = prop_def(GridAttr)
    windows = prop_def(ArrayAttr[AffineMapAttr])
    out_window = prop_def(AffineMapAttr)
    combine = opt_prop_def(StringAttr)

    body = region_def("single_block")

    traits = traits_def(IsolatedFromAbove())
    irdl_options = (AttrSizedOperandSegments(as_property=True), ParsePropInAttrDict())
    assembly_format = (
        "`on` qualified($grid) `ins` `(` ($ins^ `:` type($ins))? `)` "
        "`outs` `(` $out `:` type($out) `)` `windows` $windows `output` $out_window "
        "(`at` `(` $at^ `)`)? (`combine` $combine^)? $body attr-dict"
    )

    def __init__(
        self,
        grid: Grid,
        ins: Sequence[SSAValue | Operation],
        out: SSAValue | Operation,
        windows: Sequence[AffineMap],
        out_window: AffineMap,
        at: Sequence[SSAValue | Operation],
        body: Region,
        combine: str | None = None,
    ):
        super().__init__(
            operands=[ins, [out], at],
            properties={
                "grid": GridAttr.of(grid),
                "windows": ArrayAttr(AffineMapAttr(m) for m in windows),
                "out_window": AffineMapAttr(out_window),
                "combine": StringAttr(combine) if combine is not None else None,
            },
            regions=[body],
        )

    def verify_(self) -> None:
        check_combine(self.combine)
        _check_step_indices(self, self.at)
        rank, symbols = len(self.grid.shape), len(self.at)
        args = self.body.block.args
        if not len(self.windows) == len(self.ins) == len(args):
            raise VerifyException(
                f"a kernel needs one window map and one block argument per input: "
                f"{len(self.ins)} inputs, {len(self.windows)} windows, "
                f"{len(args)} block arguments"
            )
        for number, (value, window, arg) in enumerate(
            zip(self.ins, self.windows, args, strict=True)
        ):
            buffer = _buffer(value)
            check_map(
                f"window #{number}", window.data, rank, symbols, len(buffer.shape)
            )
            _check_window(f"window #{number}", buffer, arg.type)
        out = _buffer(self.out)
        check_map("output", self.out_window.data, rank, symbols, len(out.shape))
        terminator = self.body.block.last_op
        if not isinstance(terminator, YieldOp) or len(terminator.values) != 1:
            raise VerifyException("a kernel body must end in core.yield of one tensor")
        _check_window(
            "the yielded tile", out, terminator.values[0].type, accumulated=True
        )


@irdl_op_definition
class ShiftOp(IRDLOperation):
    """Rotation along `ring`: every core of the ring's grid where `when(digits)[at]` is
    all zeros (every core, without `when`) receives `buf` from core
    `ring.sources(by)`, through its `scratch` receive buffer."""

    name = "core.shift"

    buf = operand_def(BufferType)
    scratch = operand_def(BufferType)
    at = var_operand_def(IndexType)

    ring = prop_def(RingAttr)
    by = prop_def(IntegerAttr[I64])
    when = opt_prop_def(AffineMapAttr)

    irdl_options = (ParsePropInAttrDict(),)
    custom_directives = (SameType,)
    assembly_format = (
        "$buf `via` $scratch `around` qualified($ring) `by` $by (`when` $when^)? "
        "(`at` `(` $at^ `)`)? attr-dict `:` custom<SameType>(type($buf), type($scratch))"
    )

    def __init__(
        self,
        buf: SSAValue | Operation,
        scratch: SSAValue | Operation,
        ring: Ring,
        by: int = 1,
        when: AffineMap | None = None,
        at: Sequence[SSAValue | Operation] = (),
    ):
        super().__init__(
            operands=[buf, scratch, at],
            properties={
                "ring": RingAttr.of(ring),
                "by": IntegerAttr(by, i64),
                "when": AffineMapAttr(when) if when is not None else None,
            },
        )

    def verify_(self) -> None:
        if self.scratch.type != self.buf.type:
            raise VerifyException(
                f"the scratch buffer {self.scratch.type} must have the shifted "
                f"buffer's type {self.buf.type}"
            )
        _check_step_indices(self, self.at)
        if self.when is None:
            if self.at:
                raise VerifyException("`at` operands need a `when` map")
            return
        when, rank = self.when.data, len(self.ring.grid_shape)
        if when.num_dims != rank or when.num_symbols != len(self.at):
            raise VerifyException(
                f"the when map {when} must take the {rank} grid digits and "
                f"{len(self.at)} `at` symbols"
            )


@irdl_op_definition
class RedistributeOp(IRDLOperation):
    """A tensor moves from layout `src_layout` (pieces in `src`) to `dst_layout` (pieces
    in `dst`): every destination element is the tensor's element from a core holding it
    in `src_layout` (replicas agree) or, with `combine`, the combination of every core's
    copy (partial results). A `src` of a wider float type than `dst` is an accumulator
    (`is_accumulator`): its elements are combined in its type and rounded to `dst`'s
    once, as they are written."""

    name = "core.redistribute"

    src = operand_def(BufferType)
    dst = operand_def(BufferType)

    src_layout = prop_def(LayoutAttr)
    dst_layout = prop_def(LayoutAttr)
    combine = opt_prop_def(StringAttr)

    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = (
        "$src `to` $dst `from` qualified($src_layout) `to` qualified($dst_layout) "
        "(`combine` $combine^)? attr-dict `:` type($src) `,` type($dst)"
    )

    def __init__(
        self,
        src: SSAValue | Operation,
        dst: SSAValue | Operation,
        src_layout: Layout,
        dst_layout: Layout,
        combine: str | None = None,
    ):
        super().__init__(
            operands=[src, dst],
            properties={
                "src_layout": LayoutAttr.of(src_layout),
                "dst_layout": LayoutAttr.of(dst_layout),
                "combine": StringAttr(combine) if combine is not None else None,
            },
        )

    def verify_(self) -> None:
        check_combine(self.combine)
        src, dst = self.src_layout.layout, self.dst_layout.layout
        if src.shape != dst.shape:
            raise VerifyException(
                f"the layouts are of different tensors: {list(src.shape)} and "
                f"{list(dst.shape)}"
            )
        for what, value, layout in (("src", self.src, src), ("dst", self.dst, dst)):
            shape = _buffer(value).get_shape()
            if shape != layout.piece:
                raise VerifyException(
                    f"the {what} buffer has shape {list(shape)}, its layout's piece "
                    f"is {list(layout.piece)}"
                )
        src_type, dst_type = (
            _buffer(self.src).element_type,
            _buffer(self.dst).element_type,
        )
        if src_type != dst_type and not is_accumulator(src_type, dst_type):
            raise VerifyException(
                f"element types differ: {self.src.type} and {self.dst.type} (only an "
                "accumulator, a wider float, may be written to a narrower one)"
            )


@irdl_op_definition
class SyncOp(IRDLOperation):
    """The barrier ending a bulk-synchronous superstep."""

    name = "core.sync"

    assembly_format = "attr-dict"

    def __init__(self):
        super().__init__()


Core = Dialect(
    "core",
    [
        AllocOp,
        FreeOp,
        FillOp,
        StepsOp,
        YieldOp,
        KernelOp,
        ShiftOp,
        RedistributeOp,
        SyncOp,
    ],
    [GridAttr, LayoutAttr, RingAttr, BufferType],
)
