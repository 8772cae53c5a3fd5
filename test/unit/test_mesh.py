"""The mesh interpreter on hand-written core programs: results against plain numpy,
exchange counts against element-by-element counting, SRAM peaks against the buffers
live at once, the located diagnostics, and every batched `top` kernel against the
reference interpreter run core by core."""

from __future__ import annotations

import dataclasses
import re
from itertools import product

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp

from t10ir.context import make_context
from t10ir.dialects import core
from t10ir.dialects.rtensor import set_machine
from t10ir.errors import T10Error
from t10ir.interp import batched, reference
from t10ir.interp.mesh import run_core_function, scatter_inputs
from t10ir.module_io import LocatingParser
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.planning.layout import Layout
from t10ir.target.machine import Machine

FILE = "test.mlir"


def machine(cores: int = 16, sram_bytes: int = 4096) -> Machine:
    return Machine("test", cores, sram_bytes, 1e9, 4, 10)


def parse(text: str) -> ModuleOp:
    module = LocatingParser(make_context(), text, FILE).parse_module()
    module.verify()
    return module


def parse_func(text: str) -> func.FuncOp:
    (function,) = [op for op in parse(text).ops if isinstance(op, func.FuncOp)]
    return function


def layout(
    shape: list[int], piece: list[int], grid: list[int], origin: str, extra: str = ""
) -> str:
    return (
        f"#core.layout<{shape}, piece = {piece}, grid = {grid}, "
        f"origin = affine_map<{origin}>{extra}>"
    )


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of the only line of `text` containing `fragment`."""
    (number,) = [i + 1 for i, line in enumerate(text.splitlines()) if fragment in line]
    return number


# --- Cannon's matmul ----------------------------------------------------------------


def cannon(n: int, b: int) -> str:
    """C = X @ W on an n x n grid of b x b blocks: skewed starts, n steps of a block
    matmul accumulating into C while X rotates along rows and W along columns."""
    size, flat = n * b, b * b
    flat_layout = layout(
        [size, size], [flat], [n * n], f"(d0) -> (d0 * {flat})", ", flat"
    )
    skew_x = layout(
        [size, size],
        [b, b],
        [n, n],
        f"(d0, d1) -> (d0 * {b}, ((d0 + d1) mod {n}) * {b})",
    )
    skew_w = layout(
        [size, size],
        [b, b],
        [n, n],
        f"(d0, d1) -> (((d0 + d1) mod {n}) * {b}, d1 * {b})",
    )
    blocks = layout([size, size], [b, b], [n, n], f"(d0, d1) -> (d0 * {b}, d1 * {b})")
    rows = f"#core.ring<grid = [{n}, {n}], size = {n}, next = affine_map<(d0, d1) -> (d0, (d1 + 1) mod {n})>>"
    cols = f"#core.ring<grid = [{n}, {n}], size = {n}, next = affine_map<(d0, d1) -> ((d0 + 1) mod {n}, d1)>>"
    grid = f"#core.grid<[{n}, {n}]>"
    buf, fbuf, tile = (
        f"!core.buffer<{b}x{b}xf32>",
        f"!core.buffer<{flat}xf32>",
        f"tensor<{b}x{b}xf32>",
    )
    zero = "affine_map<(d0, d1)[s0] -> (0, 0)>"
    return f"""\
func.func @cannon(%x: {fbuf} {{core.layout = {flat_layout}}}, %w: {fbuf} {{core.layout = {flat_layout}}}) -> ({fbuf} {{core.layout = {flat_layout}}}) {{
  %a = core.alloc on {grid} : {buf}
  %b = core.alloc on {grid} : {buf}
  %c = core.alloc on {grid} : {buf}
  %ta = core.alloc on {grid} : {buf}
  %tb = core.alloc on {grid} : {buf}
  %y = core.alloc on #core.grid<[{n * n}]> : {fbuf}
  core.redistribute %x to %a from {flat_layout} to {skew_x} : {fbuf}, {buf}
  core.redistribute %w to %b from {flat_layout} to {skew_w} : {fbuf}, {buf}
  core.fill %c, 0.0 : {buf}
  core.sync
  core.steps %s = 0 to {n} {{
    core.kernel on {grid} ins(%a, %b : {buf}, {buf}) outs(%c : {buf}) windows [{zero}, {zero}] output {zero} at(%s) combine "sum" {{
    ^bb0(%p: {tile}, %q: {tile}):
      %r = top.matmul %p, %q : ({tile}, {tile}) -> {tile}
      core.yield %r : {tile}
    }}
    core.shift %a via %ta around {rows} by 1 : {buf}
    core.shift %b via %tb around {cols} by 1 : {buf}
    core.sync
  }}
  core.redistribute %c to %y from {blocks} to {flat_layout} : {buf}, {fbuf}
  core.sync
  core.free %a : {buf}
  core.free %b : {buf}
  core.free %c : {buf}
  core.free %ta : {buf}
  core.free %tb : {buf}
  func.return %y : {fbuf}
}}
"""


def received_by_counting(src: Layout, dst: Layout, cores: int) -> np.ndarray:
    """Per physical core, the tensor elements its destination piece holds that no
    source piece on the same physical core holds: one element at a time."""

    def boxes(layout_: Layout) -> list[tuple[int, set[int]]]:
        result = []
        for core_, origin in zip(
            layout_.grid.physical(), layout_.origins(), strict=True
        ):
            held = set()
            for offset in product(*(range(p) for p in layout_.piece)):
                index = [o + i for o, i in zip(origin, offset, strict=True)]
                if all(0 <= i < s for i, s in zip(index, layout_.view, strict=True)):
                    held.add(int(np.ravel_multi_index(index, layout_.view)))
            result.append((int(core_), held))
        return result

    local: dict[int, set[int]] = {}
    for core_, held in boxes(src):
        local.setdefault(core_, set()).update(held)
    received = np.zeros(cores, dtype=np.int64)
    for core_, held in boxes(dst):
        received[core_] += len(held - local.get(core_, set()))
    return received


@pytest.mark.parametrize(("n", "b"), [(2, 4), (3, 2)])
def test_cannon_matmul(n: int, b: int):
    rng = np.random.default_rng(0)
    size = n * b
    x = rng.standard_normal((size, size)).astype(np.float32)
    w = rng.standard_normal((size, size)).astype(np.float32)
    function = parse_func(cannon(n, b))
    run = run_core_function(function, [x, w], machine())
    (y,) = run.outputs
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x @ w, rtol=1e-5, atol=1e-5)

    # Every buffer is live before the first free: 2 arguments and 6 allocations.
    expected_peak = np.zeros(16, dtype=np.int64)
    expected_peak[: n * n] = 8 * b * b * 4
    np.testing.assert_array_equal(run.sram_peak_bytes, expected_peak)
    assert run.supersteps == n + 2

    shifts = [e for e in run.events if isinstance(e.op, core.ShiftOp)]
    assert [e.steps for e in shifts] == [(s,) for s in range(n) for _ in range(2)]
    for event in shifts:  # every core sends and receives one block
        assert event.sent is not None and event.received is not None
        np.testing.assert_array_equal(event.sent[: n * n], b * b)
        np.testing.assert_array_equal(event.received, event.sent)
    kernels = [e for e in run.events if isinstance(e.op, core.KernelOp)]
    assert [e.steps for e in kernels] == [(s,) for s in range(n)]
    for event in (e for e in run.events if isinstance(e.op, core.RedistributeOp)):
        op = event.op
        assert isinstance(op, core.RedistributeOp)
        assert event.sent is not None and event.received is not None
        src, dst = op.src_layout.layout, op.dst_layout.layout
        np.testing.assert_array_equal(
            event.received, received_by_counting(src, dst, 16)
        )
        assert event.sent.sum() == event.received.sum() > 0


def test_timing_only_run_walks_the_same_ops():
    function = parse_func(cannon(3, 2))
    x = np.ones((6, 6), dtype=np.float32)
    full = run_core_function(function, [x, x], machine())
    timing = run_core_function(function, [], machine(), numerics=False)
    assert timing.outputs == []
    np.testing.assert_array_equal(timing.sram_peak_bytes, full.sram_peak_bytes)
    assert len(timing.events) == len(full.events)
    for a, b in zip(timing.events, full.events, strict=True):
        assert (a.op, a.steps) == (b.op, b.steps)
        for x_counts, y_counts in ((a.sent, b.sent), (a.received, b.received)):
            assert (x_counts is None) == (y_counts is None)
            if x_counts is not None:
                np.testing.assert_array_equal(x_counts, y_counts)


# --- partial results, padding and combining ---------------------------------------


SPLIT_K = f"""\
func.func @split_k(%x: !core.buffer<4x3xf32> {{core.layout = {layout([4, 5], [4, 3], [2], "(d0) -> (0, d0 * 3)")}}},
                   %w: !core.buffer<3x3xf32> {{core.layout = {layout([5, 3], [3, 3], [2], "(d0) -> (d0 * 3, 0)")}}})
    -> (!core.buffer<2x3xf32> {{core.layout = {layout([4, 3], [2, 3], [2], "(d0) -> (d0 * 2, 0)")}}}) {{
  %p = core.alloc on #core.grid<[2]> : !core.buffer<4x3xf32>
  %y = core.alloc on #core.grid<[2]> : !core.buffer<2x3xf32>
  core.kernel on #core.grid<[2]> ins(%x, %w : !core.buffer<4x3xf32>, !core.buffer<3x3xf32>) outs(%p : !core.buffer<4x3xf32>) windows [affine_map<(d0) -> (0, 0)>, affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {{
  ^bb0(%a: tensor<4x3xf32>, %b: tensor<3x3xf32>):
    %r = top.matmul %a, %b : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>
    core.yield %r : tensor<4x3xf32>
  }}
  core.sync
  core.redistribute %p to %y from {layout([4, 3], [4, 3], [2], "(d0) -> (0, 0)")} to {layout([4, 3], [2, 3], [2], "(d0) -> (d0 * 2, 0)")} combine "sum" : !core.buffer<4x3xf32>, !core.buffer<2x3xf32>
  core.sync
  core.free %p : !core.buffer<4x3xf32>
  func.return %y : !core.buffer<2x3xf32>
}}
"""


def test_partial_sums_over_a_padded_reduction_dim():
    """k = 5 split over 2 cores as 3 + 3: the zero padding of the last piece adds
    nothing, and the partial products are summed by the redistribution."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(np.float32)
    w = rng.standard_normal((5, 3)).astype(np.float32)
    run = run_core_function(parse_func(SPLIT_K), [x, w], machine(4))
    np.testing.assert_allclose(run.outputs[0], x @ w, rtol=1e-5, atol=1e-6)
    (event,) = [e for e in run.events if isinstance(e.op, core.RedistributeOp)]
    # Each core keeps its own partial rows and receives the other core's 2 x 3.
    np.testing.assert_array_equal(event.sent, [6, 6, 0, 0])
    np.testing.assert_array_equal(event.received, [6, 6, 0, 0])
    np.testing.assert_array_equal(run.sram_peak_bytes, [48 + 36 + 48 + 24] * 2 + [0, 0])


def long_reduction(acc: str, steps: int, chunk: int) -> str:
    """An f16 `8 x K @ K x 8` on one core, K = steps * chunk: a step loop adds each
    chunk's product to an accumulator of element type `acc`, which one kernel then
    writes, rounded, into the f16 result."""
    k = steps * chunk
    x_layout = layout([8, k], [8, k], [1], "(d0) -> (0, 0)")
    w_layout = layout([k, 8], [k, 8], [1], "(d0) -> (0, 0)")
    y_layout = layout([8, 8], [8, 8], [1], "(d0) -> (0, 0)")
    acc_buf, acc_tile = f"!core.buffer<8x8x{acc}>", f"tensor<8x8x{acc}>"
    grid = "#core.grid<[1]>"
    return f"""\
func.func @long(%x: !core.buffer<8x{k}xf16> {{core.layout = {x_layout}}}, %w: !core.buffer<{k}x8xf16> {{core.layout = {w_layout}}})
    -> (!core.buffer<8x8xf16> {{core.layout = {y_layout}}}) {{
  %c = core.alloc on {grid} : {acc_buf}
  %y = core.alloc on {grid} : !core.buffer<8x8xf16>
  core.fill %c, 0.0 : {acc_buf}
  core.steps %s = 0 to {steps} {{
    core.kernel on {grid} ins(%x, %w : !core.buffer<8x{k}xf16>, !core.buffer<{k}x8xf16>) outs(%c : {acc_buf}) windows [affine_map<(d0)[s0] -> (0, s0 * {chunk})>, affine_map<(d0)[s0] -> (s0 * {chunk}, 0)>] output affine_map<(d0)[s0] -> (0, 0)> at(%s) combine "sum" {{
    ^bb0(%a: tensor<8x{chunk}xf16>, %b: tensor<{chunk}x8xf16>):
      %r = top.matmul %a, %b : (tensor<8x{chunk}xf16>, tensor<{chunk}x8xf16>) -> tensor<8x8xf16>
      core.yield %r : tensor<8x8xf16>
    }}
  }}
  core.kernel on {grid} ins(%c : {acc_buf}) outs(%y : !core.buffer<8x8xf16>) windows [affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {{
  ^bb0(%a: {acc_tile}):
    %r = top.cast %a : ({acc_tile}) -> tensor<8x8xf16>
    core.yield %r : tensor<8x8xf16>
  }}
  core.free %c : {acc_buf}
  func.return %y : !core.buffer<8x8xf16>
}}
"""


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """How many f16 values lie between `a` and `b`, positive f16 arrays."""
    return np.abs(a.view(np.int16).astype(np.int64) - b.view(np.int16).astype(np.int64))


def test_an_f32_accumulator_rounds_an_f16_sum_once():
    """64 steps of a 32-deep f16 contraction accumulating in an f32 buffer give
    numpy's f32-accumulated sum rounded once to f16 (to 1 ulp: numpy adds in another
    order); accumulating in f16 rounds every step's partial sum and is ulps off.
    Positive terms make the sum grow, so each rounding loses up to half an ulp of it."""
    rng = np.random.default_rng(0)
    steps, chunk = 64, 32
    x = rng.uniform(0, 1, (8, steps * chunk)).astype(np.float16)
    w = rng.uniform(0, 1, (steps * chunk, 8)).astype(np.float16)
    expected = (x.astype(np.float32) @ w.astype(np.float32)).astype(np.float16)
    wide = run_core_function(
        parse_func(long_reduction("f32", steps, chunk)), [x, w], machine(1, 1 << 20)
    )
    assert ulps(wide.outputs[0], expected).max() <= 1
    # Its SRAM: the inputs, the f32 accumulator and the f16 result.
    np.testing.assert_array_equal(
        wide.sram_peak_bytes, [2 * 2 * 8 * steps * chunk + 4 * 64 + 2 * 64]
    )
    narrow = run_core_function(
        parse_func(long_reduction("f16", steps, chunk)), [x, w], machine(1, 1 << 20)
    )
    assert ulps(narrow.outputs[0], expected).max() > 1


def test_a_combining_redistribution_sums_f32_partials_and_rounds_once():
    """Partial sums of an f16 contraction split over 2 cores, held in f32 and
    combined by the redistribution into an f16 buffer: rounded once, as it writes."""
    text = (
        SPLIT_K.replace("xf32", "xf16")
        .replace(
            "%p = core.alloc on #core.grid<[2]> : !core.buffer<4x3xf16>",
            "%p = core.alloc on #core.grid<[2]> : !core.buffer<4x3xf32>",
        )
        .replace("outs(%p : !core.buffer<4x3xf16>)", "outs(%p : !core.buffer<4x3xf32>)")
        .replace(
            ": !core.buffer<4x3xf16>, !core.buffer<2x3xf16>",
            ": !core.buffer<4x3xf32>, !core.buffer<2x3xf16>",
        )
        .replace(
            "core.free %p : !core.buffer<4x3xf16>",
            "core.free %p : !core.buffer<4x3xf32>",
        )
    )
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5)).astype(np.float16)
    w = rng.standard_normal((5, 3)).astype(np.float16)
    run = run_core_function(parse_func(text), [x, w], machine(4))
    partials = [
        x[:, :3].astype(np.float32) @ w[:3].astype(np.float32),
        x[:, 3:].astype(np.float32) @ w[3:].astype(np.float32),
    ]
    np.testing.assert_array_equal(
        run.outputs[0], (partials[0] + partials[1]).astype(np.float16)
    )
    (event,) = [e for e in run.events if isinstance(e.op, core.RedistributeOp)]
    assert event.op.src.type == core.BufferType(core.f32, [4, 3])


ROTATING_F16 = """\
func.func @mm(%x: tensor<64x512xf16>, %w: tensor<512x64xf16> {top.weight}) -> tensor<64x64xf16> {
  %y = OP : (tensor<64x512xf16>, tensor<512x64xf16>) -> tensor<64x64xf16>
  func.return %y : tensor<64x64xf16>
}
"""
MATMUL_OP = (
    "top.matmul %x, %w {rtensor.plan = #rtensor.plan<spatial = [m = 16], "
    "temporal = [in1 = [k = 16]]>}"
)
EXPR_OP = (
    'top.expr %x, %w {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]", '
    "rtensor.plan = #rtensor.plan<spatial = [N = 16], temporal = [in1 = [K = 16]]>}"
)


def compiled_rotating(accumulator: str, op: str = MATMUL_OP) -> func.FuncOp:
    """ROTATING_F16 (m over 16 cores, k cut in 16 steps: the weight's pieces rotate
    around them, nothing is split over cores), its op `op` with that plan, lowered
    to `core` for 16 cores accumulating float sums in `accumulator`."""
    module = parse(ROTATING_F16.replace("OP", op))
    set_machine(
        module, dataclasses.replace(machine(16, 1 << 20), accumulator_type=accumulator)
    )
    ctx = make_context()
    T10LowerToShiftPass().apply(ctx, module)
    T10LowerToCorePass().apply(ctx, module)
    (function,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    return function


def test_a_body_writing_an_accumulator_keeps_its_values_unrounded():
    """Each f16 contraction of a kernel body (a matmul, an expression) writing into an
    f32 accumulator gives its f32 sum; written into its own type, the sum rounded."""
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, (2, 4, 64)).astype(np.float16)  # two cores' windows
    w = rng.uniform(0, 1, (2, 64, 8)).astype(np.float16)
    exact = np.matmul(x.astype(np.float32), w.astype(np.float32))
    for text in (
        "top.matmul %a, %b",
        'top.expr %a, %b {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"}',
    ):
        function = parse_func(
            "func.func @f(%a: tensor<4x64xf16>, %b: tensor<64x8xf16>) -> tensor<4x8xf16> {\n"
            f"  %y = {text} : (tensor<4x64xf16>, tensor<64x8xf16>) -> tensor<4x8xf16>\n"
            "  func.return %y : tensor<4x8xf16>\n}"
        )
        inner = function.body.block.first_op
        assert inner is not None
        f32 = np.dtype(np.float32)
        wide = batched.run_op(inner, [x, w], f32, f32)
        assert wide.dtype == f32
        np.testing.assert_allclose(wide, exact, rtol=1e-6)
        rounded = batched.run_op(inner, [x, w], f32)
        np.testing.assert_array_equal(rounded, wide.astype(np.float16))


@pytest.mark.parametrize(
    "op",
    [
        MATMUL_OP,
        EXPR_OP,
    ],
    ids=["matmul", "expr"],
)
def test_a_compiled_f16_matmul_accumulates_in_the_machines_type(op: str):
    """Compiled for the default f32 accumulator, an f16 matmul whose reduction runs
    over 16 steps gives numpy's f32-accumulated sum rounded once (to 1 ulp); for a
    machine whose description says `accumulator_type: f16`, every step rounds."""
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (64, 512)).astype(np.float16)
    w = rng.uniform(0, 1, (512, 64)).astype(np.float16)
    expected = (x.astype(np.float32) @ w.astype(np.float32)).astype(np.float16)
    wide = compiled_rotating("f32", op)
    buffers = {str(v.type) for op in wide.walk() for v in op.results}
    assert "!core.buffer<4x64xf32>" in buffers
    run = run_core_function(wide, [x, w], machine(16, 1 << 20))
    assert ulps(run.outputs[0], expected).max() <= 1
    narrow = compiled_rotating("f16", op)
    assert not any("xf32" in str(v.type) for op in narrow.walk() for v in op.results)
    run = run_core_function(narrow, [x, w], machine(16, 1 << 20))
    assert ulps(run.outputs[0], expected).max() > 1


ROW_MAX_INPUT = layout([4, 5], [4, 3], [2], "(d0) -> (0, d0 * 3)", ", padding = -inf")
ROW_MAX = f"""\
func.func @row_max(%x: !core.buffer<4x3xf32> {{core.layout = {ROW_MAX_INPUT}}})
    -> (!core.buffer<2x1xf32> {{core.layout = {layout([4, 1], [2, 1], [2], "(d0) -> (d0 * 2, 0)")}}}) {{
  %m = core.alloc on #core.grid<[2]> : !core.buffer<4x1xf32>
  %y = core.alloc on #core.grid<[2]> : !core.buffer<2x1xf32>
  core.fill %m, -inf : !core.buffer<4x1xf32>
  core.steps %s = 0 to 3 {{
    core.kernel on #core.grid<[2]> ins(%x : !core.buffer<4x3xf32>) outs(%m : !core.buffer<4x1xf32>) windows [affine_map<(d0)[s0] -> (0, (d0 + s0) mod 3)>] output affine_map<(d0)[s0] -> (0, 0)> at(%s) combine "max" {{
    ^bb0(%a: tensor<4x1xf32>):
      core.yield %a : tensor<4x1xf32>
    }}
  }}
  core.redistribute %m to %y from {layout([4, 1], [4, 1], [2], "(d0) -> (0, 0)")} to {layout([4, 1], [2, 1], [2], "(d0) -> (d0 * 2, 0)")} combine "max" : !core.buffer<4x1xf32>, !core.buffer<2x1xf32>
  core.sync
  core.free %m : !core.buffer<4x1xf32>
  func.return %y : !core.buffer<2x1xf32>
}}
"""


def test_fill_and_max_combine_over_a_padded_layout():
    """Columns 0-2 on core 0, 3-4 and a -inf padding column on core 1; the windows
    start at a different column on each core (advanced indexing)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 5)).astype(np.float32) - 10  # all below 0
    function = parse_func(ROW_MAX)
    (pieces,) = scatter_inputs(function, [x])
    assert np.isneginf(pieces[1][:, 2]).all()
    run = run_core_function(function, [x], machine(2))
    np.testing.assert_array_equal(run.outputs[0], x.max(axis=1, keepdims=True))
    (event,) = [e for e in run.events if isinstance(e.op, core.RedistributeOp)]
    np.testing.assert_array_equal(event.sent, [2, 2])
    np.testing.assert_array_equal(event.received, [2, 2])


CORES = ", cores = [2, 0, 3, 1]"
SHUFFLE = f"""\
func.func @shuffle(%x: !core.buffer<2xf32> {{core.layout = {layout([8], [2], [4], "(d0) -> (d0 * 2)", CORES)}}})
    -> (!core.buffer<2xf32> {{core.layout = {layout([8], [2], [4], "(d0) -> (d0 * 2)", CORES)}}}) {{
  %t = core.alloc on #core.grid<[4]{CORES}> : !core.buffer<2xf32>
  core.steps %s = 0 to 2 {{
    core.shift %x via %t around #core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>{CORES}> by 1 when affine_map<(d0)[s0] -> ((d0 + s0) mod 2)> at(%s) : !core.buffer<2xf32>
    core.sync
  }}
  core.free %t : !core.buffer<2xf32>
  func.return %x : !core.buffer<2xf32>
}}
"""


def test_predicated_shift_on_placed_cores():
    """Step 0: even logical cores take their right neighbour's piece; step 1: odd
    ones do. Logical cores 0..3 sit on physical cores 2, 0, 3, 1."""
    x = np.arange(8, dtype=np.float32)
    run = run_core_function(parse_func(SHUFFLE), [x], machine(4))
    pieces = x.reshape(4, 2)
    # After step 0: [p1, p1, p3, p3]; after step 1: [p1, p3, p3, p1].
    np.testing.assert_array_equal(run.outputs[0], pieces[[1, 3, 3, 1]].reshape(-1))
    first, second = [e for e in run.events if isinstance(e.op, core.ShiftOp)]
    # Step 0: logical 1, 3 (physical 0, 1) send to logical 0, 2 (physical 2, 3).
    np.testing.assert_array_equal(first.sent, [2, 2, 0, 0])
    np.testing.assert_array_equal(first.received, [0, 0, 2, 2])
    # Step 1: logical 2, 0 (physical 3, 2) send to logical 1, 3 (physical 0, 1).
    np.testing.assert_array_equal(second.sent, [0, 0, 2, 2])
    np.testing.assert_array_equal(second.received, [2, 2, 0, 0])
    np.testing.assert_array_equal(run.sram_peak_bytes, [16, 16, 16, 16])
    assert run.supersteps == 2


FLAT_4X3 = layout([4, 3], [6], [2], "(d0) -> (d0 * 6)", ", flat")
TOP_ROWS = layout([4, 3], [1, 3], [2], "(d0) -> (d0, 0)")
ROWS = f"""\
func.func @rows(%x: !core.buffer<6xf32> {{core.layout = {FLAT_4X3}}})
    -> (!core.buffer<1x3xf32> {{core.layout = {layout([2, 3], [1, 3], [2], "(d0) -> (d0, 0)")}}}) {{
  %t = core.alloc on #core.grid<[2]> : !core.buffer<1x3xf32>
  %y = core.alloc on #core.grid<[2]> : !core.buffer<1x3xf32>
  core.redistribute %x to %t from {FLAT_4X3} to {TOP_ROWS} : !core.buffer<6xf32>, !core.buffer<1x3xf32>
  core.sync
  core.kernel on #core.grid<[2]> ins(%t : !core.buffer<1x3xf32>) outs(%y : !core.buffer<1x3xf32>) windows [affine_map<(d0) -> (0, 0)>] output affine_map<(d0) -> (0, 0)> {{
  ^bb0(%a: tensor<1x3xf32>):
    core.yield %a : tensor<1x3xf32>
  }}
  core.free %t : !core.buffer<1x3xf32>
  func.return %y : !core.buffer<1x3xf32>
}}
"""


def test_layout_holding_part_of_a_tensor():
    """A slice's working layout holds rows 0 and 1 only; core 0 holds both of them
    in the source, so it sends row 1 (3 elements) to core 1."""
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    run = run_core_function(parse_func(ROWS), [x], machine(2))
    np.testing.assert_array_equal(run.outputs[0], x[:2])
    (event,) = [e for e in run.events if isinstance(e.op, core.RedistributeOp)]
    np.testing.assert_array_equal(event.sent, [3, 0])
    np.testing.assert_array_equal(event.received, [0, 3])


# --- diagnostics --------------------------------------------------------------------


def run_error(
    text: str, inputs: list[np.ndarray], cores: int = 16, sram: int = 4096
) -> T10Error:
    with pytest.raises(T10Error) as caught:
        run_core_function(parse_func(text), inputs, machine(cores, sram))
    return caught.value


def test_sram_overflow_names_core_and_bytes():
    text = cannon(2, 4)  # 64 bytes a buffer; %y is the eighth
    x = np.ones((8, 8), dtype=np.float32)
    error = run_error(text, [x, x], sram=7 * 64 + 10)
    assert error.location == f"{FILE}:{line_of(text, '%y = core.alloc')}:3"
    assert error.message == (
        "'core.alloc' op allocation: out of SRAM on core 0: needs 64 bytes, "
        "10 of 458 bytes free"
    )


def test_arguments_count_against_sram():
    error = run_error(cannon(2, 4), [np.ones((8, 8), np.float32)] * 2, sram=100)
    assert error.message == (
        "'func.func' op argument #1: out of SRAM on core 0: needs 64 bytes, "
        "36 of 100 bytes free"
    )


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        (
            "core.fill %c",
            "'core.kernel' op the combining output reads element [0, 0] of its buffer "
            "on core 0, which was never written (steps [0])",
        ),
        (
            "core.redistribute %w",
            "'core.kernel' op input #1 reads element [0, 0] of its buffer on core 0, "
            "which was never written (steps [0])",
        ),
    ],
)
def test_reading_unwritten_elements(drop: str, message: str):
    text = "".join(line for line in cannon(2, 4).splitlines(True) if drop not in line)
    x = np.ones((8, 8), dtype=np.float32)
    error = run_error(text, [x, x])
    assert error.message == message
    assert error.location == f"{FILE}:{line_of(text, 'core.kernel')}:5"


def test_output_element_never_written():
    grid, buf = "#core.grid<[2]>", "!core.buffer<2xf32>"
    halves = layout([4], [2], [2], "(d0) -> (d0 * 2)")
    text = f"""\
func.func @half(%x: {buf} {{core.layout = {halves}}}) -> ({buf} {{core.layout = {halves}}}) {{
  %y = core.alloc on {grid} : {buf}
  core.kernel on {grid} ins(%x : {buf}) outs(%y : {buf}) windows [affine_map<(d0) -> (0)>] output affine_map<(d0) -> (0)> {{
  ^bb0(%a: tensor<1xf32>):
    %r = top.neg %a : (tensor<1xf32>) -> tensor<1xf32>
    core.yield %r : tensor<1xf32>
  }}
  func.return %y : {buf}
}}
"""
    error = run_error(text, [np.ones(4, np.float32)])
    assert error.message == (
        "'func.return' op output #0: element [1] of the tensor on core 0, which was "
        "never written"
    )
    assert error.location == f"{FILE}:{line_of(text, 'func.return')}:3"


def test_use_after_free():
    text = cannon(2, 4).replace(
        "func.return %y", "core.free %y : !core.buffer<16xf32>\n  func.return %y"
    )
    x = np.ones((8, 8), dtype=np.float32)
    error = run_error(text, [x, x])
    assert error.message == "'func.return' op uses output #0 after its core.free"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "output affine_map<(d0) -> (0, 0)>",
            "output affine_map<(d0) -> (d0, 0)>",
            "'core.kernel' op the output window [4, 3] at [1, 0] leaves its buffer "
            "[4, 3] on core 1",
        ),
        (
            "core.kernel on #core.grid<[2]>",
            "core.kernel on #core.grid<[2], cores = [1, 0]>",
            "'core.kernel' op runs on #core.grid<[2], cores = [1, 0]> but input #0 is "
            "on #core.grid<[2]>",
        ),
    ],
)
def test_kernels_stay_on_their_buffers(old: str, new: str, message: str):
    x, w = np.ones((4, 5), np.float32), np.ones((5, 3), np.float32)
    assert run_error(SPLIT_K.replace(old, new), [x, w]).message == message


def test_ops_without_a_mesh_implementation_are_located_errors():
    """An op the mesh has no `@impl` for, in the function or in a kernel body, is
    named at its line, never a KeyError."""
    x, w = np.ones((4, 5), np.float32), np.ones((5, 3), np.float32)
    text = SPLIT_K.replace("  core.sync\n", "  %c = arith.constant 1.0 : f32\n", 1)
    error = run_error(text, [x, w])
    assert error.message == "'arith.constant' op cannot run on the mesh"
    assert error.location == f"{FILE}:{line_of(text, 'arith.constant')}:3"
    text = SPLIT_K.replace(
        "top.matmul %a, %b : (tensor<4x3xf32>, tensor<3x3xf32>) -> tensor<4x3xf32>",
        "arith.constant dense<1.0> : tensor<4x3xf32>",
    )
    error = run_error(text, [x, w])
    assert error.message == "'arith.constant' op cannot run in a kernel body"
    assert error.location == f"{FILE}:{line_of(text, 'arith.constant')}:5"


def test_redistributing_elements_the_source_does_not_hold():
    halves = layout([4, 3], [2, 3], [2], "(d0) -> (d0 * 2, 0)")
    text = ROWS.replace(
        "  core.sync\n",
        "  %z = core.alloc on #core.grid<[2]> : !core.buffer<2x3xf32>\n"
        f"  core.redistribute %t to %z from {TOP_ROWS} to {halves} : "
        "!core.buffer<1x3xf32>, !core.buffer<2x3xf32>\n",
    )
    error = run_error(text, [np.ones((4, 3), np.float32)], cores=2)
    assert error.message == (
        "'core.redistribute' op the destination holds an element no core of the "
        "source holds"
    )


def test_inputs_must_match_the_layouts():
    x = np.ones((8, 8), dtype=np.float64)
    with pytest.raises(
        T10Error, match=re.escape("input arg0 is 8x8 float64, expected 8x8 float32")
    ):
        scatter_inputs(parse_func(cannon(2, 4)), [x, x])


# --- batched top kernels against the reference, core by core ------------------------

CONV = (
    "output0[N, F, HO, WO] +=! input0[N, C, -1 + KH + HO * 2, -1 + KW + WO * 2]"
    ".when([-1 + KH + HO * 2 >= 0, -1 + KH + HO * 2 < 7, -1 + KW + WO * 2 >= 0, "
    "-1 + KW + WO * 2 < 7], const(0.0).cast(input0.dtype())) * input1[F, C, KH, KW] "
    "where HO in 4, WO in 4;"
)
TOP_OPS = {
    "matmul": "top.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>",
    "add": "top.add %a, %b : (tensor<2x3xf16>, tensor<3xf16>) -> tensor<2x3xf16>",
    "sub": "top.sub %a, %b : (tensor<2x3xf32>, tensor<4x1x1xf32>) -> tensor<4x2x3xf32>",
    "mul": "top.mul %a, %b : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>",
    "div": "top.div %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>",
    "max": "top.max %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>",
    "min": "top.min %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>",
    "pow": "top.pow %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>",
    **{
        name: f"top.{name} %a : (tensor<2x3xf64>) -> tensor<2x3xf64>"
        for name in (
            "relu",
            "gelu",
            "tanh",
            "sigmoid",
            "exp",
            "log",
            "sqrt",
            "rsqrt",
            "neg",
            "erf",
        )
    },
    "clip": "top.clip %a {min = 0.0 : f64, max = 0.5 : f64} : (tensor<2x3xf32>) -> tensor<2x3xf32>",
    "softmax": "top.softmax %a {axis = -2 : i64} : (tensor<3x4xf32>) -> tensor<3x4xf32>",
    "layernorm": "top.layernorm %a, %b, %c {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>",
    "batchnorm": "top.batchnorm %a, %b, %c, %d, %e {epsilon = 1.0e-05 : f64} : (tensor<2x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x4x4xf32>",
    "reduce": 'top.reduce %a {kind = "mean", axes = array<i64: 0, -1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<1x3x1xf32>',
    "transpose": "top.transpose %a {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>",
    "reshape": "top.reshape %a : (tensor<2x3x4xf32>) -> tensor<6x4xf32>",
    "concat": "top.concat %a, %b, %a {axis = -2 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>, tensor<2x3x4xf32>) -> tensor<2x11x4xf32>",
    "slice": "top.slice %a {starts = array<i64: 0, 1, -3>, ends = array<i64: 2, 100, 4>, steps = array<i64: 1, 1, 2>} : (tensor<2x3x4xf32>) -> tensor<2x2x2xf32>",
    "gather": "top.gather %a, %b {axis = 1 : i64} : (tensor<3x5x2xf32>, tensor<2x3xi64>) -> tensor<3x2x3x2xf32>",
    "gather_scalar": "top.gather %a, %b {axis = 0 : i64} : (tensor<5x2xf32>, tensor<i32>) -> tensor<2xf32>",
    "maxpool": "top.maxpool %a {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : (tensor<2x3x7x7xf32>) -> tensor<2x3x4x4xf32>",
    "avgpool": "top.avgpool %a {kernel = array<i64: 2, 3>, strides = array<i64: 1, 2>, pads = array<i64: 0, 1, 0, 1>, count_include_pad = false} : (tensor<1x3x7x7xf32>) -> tensor<1x3x6x4xf32>",
    "global_avgpool": "top.global_avgpool %a : (tensor<2x3x5x5xf32>) -> tensor<2x3x1x1xf32>",
    "conv2d": "top.conv2d %a, %b, %c {strides = array<i64: 2, 1>, dilations = array<i64: 1, 2>, pads = array<i64: 0, 0, 1, 0>, group = 2 : i64} : (tensor<2x4x8x8xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>",
    "expr_matmul": 'top.expr %a, %b {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"} : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>',
    "expr_conv": f'top.expr %a, %b {{expr = "{CONV}"}} : (tensor<1x2x7x7xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x4x4xf32>',
    "expr_gather": 'top.expr %a, %b {expr = "output0[N0, N1, N2] = input0[G3, N2] g input1[N0, N1];"} : (tensor<4x6xf32>, tensor<2x5xi32>) -> tensor<2x5x6xf32>',
    "expr_max": 'top.expr %a {expr = "output0[N] >=! input0[N, K].call(`exp`) * N;"} : (tensor<3x4xf32>) -> tensor<3xf32>',
}


def op_module() -> tuple[ModuleOp, dict[str, func.FuncOp]]:
    """One function per case, taking the op's operands as arguments."""
    functions = []
    for name, op in TOP_OPS.items():
        operand_types, result_type = re.fullmatch(r".* : \((.*)\) -> (.*)", op).groups()
        types = re.findall(r"tensor<[^>]*>", operand_types)
        args = ", ".join(f"%{v}: {t}" for v, t in zip("abcde", types, strict=False))
        functions.append(
            f"func.func @{name}({args}) -> {result_type} {{\n"
            f"  %r = {op}\n  func.return %r : {result_type}\n}}"
        )
    module = parse("\n".join(functions))
    return module, {
        f.sym_name.data: f for f in module.ops if isinstance(f, func.FuncOp)
    }


MODULE, FUNCTIONS = op_module()


@pytest.mark.parametrize("name", list(TOP_OPS))
def test_batched_kernel_matches_the_reference_per_core(name: str):
    """Three cores with different data: the batched kernel must give what the
    reference interpreter gives on each core's operands alone."""
    cores = 3
    function = FUNCTIONS[name]
    per_core = [reference.random_inputs(function, seed) for seed in range(cores)]
    if name.startswith("gather"):  # negative indices count from the end
        for inputs in per_core:
            inputs[1] = inputs[1] - np.array(2, dtype=inputs[1].dtype)
    if name in ("log", "sqrt", "rsqrt", "pow"):
        for inputs in per_core:
            inputs[0] = np.abs(inputs[0]) + np.array(0.1, inputs[0].dtype)
    expected = np.stack(
        [reference.run_function(MODULE, name, inputs)[0] for inputs in per_core]
    )
    (op,) = [o for o in function.body.block.ops if not isinstance(o, func.ReturnOp)]
    stacked = [np.stack(xs) for xs in zip(*per_core, strict=True)]
    with np.errstate(all="ignore"):
        operands = [stacked[function.args.index(v)] for v in op.operands]
        result = batched.run_op(op, operands, np.dtype(np.float32))
    assert result.dtype == expected.dtype
    np.testing.assert_allclose(result, expected, rtol=1e-6, atol=1e-6)
