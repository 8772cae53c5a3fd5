"""The `top` kernels on many cores at once: every operand carries a leading core axis.

The mesh interpreter runs a kernel body once for all cores of its grid, so each `top`
op here takes arrays of shape `[cores, *operand_shape]` and returns
`[cores, *result_shape]`. Each batched kernel reuses the reference kernel
(`t10ir.interp.kernels`, or the reference adapter) so both levels compute the same
thing, and is registered by op class in `BatchedKernels`:

- broadcasting ops (matmul, and the elementwise ops, registered once through their
  abstract bases) run their reference kernels as they are once the operands have
  equal rank, so that numpy broadcasts the core axis with itself only;
- axis-taking ops (softmax, layernorm, reduce, transpose, concat, slice, gather) get
  their axes shifted past the core axis;
- NCHW ops fold the core axis into one they already batch over: the images for pooling
  (its reference kernels, registered once for all pooling ops), the channels (with the
  groups) for conv2d and batchnorm;
- `top.expr` gets one more parallel loop dim indexing every read, so its evaluator
  contracts all cores in one batched matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from xdsl.ir import Operation

from t10ir.dialects import top
from t10ir.errors import T10Error, op_location
from t10ir.expr import ExprError, parse_expression
from t10ir.expr import evaluate as expr_evaluate
from t10ir.expr.plan import Plan, RApply, RCast, RNode, RRead, RWhen
from t10ir.interp import kernels, reference
from t10ir.interp.reference import REFERENCE_KERNELS
from t10ir.interp.registry import Implementations, impl, register_impls
from t10ir.planning.domain import GatheredIndex, LinearIndex


def _same_rank(xs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Operands padded with unit dims after the core axis to one rank: numpy then
    broadcasts them as the unbatched operands would, never across the core axis."""
    rank = max(x.ndim for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs]


def _axis(axis: int, x: np.ndarray) -> int:
    """An axis of the unbatched operand (negative counts from the end), batched."""
    return axis % (x.ndim - 1) + 1


def _cores_as_images(x: np.ndarray) -> np.ndarray:
    return x.reshape((-1,) + x.shape[2:])


def _cores_as_channels(x: np.ndarray) -> np.ndarray:
    """`[cores, n, c, ...]` as `[n, cores * c, ...]`: core `k`'s channels follow core
    `k - 1`'s, so per-channel (or per-group) kernels keep the cores apart."""
    moved = np.moveaxis(x, 0, 1)
    return moved.reshape((moved.shape[0], -1) + moved.shape[3:])


def _channels_as_cores(x: np.ndarray, cores: int) -> np.ndarray:
    split = x.reshape((x.shape[0], cores, -1) + x.shape[2:])
    return np.moveaxis(split, 1, 0)


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


@register_impls
class BatchedKernels(Implementations):
    """Per `top` op, its kernel over `[cores, ...]` operands (every op the reference
    interpreter runs: the unit tests check each against it core by core)."""

    missing = "cannot run in a kernel body"

    @impl(top.MatmulOp)
    @impl(top.ElementwiseBinaryOperation)
    @impl(top.ElementwiseUnaryOperation)
    @impl(top.SelectOp)
    def broadcasting(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        return REFERENCE_KERNELS.implementation(op)(op, _same_rank(xs))

    @impl(top.SoftmaxOp)
    def softmax(self, op: top.SoftmaxOp, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.softmax(xs[0], _axis(op.axis.value.data, xs[0]))

    @impl(top.LayerNormOp)
    def layernorm(self, op: top.LayerNormOp, xs: list[np.ndarray]) -> np.ndarray:
        x, scale, bias = _same_rank(xs)
        axis = _axis(op.axis.value.data, xs[0])
        return kernels.layernorm(x, scale, bias, axis, op.epsilon.value.data)

    @impl(top.ReduceOp)
    def reduce(self, op: top.ReduceOp, xs: list[np.ndarray]) -> np.ndarray:
        axes = [_axis(a, xs[0]) for a in op.axes.get_values()]
        return kernels.reduce(xs[0], op.kind.data, axes, bool(op.keepdims.value.data))

    @impl(top.TransposeOp)
    def transpose(self, op: top.TransposeOp, xs: list[np.ndarray]) -> np.ndarray:
        perm = [_axis(p, xs[0]) for p in op.perm.get_values()]
        return kernels.transpose(xs[0], [0, *perm])

    @impl(top.ExpandOp)
    def expand(self, op: top.ExpandOp, xs: list[np.ndarray]) -> np.ndarray:
        shape, _ = reference.tensor_spec(op.results[0].type)
        x = xs[0]
        padded = x.reshape(x.shape[:1] + (1,) * (len(shape) + 1 - x.ndim) + x.shape[1:])
        return kernels.expand(padded, (x.shape[0], *shape))

    @impl(top.GatherElementsOp)
    def gather_elements(
        self, op: top.GatherElementsOp, xs: list[np.ndarray]
    ) -> np.ndarray:
        return kernels.gather_elements(xs[0], xs[1], _axis(op.axis.value.data, xs[0]))

    @impl(top.CumSumOp)
    def cumsum(self, op: top.CumSumOp, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.cumsum(
            xs[0],
            _axis(op.axis.value.data, xs[0]),
            bool(op.exclusive.value.data),
            bool(op.reverse.value.data),
        )

    @impl(top.ReshapeOp)
    def reshape(self, op: top.ReshapeOp, xs: list[np.ndarray]) -> np.ndarray:
        shape, _ = reference.tensor_spec(op.results[0].type)
        return kernels.reshape(xs[0], (xs[0].shape[0], *shape))

    @impl(top.ConcatOp)
    def concat(self, op: top.ConcatOp, xs: list[np.ndarray]) -> np.ndarray:
        return kernels.concat(xs, _axis(op.axis.value.data, xs[0]))

    @impl(top.SliceOp)
    def slice_(self, op: top.SliceOp, xs: list[np.ndarray]) -> np.ndarray:
        cores = xs[0].shape[0]
        return kernels.slice_(
            xs[0],
            (0, *op.starts.get_values()),
            (cores, *op.ends.get_values()),
            (1, *op.steps.get_values()),
        )

    @impl(top.GatherOp)
    def gather(self, op: top.GatherOp, xs: list[np.ndarray]) -> np.ndarray:
        """Each core's table stacked along the gathered axis, each core's indices
        offset into its own table: one `np.take` for all cores."""
        table, indices = xs
        axis = _axis(op.axis.value.data, table) - 1
        cores, size = table.shape[0], table.shape[axis + 1]
        kernels.check_indices(indices, size, axis, "gather")
        stacked = np.moveaxis(table, 0, axis)
        stacked = stacked.reshape(
            stacked.shape[:axis] + (-1,) + stacked.shape[axis + 2 :]
        )
        offsets = (np.arange(cores) * size).reshape(
            (cores,) + (1,) * (indices.ndim - 1)
        )
        flat = np.where(indices < 0, indices + size, indices).astype(np.int64) + offsets
        return np.moveaxis(np.take(stacked, flat, axis=axis), axis, 0)

    @impl(top.PoolOperation)
    @impl(top.GlobalAvgPoolOp)
    def pool(self, op: Operation, xs: list[np.ndarray]) -> np.ndarray:
        """The cores as more images: the reference kernel on `[cores * n, c, h, w]`."""
        x = xs[0]
        out = REFERENCE_KERNELS.implementation(op)(op, [_cores_as_images(x)])
        return out.reshape(x.shape[:2] + out.shape[1:])

    @impl(top.Conv2dOp)
    def conv2d(self, op: top.Conv2dOp, xs: list[np.ndarray]) -> np.ndarray:
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

    @impl(top.BatchNormOp)
    def batchnorm(self, op: top.BatchNormOp, xs: list[np.ndarray]) -> np.ndarray:
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

    @impl(top.ExprOp)
    def expr(self, op: top.ExprOp, xs: list[np.ndarray]) -> np.ndarray:
        """In the operands' precision if the result is a narrower float: `run_op`
        rounds it to the result's type, or keeps it for an accumulator."""
        _, dtype = reference.tensor_spec(op.results[0].type)
        if dtype.kind == "f":
            dtype = np.result_type(dtype, *(x.dtype for x in xs if x.dtype.kind == "f"))
        try:
            plan = parse_expression(op.expr.data).plan(
                [x.shape[1:] for x in xs], [x.dtype for x in xs]
            )
            return expr_evaluate.evaluate(batched_plan(plan, xs[0].shape[0]), xs, dtype)
        except ExprError as error:
            raise T10Error(f"'{op.name}' op {error}", op_location(op)) from None


BATCHED_KERNELS = BatchedKernels()


def run_op(
    op: Operation,
    operands: list[np.ndarray],
    compute_dtype: np.dtype,
    accumulator: np.dtype | None = None,
) -> np.ndarray:
    """One `top` op on all cores, as `reference` runs it on one: floating operands in
    the compute dtype, the result checked against the op's type and stored in it, or,
    in the body of a kernel that accumulates into a wider float buffer, in the wider
    of its type and that `accumulator` type (a partial sum is not rounded)."""
    kernel = BATCHED_KERNELS.implementation(op)
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
    if accumulator is not None and dtype.kind == "f":
        dtype = np.promote_types(dtype, accumulator)
    return result.astype(dtype)
