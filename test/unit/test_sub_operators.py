"""Sub-operators (`t10ir.lowering.sub_operators`): the registry, and the body the cost
model charges, read off the ops the sub-operators build."""

import pytest
from xdsl.dialects.builtin import TensorType, f32, i64
from xdsl.ir import Block, Operation

from t10ir.cost.classify import OWN_LOOP_NEST, BodyOp, SubOpKind
from t10ir.dialects import top
from t10ir.lowering.sub_operators import (
    op_on_windows,
    sub_operator,
    sub_operator_body,
    sub_operator_of,
)


def _args(*shapes: tuple[int, ...]) -> Block:
    return Block(arg_types=[TensorType(f32, s) for s in shapes])


def _body(op: Operation) -> tuple[BodyOp, ...]:
    assert isinstance(op, top.IterationDomainInterface)
    return sub_operator_body(op)


def test_an_op_without_a_function_of_its_own_is_itself_on_the_windows() -> None:
    whole, window = _args((8, 16), (16, 4)), _args((2, 16), (16, 4))
    op = top.MatmulOp(whole.args[0], whole.args[1])
    (sub,) = sub_operator(op, window.args, TensorType(f32, (2, 4)))
    assert isinstance(sub, top.MatmulOp)
    assert sub.result.type == TensorType(f32, (2, 4))
    assert _body(op) == (OWN_LOOP_NEST,)


def test_a_sub_operator_is_registered_once_per_op_class() -> None:
    with pytest.raises(ValueError, match="ConcatOp has a sub-operator already"):
        sub_operator_of(top.ConcatOp)(op_on_windows)


def test_a_bias_share_is_charged_when_the_reduction_is_cut() -> None:
    """The convolution adds its bias in shares, one per piece of the reduction: the
    scaling runs over the bias window under plans that cut c, kh or kw."""
    block = _args((1, 4, 8, 8), (6, 4, 3, 3), (6,))
    op = top.Conv2dOp(*block.args, pads=(1, 1, 1, 1))
    share = BodyOp(SubOpKind.UNARY, 2, when_cut=("c", "kh", "kw"))
    assert _body(op) == (share, OWN_LOOP_NEST)
    whole = sub_operator(op, block.args, TensorType(f32, (1, 6, 8, 8)), pieces=1)
    assert [type(o) for o in whole] == [top.Conv2dOp]


def test_a_mean_scales_its_window_sum_over_the_result() -> None:
    block = _args((4, 8))
    mean = top.ReduceOp(block.args[0], None, "mean", (1,), False)
    assert _body(mean) == (OWN_LOOP_NEST, BodyOp(SubOpKind.UNARY, 1))
    total = top.ReduceOp(block.args[0], None, "max", (1,), False)
    assert _body(total) == (OWN_LOOP_NEST,)
    pool = top.GlobalAvgPoolOp(_args((1, 3, 4, 4)).args[0])
    assert _body(pool) == (OWN_LOOP_NEST, BodyOp(SubOpKind.UNARY, 1))


def test_a_concatenation_is_the_sum_of_its_windows() -> None:
    block = _args((2, 3), (2, 3), (2, 3))
    op = top.ConcatOp(block.args, None, 1)
    assert _body(op) == (BodyOp(SubOpKind.ELEMENTWISE, 3, count=2),)
    assert _body(top.ConcatOp(block.args[:1], None, 1)) == (OWN_LOOP_NEST,)


def test_an_average_pool_crops_or_scales_its_window() -> None:
    """Leaving the padding out of the count, the window's inside is copied first;
    counting it, a step with part of the kernel scales its sum."""
    (x,) = _args((1, 2, 7, 7)).args
    inside = top.AvgPoolOp(x, None, (2, 3), (1, 2), (0, 1, 0, 1))
    assert _body(inside) == (BodyOp(SubOpKind.COPY, 0, inside=True), OWN_LOOP_NEST)
    counted = top.AvgPoolOp(x, None, (3, 3), (2, 2), (1, 1, 1, 1), True)
    scale = BodyOp(SubOpKind.UNARY, 1, when_cut=("kh", "kw"))
    assert _body(counted) == (OWN_LOOP_NEST, scale)


def test_an_expression_that_cannot_run_on_windows_costs_its_own_loop_nest() -> None:
    """The lowering reports why (an input read at two positions); the planner costs
    the op as it is."""
    (x,) = _args((8,)).args
    op = top.ExprOp([x], "output0[I] = input0[I] + input0[I + 1] where I in 7", x.type)
    assert _body(op) == (OWN_LOOP_NEST,)
    indices = Block(arg_types=[TensorType(i64, (3,))])
    gather = top.GatherOp(x, indices.args[0])
    assert _body(gather) == (OWN_LOOP_NEST,)
