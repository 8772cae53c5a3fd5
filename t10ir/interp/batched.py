"""The `top` kernels on many cores at once: every operand carries a leading core axis.

The mesh interpreter runs a kernel body once for all cores of its grid, so each `top`
op here takes arrays of shape `[cores, *operand_shape]` and returns
`[cores, *result_shape]`. Each batched kernel reuses the reference kernel
(`t10ir.interp.kernels`, or the reference adapter) so both levels compute the same
thing:

- broadcasting ops (matmul, elementwise, unary) run as they are once the operands have
  equal rank, so that numpy broadcasts the core axis with itself only;
- axis-taking ops (softmax, layernorm, reduce, transpose, concat, slice, gather) get
  their axes shifted past the core axis;
- NCHW ops fold the core axis into one they already batch over: the images for pooling,
  the channels (with the groups) for conv2d and batchnorm;
- `top.expr` gets one more parallel loop dim indexing every read, so its evaluator
  contracts all cores in one batched matrix product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from xdsl.ir import Operation

from t10ir.dialects import top
from t10ir.errors import T10Error, op_location
from t10ir.expr import ExprError, parse_expression
from t10ir.expr import evaluate as expr_evaluate
from t10ir.expr.plan import Plan, RApply, RCast, RNode, RRead, RWhen
from t10ir.interp import kernels, reference
from t10ir.planning.domain import GatheredIndex, LinearIndex

BatchedKernel = Callable[[Any, list[np.ndarray]], np.ndarray]


def _same_rank(xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Operands padded with unit dims after the core axis to one rank: numpy then
    broadcasts them as the unbatched operands would, never across the core axis."""
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def _broadcasting(kind: type[Operation]) -> BatchedKernel:
    adapter = reference.ADAPTERS[kind]
    return lambda op, xs: adapter(op, _same_rank(xs))


def _axis(axis: int, x: np.ndarray) -> int:
    """An axis of the unbatched operand (negative counts from the end), batched."""
    return axis % (x.ndim - 1) + 1


def _softmax(op: top.SoftmaxOp, xs: list[np.ndarray]) -> np.ndarray:
    return kernels.softmax(xs[0], _axis(op.axis.value.data, xs[0]))


def _layernorm(op: top.LayerNormOp, xs: list[np.ndarray]) -> np.ndarray:
    x, scale, bias = _same_rank(xs)
    axis = _axis(op.axis.value.data, xs[0])
    return kernels.layernorm(x, scale, bias, axis, op.epsilon.value.data)


def _reduce(op: top.ReduceOp, xs: list[np.ndarray]) -> np.ndarray:
    axes = [_axis(a, xs[0]) for a in op.axes.get_values()]
    return kernels.reduce(xs[0], op.kind.data, axes, bool(op.keepdims.value.data))


def _transpose(op: top.TransposeOp, xs: list[np.ndarray]) -> np.ndarray:
    perm = [_axis(p, xs[0]) for p in op.perm.get_values()]
    return kernels.transpose(xs[0], [0, *perm])


def _reshape(op: top.ReshapeOp, xs: list[np.ndarray]) -> np.ndarray:
    shape, _ = reference.tensor_spec(op.results[0].type)
    return kernels.reshape(xs[0], (xs[0].shape[0], *shape))


def _concat(op: top.ConcatOp, xs: list[np.ndarray]) -> np.ndarray:
    return kernels.concat(xs, _axis(op.axis.value.data, xs[0]))


def _slice(op: top.SliceOp, xs: list[np.ndarray]) -> np.ndarray:
    cores = xs[0].shape[0]
    return kernels.slice_(
        xs[0],
        (0, *op.starts.get_values()),
        (cores, *op.ends.get_values()),
        (1, *op.steps.get_values()),
    )


def _gather(op: top.GatherOp, xs: list[np.ndarray]) -> np.ndarray:
    """Each core's table stacked along the gathered axis, each core's indices offset
    into its own table: one `np.take` for all cores."""
    table, indices = xs
    axis = _axis(op.axis.value.data, table) - 1
    cores, size = table.shape[0], table.shape[axis + 1]
    if indices.size and (indices.min() < -size or indices.max() >= size):
        bad = indices[(indices < -size) | (indices >= size)].flat[0]
        raise kernels.KernelError(
            f"gather index {bad} is out of range for axis {axis} of size {size}"
        )
    stacked = np.moveaxis(table, 0, axis)
    stacked = stacked.reshape(stacked.shape[:axis] + (-1,) + stacked.shape[axis + 2 :])
    offsets = (np.arange(cores) * size).reshape((cores,) + (1,) * (indices.ndim - 1))
    flat = np.where(indices < 0, indices + size, indices).astype(np.int64) + offsets
    return np.moveaxis(np.take(stacked, flat, axis=axis), axis, 0)


def _cores_as_images(x: np.ndarray) -> np.ndarray:
    return x.reshape((-1,) + x.shape[2:])


def _maxpool(op: top.MaxPoolOp, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    out = kernels.maxpool(
        _cores_as_images(x),
        op.kernel.get_values(),
        op.strides.get_values(),
        op.pads.get_values(),
    )
    return out.reshape(x.shape[:2] + out.shape[1:])


def _avgpool(op: top.AvgPoolOp, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    out = kernels.avgpool(
        _cores_as_images(x),
        op.kernel.get_values(),
        op.strides.get_values(),
        op.pads.get_values(),
        bool(op.count_include_pad.value.data),
    )
    return out.reshape(x.shape[:2] + out.shape[1:])


def _global_avgpool(op: top.GlobalAvgPoolOp, xs: list[np.ndarray]) -> np.ndarray:
    x = xs[0]
    out = kernels.global_avgpool(_cores_as_images(x))
    return out.reshape(x.shape[:2] + out.shape[1:])


def _cores_as_channels(x: np.ndarray) -> np.ndarray:
    """`[cores, n, c, ...]` as `[n, cores * c, ...]`: core `k`'s channels follow core
    `k - 1`'s, so per-channel (or per-group) kernels keep the cores apart."""
    moved = np.moveaxis(x, 0, 1)
    return moved.reshape((moved.shape[0], -1) + moved.shape[3:])


def _channels_as_cores(x: np.ndarray, cores: int) -> np.ndarray:
    split = x.reshape((x.shape[0], cores, -1) + x.shape[2:])
    return np.moveaxis(split, 1, 0)


def _conv2d(op: top.Conv2dOp, xs: list[np.ndarray]) -> np.ndarray:
    """Every core's convolution as groups of one grouped convolution."""
    x, weight = xs[0], xs[1]
    cores = x.shape[0]
    bias = xs[2].reshape(-1) if len(xs) > 2 else None
    out = kernels.conv2d(
        _cores_as_channels(x),
        weight.reshape((-1,) + weight.shape[2:]),
        bias,
        op.strides.get_values(),
        op.dilations.get_values(),
        op.pads.get_values(),
        cores * op.group.value.data,
    )
    return _channels_as_cores(out, cores)


def _batchnorm(op: top.BatchNormOp, xs: list[np.ndarray]) -> np.ndarray:
    x, scale, bias, mean, var = xs
    out = kernels.batchnorm(
        _cores_as_channels(x),
        scale.reshape(-1),
        bias.reshape(-1),
        mean.reshape(-1),
        var.reshape(-1),
        op.epsilon.value.data,
    )
    return _channels_as_cores(out, x.shape[0])


CORE_DIM = "core."
"""The loop dim of a batched expression that numbers the cores (not a valid
`einstein_v2` name, so it cannot clash with the expression's own dims)."""


def _with_core(node: RNode) -> RNode:
    """`node` with every read indexed by the core dim first."""
    core = LinearIndex.of(CORE_DIM)
    if isinstance(node, RRead):
        indices = tuple(
            GatheredIndex(i.source, (core, *i.indices))
            if isinstance(i, GatheredIndex)
            else i
            for i in node.indices
        )
        source = _with_core(node.source) if node.source is not None else None
        assert source is None or isinstance(source, RRead)
        return RRead(node.operand, (core, *indices), node.guarded, node.column, source)
    if isinstance(node, RApply):
        return RApply(node.op, tuple(_with_core(a) for a in node.args))
    if isinstance(node, RCast):
        return RCast(_with_core(node.operand), node.dtype)
    if isinstance(node, RWhen):
        return RWhen(
            tuple(_with_core(c) for c in node.conditions),
            _with_core(node.value),
            _with_core(node.otherwise),
        )
    return node


def batched_plan(plan: Plan, cores: int) -> Plan:
    """The expression over `cores` stacked operands: one more parallel dim, first."""
    return Plan(
        (CORE_DIM, *plan.output_dims),
        plan.reduction_dims,
        ((CORE_DIM, cores), *plan.extents),
        plan.combiner,
        _with_core(plan.body),
        tuple((cores, *shape) for shape in plan.operand_shapes),
    )


def _expr(op: top.ExprOp, xs: list[np.ndarray]) -> np.ndarray:
    _, dtype = reference.tensor_spec(op.results[0].type)
    try:
        plan = parse_expression(op.expr.data).plan(
            [x.shape[1:] for x in xs], [x.dtype for x in xs]
        )
        return expr_evaluate.evaluate(batched_plan(plan, xs[0].shape[0]), xs, dtype)
    except ExprError as error:
        raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None


_BROADCASTING = (
    top.MatmulOp,
    top.AddOp,
    top.SubOp,
    top.MulOp,
    top.DivOp,
    top.MaxOp,
    top.MinOp,
    top.PowOp,
    top.ReluOp,
    top.GeluOp,
    top.TanhOp,
    top.SigmoidOp,
    top.ExpOp,
    top.LogOp,
    top.SqrtOp,
    top.RsqrtOp,
    top.NegOp,
    top.ErfOp,
    top.ClipOp,
)

BATCHED: dict[type[Operation], BatchedKernel] = {
    **{kind: _broadcasting(kind) for kind in _BROADCASTING},
    top.SoftmaxOp: _softmax,
    top.LayerNormOp: _layernorm,
    top.BatchNormOp: _batchnorm,
    top.ReduceOp: _reduce,
    top.TransposeOp: _transpose,
    top.ReshapeOp: _reshape,
    top.ConcatOp: _concat,
    top.SliceOp: _slice,
    top.GatherOp: _gather,
    top.MaxPoolOp: _maxpool,
    top.AvgPoolOp: _avgpool,
    top.GlobalAvgPoolOp: _global_avgpool,
    top.Conv2dOp: _conv2d,
    top.ExprOp: _expr,
}
"""Per `top` op kind, its kernel over `[cores, ...]` operands (every kind the
reference interpreter runs)."""


def run_op(
    op: Operation, operands: list[np.ndarray], compute_dtype: np.dtype
) -> np.ndarray:
    """One `top` op on all cores, as `reference` runs it on one: floating operands in
    the compute dtype, the result checked against the op's type and stored in it."""
    kernel = BATCHED.get(type(op))
    if kernel is None or len(op.results) != 1:
        raise T10Error(f"'{op.name}' op cannot run in a kernel body", op_location(op))
    widened = [kernels.widen(x, compute_dtype) for x in operands]
    try:
        result = np.asarray(kernel(op, widened))
    except kernels.KernelError as error:
        raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None
    shape, dtype = reference.tensor_spec(op.results[0].type)
    if result.shape != (operands[0].shape[0], *shape):
        raise T10Error(
            f"'{op.name}' op computed a {reference.format_shape(result.shape[1:])} "
            f"tile per core, but its result type is {op.results[0].type}",
            op_location(op),
        )
    return result.astype(dtype)
