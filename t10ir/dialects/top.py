"""The `top` (tensor-op) dialect: value-semantics tensor operators (docs/top-dialect.md).

Every op states its iteration domain (`IterationDomainInterface`), and its verifier checks
the declared result type against shape inference and the domain against the tensor shapes,
so that later passes can rely on the domain alone.

Builders take the operands, then the result type (None: inferred), then the properties;
`ExprOp(inputs, expr, result_type)` is the exception, as its result type is never inferred.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from xdsl.dialects.builtin import (
    I64,
    BoolAttr,
    DenseArrayBase,
    Float16Type,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    TensorType,
    i32,
    i64,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, BlockArgument, Dialect, Operation, SSAValue
from xdsl.irdl import (
    IRDLOperation,
    ParsePropInAttrDict,
    irdl_op_definition,
    operand_def,
    opt_operand_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from t10ir.cost.classify import OWN_LOOP_NEST, BodyOp, SubOpKind
from t10ir.planning.domain import (
    COMBINER_IDENTITY,
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    Index,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)

if TYPE_CHECKING:
    from t10ir.expr import EinsteinExpr

_T = TypeVar("_T")

WEIGHT_ATTR = "top.weight"
"""Argument attribute marking a function argument as a weight (resident on chip)."""

REDUCE_KINDS = ("sum", "mean", "max", "min")


Shape = tuple[int, ...]


def is_weight(arg: BlockArgument) -> bool:
    """Whether `arg` is an argument of a `func.func` marked `{top.weight}`."""
    func = arg.block.parent_op()
    if not isinstance(func, FuncOp) or func.arg_attrs is None:
        return False
    return WEIGHT_ATTR in func.arg_attrs.data[arg.index].data


# --------------------------------------------------------------------------------------
# Shape inference on plain shapes. Each function raises VerifyException with the reason,
# so that verifiers, builders and tests share one definition of every op's result shape.
# --------------------------------------------------------------------------------------


def normalize_axis(axis: int, rank: int, what: str = "axis") -> int:
    """`axis` in `[0, rank)`, accepting numpy's negative axes."""
    if not -rank <= axis < rank:
        raise VerifyException(f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def broadcast_shapes(lhs: Shape, rhs: Shape) -> Shape:
    """numpy broadcasting of two shapes."""
    rank = max(len(lhs), len(rhs))
    padded_lhs = (1,) * (rank - len(lhs)) + tuple(lhs)
    padded_rhs = (1,) * (rank - len(rhs)) + tuple(rhs)
    shape: list[int] = []
    for a, b in zip(padded_lhs, padded_rhs, strict=True):
        if a != b and 1 not in (a, b):
            raise VerifyException(
                f"shapes {list(lhs)} and {list(rhs)} are not broadcast-compatible"
            )
        shape.append(b if a == 1 else a)
    return tuple(shape)


def matmul_shape(lhs: Shape, rhs: Shape) -> Shape:
    """`np.matmul` for operands of rank >= 2 (batch dims broadcast)."""
    if len(lhs) < 2 or len(rhs) < 2:
        raise VerifyException(
            f"matmul operands must have rank >= 2, got ranks {len(lhs)} and {len(rhs)}"
        )
    if lhs[-1] != rhs[-2]:
        raise VerifyException(
            f"matmul contraction sizes differ: lhs has {lhs[-1]} columns, "
            f"rhs has {rhs[-2]} rows"
        )
    batch = broadcast_shapes(lhs[:-2], rhs[:-2])
    return (*batch, lhs[-2], rhs[-1])


def window_count(size: int, kernel: int, stride: int, dilation: int, pads: int) -> int:
    """Output positions of a sliding window (ONNX, floor mode); `pads` = both sides."""
    return (size + pads - dilation * (kernel - 1) - 1) // stride + 1


def _check_window_props(
    strides: Sequence[int], pads: Sequence[int], dilations: Sequence[int] = (1, 1)
) -> None:
    if len(strides) != 2 or any(s < 1 for s in strides):
        raise VerifyException(f"strides must be 2 values >= 1, got {list(strides)}")
    if len(dilations) != 2 or any(d < 1 for d in dilations):
        raise VerifyException(f"dilations must be 2 values >= 1, got {list(dilations)}")
    if len(pads) != 4 or any(p < 0 for p in pads):
        raise VerifyException(
            f"pads must be 4 values (top, left, bottom, right) >= 0, got {list(pads)}"
        )


def _window_output(
    input: Shape,
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
) -> tuple[int, int]:
    oh = window_count(input[2], kernel[0], strides[0], dilations[0], pads[0] + pads[2])
    ow = window_count(input[3], kernel[1], strides[1], dilations[1], pads[1] + pads[3])
    if oh < 1 or ow < 1:
        raise VerifyException(
            f"window of {list(kernel)} (dilations {list(dilations)}) does not fit the "
            f"padded input {list(input[2:])} with pads {list(pads)}"
        )
    return oh, ow


def conv2d_shape(
    input: Shape,
    weight: Shape,
    bias: Shape | None,
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
    group: int,
) -> Shape:
    """ONNX Conv on NCHW input and OIHW weight."""
    if len(input) != 4 or len(weight) != 4:
        raise VerifyException(
            f"conv2d expects rank-4 input (NCHW) and weight (OIHW), got ranks "
            f"{len(input)} and {len(weight)}"
        )
    _check_window_props(strides, pads, dilations)
    n, c = input[0], input[1]
    f = weight[0]
    if group < 1 or c % group or f % group:
        raise VerifyException(
            f"group {group} must be >= 1 and divide the input channels {c} and the "
            f"output channels {f}"
        )
    if weight[1] != c // group:
        raise VerifyException(
            f"weight has {weight[1]} input channels, expected {c // group} "
            f"(input channels {c} / group {group})"
        )
    if bias is not None and tuple(bias) != (f,):
        raise VerifyException(f"bias must have shape [{f}], got {list(bias)}")
    oh, ow = _window_output(input, weight[2:], strides, dilations, pads)
    return (n, f, oh, ow)


def pool_shape(
    input: Shape, kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> Shape:
    """ONNX MaxPool/AveragePool (floor mode, no dilation) on NCHW input."""
    if len(input) != 4:
        raise VerifyException(
            f"pooling expects a rank-4 input (NCHW), got rank {len(input)}"
        )
    if len(kernel) != 2 or any(k < 1 for k in kernel):
        raise VerifyException(f"kernel must be 2 values >= 1, got {list(kernel)}")
    _check_window_props(strides, pads)
    oh, ow = _window_output(input, kernel, strides, (1, 1), pads)
    return (input[0], input[1], oh, ow)


def reduced_axes(rank: int, axes: Sequence[int]) -> tuple[int, ...]:
    """The normalized, sorted reduction axes; they must be non-empty and distinct."""
    if not axes:
        raise VerifyException("reduce axes must not be empty")
    normalized = [normalize_axis(a, rank, "reduce axis") for a in axes]
    if len(set(normalized)) != len(normalized):
        raise VerifyException(f"reduce axes {list(axes)} are not distinct")
    return tuple(sorted(normalized))


def reduce_shape(input: Shape, axes: Sequence[int], keepdims: bool) -> Shape:
    """`np.sum(x, axis=axes, keepdims=keepdims)` and friends."""
    reduced = reduced_axes(len(input), axes)
    if keepdims:
        return tuple(1 if i in reduced else s for i, s in enumerate(input))
    return tuple(s for i, s in enumerate(input) if i not in reduced)


def transpose_shape(input: Shape, perm: Sequence[int]) -> Shape:
    """`np.transpose(x, perm)`; `perm` must be a permutation of the dims."""
    if sorted(perm) != list(range(len(input))):
        raise VerifyException(
            f"perm {list(perm)} is not a permutation of the {len(input)} dims"
        )
    return tuple(input[p] for p in perm)


def slice_ranges(
    input: Shape, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> tuple[range, ...]:
    """The input indices each dim of `x[starts:ends:steps]` takes (numpy clamping)."""
    rank = len(input)
    if not len(starts) == len(ends) == len(steps) == rank:
        raise VerifyException(
            f"starts, ends and steps need one value per dim ({rank}), got "
            f"{len(starts)}, {len(ends)} and {len(steps)}"
        )
    if any(s < 1 for s in steps):
        raise VerifyException(f"slice steps must be >= 1, got {list(steps)}")
    ranges = tuple(
        range(*slice(b, e, s).indices(n))
        for n, b, e, s in zip(input, starts, ends, steps, strict=True)
    )
    for axis, r in enumerate(ranges):
        if not r:
            raise VerifyException(f"slice is empty along dim {axis}")
    return ranges


def slice_shape(
    input: Shape, starts: Sequence[int], ends: Sequence[int], steps: Sequence[int]
) -> Shape:
    return tuple(len(r) for r in slice_ranges(input, starts, ends, steps))


def concat_shape(inputs: Sequence[Shape], axis: int) -> Shape:
    """`np.concatenate(inputs, axis)`."""
    if not inputs:
        raise VerifyException("concat needs at least one input")
    first = inputs[0]
    axis = normalize_axis(axis, len(first))
    for number, shape in enumerate(inputs):
        if len(shape) != len(first) or any(
            a != b
            for i, (a, b) in enumerate(zip(shape, first, strict=True))
            if i != axis
        ):
            raise VerifyException(
                f"concat input #{number} has shape {list(shape)}, which differs from "
                f"{list(first)} outside axis {axis}"
            )
    return (*first[:axis], sum(s[axis] for s in inputs), *first[axis + 1 :])


def gather_shape(table: Shape, indices: Shape, axis: int) -> Shape:
    """`np.take(table, indices, axis)`."""
    if not table:
        raise VerifyException("gather table must have rank >= 1")
    axis = normalize_axis(axis, len(table))
    return (*table[:axis], *indices, *table[axis + 1 :])


# --------------------------------------------------------------------------------------
# Types.
# --------------------------------------------------------------------------------------

FLOAT_TYPES = (Float16Type, Float32Type, Float64Type)

MAX_TENSOR_ELEMENTS = 2**40
"""The most elements a tensor of a top op may have: sizes in bytes, costs and indices
stay far inside int64 (the largest of T10's evaluation is about 2^31)."""


def _tensor(value: SSAValue | Attribute, what: str) -> TensorType:
    """The static, non-empty tensor type of `value` (top ops work on nothing else)."""
    t = value.type if isinstance(value, SSAValue) else value
    if not isinstance(t, TensorType):
        raise VerifyException(f"{what} must be a tensor, got {t}")
    if any(s < 1 for s in t.get_shape()):
        raise VerifyException(f"{what} must have a static, non-empty shape, got {t}")
    if math.prod(t.get_shape()) > MAX_TENSOR_ELEMENTS:
        raise VerifyException(
            f"{what} has more than 2^{MAX_TENSOR_ELEMENTS.bit_length() - 1} "
            f"elements, got {t}"
        )
    return t


def check_tensor(value: SSAValue | Attribute, what: str) -> TensorType:
    """The tensor type of `value` if a top op may take it (static, non-empty, at most
    MAX_TENSOR_ELEMENTS elements); a VerifyException naming `what` otherwise."""
    return _tensor(value, what)


def _shape(value: SSAValue | Attribute, what: str = "operand") -> Shape:
    return tuple(_tensor(value, what).get_shape())


def _float_element(types: Sequence[Attribute], names: Sequence[str]) -> Attribute:
    """The common f16/f32/f64 element type of `types`."""
    elements = [
        _tensor(t, n).get_element_type() for t, n in zip(types, names, strict=True)
    ]
    for element, name in zip(elements, names, strict=True):
        if not isinstance(element, FLOAT_TYPES):
            raise VerifyException(
                f"{name} must have f16, f32 or f64 elements, got {element}"
            )
        if element != elements[0]:
            raise VerifyException(
                f"element types differ: {names[0]} has {elements[0]}, {name} has {element}"
            )
    return elements[0]


def _ints(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, tuple(values))


def _identity(rank: int, prefix: str = "d") -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(rank))


def _parallel(names: Sequence[str], shape: Shape) -> tuple[LoopDim, ...]:
    return tuple(LoopDim(n, s) for n, s in zip(names, shape, strict=True))


def _broadcast_indices(
    operand: Shape, result: Shape, prefix: str = "d"
) -> tuple[LinearIndex, ...]:
    """Operand dims aligned to the trailing result dims; broadcast dims read index 0."""
    offset = len(result) - len(operand)
    return tuple(
        LinearIndex.constant(0)
        if size == 1 and result[offset + i] != 1
        else LinearIndex.of(f"{prefix}{offset + i}")
        for i, size in enumerate(operand)
    )


def _window_map(
    spatial: tuple[str, str],
    kernel: tuple[str, str],
    strides: Sequence[int],
    dilations: Sequence[int],
    pads: Sequence[int],
) -> tuple[LinearIndex, LinearIndex]:
    """`out*stride + k*dilation - pad_before` for H and W."""
    h, w = (
        LinearIndex(((o, s), (k, d)), -p)
        for o, k, s, d, p in zip(
            spatial, kernel, strides, dilations, pads[:2], strict=True
        )
    )
    return h, w


def _scaled(value: SSAValue, times: int, over: int) -> ExprOp:
    """`value * times / over` elementwise: a sub-operator's share of a mean or of a
    term added once, as an expression (top has no constants to multiply by)."""
    shape = _shape(value)
    index = ", ".join(_identity(len(shape), "D"))
    factor = f" * {float(times)!r}" if times != 1 else ""
    expr = f"output0[{index}] = input0[{index}]{factor} / {float(over)!r}"
    return ExprOp([value], expr, value.type)


# --------------------------------------------------------------------------------------
# Ops.
# --------------------------------------------------------------------------------------


class IterationDomainInterface(Operation, abc.ABC):
    """An op that can describe itself as a loop nest with index maps: an `Operation`
    subclass, as xDSL's interfaces are (`xdsl.interfaces.HasFolderInterface`)."""

    @abc.abstractmethod
    def iteration_domain(self) -> IterationDomain:
        """The op's loop dims and the index map of every operand and result."""
        raise NotImplementedError()

    def moves_data_only(self) -> bool:
        """Whether the op only copies elements (a transpose, a slice): a domain cannot
        tell a copy from a computation such as `relu`, and the cost model must."""
        return False

    def flat_view(self) -> bool:
        """Whether the result is the operand's elements in the same row-major order (a
        reshape): in flat layouts both have the same pieces, so lowering reuses them
        instead of computing on windows that need not be boxes of the operand."""
        return False

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """The ops that compute this op over one core's step window, from the windows of
        its operands (`operands`), the last giving the result: by default the op itself
        on the smaller types. Ops whose properties name global positions or sizes
        override it (the windows already hold the padding; a slice's window starts at
        its start; a mean divides by the whole count), as do ops with a term added
        once per result element (a bias), which each of the `pieces` sub-operator
        results combined into an element (one per reduction slice) adds a share of."""
        return [
            type(self).create(
                operands=list(operands),
                result_types=[result_type],
                properties=dict(self.properties),
            )
        ]

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """The ops `sub_operator` builds, as the cost model sees them: to be kept in
        step with it (an op overriding one overrides both)."""
        return (OWN_LOOP_NEST,)


class TopOperation(IRDLOperation, IterationDomainInterface, abc.ABC):
    """Common verification: inferred result type, then the iteration domain fits."""

    irdl_options = (ParsePropInAttrDict(),)
    traits = traits_def(Pure())

    result = result_def(TensorType)

    @abc.abstractmethod
    def inferred_result_type(self) -> TensorType:
        """The result type shape inference derives from the operands and properties."""
        raise NotImplementedError()

    def verify_(self) -> None:
        expected = self.inferred_result_type()
        if self.result.type != expected:
            raise VerifyException(
                f"result type {self.result.type} does not match the inferred type {expected}"
            )
        problem = self.iteration_domain().check(
            [_shape(o) for o in self.operands], [_shape(self.result)]
        )
        if problem is not None:
            raise VerifyException(
                f"iteration domain does not fit the tensors: {problem}"
            )


class TwoOperandOperation(TopOperation, abc.ABC):
    """`result = f(lhs, rhs)`; subclasses differ in how the result shape follows."""

    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)

    assembly_format = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)"

    @staticmethod
    @abc.abstractmethod
    def result_shape(lhs: Shape, rhs: Shape) -> Shape:
        """The result shape for operands of these shapes (raises VerifyException)."""
        raise NotImplementedError()

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        result_type: Attribute | None = None,
    ):
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        if result_type is None:
            result_type = self.infer_result_type(lhs.type, rhs.type)
        super().__init__(operands=[lhs, rhs], result_types=[result_type])

    @classmethod
    def infer_result_type(cls, lhs: Attribute, rhs: Attribute) -> TensorType:
        element = _float_element([lhs, rhs], ["lhs", "rhs"])
        return TensorType(element, cls.result_shape(_shape(lhs), _shape(rhs)))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.lhs.type, self.rhs.type)


@irdl_op_definition
class MatmulOp(TwoOperandOperation):
    name = "top.matmul"

    result_shape = staticmethod(matmul_shape)

    def iteration_domain(self) -> IterationDomain:
        lhs, rhs, result = _shape(self.lhs), _shape(self.rhs), _shape(self.result)
        batch = result[:-2]
        dims = (
            *_parallel(_identity(len(batch), "b"), batch),
            LoopDim("m", result[-2]),
            LoopDim("n", result[-1]),
            LoopDim("k", lhs[-1], DimKind.REDUCTION),
        )

        m, n, k = LinearIndex.of("m"), LinearIndex.of("n"), LinearIndex.of("k")
        return IterationDomain(
            dims,
            (
                TensorMap((*_broadcast_indices(lhs[:-2], batch, "b"), m, k)),
                TensorMap((*_broadcast_indices(rhs[:-2], batch, "b"), k, n)),
            ),
            (TensorMap.identity((*_identity(len(batch), "b"), "m", "n")),),
            combiner="sum",
            padding=0.0,
        )


@irdl_op_definition
class Conv2dOp(TopOperation):
    name = "top.conv2d"

    input = operand_def(TensorType)
    weight = operand_def(TensorType)
    bias = opt_operand_def(TensorType)

    strides = prop_def(DenseArrayBase.constr(i64))
    dilations = prop_def(DenseArrayBase.constr(i64))
    pads = prop_def(DenseArrayBase.constr(i64))
    group = prop_def(IntegerAttr[I64])

    assembly_format = "$input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        weight: SSAValue | Operation,
        bias: SSAValue | Operation | None,
        result_type: Attribute | None = None,
        strides: Sequence[int] = (1, 1),
        dilations: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        group: int = 1,
    ):
        input, weight = SSAValue.get(input), SSAValue.get(weight)
        bias = SSAValue.get(bias) if bias is not None else None
        if result_type is None:
            result_type = self.infer_result_type(
                input.type,
                weight.type,
                bias.type if bias is not None else None,
                strides,
                dilations,
                pads,
                group,
            )
        super().__init__(
            operands=[input, weight, [bias] if bias is not None else []],
            result_types=[result_type],
            properties={
                "strides": _ints(strides),
                "dilations": _ints(dilations),
                "pads": _ints(pads),
                "group": IntegerAttr(group, i64),
            },
        )

    @staticmethod
    def infer_result_type(
        input: Attribute,
        weight: Attribute,
        bias: Attribute | None,
        strides: Sequence[int],
        dilations: Sequence[int],
        pads: Sequence[int],
        group: int,
    ) -> TensorType:
        types, names = [input, weight], ["input", "weight"]
        if bias is not None:
            types.append(bias)
            names.append("bias")
        element = _float_element(types, names)
        shape = conv2d_shape(
            _shape(input),
            _shape(weight),
            _shape(bias) if bias is not None else None,
            strides,
            dilations,
            pads,
            group,
        )
        return TensorType(element, shape)

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.input.type,
            self.weight.type,
            self.bias.type if self.bias is not None else None,
            self.strides.get_values(),
            self.dilations.get_values(),
            self.pads.get_values(),
            self.group.value.data,
        )

    def iteration_domain(self) -> IterationDomain:
        weight, result = _shape(self.weight), _shape(self.result)
        group = self.group.value.data
        pads = self.pads.get_values()
        f_per_group, c_per_group = weight[0] // group, weight[1]
        grouped = group > 1
        dims = (
            LoopDim("n", result[0]),
            *((LoopDim("g", group),) if grouped else ()),
            LoopDim("f", f_per_group),
            LoopDim("oh", result[2]),
            LoopDim("ow", result[3]),
            LoopDim("c", c_per_group, DimKind.REDUCTION),
            LoopDim("kh", weight[2], DimKind.REDUCTION),
            LoopDim("kw", weight[3], DimKind.REDUCTION),
        )
        n, c, oh, ow, kh, kw = map(LinearIndex.of, ("n", "c", "oh", "ow", "kh", "kw"))
        if grouped:
            channel_in = LinearIndex((("g", c_per_group), ("c", 1)))
            channel_out = LinearIndex((("g", f_per_group), ("f", 1)))
        else:
            channel_in, channel_out = c, LinearIndex.of("f")
        h, w = _window_map(
            ("oh", "ow"),
            ("kh", "kw"),
            self.strides.get_values(),
            self.dilations.get_values(),
            pads,
        )
        operands = [
            TensorMap((n, channel_in, h, w), guarded=any(pads)),
            TensorMap((channel_out, c, kh, kw)),
        ]
        if self.bias is not None:
            operands.append(TensorMap((channel_out,)))
        return IterationDomain(
            dims,
            tuple(operands),
            (TensorMap((n, channel_out, oh, ow)),),
            combiner="sum",
            padding=0.0,
            nested=(("g", ("f", "c")),) if grouped else (),
        )

    def _window_groups(self, input: Shape, weight: Shape, result: Shape) -> int:
        """The groups whole in a step's windows of these shapes. The windows are boxes
        of channels: they hold only whole groups, or part of one."""
        group = self.group.value.data
        if group == 1:
            return 1
        per_group_in = _shape(self.weight)[1]
        per_group_out = _shape(self.weight)[0] // group
        channels = weight[1]
        groups, rest = divmod(input[1] - channels, per_group_in)
        groups += 1
        out_channels = result[1] - (groups - 1) * per_group_out
        if rest or (
            groups > 1 and (channels, out_channels) != (per_group_in, per_group_out)
        ):
            raise VerifyException(
                f"a window of {input[1]} input and {result[1]} output channels spans "
                f"{groups} groups but holds only part of each ({channels} of "
                f"{per_group_in} input, {out_channels} of {per_group_out} output "
                "channels)"
            )
        return groups

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """The convolution on a step's windows, which already hold the padding, in as
        many groups as they hold, adding its share of the bias."""
        input, weight, *bias = operands
        ops: list[Operation] = []
        if bias and pieces > 1:
            ops.append(_scaled(bias[0], 1, pieces))
            bias = [ops[-1].results[0]]
        groups = self._window_groups(
            _shape(input), _shape(weight), tuple(result_type.get_shape())
        )
        ops.append(
            Conv2dOp(
                input,
                weight,
                bias[0] if bias else None,
                result_type,
                self.strides.get_values(),
                self.dilations.get_values(),
                (0, 0, 0, 0),
                groups,
            )
        )
        return ops

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """The bias share is scaled on each step of a plan that cuts the reduction."""
        if self.bias is None:
            return (OWN_LOOP_NEST,)
        reduction = tuple(d.name for d in self.iteration_domain().reduction_dims)
        return (BodyOp(SubOpKind.UNARY, 2, when_cut=reduction), OWN_LOOP_NEST)


class ElementwiseBinaryOperation(TwoOperandOperation, abc.ABC):
    """`result = f(lhs, rhs)` with numpy broadcasting."""

    result_shape = staticmethod(broadcast_shapes)

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        return IterationDomain(
            _parallel(_identity(len(result)), result),
            (
                TensorMap(_broadcast_indices(_shape(self.lhs), result)),
                TensorMap(_broadcast_indices(_shape(self.rhs), result)),
            ),
            (TensorMap.identity(_identity(len(result))),),
        )


@irdl_op_definition
class AddOp(ElementwiseBinaryOperation):
    name = "top.add"


@irdl_op_definition
class SubOp(ElementwiseBinaryOperation):
    name = "top.sub"


@irdl_op_definition
class MulOp(ElementwiseBinaryOperation):
    name = "top.mul"


@irdl_op_definition
class DivOp(ElementwiseBinaryOperation):
    name = "top.div"


@irdl_op_definition
class MaxOp(ElementwiseBinaryOperation):
    name = "top.max"


@irdl_op_definition
class MinOp(ElementwiseBinaryOperation):
    name = "top.min"


@irdl_op_definition
class PowOp(ElementwiseBinaryOperation):
    name = "top.pow"


class ElementwiseUnaryOperation(TopOperation, abc.ABC):
    """`result = f(input)` elementwise; the result has the input's type."""

    input = operand_def(TensorType)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, input: SSAValue | Operation, result_type: Attribute | None = None
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[result_type if result_type is not None else input.type],
        )

    @staticmethod
    def infer_result_type(input: Attribute) -> TensorType:
        _float_element([input], ["input"])
        return _tensor(input, "input")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type)

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        names = _identity(len(result))
        return IterationDomain(
            _parallel(names, result),
            (TensorMap.identity(names),),
            (TensorMap.identity(names),),
        )


@irdl_op_definition
class ReluOp(ElementwiseUnaryOperation):
    name = "top.relu"


@irdl_op_definition
class GeluOp(ElementwiseUnaryOperation):
    """GELU in its exact (erf) form."""

    name = "top.gelu"


@irdl_op_definition
class TanhOp(ElementwiseUnaryOperation):
    name = "top.tanh"


@irdl_op_definition
class SigmoidOp(ElementwiseUnaryOperation):
    name = "top.sigmoid"


@irdl_op_definition
class ExpOp(ElementwiseUnaryOperation):
    name = "top.exp"


@irdl_op_definition
class LogOp(ElementwiseUnaryOperation):
    name = "top.log"


@irdl_op_definition
class SqrtOp(ElementwiseUnaryOperation):
    name = "top.sqrt"


@irdl_op_definition
class RsqrtOp(ElementwiseUnaryOperation):
    name = "top.rsqrt"


@irdl_op_definition
class NegOp(ElementwiseUnaryOperation):
    name = "top.neg"


@irdl_op_definition
class ErfOp(ElementwiseUnaryOperation):
    name = "top.erf"


@irdl_op_definition
class ClipOp(ElementwiseUnaryOperation):
    name = "top.clip"

    min = prop_def(FloatAttr[Float64Type])
    max = prop_def(FloatAttr[Float64Type])

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None = None,
        min: float = float("-inf"),
        max: float = float("inf"),
    ):
        input = SSAValue.get(input)
        IRDLOperation.__init__(
            self,
            operands=[input],
            result_types=[result_type if result_type is not None else input.type],
            properties={"min": FloatAttr(min, 64), "max": FloatAttr(max, 64)},
        )

    def verify_(self) -> None:
        if self.min.value.data > self.max.value.data:
            raise VerifyException(
                f"clip min {self.min.value.data} is greater than max {self.max.value.data}"
            )
        super().verify_()


@irdl_op_definition
class SoftmaxOp(TopOperation):
    name = "top.softmax"

    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None = None,
        axis: int = -1,
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[result_type if result_type is not None else input.type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    @staticmethod
    def infer_result_type(input: Attribute, axis: int) -> TensorType:
        _float_element([input], ["input"])
        normalize_axis(axis, len(_shape(input)))
        return _tensor(input, "input")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type, self.axis.value.data)

    def iteration_domain(self) -> IterationDomain:
        shape = _shape(self.result)
        axis = normalize_axis(self.axis.value.data, len(shape))
        names = _identity(len(shape))
        dims = tuple(
            LoopDim(n, s, DimKind.REDUCTION if i == axis else DimKind.PARALLEL)
            for i, (n, s) in enumerate(zip(names, shape, strict=True))
        )
        return IterationDomain(
            dims,
            (TensorMap.identity(names),),
            (TensorMap.identity(names),),
            combiner="sum",
        )


@irdl_op_definition
class LayerNormOp(TopOperation):
    name = "top.layernorm"

    x = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    epsilon = prop_def(FloatAttr[Float64Type])

    assembly_format = (
        "$x `,` $scale `,` $bias attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        x: SSAValue | Operation,
        scale: SSAValue | Operation,
        bias: SSAValue | Operation,
        result_type: Attribute | None = None,
        axis: int = -1,
        epsilon: float = 1e-5,
    ):
        x = SSAValue.get(x)
        super().__init__(
            operands=[x, scale, bias],
            result_types=[result_type if result_type is not None else x.type],
            properties={
                "axis": IntegerAttr(axis, i64),
                "epsilon": FloatAttr(epsilon, 64),
            },
        )

    @staticmethod
    def infer_result_type(
        x: Attribute, scale: Attribute, bias: Attribute, axis: int
    ) -> TensorType:
        _float_element([x, scale, bias], ["x", "scale", "bias"])
        shape = _shape(x)
        normalized = shape[normalize_axis(axis, len(shape)) :]
        for name, t in (("scale", scale), ("bias", bias)):
            if _shape(t) != normalized:
                raise VerifyException(
                    f"{name} must have the normalized shape {list(normalized)}, "
                    f"got {list(_shape(t))}"
                )
        return _tensor(x, "x")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.x.type, self.scale.type, self.bias.type, self.axis.value.data
        )

    def iteration_domain(self) -> IterationDomain:
        shape = _shape(self.result)
        axis = normalize_axis(self.axis.value.data, len(shape))
        names = _identity(len(shape))
        dims = tuple(
            LoopDim(n, s, DimKind.REDUCTION if i >= axis else DimKind.PARALLEL)
            for i, (n, s) in enumerate(zip(names, shape, strict=True))
        )
        params = TensorMap.identity(names[axis:])
        return IterationDomain(
            dims,
            (TensorMap.identity(names), params, params),
            (TensorMap.identity(names),),
            combiner="sum",
        )


@irdl_op_definition
class BatchNormOp(TopOperation):
    name = "top.batchnorm"

    x = operand_def(TensorType)
    scale = operand_def(TensorType)
    bias = operand_def(TensorType)
    mean = operand_def(TensorType)
    var = operand_def(TensorType)
    epsilon = prop_def(FloatAttr[Float64Type])

    assembly_format = (
        "$x `,` $scale `,` $bias `,` $mean `,` $var attr-dict `:` "
        "functional-type(operands, results)"
    )

    def __init__(
        self,
        x: SSAValue | Operation,
        scale: SSAValue | Operation,
        bias: SSAValue | Operation,
        mean: SSAValue | Operation,
        var: SSAValue | Operation,
        result_type: Attribute | None = None,
        epsilon: float = 1e-5,
    ):
        x = SSAValue.get(x)
        super().__init__(
            operands=[x, scale, bias, mean, var],
            result_types=[result_type if result_type is not None else x.type],
            properties={"epsilon": FloatAttr(epsilon, 64)},
        )

    @staticmethod
    def infer_result_type(
        x: Attribute, scale: Attribute, bias: Attribute, mean: Attribute, var: Attribute
    ) -> TensorType:
        names = ["x", "scale", "bias", "mean", "var"]
        params = [scale, bias, mean, var]
        _float_element([x, *params], names)
        shape = _shape(x)
        if len(shape) < 2:
            raise VerifyException(
                f"batchnorm input must have rank >= 2, got rank {len(shape)}"
            )
        for name, t in zip(names[1:], params, strict=True):
            if _shape(t) != (shape[1],):
                raise VerifyException(
                    f"{name} must have shape [{shape[1]}] (the channels), got {list(_shape(t))}"
                )
        return _tensor(x, "x")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.x.type, self.scale.type, self.bias.type, self.mean.type, self.var.type
        )

    def iteration_domain(self) -> IterationDomain:
        shape = _shape(self.result)
        names = _identity(len(shape))
        channel = TensorMap((LinearIndex.of("d1"),))
        return IterationDomain(
            _parallel(names, shape),
            (TensorMap.identity(names), channel, channel, channel, channel),
            (TensorMap.identity(names),),
        )


@irdl_op_definition
class ReduceOp(TopOperation):
    name = "top.reduce"

    input = operand_def(TensorType)
    kind = prop_def(StringAttr)
    axes = prop_def(DenseArrayBase.constr(i64))
    keepdims = prop_def(BoolAttr)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None,
        kind: str,
        axes: Sequence[int],
        keepdims: bool,
    ):
        input = SSAValue.get(input)
        if result_type is None:
            result_type = self.infer_result_type(input.type, kind, axes, keepdims)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "kind": StringAttr(kind),
                "axes": _ints(axes),
                "keepdims": IntegerAttr.from_bool(keepdims),
            },
        )

    @staticmethod
    def infer_result_type(
        input: Attribute, kind: str, axes: Sequence[int], keepdims: bool
    ) -> TensorType:
        if kind not in REDUCE_KINDS:
            raise VerifyException(
                f"reduce kind must be one of {', '.join(REDUCE_KINDS)}, got '{kind}'"
            )
        element = _float_element([input], ["input"])
        return TensorType(element, reduce_shape(_shape(input), axes, keepdims))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.input.type,
            self.kind.data,
            self.axes.get_values(),
            bool(self.keepdims.value.data),
        )

    def combiner(self) -> str:
        """How partial results combine: a mean's shares are summed."""
        kind = self.kind.data
        return "sum" if kind == "mean" else kind

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """The reduction of a step's window; a mean's share is the window's sum over
        the whole count."""
        axes, keepdims = self.axes.get_values(), bool(self.keepdims.value.data)
        sub = ReduceOp(operands[0], result_type, self.combiner(), axes, keepdims)
        if self.kind.data != "mean":
            return [sub]
        shape = _shape(self.input)
        count = math.prod(shape[a] for a in reduced_axes(len(shape), axes))
        return [sub, _scaled(sub.result, 1, count)]

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """A mean scales its window's sum."""
        if self.kind.data != "mean":
            return (OWN_LOOP_NEST,)
        return (OWN_LOOP_NEST, BodyOp(SubOpKind.UNARY, 1))

    def iteration_domain(self) -> IterationDomain:
        shape = _shape(self.input)
        reduced = reduced_axes(len(shape), self.axes.get_values())
        input_map: list[LinearIndex] = []
        result_map: list[LinearIndex] = []
        dims: list[LoopDim] = []
        reduction_dims: list[LoopDim] = []
        for i, size in enumerate(shape):
            if i in reduced:
                name = f"r{len(reduction_dims)}"
                reduction_dims.append(LoopDim(name, size, DimKind.REDUCTION))
                if self.keepdims.value.data:
                    result_map.append(LinearIndex.constant(0))
            else:
                name = f"d{len(dims)}"
                dims.append(LoopDim(name, size))
                result_map.append(LinearIndex.of(name))
            input_map.append(LinearIndex.of(name))
        combiner = self.combiner()
        return IterationDomain(
            (*dims, *reduction_dims),
            (TensorMap(tuple(input_map)),),
            (TensorMap(tuple(result_map)),),
            combiner=combiner,
            padding=COMBINER_IDENTITY[combiner],
        )


class ReshapeCanonicalizationTrait(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (FoldReshapeChain(), RemoveIdentityReshape())


class TransposeCanonicalizationTrait(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (FoldTransposeChain(), RemoveIdentityTranspose())


class SliceCanonicalizationTrait(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (RemoveWholeSlice(),)


class ConcatCanonicalizationTrait(HasCanonicalizationPatternsTrait):
    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        return (RemoveSingleConcat(),)


@irdl_op_definition
class TransposeOp(TopOperation):
    name = "top.transpose"

    input = operand_def(TensorType)
    perm = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(TransposeCanonicalizationTrait())

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None,
        perm: Sequence[int],
    ):
        input = SSAValue.get(input)
        if result_type is None:
            result_type = self.infer_result_type(input.type, perm)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={"perm": _ints(perm)},
        )

    @staticmethod
    def infer_result_type(input: Attribute, perm: Sequence[int]) -> TensorType:
        t = _tensor(input, "input")
        return TensorType(t.get_element_type(), transpose_shape(_shape(t), perm))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type, self.perm.get_values())

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        perm = self.perm.get_values()
        names = _identity(len(result))
        inverse = {p: i for i, p in enumerate(perm)}
        return IterationDomain(
            _parallel(names, result),
            (
                TensorMap(
                    tuple(LinearIndex.of(names[inverse[j]]) for j in range(len(perm)))
                ),
            ),
            (TensorMap.identity(names),),
        )


@irdl_op_definition
class ReshapeOp(TopOperation):
    name = "top.reshape"

    input = operand_def(TensorType)

    traits = traits_def(ReshapeCanonicalizationTrait())

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    @staticmethod
    def infer_result_type(input: Attribute, result: Attribute) -> TensorType:
        """The result shape comes from the result type: it only has to keep the count."""
        t, r = _tensor(input, "input"), _tensor(result, "result")
        if r.element_count() != t.element_count():
            raise VerifyException(
                f"reshape changes the element count from {t.element_count()} "
                f"({t}) to {r.element_count()} ({r})"
            )
        return TensorType(t.get_element_type(), r.get_shape())

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type, self.result.type)

    def moves_data_only(self) -> bool:
        return True

    def flat_view(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        """Input dim j reads `(row-major offset of the result point floordiv the
        input's stride j) mod size j`."""
        input, result = _shape(self.input), _shape(self.result)
        names = _identity(len(result))
        strides = [1] * len(result)
        for i in reversed(range(len(result) - 1)):
            strides[i] = strides[i + 1] * result[i + 1]
        linear = LinearIndex(tuple(zip(names, strides, strict=True)))
        input_map: list[Index] = []
        divisor = 1
        for i in reversed(range(len(input))):
            input_map.append(
                DelinearizedIndex(linear, divisor, input[i] if i else None)
            )
            divisor *= input[i]
        return IterationDomain(
            _parallel(names, result),
            (TensorMap(tuple(reversed(input_map))),),
            (TensorMap.identity(names),),
        )


@irdl_op_definition
class ConcatOp(TopOperation):
    name = "top.concat"

    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(ConcatCanonicalizationTrait())

    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        inputs: Sequence[SSAValue | Operation],
        result_type: Attribute | None,
        axis: int,
    ):
        values = [SSAValue.get(i) for i in inputs]
        if result_type is None:
            result_type = self.infer_result_type([v.type for v in values], axis)
        super().__init__(
            operands=[values],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    @staticmethod
    def infer_result_type(inputs: Sequence[Attribute], axis: int) -> TensorType:
        if not inputs:
            raise VerifyException("concat needs at least one input")
        names = [f"input #{i}" for i in range(len(inputs))]
        element = _float_element(inputs, names)
        return TensorType(element, concat_shape([_shape(t) for t in inputs], axis))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            [v.type for v in self.inputs], self.axis.value.data
        )

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        axis = normalize_axis(self.axis.value.data, len(result))
        names = _identity(len(result))
        maps: list[TensorMap] = []
        offset = 0
        for value in self.inputs:
            indices = [LinearIndex.of(n) for n in names]
            indices[axis] = LinearIndex.of(names[axis], 1, -offset)
            maps.append(TensorMap(tuple(indices), guarded=True))
            offset += _shape(value)[axis]
        return IterationDomain(
            _parallel(names, result),
            tuple(maps),
            (TensorMap.identity(names),),
            padding=0.0,
        )

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """Each input's window covers the output window, holding zeros (the padding)
        outside that input: their sum is the concatenation, exactly."""
        ops: list[Operation] = []
        total = operands[0]
        for value in operands[1:]:
            ops.append(AddOp(total, value, result_type))
            total = ops[-1].results[0]
        return ops or [ConcatOp(operands, result_type, self.axis.value.data)]

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """The windows' sums over the output window, one fewer than the inputs."""
        inputs = len(self.operands)
        if inputs == 1:
            return (OWN_LOOP_NEST,)
        return (BodyOp(SubOpKind.ELEMENTWISE, inputs, count=inputs - 1),)


@irdl_op_definition
class SliceOp(TopOperation):
    name = "top.slice"

    input = operand_def(TensorType)
    starts = prop_def(DenseArrayBase.constr(i64))
    ends = prop_def(DenseArrayBase.constr(i64))
    steps = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(SliceCanonicalizationTrait())

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None,
        starts: Sequence[int],
        ends: Sequence[int],
        steps: Sequence[int] | None = None,
    ):
        input = SSAValue.get(input)
        steps = steps if steps is not None else (1,) * len(starts)
        if result_type is None:
            result_type = self.infer_result_type(input.type, starts, ends, steps)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                "starts": _ints(starts),
                "ends": _ints(ends),
                "steps": _ints(steps),
            },
        )

    @staticmethod
    def infer_result_type(
        input: Attribute,
        starts: Sequence[int],
        ends: Sequence[int],
        steps: Sequence[int],
    ) -> TensorType:
        t = _tensor(input, "input")
        return TensorType(
            t.get_element_type(), slice_shape(_shape(t), starts, ends, steps)
        )

    def ranges(self) -> tuple[range, ...]:
        """The input indices read along each dim."""
        return slice_ranges(
            _shape(self.input),
            self.starts.get_values(),
            self.ends.get_values(),
            self.steps.get_values(),
        )

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.input.type,
            self.starts.get_values(),
            self.ends.get_values(),
            self.steps.get_values(),
        )

    def moves_data_only(self) -> bool:
        return True

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """A window of the input starts at the slice's first element."""
        steps = self.steps.get_values()
        ends = [
            (size - 1) * step + 1
            for size, step in zip(result_type.get_shape(), steps, strict=True)
        ]
        return [SliceOp(operands[0], result_type, [0] * len(steps), ends, list(steps))]

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        names = _identity(len(result))
        return IterationDomain(
            _parallel(names, result),
            (
                TensorMap(
                    tuple(
                        LinearIndex.of(n, r.step, r.start)
                        for n, r in zip(names, self.ranges(), strict=True)
                    )
                ),
            ),
            (TensorMap.identity(names),),
        )


@irdl_op_definition
class GatherOp(TopOperation):
    name = "top.gather"

    table = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    assembly_format = (
        "$table `,` $indices attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        table: SSAValue | Operation,
        indices: SSAValue | Operation,
        result_type: Attribute | None = None,
        axis: int = 0,
    ):
        table, indices = SSAValue.get(table), SSAValue.get(indices)
        if result_type is None:
            result_type = self.infer_result_type(table.type, indices.type, axis)
        super().__init__(
            operands=[table, indices],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    @staticmethod
    def infer_result_type(
        table: Attribute, indices: Attribute, axis: int
    ) -> TensorType:
        element = _float_element([table], ["table"])
        index_type = _tensor(indices, "indices").get_element_type()
        if not isinstance(index_type, IntegerType) or index_type.width.data not in (
            32,
            64,
        ):
            raise VerifyException(
                f"indices must have i32 or i64 elements, got {index_type}"
            )
        return TensorType(element, gather_shape(_shape(table), _shape(indices), axis))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.table.type, self.indices.type, self.axis.value.data
        )

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        table, indices, result = (
            _shape(self.table),
            _shape(self.indices),
            _shape(self.result),
        )
        axis = normalize_axis(self.axis.value.data, len(table))
        names = _identity(len(result))
        index_dims = names[axis : axis + len(indices)]
        table_map: tuple[Index, ...] = (
            *(LinearIndex.of(n) for n in names[:axis]),
            GatheredIndex(1, tuple(LinearIndex.of(n) for n in index_dims)),
            *(LinearIndex.of(n) for n in names[axis + len(indices) :]),
        )
        return IterationDomain(
            _parallel(names, result),
            (TensorMap(table_map), TensorMap.identity(index_dims)),
            (TensorMap.identity(names),),
        )


class PoolOperation(TopOperation, abc.ABC):
    """A 2-D sliding window over NCHW input, combined per window."""

    input = operand_def(TensorType)
    kernel = prop_def(DenseArrayBase.constr(i64))
    strides = prop_def(DenseArrayBase.constr(i64))
    pads = prop_def(DenseArrayBase.constr(i64))

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    COMBINER: ClassVar[str]

    @abc.abstractmethod
    def padding_value(self) -> float | None:
        """What a read outside the input counts as (see `IterationDomain.padding`)."""
        raise NotImplementedError()

    @staticmethod
    def infer_result_type(
        input: Attribute,
        kernel: Sequence[int],
        strides: Sequence[int],
        pads: Sequence[int],
    ) -> TensorType:
        element = _float_element([input], ["input"])
        return TensorType(element, pool_shape(_shape(input), kernel, strides, pads))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.input.type,
            self.kernel.get_values(),
            self.strides.get_values(),
            self.pads.get_values(),
        )

    def iteration_domain(self) -> IterationDomain:
        result = _shape(self.result)
        kernel, pads = self.kernel.get_values(), self.pads.get_values()
        h, w = _window_map(
            ("oh", "ow"), ("kh", "kw"), self.strides.get_values(), (1, 1), pads
        )
        n, c = LinearIndex.of("n"), LinearIndex.of("c")
        return IterationDomain(
            (
                *_parallel(("n", "c", "oh", "ow"), result),
                LoopDim("kh", kernel[0], DimKind.REDUCTION),
                LoopDim("kw", kernel[1], DimKind.REDUCTION),
            ),
            (TensorMap((n, c, h, w), guarded=any(pads)),),
            (TensorMap.identity(("n", "c", "oh", "ow")),),
            combiner=self.COMBINER,
            padding=self.padding_value(),
            whole=self.whole_dims(),
        )

    def whole_dims(self) -> frozenset[str]:
        """Loop dims a sub-operator needs whole (see `IterationDomain.whole`)."""
        return frozenset()

    def window_kernel(self, input: Shape, result: Shape) -> tuple[int, int]:
        """The part of the kernel a step's windows of these shapes cover (its slice of
        kh, kw): the input window is `stride * (outputs - 1) + kernel` wide."""
        strides = self.strides.get_values()
        h, w = (input[i] - strides[i - 2] * (result[i] - 1) for i in (2, 3))
        return h, w


_POOL_WINDOW_DIMS = ("oh", "ow", "kh", "kw")


def _pool_properties(
    kernel: Sequence[int], strides: Sequence[int], pads: Sequence[int]
) -> dict[str, Attribute]:
    return {"kernel": _ints(kernel), "strides": _ints(strides), "pads": _ints(pads)}


@irdl_op_definition
class MaxPoolOp(PoolOperation):
    """Padding never wins: padded positions count as -inf."""

    name = "top.maxpool"
    COMBINER: ClassVar[str] = "max"

    def padding_value(self) -> float | None:
        return -math.inf

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None,
        kernel: Sequence[int],
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
    ):
        input = SSAValue.get(input)
        if result_type is None:
            result_type = self.infer_result_type(input.type, kernel, strides, pads)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties=_pool_properties(kernel, strides, pads),
        )

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """The max over a step's window, which holds the padding, of its slice of the
        kernel."""
        kernel = self.window_kernel(_shape(operands[0]), _shape(result_type))
        strides = self.strides.get_values()
        return [MaxPoolOp(operands[0], result_type, kernel, strides)]


@irdl_op_definition
class AvgPoolOp(PoolOperation):
    """The mean over each window; padded positions count only with count_include_pad."""

    name = "top.avgpool"
    COMBINER: ClassVar[str] = "sum"

    def counts_padding(self) -> bool:
        """Whether every window divides by the kernel size (padded positions count)."""
        return bool(self.count_include_pad.value.data) or not any(
            self.pads.get_values()
        )

    def padding_value(self) -> float | None:
        """Padded positions count as zeros only with count_include_pad; otherwise no
        value can stand for them (they are left out of the mean)."""
        return 0.0 if self.counts_padding() else None

    def whole_dims(self) -> frozenset[str]:
        """Left out of the mean, the padding makes a window's count depend on where it
        is: a sub-operator needs the whole window and all its positions to know it."""
        return frozenset() if self.counts_padding() else frozenset(_POOL_WINDOW_DIMS)

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """A step's share of the mean: the sum over its window (which holds the
        padding) and its slice of the kernel, divided by the whole kernel's size. A
        count that leaves the padding out is the op itself on the window's inside."""
        window, result = _shape(operands[0]), _shape(result_type)
        kernel, strides = self.kernel.get_values(), self.strides.get_values()
        if not self.counts_padding():
            return self._inside_sub_operator(operands[0], result_type)
        part = self.window_kernel(window, result)
        pool = AvgPoolOp(operands[0], result_type, part, strides)
        if part == kernel:
            return [pool]
        return [pool, _scaled(pool.result, part[0] * part[1], kernel[0] * kernel[1])]

    def _inside_sub_operator(
        self, window: SSAValue, result_type: TensorType
    ) -> list[Operation]:
        """The op on the inside of a window of all output positions (`whole_dims`),
        with the padding the window has on each side."""
        shape, size = _shape(window), _shape(self.input)
        top, left = self.pads.get_values()[:2]
        inside = [min(size[2], shape[2] - top), min(size[3], shape[3] - left)]
        pads = (top, left, shape[2] - top - inside[0], shape[3] - left - inside[1])
        crop = SliceOp(
            window,
            None,
            (0, 0, top, left),
            (shape[0], shape[1], top + inside[0], left + inside[1]),
        )
        pool = AvgPoolOp(
            crop,
            result_type,
            self.kernel.get_values(),
            self.strides.get_values(),
            pads,
            count_include_pad=False,
        )
        return [crop, pool]

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """Excluding the padding crops the window's inside; counting it scales the sum
        of a step whose kernel slice is not the whole kernel."""
        if not self.counts_padding():
            return (BodyOp(SubOpKind.COPY, 0, inside=True), OWN_LOOP_NEST)
        return (OWN_LOOP_NEST, BodyOp(SubOpKind.UNARY, 1, when_cut=("kh", "kw")))

    count_include_pad = prop_def(BoolAttr)

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None,
        kernel: Sequence[int],
        strides: Sequence[int] = (1, 1),
        pads: Sequence[int] = (0, 0, 0, 0),
        count_include_pad: bool = False,
    ):
        input = SSAValue.get(input)
        if result_type is None:
            result_type = self.infer_result_type(input.type, kernel, strides, pads)
        super().__init__(
            operands=[input],
            result_types=[result_type],
            properties={
                **_pool_properties(kernel, strides, pads),
                "count_include_pad": IntegerAttr.from_bool(count_include_pad),
            },
        )


@irdl_op_definition
class GlobalAvgPoolOp(TopOperation):
    name = "top.global_avgpool"

    input = operand_def(TensorType)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, input: SSAValue | Operation, result_type: Attribute | None = None
    ):
        input = SSAValue.get(input)
        if result_type is None:
            result_type = self.infer_result_type(input.type)
        super().__init__(operands=[input], result_types=[result_type])

    @staticmethod
    def infer_result_type(input: Attribute) -> TensorType:
        element = _float_element([input], ["input"])
        shape = _shape(input)
        if len(shape) != 4:
            raise VerifyException(
                f"global_avgpool expects a rank-4 input (NCHW), got rank {len(shape)}"
            )
        return TensorType(element, (shape[0], shape[1], 1, 1))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type)

    def iteration_domain(self) -> IterationDomain:
        n, c, h, w = _shape(self.input)
        return IterationDomain(
            (
                LoopDim("n", n),
                LoopDim("c", c),
                LoopDim("h", h, DimKind.REDUCTION),
                LoopDim("w", w, DimKind.REDUCTION),
            ),
            (TensorMap.identity(("n", "c", "h", "w")),),
            (
                TensorMap(
                    (
                        LinearIndex.of("n"),
                        LinearIndex.of("c"),
                        LinearIndex.constant(0),
                        LinearIndex.constant(0),
                    )
                ),
            ),
            combiner="sum",
            padding=0.0,
        )

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """A step's share of the mean: its window's sum over the whole count."""
        h, w = _shape(self.input)[2:]
        total = ReduceOp(operands[0], result_type, "sum", (2, 3), True)
        return [total, _scaled(total.result, 1, h * w)]

    def sub_operator_body(self) -> tuple[BodyOp, ...]:
        """The window's sum, scaled."""
        return (OWN_LOOP_NEST, BodyOp(SubOpKind.UNARY, 1))


@irdl_op_definition
class ExprOp(TopOperation):
    """An Antares einstein_v2 expression over `input0..`, writing `output0`."""

    name = "top.expr"

    inputs = var_operand_def(TensorType)
    expr = prop_def(StringAttr)

    assembly_format = "$inputs attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, inputs: Sequence[SSAValue | Operation], expr: str, result_type: Attribute
    ):
        super().__init__(
            operands=[list(inputs)],
            result_types=[result_type],
            properties={"expr": StringAttr(expr)},
        )

    @staticmethod
    def _ask(
        expr: str,
        inputs: Sequence[Attribute],
        query: Callable[[EinsteinExpr, list[Shape]], _T],
    ) -> _T:
        """Ask the parsed expression about the inputs; its errors become diagnostics."""
        from t10ir.expr import ExprError, parse_expression

        shapes = [_shape(t, f"input #{i}") for i, t in enumerate(inputs)]
        try:
            return query(parse_expression(expr), shapes)
        except ExprError as e:
            where = f" at column {e.column}" if e.column is not None else ""
            raise VerifyException(f"invalid expr{where}: {e.message}") from e

    @staticmethod
    def infer_result_type(
        inputs: Sequence[Attribute], expr: str, element_type: Attribute
    ) -> TensorType:
        """The shape comes from the expression; the element type is the declared one."""
        for i, t in enumerate(inputs):
            element = _tensor(t, f"input #{i}").get_element_type()
            if not isinstance(element, FLOAT_TYPES) and element not in (i32, i64):
                raise VerifyException(
                    f"input #{i} must have f16, f32, f64, i32 or i64 elements, "
                    f"got {element}"
                )
        shape = ExprOp._ask(expr, inputs, lambda e, shapes: e.output_shape(shapes))
        return TensorType(element_type, shape)

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            [v.type for v in self.inputs],
            self.expr.data,
            _tensor(self.result, "result").get_element_type(),
        )

    def moves_data_only(self) -> bool:
        return self._ask(
            self.expr.data, [v.type for v in self.inputs], lambda e, _: e.is_copy
        )

    def iteration_domain(self) -> IterationDomain:
        """The expression's domain; its padding is what its bounds guards read
        outside the inputs, when that is one neutral constant (`guard_padding`), and
        it keeps whole the dims whose global position the sub-operator needs
        (`position_dims`: it only knows positions in its windows)."""
        from t10ir.expr.window import guard_padding, position_dims

        domain = self._ask(
            self.expr.data,
            [v.type for v in self.inputs],
            lambda e, shapes: e.iteration_domain(shapes),
        )
        shapes = [_shape(v) for v in self.inputs]
        return dataclasses.replace(
            domain,
            padding=guard_padding(self.expr.data, shapes),
            whole=position_dims(self.expr.data, shapes),
        )

    def sub_operator(
        self, operands: Sequence[SSAValue], result_type: TensorType, pieces: int = 1
    ) -> list[Operation]:
        """Global positions in the expression become window positions
        (`t10ir.expr.window`)."""
        from t10ir.expr import ExprError
        from t10ir.expr.window import window_expression

        try:
            text = window_expression(
                self.expr.data,
                result_type.get_shape(),
                [_shape(v) for v in self.inputs],
            )
        except ExprError as e:
            raise VerifyException(f"cannot run on windows: {e.message}") from e
        return [ExprOp(operands, text, result_type)]


# --------------------------------------------------------------------------------------
# Canonicalization patterns (registered through the ops' canonicalization traits).
# --------------------------------------------------------------------------------------


class FoldReshapeChain(RewritePattern):
    """reshape(reshape(x)) -> reshape(x): a reshape only depends on the element order."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReshapeOp, rewriter: PatternRewriter, /) -> None:
        inner = op.input.owner
        if isinstance(inner, ReshapeOp):
            rewriter.replace_matched_op(ReshapeOp(inner.input, op.result.type))


class RemoveIdentityReshape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReshapeOp, rewriter: PatternRewriter, /) -> None:
        if op.input.type == op.result.type:
            rewriter.replace_matched_op([], [op.input])


class FoldTransposeChain(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x if that is the identity."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /) -> None:
        inner = op.input.owner
        if not isinstance(inner, TransposeOp):
            return
        inner_perm = inner.perm.get_values()
        perm = tuple(inner_perm[p] for p in op.perm.get_values())
        if perm == tuple(range(len(perm))):
            rewriter.replace_matched_op([], [inner.input])
        else:
            rewriter.replace_matched_op(TransposeOp(inner.input, op.result.type, perm))


class RemoveIdentityTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /) -> None:
        perm = op.perm.get_values()
        if perm == tuple(range(len(perm))):
            rewriter.replace_matched_op([], [op.input])


class RemoveWholeSlice(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SliceOp, rewriter: PatternRewriter, /) -> None:
        shape = _shape(op.input)
        if all(r == range(n) for r, n in zip(op.ranges(), shape, strict=True)):
            rewriter.replace_matched_op([], [op.input])


class RemoveSingleConcat(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConcatOp, rewriter: PatternRewriter, /) -> None:
        if len(op.inputs) == 1:
            rewriter.replace_matched_op([], [op.inputs[0]])


Top = Dialect(
    "top",
    [
        MatmulOp,
        Conv2dOp,
        AddOp,
        SubOp,
        MulOp,
        DivOp,
        MaxOp,
        MinOp,
        PowOp,
        ReluOp,
        GeluOp,
        TanhOp,
        SigmoidOp,
        ExpOp,
        LogOp,
        SqrtOp,
        RsqrtOp,
        NegOp,
        ErfOp,
        ClipOp,
        SoftmaxOp,
        LayerNormOp,
        BatchNormOp,
        ReduceOp,
        TransposeOp,
        ReshapeOp,
        ConcatOp,
        SliceOp,
        GatherOp,
        MaxPoolOp,
        AvgPoolOp,
        GlobalAvgPoolOp,
        ExprOp,
    ],
    [],
)
