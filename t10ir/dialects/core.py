"""The `core` dialect: the per-core SPMD program the simulated chip runs.

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

from xdsl.dialects.builtin import AffineMapAttr, ArrayAttr, FloatData, IntAttr
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute
from xdsl.irdl import irdl_attr_definition
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from t10ir.layout import Grid, Layout, Ring


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
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def _parse_float(parser: AttrParser) -> float:
    negative = parser.parse_optional_punctuation("-") is not None
    if parser.parse_optional_keyword("inf") is not None:
        value = math.inf
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
    """The logical cores of an op (`t10ir.layout.Grid`)."""

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
    """Which box of a tensor every core holds (`t10ir.layout.Layout`)."""

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
    """Who every core receives from when pieces rotate (`t10ir.layout.Ring`)."""

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


