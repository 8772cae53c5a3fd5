"""einstein_v2 expressions: parsing, iteration domains and numpy evaluation.

The shared T10 model files give the expressions that must parse and yield consistent
domains; the evaluation cases are small instances of each distinct pattern they contain,
compared with independent numpy code.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import t10ir.expr.evaluate as evaluate_module
from t10ir.expr import ExprError, parse_expression
from t10ir.frontend.nnfusion import split_nnfusion_node
from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    LinearIndex,
    TensorMap,
)

MODELS = Path(__file__).parents[2].parent / "shared" / "models" / "t10-eval"
RNG = np.random.default_rng(10)


def model_nodes() -> list[tuple[str, str]]:
    """(model file name, node text) of every einstein_v2 node of the shared models."""
    if not MODELS.is_dir():
        pytest.skip(f"shared models not found at {MODELS}")
    return [
        (path.name, node[1])
        for path in sorted(MODELS.glob("*.json"))
        for node in json.loads(path.read_text())
        if node[1]
    ]


def shapes_of(inputs: dict) -> list[list[int]]:
    return [inputs[f"input{i}"]["shape"] for i in range(len(inputs))]


# (a) Every expression of the shared models.


def test_every_model_expression_has_a_consistent_domain() -> None:
    counts: dict[str, int] = {}
    for model, text in model_nodes():
        expr_text, inputs = split_nnfusion_node(text)
        shapes = shapes_of(inputs)
        expr = parse_expression(expr_text)
        domain = expr.iteration_domain(shapes)
        problem = domain.check(shapes, [expr.output_shape(shapes)])
        assert problem is None, f"{model}: {expr_text}: {problem}"
        counts[model] = counts.get(model, 0) + 1
    assert counts == {
        "bert-base.json": 1010,
        "nerf.json": 20,
        "resnet.json": 94,
        "vit.json": 1066,
    }


def _scaled(text: str, shapes: list[list[int]]) -> tuple[str, list[list[int]]]:
    """The placeholder batch/sequence sizes 99 and 66 made small, and nerf's 2073600 rays."""
    small = {99: 2, 66: 5, 2073600: 7}
    text = re.sub(r"\b(99|66)\b", lambda m: str(small[int(m.group())]), text)
    return text, [[small.get(s, s) for s in shape] for shape in shapes]


def test_every_distinct_model_expression_evaluates_at_small_scale() -> None:
    seen: set[str] = set()
    for _, text in model_nodes():
        expr_text, inputs = split_nnfusion_node(text)
        key = expr_text + json.dumps(inputs)
        if key in seen:
            continue
        seen.add(key)
        expr_text, shapes = _scaled(expr_text, shapes_of(inputs))
        arrays = []
        for i, shape in enumerate(shapes):
            dtype = np.dtype(inputs[f"input{i}"]["dtype"])
            if dtype.kind == "i":  # gather indices and masks: keep them in range
                arrays.append(RNG.integers(0, 2, shape).astype(dtype))
            else:
                arrays.append(RNG.uniform(0.5, 2.0, shape).astype(dtype))
        expr = parse_expression(expr_text)
        result = expr.evaluate(arrays)
        assert result.shape == expr.output_shape(shapes), expr_text
        assert np.isfinite(result.astype(np.float64)).all(), expr_text
    assert len(seen) > 60


def test_split_nnfusion_node() -> None:
    text = (
        ' - einstein_v2(" output0[N0, N1] = input0[N1] where N0 in 99; ", input_dict={ '
        '"input0" : { "dtype" : "float32", "shape" : [768]} })  ## @: memcpy '
    )
    expr, inputs = split_nnfusion_node(text)
    assert expr == " output0[N0, N1] = input0[N1] where N0 in 99; "
    assert inputs == {"input0": {"dtype": "float32", "shape": [768]}}
    with pytest.raises(ExprError):
        split_nnfusion_node("")


# Iteration domains.


def test_matmul_domain() -> None:
    expr = parse_expression(" output0[N, M] +=! input0[N, K] * input1[M, K];")
    domain = expr.iteration_domain([[4, 6], [5, 6]])
    assert [(d.name, d.extent, d.kind) for d in domain.dims] == [
        ("N", 4, DimKind.PARALLEL),
        ("M", 5, DimKind.PARALLEL),
        ("K", 6, DimKind.REDUCTION),
    ]
    assert domain.operands == (TensorMap.identity("NK"), TensorMap.identity("MK"))
    assert domain.results == (TensorMap.identity("NM"),)
    assert domain.combiner == "sum"
    assert str(domain) == (
        "(N:4:parallel, M:5:parallel, K:6:reduction) ins([N, K], [M, K]) outs([N, M]) "
        "combine sum padding 0.0 neutral(K)"
    )


def test_convolution_domain_is_guarded_and_affine() -> None:
    expr = parse_expression(CONV_PADDED)
    domain = expr.iteration_domain([[2, 3, 9, 9], [4, 3, 3, 3]])
    assert domain.extents == {
        "N": 2,
        "F": 4,
        "HO": 5,
        "WO": 5,
        "C": 3,
        "KH": 3,
        "KW": 3,
    }
    assert [d.name for d in domain.reduction_dims] == ["C", "KH", "KW"]
    image, kernel = domain.operands
    assert image.guarded and not kernel.guarded
    assert image.indices[2] == LinearIndex((("KH", 1), ("HO", 2)), -1)


def test_reshape_gather_concat_and_pool_domains() -> None:
    merge = parse_expression(
        "output0[N0, N1] = input0[N0, N1 / 4 % 3, N1 / 1 % 4] where N1 in 12;"
    )
    assert merge.iteration_domain([[2, 3, 4]]).operands[0].indices[1:] == (
        DelinearizedIndex(LinearIndex.of("N1"), 4, 3),
        DelinearizedIndex(LinearIndex.of("N1"), 1, 4),
    )
    gather = parse_expression("output0[N0, N1, N2] = input0[G3, N2] g input1[N0, N1];")
    domain = gather.iteration_domain([[4, 6], [2, 5]])
    assert [d.name for d in domain.dims] == ["N0", "N1", "N2"]
    assert domain.operands[0].indices == (
        GatheredIndex(1, (LinearIndex.of("N0"), LinearIndex.of("N1"))),
        LinearIndex.of("N2"),
    )
    assert gather.output_shape([[4, 6], [2, 5]]) == (2, 5, 6)
    concat = parse_expression(CONCAT).iteration_domain([[2, 1, 3], [2, 4, 3]])
    assert all(m.guarded for m in concat.operands)
    assert concat.operands[1].indices[1] == LinearIndex.of("N1", 1, -1)
    pool = parse_expression(MAXPOOL).iteration_domain([[1, 2, 6, 6]])
    assert pool.combiner == "max"
    assert [d.name for d in pool.reduction_dims] == ["K0", "K1"]
    low = parse_expression("output0[N] <=! input0[N, K];").iteration_domain([[2, 3]])
    assert low.combiner == "min"


def test_an_input_read_twice_maps_its_first_read() -> None:
    expr = parse_expression("output0[N] = input0[N] * input0[3 - N] where N in 4;")
    (only,) = expr.iteration_domain([[4]]).operands
    assert only == TensorMap((LinearIndex.of("N"),))


def test_parsing_is_cached() -> None:
    text = "output0[N] = input0[N];"
    assert parse_expression(text) is parse_expression(text)


# (b) Evaluation against independent numpy code.

CONV_PADDED = (
    " output0[N, F, HO, WO] +=! input0[N, C, -1 + KH * 1 + HO * 2, -1 + KW * 1 + WO * 2]"
    ".when([-1 + KH * 1 + HO * 2 >= 0, -1 + KH * 1 + HO * 2 < 9, -1 + KW * 1 + WO * 2 >= 0,"
    " -1 + KW * 1 + WO * 2 < 9], const(0.0).cast(input0[N, C, -1 + KH * 1 + HO * 2,"
    " -1 + KW * 1 + WO * 2].dtype())) * input1[F, C, KH, KW] where HO in 5, WO in 5; "
)
MAXPOOL = (
    " output0[N, C, D0, D1] >=! input0[N, C, D0 * 2 + K0 - 1, D1 * 2 + K1 - 1].when("
    "[D0 * 2 + K0 - 1 >=0 , D0 * 2 + K0 - 1 < 6 , D1 * 2 + K1 - 1 >=0 , D1 * 2 + K1 - 1 < 6],"
    " const(-3.4e38).cast(input0.dtype())) where D0 in 3, K0 in 3 , D1 in 3, K1 in 3;  "
)
CONCAT = (
    " output0[N0, N1, N2] =  input0[N0, N1 - 0, N2].when(N1 < 1, input1[N0, N1 - 1, N2])"
    "  where N1 in 5;"
)


def conv_reference(
    x: np.ndarray, w: np.ndarray, stride: int, pad: int, out: int
) -> np.ndarray:
    """A direct loop convolution (NCHW, OIHW) for tiny shapes."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, f, kh, kw = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    y = np.zeros((n, f, out, out))
    for i in range(out):
        for j in range(out):
            patch = xp[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            y[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, w)
    return y


def maxpool_reference(x: np.ndarray) -> np.ndarray:
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    y = np.empty(x.shape[:2] + (3, 3))
    for i in range(3):
        for j in range(3):
            y[:, :, i, j] = xp[:, :, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].max(
                axis=(2, 3)
            )
    return y


def softmax_max(x: np.ndarray) -> np.ndarray:
    return x.max(axis=-1)


def r(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


a23, a235, a2345 = r(2, 3), r(2, 3, 5), r(2, 3, 4, 5)
CASES = [
    (
        "output0[N0, N1] = input0[N1] where N0 in 3;",
        [r(4)],
        lambda x: np.broadcast_to(x, (3, 4)),
    ),
    (
        " output0[N0, N1, N2] = input0[N2] where N0 in 2, N1 in 5;",
        [r(4)],
        lambda x: np.broadcast_to(x, (2, 5, 4)),
    ),
    (
        "output0[N0, N1] = input0[0] where N0 in 2, N1 in 5;",
        [r(1)],
        lambda x: np.full((2, 5), x[0]),
    ),
    (
        "output0[N0, N1, N2, N3] = input0[N1, N2] where N0 in 2, N3 in 5;",
        [r(1, 1)],
        lambda x: np.broadcast_to(x[None, :, :, None], (2, 1, 1, 5)),
    ),
    (
        "output0[N0, N1, N2, N3] = input0[N1] where N0 in 2, N2 in 3, N3 in 3;",
        [r(4)],
        lambda x: np.broadcast_to(x[None, :, None, None], (2, 4, 3, 3)),
    ),
    (
        "output0[N0, N1, N2] = input0[N0, N1] where N2 in 6;",
        [a23],
        lambda x: np.broadcast_to(x[:, :, None], (2, 3, 6)),
    ),
    (
        "output0[N0, N1, N2] = input0[N0, N1, N2] + input1[N0, N1, N2];",
        [a235, r(2, 3, 5)],
        np.add,
    ),
    (
        "output0[N0, N1, N2] = input0[N0, N1, N2] - input1[N0, N1, N2];",
        [a235, r(2, 3, 5)],
        np.subtract,
    ),
    (
        "output0[N0, N1, N2, N3] = input0[N0, N1, N2, N3] * input1[N0, N1, N2, N3];",
        [a2345, r(2, 3, 4, 5)],
        np.multiply,
    ),
    (
        "output0[N0, N1] = input0[N0, N1] / input1[N0, N1];",
        [a23, r(2, 3) + 3],
        np.divide,
    ),
    ("output0[N0, N1] +=! input0[N0, N1, R2];", [a235], lambda x: x.sum(axis=2)),
    (
        "output0[N0, N1] +=! input0[N0, N1, N2, N3];",
        [a2345],
        lambda x: x.sum(axis=(2, 3)),
    ),
    (
        "output0[N0, N1, N2] = input0[N0, N1] where N2 in 1;",
        [a23],
        lambda x: x[:, :, None],
    ),
    ("output0[N0, N1] = input0[N0, N1, 0];", [r(2, 3, 1)], lambda x: x[:, :, 0]),
    ("output0[N0, N1] = input0[N0, 0, 0, N1];", [r(2, 1, 1, 5)], lambda x: x[:, 0, 0]),
    ("output0[N0, N1] = input0[N0, 0, N1];", [a235], lambda x: x[:, 0]),
    (
        "output0[N0, N1, N2, N3] = input0[N0, 0, N3] where N1 in 1, N2 in 1;",
        [r(2, 1, 5)],
        lambda x: x[:, None, :, :],
    ),
    (
        "output0[N0, N1, N2, N3] = input0[0, N0, N1, N2, N3];",
        [r(1, 2, 3, 4, 5)],
        lambda x: x[0],
    ),
    (
        "output0[N0, N1, N2, N3] = input0[N0, N1, 0, N2, N3];",
        [r(2, 3, 1, 4, 5)],
        lambda x: x[:, :, 0],
    ),
    ("output0[N0, N1, N2] = input0[N0, N1, N2].call(`sqrt`);", [np.abs(a235)], np.sqrt),
    ("output0[N0, N1] = input0[N0, N1].call(`tanh`);", [a23], np.tanh),
    (
        "output0[N0, N1, N2] = input0[N0, N1, N2].call(`erf`);",
        [a235],
        np.vectorize(math.erf),
    ),
    (
        " output0[S0, N, M] +=! input0[S0, N, K] * input1[K, M]; ",
        [r(2, 3, 4), r(4, 6)],
        np.matmul,
    ),
    (
        " output0[N, M] +=! input0[N, K] * input1[M, K]; ",
        [r(3, 4), r(5, 4)],
        lambda a, b: a @ b.T,
    ),
    (
        " output0[B0, B1, N, M] +=! input0[B0, B1, N, K] * input1[B0, B1, K, M]; ",
        [a2345, r(2, 3, 5, 6)],
        np.matmul,
    ),
    (
        " output0[N0, N1, N2] = input0[N0 + 0, N1 + 0, N2 + 6] where N0 in 2 , N1 in 3 , N2 in 3;",
        [r(2, 3, 9)],
        lambda x: x[:, :, 6:9],
    ),
    (
        " output0[N0, N1, N2, N3, N4] = input0[N0 + 0, N1 + 0, N2 + 2, N3 + 0, N4 + 0] "
        "where N0 in 2 , N1 in 3 , N2 in 1 , N3 in 2 , N4 in 4;",
        [r(2, 3, 3, 2, 4)],
        lambda x: x[:, :, 2:3],
    ),
    (
        " output0[N0, N1, N2, N3] = input0[N0, N1, ((N2) * 4 + N3)] where N2 in 3, N3 in 4;   ",
        [r(2, 5, 12)],
        lambda x: x.reshape(2, 5, 3, 4),
    ),
    (
        " output0[N0, N1, N2, N3, N4] = input0[N0, N1, (((N2) * 3 + N3) * 4 + N4)] "
        "where N2 in 2, N3 in 3, N4 in 4;",
        [r(2, 5, 24)],
        lambda x: x.reshape(2, 5, 2, 3, 4),
    ),
    (
        " output0[N0, N1, N2] = input0[N0, N1, N2 / 4 % 3, N2 / 1 % 4] where N2 in 12;   ",
        [a2345.reshape(2, 5, 3, 4)],
        lambda x: x.reshape(2, 5, 12),
    ),
    (
        " output0[N0, N2, N1, N3] = input0[N0, N1, N2, N3] ;  ",
        [a2345],
        lambda x: x.transpose(0, 2, 1, 3),
    ),
    (
        " output0[N2, N0, N3, N1, N4] = input0[N0, N1, N2, N3, N4] ;  ",
        [r(2, 3, 1, 4, 5)],
        lambda x: x.transpose(2, 0, 3, 1, 4),
    ),
    (" output0[N1, N0] = input0[N0, N1] ;  ", [a23], lambda x: x.T),
    (
        " output0[N0, N2, N1] = input0[N0, N1, N2] ;  ",
        [a235],
        lambda x: x.transpose(0, 2, 1),
    ),
    (" output0[N0, N1, N2] >=! input0[N0, N1, N2, N3];  ", [a2345], softmax_max),
    (
        " output0[N0, N1, N2, N3] = (input0[N0, N1, N2, N3] - input1[N0, N1, N2]).call(`exp`);",
        [a2345, softmax_max(a2345)],
        lambda x, m: np.exp(x - m[..., None]),
    ),
    (
        " output0[N0, N1, N2, N3] = input0[N0, N1, N2, N3] / input1[N0, N1, N2];  ",
        [a2345, r(2, 3, 4) + 3],
        lambda x, s: x / s[..., None],
    ),
    (
        "output0[N0, N1, N2] = input0[N0, N1, N2].call(`max`, "
        "[const(0).cast(input0[N0, N1, N2].dtype())]);",
        [a235],
        lambda x: np.maximum(x, 0),
    ),
    (
        CONV_PADDED,
        [r(2, 3, 9, 9), r(4, 3, 3, 3)],
        lambda x, w: conv_reference(x, w, 2, 1, 5),
    ),
    (
        " output0[N, F, HO, WO] +=! input0[N, C, -0 + KH * 1 + HO * 2, -0 + KW * 1 + WO * 2]"
        " * input1[F, C, KH, KW] where HO in 3, WO in 3;",
        [r(2, 4, 6, 6), r(5, 4, 1, 1)],
        lambda x, w: conv_reference(x, w, 2, 0, 3),
    ),
    (
        " output0[N, F, HO, WO] +=! input0[N, C, KH*1+HO*4, KW*1+WO*4] * input1[F, C, KH, KW]"
        " where HO in 2, WO in 2;",
        [r(1, 3, 8, 8), r(5, 3, 4, 4)],
        lambda x, w: conv_reference(x, w, 4, 0, 2),
    ),
    (MAXPOOL, [r(2, 3, 6, 6)], maxpool_reference),
    (CONCAT, [r(2, 1, 3), r(2, 4, 3)], lambda a, b: np.concatenate([a, b], axis=1)),
    # Beyond the models: the rest of the language.
    ("output0[N] <=! input0[N, K];", [a23], lambda x: x.min(axis=1)),
    (
        "output0[N0,N1]=-(input0[N0,N1]+const(0.5))*2-input0[N0,N1].call(`log`)/3;",
        [np.abs(a23) + 1],
        lambda x: -(x + 0.5) * 2 - np.log(x) / 3,
    ),
    (
        "output0[N] = input0[N].call(`pow`, [const(2)]) + input0[N].call(`abs`);",
        [r(5)],
        lambda x: x**2 + np.abs(x),
    ),
    (
        "output0[N] = input0[N].when([N != 2, N % 2 == 0], const(-1)) where N in 6;",
        [r(6)],
        lambda x: np.where(
            np.arange(6) % 2 == 0, np.where(np.arange(6) != 2, x, -1), -1
        ),
    ),
    (
        "output0[N] = input0[N].when(N <= 1, input0[N] * 0 + N) where N in 4;",
        [r(4)],
        lambda x: np.where(np.arange(4) <= 1, x, np.arange(4)),
    ),
    (
        "output0[N] = input0[N].when(N > 9, const(7)) where N in 3;",
        [r(3)],
        lambda x: [7.0] * 3,
    ),
    (
        "output0[N] +=! input0[N * 2 + K] where N in 3, K in 2;",
        [r(6)],
        lambda x: x.reshape(3, 2).sum(axis=1),
    ),
    (
        "output0[N] +=! input0[N] * input1[N, K] * const(3);",
        [r(2), r(2, 4)],
        lambda a, b: 3 * a * b.sum(axis=1),
    ),
    (
        "output0[I, J] +=! input0[I, K] * input1[K, L] * input2[L, J];",
        [r(2, 3), r(3, 4), r(4, 5)],
        lambda a, b, c: a @ b @ c,
    ),
    (
        "output0[N] = N / 2 + 0 * input0[0] where N in 5;",
        [r(1)],
        lambda x: np.arange(5) // 2,
    ),
]


@pytest.mark.parametrize(
    ("text", "inputs", "reference"), CASES, ids=[c[0] for c in CASES]
)
def test_evaluate_matches_numpy(text, inputs, reference) -> None:
    result = parse_expression(text).evaluate(inputs)
    expected = np.asarray(reference(*inputs), dtype=np.float64)
    assert result.shape == expected.shape
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=2e-5, atol=2e-6)


def test_gather() -> None:
    table = r(4, 6)
    indices = np.array([[3, 0, 1, 1, 2], [0, 0, 3, 2, 1]], dtype=np.int64)
    expr = parse_expression("output0[N0, N1, N2] = input0[G3, N2] g input1[N0, N1];")
    np.testing.assert_array_equal(
        expr.evaluate([table, indices]), np.take(table, indices, axis=0)
    )
    with pytest.raises(ExprError, match="out of range"):
        expr.evaluate([table, indices + 1])


def test_dtypes() -> None:
    half = r(2, 3).astype(np.float16)
    relu = parse_expression(
        "output0[N0, N1] = input0[N0, N1].call(`max`, [const(0).cast(input0[N0, N1].dtype())]);"
    )
    assert relu.evaluate([half]).dtype == np.float16
    assert relu.evaluate([half], np.float32).dtype == np.float32
    convert = parse_expression("output0[N0, N1] = input0[N0, N1].cast(`float32`);")
    ints = np.arange(6, dtype=np.int64).reshape(2, 3)
    converted = convert.evaluate([ints])
    assert converted.dtype == np.float32
    np.testing.assert_array_equal(converted, ints)
    wide = parse_expression("output0[N] = input0[N] + const(1e-12);").evaluate(
        [np.ones(2)]
    )
    assert wide.dtype == np.float64 and (wide > 1).all()
    to_half = parse_expression("output0[N] = input0[N].cast(`float16`);")
    assert to_half.evaluate([np.array([1 + 2**-12], np.float32)], np.float32)[0] == 1
    assert convert.output_dtype([np.int64], [[2, 3]]) == np.float32


def test_erf_accuracy() -> None:
    x = np.linspace(-6, 6, 2001)
    expr = parse_expression("output0[N] = input0[N].call(`erf`);")
    error = expr.evaluate([x]) - np.array([math.erf(v) for v in x])
    assert np.abs(error).max() < 2e-7


def test_chunked_evaluation_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [
        (" output0[N, M] +=! input0[N, K] * input1[K, M]; ", [r(6, 5), r(5, 7)]),
        ("output0[N0, N1] +=! input0[N0, N1, R2].call(`exp`);", [r(3, 4, 9)]),
        (MAXPOOL, [r(2, 3, 6, 6)]),
        (CONV_PADDED, [r(2, 3, 9, 9), r(4, 3, 3, 3)]),
    ]
    whole = [parse_expression(t).evaluate(x) for t, x in cases]
    monkeypatch.setattr(evaluate_module, "_LIMIT_BYTES", 16)
    for (text, inputs), expected in zip(cases, whole, strict=True):
        np.testing.assert_allclose(
            parse_expression(text).evaluate(inputs), expected, rtol=1e-5, atol=1e-6
        )


def test_model_sized_matmul_and_convolution_are_fast() -> None:
    import time

    start = time.perf_counter()
    a, b = r(1024, 768), r(768, 3072)
    product = parse_expression(
        " output0[N, M] +=! input0[N, K] * input1[K, M]; "
    ).evaluate([a, b])
    np.testing.assert_allclose(product[:4], a[:4] @ b, rtol=1e-4, atol=1e-3)
    conv = (
        CONV_PADDED.replace("< 9", "< 224")
        .replace("-1", "-3")
        .replace("in 5", "in 112")
    )
    x, w = r(1, 3, 224, 224), r(64, 3, 7, 7)
    assert parse_expression(conv).evaluate([x, w]).shape == (1, 64, 112, 112)
    assert time.perf_counter() - start < 5


# (c) Errors point at the offending column.


@pytest.mark.parametrize(
    ("text", "shapes", "column", "message"),
    [
        ("output0[N] +=! input0[N,, K]", [[2, 3]], 24, "unexpected ','"),
        ("output0[N] +=! input0[N, K", [[2, 3]], 26, "end of input"),
        ("output0[N] = input0[N] $ 2;", [[2]], 23, "syntax error"),
        ("output0[N] = input2[N];", [[4]], 13, "unknown input input2"),
        ("output0[N] = foo[N];", [[4]], 13, "unknown input foo"),
        ("output0[N] = input0[N, M];", [[4]], 13, "rank 1"),
        ("output0[N] = input0[N] + input1[N];", [[4], [5]], 25, "inconsistent extents"),
        ("output0[N, M] = input0[N];", [[4]], 11, "extent of M"),
        ("output0[N] = input0[N].call(`foo`);", [[4]], 28, "unsupported function"),
        ("output0[N] = input0[N].call(`max`);", [[4]], 28, "argument"),
        ("output0[N] = input0[N + 1] + input1[N];", [[4], [4]], 13, "read from 1 to 4"),
        ("output0[N] = input0[N, K];", [[4, 2]], 23, "only on the right"),
        ("output0[N] = input0[N * N];", [[4]], 20, "affine"),
        ("output0[N, N] = input0[N];", [[4]], 11, "distinct dims"),
        ("output0[N] = input0[N].cast(`nosuch`);", [[4]], 28, "unknown dtype"),
        ("output0[N] = input0[N] + input0.dtype();", [[4]], 25, "cast target"),
        ("output0[N] = const(N);", [[4]], 13, "const() takes a number"),
        ("output0[N] = input0[N] where N in 0;", [[4]], 29, "positive"),
        ("output0[N] = input0[N] where N in 2.5;", [[4]], 34, "integer"),
    ],
)
def test_errors_have_columns(text, shapes, column, message) -> None:
    with pytest.raises(ExprError, match=re.escape(message)) as caught:
        parse_expression(text).iteration_domain(shapes)
    assert caught.value.column == column, caught.value
    assert message in caught.value.message


def test_unread_input_is_an_error() -> None:
    with pytest.raises(ExprError, match="input1 is never read"):
        parse_expression("output0[N] = input0[N];").output_shape([[4], [4]])


# ---- integer expressions are exact ---------------------------------------------------


def test_integer_expressions_are_computed_exactly() -> None:
    """Integers beyond float32's 2^24 keep every digit; `/` truncates toward zero as C
    does, `%` takes the divisor's sign as numpy does, and a max starts from the least
    integer, not from a float -inf that int has no value for."""
    a = np.array([2**31 - 1, -7, 7, -(2**30) - 3], np.int32)
    b = np.array([1, 2, -3, 5], np.int32)
    quotient = parse_expression("output0[N] = input0[N] / input1[N];").evaluate([a, b])
    np.testing.assert_array_equal(quotient, np.trunc(a / b).astype(np.int32))
    assert quotient.dtype == np.int32
    modulo = parse_expression("output0[N] = input0[N] % input1[N];").evaluate([a, b])
    np.testing.assert_array_equal(modulo, np.mod(a, b))
    total = parse_expression("output0[N] = input0[N] + input1[N] * const(3);")
    np.testing.assert_array_equal(total.evaluate([a, b]), a + b * 3)
    rows = np.array([[-(2**31), -(2**31) + 1], [2**24 + 1, 2**24 + 3]], np.int32)
    largest = parse_expression("output0[N] >=! input0[N, K];").evaluate([rows])
    np.testing.assert_array_equal(largest, rows.max(axis=1))


@pytest.mark.parametrize("operator", ["/", "%"])
def test_integer_division_by_zero_is_an_error(operator: str) -> None:
    """An integer has no value for x / 0 (a float cast of inf gave -2^31): an error,
    not a result."""
    a = np.array([4, 5], np.int32)
    b = np.array([2, 0], np.int32)
    expr = parse_expression(f"output0[N] = input0[N] {operator} input1[N];")
    with pytest.raises(ExprError, match=f"integer {re.escape(operator)} by zero"):
        expr.evaluate([a, b])


def test_integer_division_a_guard_excludes_is_not_an_error() -> None:
    """Both branches of `.when` are computed; a zero divisor on lanes the guard sends to
    the other branch takes no part in the result."""
    a = np.array([6, 5, 9], np.int32)
    b = np.array([2, 0, 3], np.int32)
    expr = parse_expression(
        "output0[N] = (input0[N] / input1[N]).when(input1[N] != const(0), const(0));"
    )
    np.testing.assert_array_equal(expr.evaluate([a, b]), [3, 0, 3])
