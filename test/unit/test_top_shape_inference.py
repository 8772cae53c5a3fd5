"""Shape inference and iteration domains of the `top` ops against numpy.

numpy (or brute-force window enumeration for conv and pooling) is the independent
reference for every result shape. Each built op must verify, its iteration domain must fit
its tensors and cover its result exactly once, and for the ops without reductions, reading
the operands through the domain's index maps must reproduce numpy's result.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.context import Context
from xdsl.dialects.builtin import Builtin, TensorType, f32, i32, i64
from xdsl.dialects.func import Func, FuncOp
from xdsl.ir import Attribute, SSAValue
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from t10ir.dialects import top
from t10ir.dialects.top import domains
from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    IterationDomain,
    LinearIndex,
    TensorMap,
)

settings.register_profile("top", max_examples=60, deadline=None)
settings.load_profile("top")

rng = np.random.default_rng(0)
sizes = st.integers(1, 4)
shapes = st.lists(sizes, min_size=0, max_size=4).map(tuple)


def value(shape: tuple[int, ...], element: Attribute = f32) -> SSAValue:
    return create_ssa_value(TensorType(element, shape))


def shape_of(op: top.TopOperation) -> tuple[int, ...]:
    return tuple(op.result.type.get_shape())


def points(domain: IterationDomain, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """A broadcastable grid over the named loop dims (all others are absent)."""
    grid = np.meshgrid(*(np.arange(domain.extents[n]) for n in names), indexing="ij")
    return dict(zip(names, grid, strict=True))


def evaluate(tmap: TensorMap, grid: dict[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The index arrays `tmap` gives at every grid point, broadcast to the grid."""
    full = np.broadcast_shapes(*(g.shape for g in grid.values())) if grid else ()
    indices = []
    for index in tmap.indices:
        assert isinstance(index, LinearIndex | DelinearizedIndex)
        indices.append(np.broadcast_to(index.evaluate(grid), full))
    return tuple(indices)


def assert_domain_fits(op: top.TopOperation) -> IterationDomain:
    """The verifier passes, and the result map hits every result element exactly once."""
    op.verify()
    domain = op.iteration_domain()
    operand_shapes = [tuple(o.type.get_shape()) for o in op.operands]
    result_shape = shape_of(op)
    assert domain.check(operand_shapes, [result_shape]) is None
    (result_map,) = domain.results
    used = result_map.dims()
    # Every parallel dim picks a distinct result element.
    assert {d.name for d in domain.parallel_dims} <= set(used)
    grid = points(domain, used)
    indices = evaluate(result_map, grid)
    count = int(np.prod([domain.extents[n] for n in used], dtype=np.int64))
    assert count == int(np.prod(result_shape, dtype=np.int64))
    if result_shape:
        flat = np.ravel_multi_index(tuple(i.ravel() for i in indices), result_shape)
        assert sorted(flat.tolist()) == list(range(count))
    return domain


def read_through(domain: IterationDomain, operands: list[np.ndarray], number: int):
    """Operand `number` read at every point of the parallel loop nest (result order)."""
    names = tuple(d.name for d in domain.dims)
    assert not domain.reduction_dims
    grid = points(domain, names)
    full = tuple(domain.extents[n] for n in names)
    tmap = domain.operands[number]
    indices = []
    for index in tmap.indices:
        if isinstance(index, GatheredIndex):
            where = tuple(
                np.broadcast_to(i.evaluate(grid), full) for i in index.indices
            )
            indices.append(operands[index.source][where])
        else:
            indices.append(np.broadcast_to(index.evaluate(grid), full))
    array = operands[number]
    if tmap.guarded:
        inside = np.ones(full, dtype=bool)
        for axis, i in enumerate(indices):
            inside &= (i >= 0) & (i < array.shape[axis])
        clamped = tuple(
            np.clip(i, 0, s - 1) for i, s in zip(indices, array.shape, strict=True)
        )
        return np.where(inside, array[clamped], np.nan), inside
    return np.broadcast_to(array[tuple(indices)], full), np.ones(full, dtype=bool)


def result_through(domain: IterationDomain, result: np.ndarray) -> np.ndarray:
    """The numpy result read at every point of the loop nest through the result map."""
    names = tuple(d.name for d in domain.dims)
    grid = points(domain, names)
    full = tuple(domain.extents[n] for n in names)
    (tmap,) = domain.results
    return result[tuple(np.broadcast_to(i.evaluate(grid), full) for i in tmap.indices)]


def window_positions(
    size: int, kernel: int, stride: int, dilation: int, lo: int, hi: int
) -> int:
    """Brute force: window starts whose last tap stays inside the padded input."""
    return sum(
        1
        for start in range(-lo, size + hi)
        if (start + lo) % stride == 0
        and start + dilation * (kernel - 1) <= size + hi - 1
    )


@st.composite
def broadcast_pair(draw, min_rank: int = 0):
    """Two shapes that broadcast, with dims dropped or set to 1 on either side."""
    full = draw(st.lists(sizes, min_size=min_rank, max_size=4))

    def operand() -> tuple[int, ...]:
        dims = [1 if draw(st.booleans()) else s for s in full]
        return tuple(dims[draw(st.integers(0, len(dims) - min_rank)) :])

    return operand(), operand()


@given(broadcast_pair(), st.sampled_from([top.AddOp, top.SubOp, top.MulOp, top.PowOp]))
def test_binary_broadcast(pair, op_class):
    lhs_shape, rhs_shape = pair
    lhs, rhs = rng.random(lhs_shape), rng.random(rhs_shape)
    op = op_class(value(lhs_shape), value(rhs_shape))
    assert shape_of(op) == np.broadcast_shapes(lhs_shape, rhs_shape)
    domain = assert_domain_fits(op)
    expected = result_through(domain, np.broadcast_to(lhs, shape_of(op)))
    assert np.array_equal(read_through(domain, [lhs, rhs], 0)[0], expected)
    expected = result_through(domain, np.broadcast_to(rhs, shape_of(op)))
    assert np.array_equal(read_through(domain, [lhs, rhs], 1)[0], expected)


@given(shapes, shapes)
def test_binary_incompatible(lhs_shape, rhs_shape):
    try:
        expected = np.broadcast_shapes(lhs_shape, rhs_shape)
    except ValueError:
        with pytest.raises(VerifyException, match="not broadcast-compatible"):
            top.AddOp(value(lhs_shape), value(rhs_shape))
    else:
        assert shape_of(top.AddOp(value(lhs_shape), value(rhs_shape))) == expected


@given(broadcast_pair(), sizes, sizes, sizes)
def test_matmul(pair, m, k, n):
    lhs_shape, rhs_shape = (*pair[0], m, k), (*pair[1], k, n)
    op = top.MatmulOp(value(lhs_shape), value(rhs_shape))
    lhs, rhs = rng.random(lhs_shape), rng.random(rhs_shape)
    assert shape_of(op) == np.matmul(lhs, rhs).shape
    domain = assert_domain_fits(op)
    assert [d.name for d in domain.reduction_dims] == ["k"]
    assert domain.combiner == "sum"
    # Summing lhs * rhs over k through the maps is np.matmul.
    names = tuple(d.name for d in domain.dims)
    grid = points(domain, names)
    full = tuple(domain.extents[n] for n in names)

    def read(array, tmap):
        return array[
            tuple(np.broadcast_to(i.evaluate(grid), full) for i in tmap.indices)
        ]

    products = read(lhs, domain.operands[0]) * read(rhs, domain.operands[1])
    assert np.allclose(
        products.sum(axis=-1), result_through_parallel(domain, np.matmul(lhs, rhs))
    )


def result_through_parallel(domain: IterationDomain, result: np.ndarray) -> np.ndarray:
    names = tuple(d.name for d in domain.parallel_dims)
    grid = points(domain, names)
    full = tuple(domain.extents[n] for n in names)
    (tmap,) = domain.results
    return result[tuple(np.broadcast_to(i.evaluate(grid), full) for i in tmap.indices)]


@st.composite
def conv_case(draw):
    group = draw(st.integers(1, 3))
    return dict(
        n=draw(st.integers(1, 2)),
        group=group,
        c=group * draw(st.integers(1, 2)),
        f=group * draw(st.integers(1, 2)),
        h=draw(st.integers(1, 8)),
        w=draw(st.integers(1, 8)),
        kernel=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        dilations=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        pads=tuple(draw(st.integers(0, 2)) for _ in range(4)),
        bias=draw(st.booleans()),
    )


@given(conv_case())
def test_conv2d(case):
    kh, kw = case["kernel"]
    (sh, sw), (dh, dw), (pt, pl, pb, pr) = (
        case["strides"],
        case["dilations"],
        case["pads"],
    )
    oh = window_positions(case["h"], kh, sh, dh, pt, pb)
    ow = window_positions(case["w"], kw, sw, dw, pl, pr)
    input = value((case["n"], case["c"], case["h"], case["w"]))
    weight = value((case["f"], case["c"] // case["group"], kh, kw))
    bias = value((case["f"],)) if case["bias"] else None
    args = (case["strides"], case["dilations"], case["pads"], case["group"])
    if oh == 0 or ow == 0:
        with pytest.raises(VerifyException, match="does not fit"):
            top.Conv2dOp(input, weight, bias, None, *args)
        return
    op = top.Conv2dOp(input, weight, bias, None, *args)
    assert shape_of(op) == (case["n"], case["f"], oh, ow)
    domain = assert_domain_fits(op)
    names = [d.name for d in domain.dims]
    expected = ["n", "f", "oh", "ow", "c", "kh", "kw"]
    assert names == (
        expected[:1] + ["g"] + expected[1:] if case["group"] > 1 else expected
    )
    assert domain.operands[0].guarded == any(case["pads"])
    assert {d.name for d in domain.reduction_dims} == {"c", "kh", "kw"}


@st.composite
def pool_case(draw):
    return dict(
        shape=(
            draw(st.integers(1, 2)),
            draw(st.integers(1, 3)),
            draw(st.integers(1, 8)),
            draw(st.integers(1, 8)),
        ),
        kernel=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        strides=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        pads=tuple(draw(st.integers(0, 2)) for _ in range(4)),
    )


@given(pool_case(), st.booleans())
def test_pooling(case, average):
    n, c, h, w = case["shape"]
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = case["kernel"], case["strides"], case["pads"]
    oh = window_positions(h, kh, sh, 1, pt, pb)
    ow = window_positions(w, kw, sw, 1, pl, pr)

    def build():
        args = (
            value(case["shape"]),
            None,
            case["kernel"],
            case["strides"],
            case["pads"],
        )
        return (
            top.AvgPoolOp(*args, count_include_pad=True)
            if average
            else top.MaxPoolOp(*args)
        )

    if oh == 0 or ow == 0:
        with pytest.raises(VerifyException, match="does not fit"):
            build()
        return
    op = build()
    assert shape_of(op) == (n, c, oh, ow)
    domain = assert_domain_fits(op)
    assert domain.combiner == ("sum" if average else "max")


@given(st.integers(1, 2), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))
def test_global_avgpool(n, c, h, w):
    op = top.GlobalAvgPoolOp(value((n, c, h, w)))
    assert shape_of(op) == np.zeros((n, c, h, w)).mean(axis=(2, 3), keepdims=True).shape
    assert_domain_fits(op)


@given(st.data(), shapes.filter(bool), st.booleans(), st.sampled_from(top.REDUCE_KINDS))
def test_reduce(data, shape, keepdims, kind):
    rank = len(shape)
    axes = data.draw(st.lists(st.integers(0, rank - 1), min_size=1, unique=True))
    axes = [a - rank if data.draw(st.booleans()) else a for a in axes]
    op = top.ReduceOp(value(shape), None, kind, axes, keepdims)
    reference = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min}[kind]
    assert (
        shape_of(op)
        == reference(np.zeros(shape), axis=tuple(axes), keepdims=keepdims).shape
    )
    domain = assert_domain_fits(op)
    assert len(domain.reduction_dims) == len(axes)
    assert domain.combiner == ("sum" if kind == "mean" else kind)


@given(st.data(), shapes)
def test_transpose(data, shape):
    perm = data.draw(st.permutations(range(len(shape))))
    x = rng.random(shape)
    op = top.TransposeOp(value(shape), None, perm)
    expected = np.transpose(x, perm)
    assert shape_of(op) == expected.shape
    domain = assert_domain_fits(op)
    assert np.array_equal(
        read_through(domain, [x], 0)[0], result_through(domain, expected)
    )


@given(shapes, st.data())
def test_reshape(shape, data):
    count = int(np.prod(shape, dtype=np.int64))
    factors = [f for f in range(1, count + 1) if count % f == 0]
    first = data.draw(st.sampled_from(factors))
    second = data.draw(
        st.sampled_from([f for f in factors if (count // first) % f == 0])
    )
    new_shape = (first, second, count // first // second)
    x = rng.random(shape)
    op = top.ReshapeOp(value(shape), TensorType(f32, new_shape))
    domain = assert_domain_fits(op)
    expected = np.reshape(x, new_shape)
    assert np.array_equal(
        read_through(domain, [x], 0)[0], result_through(domain, expected)
    )


@given(st.data(), shapes.filter(bool))
def test_slice(data, shape):
    bounds = st.lists(st.integers(-6, 6), min_size=len(shape), max_size=len(shape))
    starts, ends = data.draw(bounds), data.draw(bounds)
    steps = data.draw(
        st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape))
    )
    x = rng.random(shape)
    expected = x[
        tuple(slice(b, e, s) for b, e, s in zip(starts, ends, steps, strict=True))
    ]
    if expected.size == 0:
        with pytest.raises(VerifyException, match="slice is empty"):
            top.SliceOp(value(shape), None, starts, ends, steps)
        return
    op = top.SliceOp(value(shape), None, starts, ends, steps)
    assert shape_of(op) == expected.shape
    domain = assert_domain_fits(op)
    assert np.array_equal(
        read_through(domain, [x], 0)[0], result_through(domain, expected)
    )


@given(st.data(), shapes.filter(bool), st.integers(1, 3))
def test_concat(data, shape, count):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    arrays = []
    for _ in range(count):
        piece = list(shape)
        piece[axis] = data.draw(sizes)
        arrays.append(rng.random(piece))
    op = top.ConcatOp([value(a.shape) for a in arrays], None, axis)
    expected = np.concatenate(arrays, axis)
    assert shape_of(op) == expected.shape
    domain = assert_domain_fits(op)
    # Every result element is read from exactly one input, and it is numpy's element.
    found = np.full(expected.shape, np.nan)
    hits = np.zeros(expected.shape, dtype=int)
    for number in range(count):
        values, inside = read_through(domain, arrays, number)
        found = np.where(inside, values, found)
        hits += inside
    assert (hits == 1).all()
    assert np.array_equal(found, expected)


@given(
    st.data(),
    shapes.filter(bool),
    st.lists(sizes, max_size=2).map(tuple),
    st.sampled_from([i32, i64]),
)
def test_gather(data, table_shape, indices_shape, index_type):
    axis = data.draw(st.integers(-len(table_shape), len(table_shape) - 1))
    table = rng.random(table_shape)
    indices = rng.integers(0, table_shape[axis], size=indices_shape)
    op = top.GatherOp(value(table_shape), value(indices_shape, index_type), None, axis)
    expected = np.take(table, indices, axis)
    assert shape_of(op) == expected.shape
    domain = assert_domain_fits(op)
    operands = [table, indices]
    assert np.array_equal(
        read_through(domain, operands, 0)[0], result_through(domain, expected)
    )
    axis %= len(table_shape)
    spread = indices.reshape(
        (1,) * axis + indices_shape + (1,) * (len(table_shape) - axis - 1)
    )
    expected_indices = np.broadcast_to(spread, expected.shape)
    assert np.array_equal(
        read_through(domain, operands, 1)[0], result_through(domain, expected_indices)
    )


@given(shapes.filter(bool), st.data())
def test_normalizations(shape, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = value(shape)
    softmax = top.SoftmaxOp(x, None, axis)
    domain = assert_domain_fits(softmax)
    assert [d.name for d in domain.reduction_dims] == [f"d{axis}"]
    params = value(shape[axis:])
    layernorm = top.LayerNormOp(x, params, params, None, axis)
    domain = assert_domain_fits(layernorm)
    assert [d.kind is DimKind.REDUCTION for d in domain.dims] == [
        i >= axis for i in range(len(shape))
    ]
    assert domain.combiner == "sum"


@given(st.lists(sizes, min_size=2, max_size=4).map(tuple))
def test_unary_and_batchnorm(shape):
    x = value(shape)
    for op_class in (top.ReluOp, top.GeluOp, top.ExpOp, top.ErfOp):
        assert shape_of(assert_op(op_class(x))) == shape
    assert shape_of(assert_op(top.ClipOp(x, None, 0.0, 6.0))) == shape
    channels = value((shape[1],))
    assert (
        shape_of(assert_op(top.BatchNormOp(x, channels, channels, channels, channels)))
        == shape
    )


def assert_op(op: top.TopOperation) -> top.TopOperation:
    assert_domain_fits(op)
    return op


def test_every_op_is_registered():
    names = {op.name for op in top.Top.operations}
    assert len(names) == 45
    for op in top.Top.operations:
        assert issubclass(op, top.IterationDomainInterface)


def test_window_positions_matches_formula():
    for size, kernel, stride, dilation, lo, hi in itertools.product(
        range(1, 6), range(1, 4), range(1, 4), range(1, 3), range(3), range(3)
    ):
        formula = top.window_count(size, kernel, stride, dilation, lo + hi)
        assert max(formula, 0) == window_positions(
            size, kernel, stride, dilation, lo, hi
        )


def test_conv_grouped_maps():
    op = top.Conv2dOp(
        value((1, 4, 5, 5)),
        value((6, 2, 3, 3)),
        None,
        None,
        (2, 2),
        (1, 1),
        (1, 1, 1, 1),
        2,
    )
    domain = op.iteration_domain()
    assert (
        str(domain.operands[0])
        == "[n, g * 2 + c, oh * 2 + kh - 1, ow * 2 + kw - 1] guarded"
    )
    assert str(domain.operands[1]) == "[g * 3 + f, c, kh, kw]"
    assert str(domain.results[0]) == "[n, g * 3 + f, oh, ow]"


def test_a_domain_is_built_from_shapes_without_an_op():
    """`top.domains` builds an op's domain from its shapes and properties alone."""
    op = top.Conv2dOp(
        value((1, 4, 5, 5)), value((6, 2, 3, 3)), None, pads=(1,) * 4, group=2
    )
    assert op.iteration_domain() == domains.conv2d_domain(
        (6, 2, 3, 3), (1, 6, 5, 5), (1, 1), (1, 1), (1, 1, 1, 1), 2, False
    )
    mean = top.ReduceOp(value((4, 6)), None, "mean", (1,), True)
    assert mean.iteration_domain() == domains.reduce_domain((4, 6), (1,), True, "sum")


def test_expr_op_domain():
    a, b = value((2, 3)), value((3, 4))
    expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"
    op = top.ExprOp([a, b], expr, TensorType(f32, (2, 4)))
    domain = assert_domain_fits(op)
    assert [d.name for d in domain.reduction_dims] == ["K"]
    bad = top.ExprOp([a, b], expr.replace("+=!", "+=*"), TensorType(f32, (2, 4)))
    with pytest.raises(VerifyException, match=r"invalid expr at column \d+: "):
        bad.verify()


def test_is_weight():
    text = """
    func.func @f(%x: tensor<2xf32>, %w: tensor<2xf32> {top.weight}) -> tensor<2xf32> {
      %0 = top.add %x, %w : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
      func.return %0 : tensor<2xf32>
    }
    """
    ctx = Context()
    for dialect in (Builtin, Func, top.Top):
        ctx.load_dialect(dialect)
    module = Parser(ctx, text).parse_module()
    func = next(op for op in module.walk() if isinstance(op, FuncOp))
    assert [top.is_weight(arg) for arg in func.body.block.args] == [False, True]
    bare = FuncOp("g", ((TensorType(f32, (2,)),), ()))
    assert not top.is_weight(bare.body.block.args[0])
