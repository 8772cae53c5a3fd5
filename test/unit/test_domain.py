"""The iteration-domain data types on their own, checked against direct numpy indexing."""

import numpy as np
import pytest

from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)


def conv_domain(pad: int) -> IterationDomain:
    """1-D convolution out[o] += x[o*2 + k - pad] * w[k] over 4 outputs and 3 taps."""
    window = LinearIndex((("o", 2), ("k", 1)), -pad)
    return IterationDomain(
        dims=(LoopDim("o", 4), LoopDim("k", 3, DimKind.REDUCTION)),
        operands=(TensorMap((window,), guarded=pad > 0), TensorMap.identity(["k"])),
        results=(TensorMap.identity(["o"]),),
        combiner="sum",
        padding=0.0,
    )


def test_linear_index_bounds_and_text() -> None:
    index = LinearIndex((("oh", 2), ("kh", 1)), -3)
    assert index.bounds({"oh": 112, "kh": 7}) == (-3, 225)
    assert str(index) == "oh * 2 + kh - 3"
    assert index.dims() == ("oh", "kh")
    assert str(LinearIndex.constant(0)) == "0"


def test_linear_index_evaluates_like_numpy_indexing() -> None:
    o, k = np.meshgrid(np.arange(4), np.arange(3), indexing="ij")
    index = LinearIndex((("o", 2), ("k", 1)), 1)
    np.testing.assert_array_equal(index.evaluate({"o": o, "k": k}), o * 2 + k + 1)


def test_delinearized_index_is_a_reshape() -> None:
    """Reading a 12x64 tensor at (n floordiv 64 mod 12, n mod 64) is its 768-long view."""
    n = np.arange(768)
    row = DelinearizedIndex(LinearIndex.of("n"), 64, 12)
    col = DelinearizedIndex(LinearIndex.of("n"), 1, 64)
    table = np.arange(768).reshape(12, 64)
    values = table[row.evaluate({"n": n}), col.evaluate({"n": n})]
    np.testing.assert_array_equal(values, table.reshape(768))
    assert row.bounds({"n": 768}) == (0, 11)


def test_check_accepts_fitting_maps_and_names_the_bad_one() -> None:
    assert conv_domain(pad=0).check([[9], [3]], [[4]]) is None
    assert conv_domain(pad=1).check([[8], [3]], [[4]]) is None  # guarded: padding
    message = conv_domain(pad=0).check([[8], [3]], [[4]])
    assert message == "operand #0 dim 0 is indexed from 0 to 8 but has size 8"
    assert "rank 2" in (conv_domain(pad=0).check([[9, 1], [3]], [[4]]) or "")


@pytest.mark.parametrize("extent", [0, -1])
def test_check_rejects_empty_dims(extent: int) -> None:
    domain = IterationDomain((LoopDim("i", extent),), (), (TensorMap.identity(["i"]),))
    assert domain.check([], [[1]]) == f"loop dim i has extent {extent}"


def test_domain_dims_by_kind_and_points() -> None:
    domain = conv_domain(pad=0)
    assert [d.name for d in domain.parallel_dims] == ["o"]
    assert [d.name for d in domain.reduction_dims] == ["k"]
    assert domain.points == 12
    assert domain.operands[0].dims() == ("o", "k")
    assert str(domain) == (
        "(o:4:parallel, k:3:reduction) ins([o * 2 + k], [k]) outs([o]) combine sum padding 0.0"
    )


def test_reads_padding_where_an_index_is_more_than_a_parallel_dim() -> None:
    """A reduction dim, a window or a guard may bring cells outside an operand's
    tensor into results inside theirs; a parallel dim alone, or a constant, only into
    results outside."""
    assert conv_domain(pad=1).reads_padding(0)  # the window o*2 + k - 1, guarded
    assert conv_domain(pad=0).reads_padding(1)  # w[k]: k is a reduction dim
    bias = IterationDomain(
        dims=(LoopDim("m", 4), LoopDim("n", 3)),
        operands=(
            TensorMap.identity(["m", "n"]),
            TensorMap((LinearIndex.constant(0), LinearIndex.of("n"))),
        ),
        results=(TensorMap.identity(["m", "n"]),),
    )
    assert not bias.reads_padding(0) and not bias.reads_padding(1)
    shifted = IterationDomain(
        dims=(LoopDim("m", 4),),
        operands=(TensorMap((LinearIndex.of("m", 1, 1),)),),
        results=(TensorMap.identity(["m"]),),
    )
    assert shifted.reads_padding(0)
