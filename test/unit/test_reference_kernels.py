"""The numpy reference kernels against independent implementations.

ONNX-defined ops (conv, pooling, normalizations, gather, slice, ...) are checked against
onnxruntime's CPU kernels on tiny one-node graphs; the numpy-defined rest directly.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

from t10ir.interp import kernels

RTOL, ATOL = 1e-5, 1e-5


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def run_onnx(
    op_type: str,
    inputs: list[np.ndarray],
    constants: list[np.ndarray] = (),
    opset: int = 18,
    **attrs: object,
) -> np.ndarray:
    """Run one ONNX node on `inputs` (graph inputs) followed by `constants` (initializers)."""
    names = [f"x{i}" for i in range(len(inputs))]
    const_names = [f"c{i}" for i in range(len(constants))]
    node = helper.make_node(op_type, names + const_names, ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(
                n, helper.np_dtype_to_tensor_dtype(x.dtype), x.shape
            )
            for n, x in zip(names, inputs, strict=True)
        ],
        # Every op tested here keeps its first input's element type.
        [
            helper.make_tensor_value_info(
                "y", helper.np_dtype_to_tensor_dtype(inputs[0].dtype), None
            )
        ],
        initializer=[
            numpy_helper.from_array(c, n)
            for n, c in zip(const_names, constants, strict=True)
        ],
    )
    # onnxruntime loads IR versions up to 13; onnx writes a newer one by default.
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=9
    )
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, dict(zip(names, inputs, strict=True)))[0]


# --- conv ---------------------------------------------------------------------------------

CONV_CASES = {
    # name: (N, C, H, W), (O, KH, KW), strides, dilations, pads (t, l, b, r), group, bias
    "plain": ((1, 3, 7, 7), (4, 3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 1, False),
    "same_pad_bias": ((2, 3, 6, 5), (5, 3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1, True),
    "strided": ((1, 4, 9, 8), (6, 3, 2), (2, 3), (1, 1), (1, 0, 1, 0), 1, True),
    "asymmetric_pads": (
        (1, 2, 5, 6),
        (3, 2, 3),
        (1, 2),
        (1, 1),
        (0, 2, 1, 0),
        1,
        False,
    ),
    "dilated": ((1, 3, 10, 9), (2, 3, 3), (1, 1), (2, 3), (2, 1, 0, 3), 1, True),
    "grouped": ((2, 6, 6, 6), (4, 3, 3), (2, 1), (1, 1), (1, 1, 0, 0), 2, True),
    "depthwise": ((1, 5, 7, 7), (5, 3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 5, True),
    "depthwise_multiplier": (
        (1, 3, 6, 6),
        (6, 2, 2),
        (2, 2),
        (1, 1),
        (0, 0, 1, 1),
        3,
        False,
    ),
    "pointwise": ((2, 8, 4, 4), (3, 1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1, True),
    "kernel_is_input": ((1, 2, 4, 5), (3, 4, 5), (1, 1), (1, 1), (0, 0, 0, 0), 1, True),
}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv2d_matches_onnxruntime(case: tuple) -> None:
    x_shape, (o, kh, kw), strides, dilations, pads, group, has_bias = case
    rng = np.random.default_rng(0)
    x = rand(rng, *x_shape)
    w = rand(rng, o, x_shape[1] // group, kh, kw)
    bias = rand(rng, o) if has_bias else None
    got = kernels.conv2d(x, w, bias, strides, dilations, pads, group)
    expected = run_onnx(
        "Conv",
        [x, w] + ([bias] if has_bias else []),
        strides=list(strides),
        dilations=list(dilations),
        group=group,
        pads=[pads[0], pads[1], pads[2], pads[3]],
        kernel_shape=[kh, kw],
    )
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# --- pooling ------------------------------------------------------------------------------

POOL_CASES = {
    # name: (N, C, H, W), kernel, strides, pads (t, l, b, r)
    "plain": ((1, 2, 6, 6), (2, 2), (2, 2), (0, 0, 0, 0)),
    "overlapping": ((2, 3, 7, 7), (3, 3), (2, 2), (0, 0, 0, 0)),
    "padded": ((1, 2, 5, 5), (3, 3), (1, 1), (1, 1, 1, 1)),
    "asymmetric_pads": ((1, 3, 6, 7), (3, 2), (2, 1), (0, 1, 2, 0)),
    "floor_drops_tail": ((1, 1, 8, 9), (3, 3), (3, 2), (1, 0, 0, 1)),
    "kernel_is_input": ((2, 2, 4, 5), (4, 5), (1, 1), (0, 0, 0, 0)),
    "kernel_is_padded_input": ((1, 2, 3, 3), (5, 4), (1, 1), (1, 2, 1, 1)),
}


def onnx_pool_pads(pads: tuple[int, ...]) -> list[int]:
    # ONNX orders pads (h_begin, w_begin, h_end, w_end): the same as (t, l, b, r).
    return list(pads)


@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_maxpool_matches_onnxruntime(case: tuple) -> None:
    shape, kernel, strides, pads = case
    # All-negative data: a zero pad would win if padding were not -inf.
    x = -np.abs(rand(np.random.default_rng(1), *shape)) - 1
    got = kernels.maxpool(x, kernel, strides, pads)
    expected = run_onnx(
        "MaxPool",
        [x],
        kernel_shape=list(kernel),
        strides=list(strides),
        pads=onnx_pool_pads(pads),
    )
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
    assert np.all(got < 0)


@pytest.mark.parametrize("count_include_pad", [False, True])
@pytest.mark.parametrize("case", POOL_CASES.values(), ids=POOL_CASES.keys())
def test_avgpool_matches_onnxruntime(case: tuple, count_include_pad: bool) -> None:
    shape, kernel, strides, pads = case
    x = rand(np.random.default_rng(2), *shape)
    got = kernels.avgpool(x, kernel, strides, pads, count_include_pad)
    expected = run_onnx(
        "AveragePool",
        [x],
        kernel_shape=list(kernel),
        strides=list(strides),
        pads=onnx_pool_pads(pads),
        count_include_pad=int(count_include_pad),
    )
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_global_avgpool_matches_onnxruntime() -> None:
    x = rand(np.random.default_rng(3), 2, 3, 5, 4)
    got = kernels.global_avgpool(x)
    assert got.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(
        got, run_onnx("GlobalAveragePool", [x]), rtol=RTOL, atol=ATOL
    )


# --- normalizations and activations ---------------------------------------------------------


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_matches_onnxruntime(axis: int) -> None:
    x = rand(np.random.default_rng(4), 3, 4, 5) * 10
    np.testing.assert_allclose(
        kernels.softmax(x, axis),
        run_onnx("Softmax", [x], axis=axis),
        rtol=RTOL,
        atol=1e-6,
    )


def test_softmax_is_stable_for_large_inputs() -> None:
    x = np.array([[1000.0, 1000.0, -1000.0]], dtype=np.float32)
    np.testing.assert_allclose(kernels.softmax(x, 1), [[0.5, 0.5, 0.0]])


@pytest.mark.parametrize("axis", [-1, 1, 2])
def test_layernorm_matches_onnxruntime(axis: int) -> None:
    rng = np.random.default_rng(5)
    x = rand(rng, 2, 3, 8)
    scale, bias = rand(rng, *x.shape[axis:]), rand(rng, *x.shape[axis:])
    got = kernels.layernorm(x, scale, bias, axis, 1e-5)
    expected = run_onnx("LayerNormalization", [x, scale, bias], axis=axis, epsilon=1e-5)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 3)])
def test_batchnorm_matches_onnxruntime(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(6)
    x = rand(rng, *shape)
    c = shape[1]
    scale, bias, mean = rand(rng, c), rand(rng, c), rand(rng, c)
    var = np.abs(rand(rng, c)) + 0.1
    got = kernels.batchnorm(x, scale, bias, mean, var, 1e-3)
    expected = run_onnx("BatchNormalization", [x, scale, bias, mean, var], epsilon=1e-3)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_erf_is_accurate_in_float64() -> None:
    x = np.concatenate([np.linspace(-7, 7, 4001), [0.0, -1e-12, 1e-300]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(kernels.erf(x), expected, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(kernels.erf(np.array([np.inf, -np.inf])), [1.0, -1.0])
    assert np.isnan(kernels.erf(np.array([np.nan]))[0])


def test_erf_matches_onnxruntime() -> None:
    x = rand(np.random.default_rng(7), 64) * 3
    got = kernels.erf(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, run_onnx("Erf", [x]), rtol=RTOL, atol=1e-6)


def test_gelu_matches_onnxruntime() -> None:
    x = rand(np.random.default_rng(8), 64) * 4
    got = kernels.gelu(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(
        got, run_onnx("Gelu", [x], opset=20), rtol=RTOL, atol=1e-6
    )


UNARY_CASES = {
    "Relu": kernels.relu,
    "Tanh": kernels.tanh,
    "Sigmoid": kernels.sigmoid,
    "Exp": kernels.exp,
    "Neg": kernels.neg,
}


@pytest.mark.parametrize("name", UNARY_CASES)
def test_unary_matches_onnxruntime(name: str) -> None:
    x = rand(np.random.default_rng(9), 5, 7) * 3
    np.testing.assert_allclose(
        UNARY_CASES[name](x), run_onnx(name, [x]), rtol=RTOL, atol=1e-6
    )


def test_positive_domain_unary() -> None:
    x = np.abs(rand(np.random.default_rng(10), 20)) + 0.01
    np.testing.assert_allclose(
        kernels.log(x), run_onnx("Log", [x]), rtol=RTOL, atol=1e-6
    )
    np.testing.assert_allclose(kernels.sqrt(x), run_onnx("Sqrt", [x]), rtol=RTOL)
    np.testing.assert_allclose(
        kernels.rsqrt(x), 1 / np.sqrt(x.astype(np.float64)), rtol=RTOL
    )


def test_sigmoid_saturates_without_overflow() -> None:
    x = np.array([-1000.0, -20.0, 0.0, 20.0, 1000.0], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise"):
        got = kernels.sigmoid(x)
    expected = 0.5 * (
        1 + np.tanh(x.astype(np.float64) / 2)
    )  # the same function, no exp
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-30)


def test_clip_matches_onnxruntime() -> None:
    x = rand(np.random.default_rng(11), 4, 6) * 3
    bounds = [np.array(-0.5, np.float32), np.array(1.25, np.float32)]
    np.testing.assert_array_equal(
        kernels.clip(x, -0.5, 1.25), run_onnx("Clip", [x], bounds)
    )


# --- data movement ----------------------------------------------------------------------------


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_matches_onnxruntime(axis: int, index_dtype: type) -> None:
    rng = np.random.default_rng(12)
    table = rand(rng, 5, 4, 3)
    size = table.shape[axis]
    indices = rng.integers(-size, size, (2, 3)).astype(index_dtype)
    got = kernels.gather(table, indices, axis)
    np.testing.assert_array_equal(got, run_onnx("Gather", [table, indices], axis=axis))


def test_gather_rejects_out_of_range_index() -> None:
    table = np.zeros((4, 2), np.float32)
    with pytest.raises(kernels.KernelError, match="index 4 is out of range"):
        kernels.gather(table, np.array([0, 4]), 0)


SLICE_CASES = {
    "plain": ((1, 0, 0), (3, 4, 5), (1, 1, 1)),
    "steps": ((0, 1, 0), (4, 4, 5), (2, 2, 3)),
    "negative_starts": ((-3, -2, 0), (4, 4, 5), (1, 1, 2)),
    "negative_ends": ((0, 0, 1), (-1, -2, -1), (1, 3, 1)),
    "clamped": ((-100, 2, 0), (100, 2**62, 5), (3, 1, 1)),
    "empty": ((3, 0, 0), (1, 4, 5), (1, 1, 1)),
}


@pytest.mark.parametrize("case", SLICE_CASES.values(), ids=SLICE_CASES.keys())
def test_slice_matches_onnxruntime(case: tuple) -> None:
    starts, ends, steps = case
    x = rand(np.random.default_rng(13), 4, 4, 5)
    got = kernels.slice_(x, starts, ends, steps)
    params = [np.array(v, np.int64) for v in (starts, ends, range(3), steps)]
    np.testing.assert_array_equal(got, run_onnx("Slice", [x], params))


@pytest.mark.parametrize(
    ("lhs", "rhs"),
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 1, 3, 4), (5, 4, 6)),
        ((7, 3, 4), (7, 4, 2)),
    ],
)
def test_matmul_broadcasts_batch_dims(lhs: tuple, rhs: tuple) -> None:
    rng = np.random.default_rng(14)
    a, b = rand(rng, *lhs), rand(rng, *rhs)
    got = kernels.matmul(a, b)
    batch = np.broadcast_shapes(lhs[:-2], rhs[:-2])
    expected = np.empty(batch + (lhs[-2], rhs[-1]), np.float64)
    a_b = np.broadcast_to(a, batch + lhs[-2:])
    b_b = np.broadcast_to(b, batch + rhs[-2:])
    for index in np.ndindex(*batch):
        expected[index] = a_b[index].astype(np.float64) @ b_b[index].astype(np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


BINARY = {
    kernels.add: np.add,
    kernels.sub: np.subtract,
    kernels.mul: np.multiply,
    kernels.div: np.divide,
    kernels.maximum: np.maximum,
    kernels.minimum: np.minimum,
}


@pytest.mark.parametrize("kernel", BINARY, ids=lambda k: k.__name__)
@pytest.mark.parametrize(
    ("lhs", "rhs"), [((2, 3), (2, 3)), ((4, 1, 3), (5, 1)), ((), (2, 2))]
)
def test_binary_broadcasts(kernel, lhs: tuple, rhs: tuple) -> None:
    rng = np.random.default_rng(15)
    a, b = rand(rng, *lhs), rand(rng, *rhs) + 3
    got = kernel(a, b)
    assert got.shape == np.broadcast_shapes(lhs, rhs)
    a_b, b_b = np.broadcast_arrays(a, b)
    expected = np.array(
        [BINARY[kernel](p, q) for p, q in zip(a_b.flat, b_b.flat, strict=True)]
    )
    np.testing.assert_array_equal(got.ravel(), expected)


def test_pow_matches_onnxruntime() -> None:
    rng = np.random.default_rng(16)
    base, exponent = np.abs(rand(rng, 3, 4)) + 0.1, rand(rng, 4)
    np.testing.assert_allclose(
        kernels.power(base, exponent), run_onnx("Pow", [base, exponent]), rtol=1e-5
    )


@pytest.mark.parametrize("kind", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("axes", [(0,), (1, 2), (-1,), (0, 1, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(kind: str, axes: tuple, keepdims: bool) -> None:
    x = rand(np.random.default_rng(17), 3, 4, 5).astype(np.float64)
    got = kernels.reduce(x, kind, axes, keepdims)
    # An independent formulation: move the reduced axes last and fold them by hand.
    normalized = sorted(a % x.ndim for a in axes)
    kept = [d for d in range(x.ndim) if d not in normalized]
    flat = np.transpose(x, kept + normalized).reshape([x.shape[d] for d in kept] + [-1])
    columns = [flat[..., i] for i in range(flat.shape[-1])]
    fold = {"sum": np.add, "mean": np.add, "max": np.maximum, "min": np.minimum}[kind]
    expected = columns[0]
    for column in columns[1:]:
        expected = fold(expected, column)
    if kind == "mean":
        expected = expected / len(columns)
    if keepdims:
        expected = np.reshape(
            expected, [1 if d in normalized else n for d, n in enumerate(x.shape)]
        )
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_reduce_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="prod"):
        kernels.reduce(np.zeros(3), "prod", (0,), False)


def test_transpose_reshape_concat() -> None:
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = kernels.transpose(x, (2, 0, 1))
    assert t.shape == (4, 2, 3)
    assert t[3, 1, 2] == x[1, 2, 3]
    r = kernels.reshape(x, (6, 4))
    assert r[4, 1] == 17  # row-major: (4 * 4 + 1)
    parts = [x, x + 100, x[:, :1] + 200]
    c = kernels.concat(parts, 1)
    assert c.shape == (2, 7, 4)
    np.testing.assert_array_equal(c[:, 3:6], x + 100)
    np.testing.assert_array_equal(c[:, 6:], x[:, :1] + 200)
    np.testing.assert_array_equal(kernels.concat([x], -1), x)


# ---- IEEE special values: results, not warnings --------------------------------------

IEEE_PROGRAM = """\
func.func @ieee(%x: tensor<4x8xf32>, %z: tensor<4x8xf32>, %w: tensor<4x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>,
        tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf16>) {
  %d = top.div %x, %z : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %q = top.div %z, %z : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = top.expr %x, %z {expr = "output0[N, M] = input0[N, M] % input1[N, M]"}
    : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = top.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %l = top.log %z : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %s = top.sqrt %w : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %r = top.rsqrt %z : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %h = top.expr %x {expr = "output0[N, M] = input0[N, M].call(`exp`).cast(`float16`)"}
    : (tensor<4x8xf32>) -> tensor<4x8xf16>
  func.return %d, %q, %m, %e, %l, %s, %r, %h : tensor<4x8xf32>, tensor<4x8xf32>,
    tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>,
    tensor<4x8xf32>, tensor<4x8xf16>
}
"""


def ieee_inputs() -> dict[str, np.ndarray]:
    """Positive x up to 200 (exp overflows f32 above 88, f16 above 11), z half zeros,
    w half negative: every output holds finite elements and one kind of special value."""
    x = np.linspace(0.5, 200, 32, dtype=np.float32).reshape(4, 8)
    z = np.where(np.arange(32).reshape(4, 8) % 2 == 0, 0, 3).astype(np.float32)
    w = np.linspace(-4, 4, 32, dtype=np.float32).reshape(4, 8)
    return {"arg0": x, "arg1": z, "arg2": w}


def ieee_expected(inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    x, z, w = inputs["arg0"], inputs["arg1"], inputs["arg2"]
    with np.errstate(all="ignore"):
        return [
            x / z,
            z / z,
            np.fmod(x, z),
            np.exp(x),
            np.log(z),
            np.sqrt(w),
            1 / np.sqrt(z),
            np.exp(x).astype(np.float16),
        ]


@pytest.mark.parametrize("target", [None, "ipu-mk2"])
def test_ieee_special_values_run_silently_through_t10_run(
    target: str | None, tmp_path: Path
) -> None:
    """`/ 0`, `% 0`, exp overflow, log(0), sqrt(-1) give numpy's IEEE results on the
    reference and on the chip, stderr stays empty even with warnings as errors, and
    --check compares the NaNs and infinities position by position."""
    program = tmp_path / "ieee.mlir"
    program.write_text(IEEE_PROGRAM)
    inputs = ieee_inputs()
    np.savez(tmp_path / "in.npz", **inputs)
    out = tmp_path / "out.npz"
    command = [
        sys.executable,
        "-W",
        "error::RuntimeWarning",
        "-c",
        "from t10ir.tools.t10_run import main; main()",
        str(program),
        "--inputs",
        str(tmp_path / "in.npz"),
        "--output",
        str(out),
    ]
    if target is not None:
        command += ["--target", target, "--check"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    got = np.load(out)
    for number, want in enumerate(ieee_expected(inputs)):
        assert np.isnan(want).any() or np.isinf(want).any()
        np.testing.assert_array_equal(got[f"out{number}"], want)


# ---- the compute dtype is a floor, never a narrowing ---------------------------------

F64_PROGRAM = """\
func.func @wide(%x: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %y = top.add %x, %x : (tensor<4x8xf64>, tensor<4x8xf64>) -> tensor<4x8xf64>
  %z = top.mul %y, %x : (tensor<4x8xf64>, tensor<4x8xf64>) -> tensor<4x8xf64>
  func.return %z : tensor<4x8xf64>
}
"""


@pytest.mark.parametrize("target", [None, "ipu-mk2"])
def test_f64_tensors_compute_in_f64_under_the_default_compute_dtype(
    target: str | None, tmp_path: Path
) -> None:
    """f64 values beyond f32's range (9e150: x + x fits f64, not f32) keep their
    precision under `--compute-dtype float32`, the default, on the reference and the chip."""
    program = tmp_path / "wide.mlir"
    program.write_text(F64_PROGRAM)
    x = np.linspace(1e150, 9e150, 32).reshape(4, 8) + np.pi
    np.savez(tmp_path / "in.npz", arg0=x)
    out = tmp_path / "out.npz"
    command = ["t10-run", str(program), "--inputs", str(tmp_path / "in.npz")]
    command += ["--output", str(out)]
    if target is not None:
        command += ["--target", target, "--check"]
    bin_dir = Path(sys.executable).parent
    result = subprocess.run(
        [str(bin_dir / command[0]), *command[1:]], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    got = np.load(out)["out0"]
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, (x + x) * x, rtol=1e-15)
