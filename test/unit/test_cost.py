"""The per-core cost model against the primer's formulas, computed here independently,
and the classification of iteration domains, hand-built and from real `top` ops."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType, f16, f32
from xdsl.ir import Attribute, SSAValue
from xdsl.utils.test_value import create_ssa_value

from t10ir.cost import (
    SubOpKind,
    SubOpShape,
    classify,
    comm_factor,
    compute_cycles,
    copy_cycles,
    elementwise_cycles,
    matmul_cycles,
    reduction_cycles,
    shift_cycles,
    sync_cycles,
    unary_cycles,
)
from t10ir.dialects import top
from t10ir.planning.domain import (
    DimKind,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)
from t10ir.target import PRESETS, ComputeModel

IPU = PRESETS["ipu-mk2"]
CM = ComputeModel()
IMPLICIT_GEMM = replace(IPU, compute=CM)
"""The IPU without its fits to measured convolutions (`test_kernel_fit.py` tests them)."""


def primer_matmul(m: int, k: int, n: int, b: int) -> float:
    """Primer section 5, as written there: m the larger of m and n, unless both are
    at most 16, then m the smaller."""
    if m <= 16 and n <= 16:
        m, n = sorted((m, n))
    elif m < n:
        m, n = n, m
    kb = math.ceil(k / (32 / b))
    return (
        b * 12 * math.ceil(m / 6) * kb * math.ceil(n / 16)
        + 514 * kb * math.ceil(n / 16)
        + 113 * math.ceil(n / 16)
        + 173
    )


def primer_elementwise(e: int) -> float:
    big, small = 0.5 * e + 300, 0.75 * e + 290
    return small if small < big and e <= 16432 else big


SHAPES = [
    (1, 1, 1),
    (6, 16, 16),
    (7, 17, 17),
    (16, 64, 1000),  # m <= 16 < n: swapped, m the larger
    (17, 64, 1000),  # m < n: swapped
    (16, 96, 101),
    (16, 8, 3),  # both <= 16: swapped, m the smaller
    (3, 8, 16),  # both <= 16, m already the smaller
    (12, 40, 12),
    (1000, 64, 17),
    (128, 768, 768),
    (64, 3072, 96),
    (5, 100, 3),
    (128, 5120 // 26, 15360 // 14),
]


@pytest.mark.parametrize("b", [2, 4])
@pytest.mark.parametrize(("m", "k", "n"), SHAPES)
def test_ipu_matmul_cycles_equal_the_primer_formula(
    m: int, k: int, n: int, b: int
) -> None:
    assert matmul_cycles(CM, m, k, n, b) == primer_matmul(m, k, n, b)
    assert matmul_cycles(CM, m, k, n, b, batch=3) == 3 * primer_matmul(m, k, n, b)
    by_kind = {"m": m, "k": k, "n": n}
    assert compute_cycles(IPU, SubOpKind.CONTRACTION, by_kind, b) == primer_matmul(
        m, k, n, b
    )


def test_matmul_16x96x101_costs_what_t10_charges() -> None:
    """m x k x n = 16 x 96 x 101 in f16: T10 orients it as 101 x 96 x 16 and charges
    2*12*17*6*1 + 514*6*1 + 113*1 + 173 = 5,818 cycles (not the 25,576 of 16 x 96 x 101
    unswapped), whichever of m and n is given first."""
    assert matmul_cycles(CM, 16, 96, 101, 2) == 5818
    assert matmul_cycles(CM, 101, 96, 16, 2) == 5818
    assert (
        compute_cycles(IPU, SubOpKind.CONTRACTION, {"m": 16, "k": 96, "n": 101}, 2)
        == 5818
    )


def test_matmul_cycles_vectorize() -> None:
    m, k, n = (np.array(column) for column in zip(*SHAPES, strict=True))
    for b in (2, 4):
        expected = [primer_matmul(*shape, b) for shape in SHAPES]
        np.testing.assert_array_equal(matmul_cycles(CM, m, k, n, b), expected)


@pytest.mark.parametrize("e", [1, 10, 39, 40, 41, 1000, 16432, 16433, 100000])
def test_elementwise_and_unary_formulas(e: int) -> None:
    assert elementwise_cycles(CM, e) == primer_elementwise(e)
    assert unary_cycles(CM, e) == 0.5 * e + 200
    elementwise = IterationDomain(
        (LoopDim("i", e),),
        (TensorMap.identity(["i"]), TensorMap.identity(["i"])),
        (TensorMap.identity(["i"]),),
    )
    assert compute_cycles(IPU, elementwise, {"i": e}, 2) == primer_elementwise(e)


def test_elementwise_vectorizes() -> None:
    e = np.array([1, 39, 40, 16432, 20000])
    np.testing.assert_array_equal(
        elementwise_cycles(CM, e), [primer_elementwise(int(x)) for x in e]
    )


def test_shift_sync_and_multi_chip() -> None:
    for e, b in ((1000, 2), (4096, 4), (1, 2)):
        assert shift_cycles(IPU, e, b) == pytest.approx(e * b / 2 * 0.56)
    assert sync_cycles(IPU) == 118
    pod = PRESETS["ipu-pod4"]
    np.testing.assert_array_equal(comm_factor(pod, np.array([1472, 1473])), [1, 1.25])
    assert comm_factor(IPU, 1472) == 1
    assert shift_cycles(pod, 1000, 2, cores_used=5888) == pytest.approx(
        1.25 * shift_cycles(pod, 1000, 2)
    )
    mesh = PRESETS["wormhole-8x8"]
    assert shift_cycles(mesh, 1024, 2, hops=3) == 1024 * 2 / 32 + 3 * mesh.hop_cycles


# --------------------------------------------------------------------------------------
# Classification.
# --------------------------------------------------------------------------------------


def matmul_domain() -> IterationDomain:
    return IterationDomain(
        (LoopDim("m", 8), LoopDim("n", 4), LoopDim("k", 16, DimKind.REDUCTION)),
        (TensorMap.identity(["m", "k"]), TensorMap.identity(["k", "n"])),
        (TensorMap.identity(["m", "n"]),),
        combiner="sum",
        padding=0.0,
    )


def conv1d_domain() -> IterationDomain:
    """out[f, o] += x[c, o*2 + k] * w[f, c, k]"""
    window = LinearIndex((("o", 2), ("k", 1)))
    return IterationDomain(
        (
            LoopDim("f", 8),
            LoopDim("o", 10),
            LoopDim("c", 3, DimKind.REDUCTION),
            LoopDim("k", 3, DimKind.REDUCTION),
        ),
        (
            TensorMap((LinearIndex.of("c"), window)),
            TensorMap.identity(["f", "c", "k"]),
        ),
        (TensorMap.identity(["f", "o"]),),
        combiner="sum",
        padding=0.0,
    )


def normalization_domain(params: int) -> IterationDomain:
    """softmax (params=0) or layernorm (params=2) along j: reduce, then broadcast back."""
    rows = TensorMap.identity(["i", "j"])
    return IterationDomain(
        (LoopDim("i", 4), LoopDim("j", 32, DimKind.REDUCTION)),
        (rows, *(TensorMap.identity(["j"]),) * params),
        (rows,),
        combiner="sum",
        padding=0.0,
    )


def test_classify_hand_built_domains() -> None:
    assert classify(matmul_domain()) is SubOpKind.CONTRACTION
    assert classify(conv1d_domain()) is SubOpKind.CONVOLUTION
    assert classify(normalization_domain(0)) is SubOpKind.REDUCTION
    assert classify(normalization_domain(2)) is SubOpKind.REDUCTION
    ij = TensorMap.identity(["i", "j"])
    dims = (LoopDim("i", 4), LoopDim("j", 5))
    assert classify(IterationDomain(dims, (ij, ij), (ij,))) is SubOpKind.ELEMENTWISE
    assert classify(IterationDomain(dims, (ij,), (ij,))) is SubOpKind.UNARY
    assert classify(IterationDomain(dims, (ij,), (ij,)), is_copy=True) is SubOpKind.COPY
    max_plus = IterationDomain(
        matmul_domain().dims, matmul_domain().operands, matmul_domain().results, "max"
    )
    assert classify(max_plus) is SubOpKind.REDUCTION


def test_contraction_dims_map_to_m_n_k_batch() -> None:
    shape = SubOpShape.of(matmul_domain())
    assert (shape.m, shape.n, shape.k, shape.batch) == (("m",), ("n",), ("k",), ())
    conv = SubOpShape.of(conv1d_domain())
    assert (conv.m, conv.n, conv.k, conv.batch) == (("o",), ("f",), ("c", "k"), ())
    # A convolution costs its implicit GEMM: m = outputs, n = filters, k = c * taps.
    extents = {"f": 8, "o": 10, "c": 3, "k": 3}
    assert compute_cycles(IMPLICIT_GEMM, conv1d_domain(), extents, 2) == primer_matmul(
        10, 9, 8, 2
    )


def value(shape: tuple[int, ...], element: Attribute = f16) -> SSAValue:
    return create_ssa_value(TensorType(element, shape))


def test_classify_top_ops() -> None:
    x = value((2, 8, 16))
    image = value((1, 4, 10, 10), f32)
    cases: list[tuple[top.TopOperation, SubOpKind]] = [
        (top.MatmulOp(x, value((2, 16, 32))), SubOpKind.CONTRACTION),
        (top.MatmulOp(value((8, 16)), value((16, 32))), SubOpKind.CONTRACTION),
        (
            top.Conv2dOp(image, value((6, 4, 3, 3), f32), value((6,), f32)),
            SubOpKind.CONVOLUTION,
        ),
        (
            top.Conv2dOp(image, value((6, 2, 3, 3), f32), None, group=2),
            SubOpKind.CONVOLUTION,
        ),
        (top.AddOp(x, value((16,))), SubOpKind.ELEMENTWISE),
        (top.ReluOp(x), SubOpKind.UNARY),
        (top.SoftmaxOp(x), SubOpKind.REDUCTION),
        (top.LayerNormOp(x, value((16,)), value((16,))), SubOpKind.REDUCTION),
        (top.ReduceOp(x, None, "sum", [2], False), SubOpKind.REDUCTION),
        (top.MaxPoolOp(image, None, [2, 2], [2, 2]), SubOpKind.REDUCTION),
        (top.GlobalAvgPoolOp(image), SubOpKind.REDUCTION),
        (top.TransposeOp(x, None, [0, 2, 1]), SubOpKind.UNARY),
    ]
    for op, kind in cases:
        op.verify()
        assert classify(op.iteration_domain()) is kind, op.name


def test_top_matmul_and_conv_cost_as_the_primer_gemm() -> None:
    op = top.MatmulOp(value((3, 40, 64)), value((3, 64, 20)))
    domain = op.iteration_domain()
    assert SubOpShape.of(domain).batch == ("b0",)
    assert compute_cycles(IPU, domain, domain.extents, 2) == 3 * primer_matmul(
        40, 64, 20, 2
    )
    conv = top.Conv2dOp(
        value((2, 4, 10, 10)), value((6, 2, 3, 3)), None, pads=(1, 1, 1, 1), group=2
    )
    shape = SubOpShape.of(conv.iteration_domain())
    assert (shape.m, shape.n, shape.k, shape.batch) == (
        ("n", "oh", "ow"),
        ("f",),
        ("c", "kh", "kw"),
        ("g",),
    )
    extents = conv.iteration_domain().extents
    assert compute_cycles(IMPLICIT_GEMM, shape, extents, 2) == 2 * primer_matmul(
        2 * 10 * 10, 2 * 3 * 3, 3, 2
    )


def test_element_kinds_count_all_loop_points() -> None:
    extents = {"i": 4, "j": 32}
    assert compute_cycles(IPU, normalization_domain(0), extents, 2) == (
        reduction_cycles(CM, 128)
    )
    copy = SubOpShape.of(normalization_domain(0), is_copy=True)
    assert compute_cycles(IPU, copy, extents, 4) == copy_cycles(CM, 128, 4)
    assert copy_cycles(CM, 128, 4) == 128 * 4 / 8 + 200
    with pytest.raises(KeyError, match="'j'"):
        compute_cycles(IPU, normalization_domain(0), {"i": 4}, 2)


# --------------------------------------------------------------------------------------
# Monotonicity: more work never costs less.
# --------------------------------------------------------------------------------------

rng = np.random.default_rng(0)
EXTENTS = rng.integers(1, 3000, size=(3, 2000))


@pytest.mark.parametrize("b", [2, 4])
def test_matmul_is_monotone_in_k_n_and_batch(b: int) -> None:
    m, k, n = EXTENTS
    base = matmul_cycles(CM, m, k, n, b)
    assert np.all(matmul_cycles(CM, m, k + 1, n, b) >= base)
    assert np.all(matmul_cycles(CM, m, k, n + 1, b) >= base)
    assert np.all(matmul_cycles(CM, m, k, n, b, batch=2) >= base)


@pytest.mark.parametrize("b", [2, 4])
def test_matmul_is_monotone_and_symmetric_in_m_and_n(b: int) -> None:
    """The orientation depends on m and n only through their min and max, so the cost
    is symmetric in them; and it never drops as m grows, across 16 to 17 too."""
    m, k, n = np.concatenate([EXTENTS, rng.integers(1, 40, size=(3, 2000))], axis=1)
    base = matmul_cycles(CM, m, k, n, b)
    np.testing.assert_array_equal(matmul_cycles(CM, n, k, m, b), base)
    assert np.all(matmul_cycles(CM, m + 1, k, n, b) >= base)


def test_element_costs_and_shifts_are_monotone() -> None:
    e = np.arange(0, 40000)
    for cost in (
        lambda x: elementwise_cycles(CM, x),
        lambda x: unary_cycles(CM, x),
        lambda x: reduction_cycles(CM, x),
        lambda x: copy_cycles(CM, x, 2),
        lambda x: shift_cycles(IPU, x, 2),
        lambda x: shift_cycles(PRESETS["wormhole-8x8"], x, 2, hops=2),
    ):
        assert np.all(np.diff(cost(e)) >= 0)
