"""The `core` dialect: a Cannon matmul using every op parses, verifies and round-trips
through its printed form, the builders print the same program, and each verifier rejects
a broken op with a message that says what is wrong."""

from __future__ import annotations

import re

import pytest
from xdsl.dialects.builtin import ModuleOp, TensorType, f16, f32, f64, i32, i64
from xdsl.ir import Attribute, Block, Region
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError, VerifyException

from t10ir.context import make_context
from t10ir.dialects import core
from t10ir.dialects.top import MatmulOp
from t10ir.planning.layout import Grid, Layout, Ring, const, dim, evaluate_checked, sym

FLAT = (
    "#core.layout<[8, 8], piece = [16], grid = [4], "
    "origin = affine_map<(d0) -> (d0 * 16)>, flat>"
)
A_SKEWED = (
    "#core.layout<[8, 8], piece = [4, 4], grid = [2, 2], "
    "origin = affine_map<(d0, d1) -> (d0 * 4, ((d0 + d1) mod 2) * 4)>>"
)
B_SKEWED = (
    "#core.layout<[8, 8], piece = [4, 4], grid = [2, 2], "
    "origin = affine_map<(d0, d1) -> (((d0 + d1) mod 2) * 4, d1 * 4)>>"
)
BLOCKS = (
    "#core.layout<[8, 8], piece = [4, 4], grid = [2, 2], "
    "origin = affine_map<(d0, d1) -> (d0 * 4, d1 * 4)>>"
)
ROW_RING = (
    "#core.ring<grid = [2, 2], size = 2, "
    "next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod 2)>>"
)
COLUMN_RING = (
    "#core.ring<grid = [2, 2], size = 2, "
    "next = affine_map<(d0, d1) -> ((d0 + 1) mod 2, d1)>>"
)
ORIGIN = "affine_map<(d0, d1)[s0] -> (0, 0)>"
BUF = "!core.buffer<4x4xf32>"
TILE = "tensor<4x4xf32>"

CANNON = f"""
func.func @cannon(%x: !core.buffer<16xf32>, %w: !core.buffer<16xf32>,
                  %y: !core.buffer<16xf32>) {{
  %a = core.alloc on #core.grid<[2, 2]> : {BUF}
  %b = core.alloc on #core.grid<[2, 2]> : {BUF}
  %c = core.alloc on #core.grid<[2, 2]> : {BUF}
  %ta = core.alloc on #core.grid<[2, 2]> : {BUF}
  %tb = core.alloc on #core.grid<[2, 2]> : {BUF}
  core.redistribute %x to %a from {FLAT} to {A_SKEWED} : !core.buffer<16xf32>, {BUF}
  core.redistribute %w to %b from {FLAT} to {B_SKEWED} : !core.buffer<16xf32>, {BUF}
  core.fill %c, 0.0 : {BUF}
  core.sync
  core.steps %s = 0 to 2 {{
    core.kernel on #core.grid<[2, 2]> ins(%a, %b : {BUF}, {BUF}) outs(%c : {BUF})
        windows [{ORIGIN}, {ORIGIN}] output {ORIGIN} at(%s) combine "sum" {{
    ^bb0(%p: {TILE}, %q: {TILE}):
      %r = top.matmul %p, %q : ({TILE}, {TILE}) -> {TILE}
      core.yield %r : {TILE}
    }}
    core.shift %a via %ta around {ROW_RING} by 1
        when affine_map<(d0, d1)[s0] -> (s0)> at(%s) : {BUF}
    core.shift %b via %tb around {COLUMN_RING} by -1 : {BUF}
    core.sync
  }}
  core.redistribute %c to %y from {BLOCKS} to {FLAT} : {BUF}, !core.buffer<16xf32>
  core.sync
  core.free %a : {BUF}
  core.free %b : {BUF}
  core.free %c : {BUF}
  core.free %ta : {BUF}
  core.free %tb : {BUF}
  func.return
}}
"""


def parse(text: str) -> ModuleOp:
    return Parser(make_context(), text).parse_module()


def round_trip(text: str) -> str:
    """The verified module's printed form, checked to print the same when re-parsed."""
    module = parse(text)
    module.verify()
    printed = str(module)
    reparsed = parse(printed)
    reparsed.verify()
    assert str(reparsed) == printed
    return printed


def test_cannon_program_round_trips():
    printed = round_trip(CANNON)
    module = parse(printed)
    kinds = {type(op) for op in module.walk()}
    assert set(core.Core.operations) <= kinds
    steps = next(op for op in module.walk() if isinstance(op, core.StepsOp))
    assert steps.count.value.data == 2
    kernel = next(op for op in module.walk() if isinstance(op, core.KernelOp))
    assert kernel.at[0] is steps.index
    assert kernel.combine is not None and kernel.combine.data == "sum"
    assert isinstance(kernel.body.block.first_op, MatmulOp)
    shifts = [op for op in module.walk() if isinstance(op, core.ShiftOp)]
    assert [s.by.value.data for s in shifts] == [1, -1]
    assert shifts[1].when is None
    # The steps body's terminator is implicit in the text.
    assert "core.yield\n" not in printed


def test_builders_print_the_parsed_program():
    grid = Grid((2, 2))
    buffer = core.BufferType(f32, (2, 2))
    flat = Layout((4, 4), (8,), Grid((2,)), AffineMap(1, 0, (dim(0) * 8,)), flat=True)
    blocks = Layout(
        (4, 4), (2, 2), grid, AffineMap(2, 0, (dim(0) * 2, dim(1) * 2)), padding=-1.0
    )
    ring = Ring(grid, 2, AffineMap(2, 0, (dim(0), (dim(1) + 1) % 2)))
    origin = AffineMap(2, 1, (const(0), const(0)))

    module = ModuleOp([])
    x = core.AllocOp(Grid((2,)), core.BufferType(f32, (8,)))
    a, t = core.AllocOp(grid, buffer), core.AllocOp(grid, buffer)
    steps = core.StepsOp(2)
    tile = TensorType(f32, (2, 2))
    body = Block(arg_types=[tile])
    matmul = MatmulOp(body.args[0], body.args[0])
    body.add_ops([matmul, core.YieldOp(matmul)])
    steps.body.block.add_ops(
        [
            core.KernelOp(grid, [a], a, [origin], origin, [steps.index], Region(body)),
            core.ShiftOp(a, t, ring, -1, AffineMap(2, 1, (sym(0),)), [steps.index]),
            core.SyncOp(),
            core.YieldOp(),
        ]
    )
    module.body.block.add_ops(
        [
            x,
            a,
            t,
            core.FillOp(x, float("-inf")),
            core.RedistributeOp(x, a, flat, blocks, "max"),
            steps,
            core.FreeOp(a),
        ]
    )
    module.verify()
    printed = round_trip(str(module))
    assert "core.fill %0, -inf : !core.buffer<8xf32>" in printed
    assert "padding = -1.0" in printed
    assert "by -1 when affine_map<(d0, d1)[s0] -> (s0)> at(%" in printed
    assert 'combine "max"' in printed


@pytest.mark.parametrize(
    ("text", "element", "shape", "bytes_per_core"),
    [
        ("!core.buffer<16x16xf32>", f32, (16, 16), 1024),
        ("!core.buffer<f32>", f32, (), 4),
        ("!core.buffer<3xf16>", f16, (3,), 6),
        ("!core.buffer<2x2xf64>", f64, (2, 2), 32),
        ("!core.buffer<5xi32>", i32, (5,), 20),
        ("!core.buffer<5xi64>", i64, (5,), 40),
    ],
)
def test_buffer_type(
    text: str, element: Attribute, shape: tuple[int, ...], bytes_per_core: int
):
    buffer = Parser(make_context(), text).parse_type()
    assert buffer == core.BufferType(element, shape)
    assert str(buffer) == text
    assert buffer.bytes_per_core == bytes_per_core


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "!core.buffer<4xi8>",
            "elements must be f16, f32, f64, i1, i32 or i64, got i8",
        ),
        ("!core.buffer<?x4xf32>", "extents must be static and >= 1, got ?x4"),
    ],
)
def test_buffer_type_rejects(text: str, message: str):
    with pytest.raises(ParseError, match=re.escape(f"invalid buffer: {message}")):
        Parser(make_context(), text).parse_type()


@pytest.mark.parametrize(
    ("written", "printed"),
    [("-inf", "-inf"), ("inf", "inf"), ("0", "0.0"), ("-2.5", "-2.5")],
)
def test_fill_values_round_trip(written: str, printed: str):
    text = round_trip(
        f"func.func @f(%b: {BUF}) {{\n  core.fill %b, {written} : {BUF}\n"
        "  func.return\n}"
    )
    assert f"core.fill %b, {printed} : {BUF}" in text


def test_fill_tiny_value_prints_a_float_literal():
    module = ModuleOp([])
    buffer = core.AllocOp(Grid((1,)), core.BufferType(f64, (1,)))
    module.body.block.add_ops([buffer, core.FillOp(buffer, 1e-5)])
    assert "core.fill %0, 1.0e-05 :" in round_trip(str(module))


def kernel(
    windows: str = f"[{ORIGIN}]",
    tile: str = TILE,
    result: str = f"%p : {TILE}",
    extra: str = "",
) -> str:
    return (
        f"core.kernel on #core.grid<[2, 2]> ins(%a : {BUF}) outs(%a : {BUF}) "
        f"windows {windows} output {ORIGIN} at(%s) {extra}{{\n"
        f"^bb0(%p: {tile}):\n  core.yield {result}\n}}"
    )


def shift(scratch: str = "%t", when: str = "", types: str = BUF) -> str:
    return f"core.shift %a via {scratch} around {ROW_RING} by 1 {when}: {types}"


def redistribute(dst: str, src_layout: str, dst_layout: str, types: str) -> str:
    return f"core.redistribute %a to {dst} from {src_layout} to {dst_layout} : {types}"


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (
            kernel(windows="[affine_map<(d0)[s0] -> (0, 0)>]"),
            r"window #0 map \(d0\)\[s0\] -> \(0, 0\) must take the 2 grid digits and "
            r"1 `at` symbols and give 2 results \(the buffer's rank\)",
        ),
        (
            kernel(windows="[affine_map<(d0, d1)[s0] -> (0)>]"),
            "window #0 map .* give 2 results",
        ),
        (
            kernel(windows=f"[{ORIGIN}, {ORIGIN}]"),
            "one window map and one block argument per input: 1 inputs, 2 windows",
        ),
        (
            kernel(tile="tensor<8x4xf32>", result="%p : tensor<8x4xf32>"),
            r"window #0 shape \[8, 4\] does not fit in its buffer \[4, 4\]",
        ),
        (
            kernel(tile="tensor<4x4xf16>", result="%p : tensor<4x4xf16>"),
            "window #0 has f16 elements, its buffer f32",
        ),
        (kernel(extra='combine "mean" '), "combine must be one of sum, max, min"),
        (kernel(result=""), "a kernel body must end in core.yield of one tensor"),
        (
            kernel(result=f"%a : {BUF}"),
            "value defined out of its IsolatedFromAbove parent",
        ),
        (
            shift(scratch="%u", types=f"{BUF}, !core.buffer<2x2xf32>"),
            r"the scratch buffer !core.buffer<2x2xf32> must have the shifted "
            r"buffer's type !core.buffer<4x4xf32>",
        ),
        (
            shift(when="when affine_map<(d0) -> (d0)> "),
            "the when map .* must take the 2 grid digits and 0 `at` symbols",
        ),
        (shift(when="at(%s) "), "`at` operands need a `when` map"),
        (
            "%i = arith.constant 0 : index\n"
            + shift(when="when affine_map<(d0, d1)[s0] -> (s0)> at(%i) "),
            "`at` operand #0 must be the step index of an enclosing core.steps",
        ),
        (
            redistribute("%u", BLOCKS, A_SKEWED, f"{BUF}, !core.buffer<2x2xf32>"),
            r"the dst buffer has shape \[2, 2\], its layout's piece is \[4, 4\]",
        ),
        (
            redistribute("%t", FLAT, A_SKEWED, f"{BUF}, {BUF}"),
            r"the src buffer has shape \[4, 4\], its layout's piece is \[16\]",
        ),
        (
            redistribute(
                "%t", BLOCKS, BLOCKS.replace("[8, 8]", "[8, 6]"), f"{BUF}, {BUF}"
            ),
            r"the layouts are of different tensors: \[8, 8\] and \[8, 6\]",
        ),
        (
            redistribute("%w", BLOCKS, BLOCKS, f"{BUF}, !core.buffer<4x4xf64>"),
            "element types differ",
        ),
        ("core.fill %n, -inf : !core.buffer<3xi32>", "cannot fill a buffer of i32"),
        ("core.steps %r = 0 to 0 {\n}", "step count must be >= 1, got 0"),
    ],
)
def test_verifiers_reject(op: str, message: str):
    text = (
        f"func.func @f(%a: {BUF}, %t: {BUF}, %u: !core.buffer<2x2xf32>, "
        f"%h: !core.buffer<4x4xf16>, %n: !core.buffer<3xi32>, "
        f"%w: !core.buffer<4x4xf64>) {{\n"
        f"  core.steps %s = 0 to 2 {{\n{op}\n  }}\n  func.return\n}}"
    )
    module = parse(text)
    with pytest.raises(VerifyException, match=message):
        module.verify()


def test_steps_count_from_zero():
    with pytest.raises(ParseError, match="steps count from 0"):
        parse("core.steps %s = 1 to 3 {\n}")


def test_a_map_whose_int64_value_wraps_is_not_evaluated() -> None:
    """int64 multiplication wraps silently: `(d0 * 2^40) * 2^40` is 0 on every core in
    int64, so the map is refused rather than evaluated; an exact map keeps its value."""
    d0 = AffineExpr.dimension(0)
    grid = Grid((3,))
    assert evaluate_checked(AffineMap(1, 0, ((d0 * 2**40) * 2**40,)), grid) is None
    assert evaluate_checked(AffineMap(1, 0, (d0 // 0,)), grid) is None
    exact = evaluate_checked(AffineMap(1, 0, (d0 * 4 + 1,)), grid)
    assert exact is not None and exact.ravel().tolist() == [1, 5, 9]
