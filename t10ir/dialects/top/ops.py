"""The `top` ops and the dialect (docs/top-dialect.md).

Every op states its iteration domain (`IterationDomainInterface`, built in
`t10ir.dialects.top.domains`), and its verifier checks the declared result type against
shape inference (`t10ir.dialects.top.shapes`) and the domain against the tensor shapes,
so that later passes can rely on the domain alone.

Builders take the operands, then the result type (None: inferred), then the properties;
`ExprOp(inputs, expr, result_type)` is the exception, as its result type is never inferred.

`CanonicalizationTrait` finds an op's patterns in a table that
`t10ir.dialects.top.canonicalize` (which matches these ops) fills.
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
from xdsl.pattern_rewriter import RewritePattern
from xdsl.traits import HasCanonicalizationPatternsTrait, Pure
from xdsl.utils.exceptions import VerifyException

from t10ir.dialects.top.domains import (
    POOL_WINDOW_DIMS,
    IterationDomainInterface,
    batchnorm_domain,
    concat_domain,
    conv2d_domain,
    elementwise_binary_domain,
    elementwise_domain,
    elementwise_unary_domain,
    gather_domain,
    gather_elements_domain,
    global_avgpool_domain,
    layernorm_domain,
    matmul_domain,
    pool_domain,
    reduce_domain,
    reshape_domain,
    slice_domain,
    softmax_domain,
    transpose_domain,
)
from t10ir.dialects.top.shapes import (
    BOOL,
    FLOAT_TYPES,
    Shape,
    any_element,
    bool_element,
    broadcast_all,
    broadcast_shapes,
    check_tensor,
    concat_shape,
    conv2d_shape,
    expand_shape,
    float_element,
    gather_elements_shape,
    gather_shape,
    matmul_shape,
    normalize_axis,
    numeric_element,
    pool_shape,
    reduce_shape,
    slice_ranges,
    slice_shape,
    tensor_shape,
    transpose_shape,
)
from t10ir.planning.domain import IterationDomain

if TYPE_CHECKING:
    from t10ir.expr import EinsteinExpr

_T = TypeVar("_T")

WEIGHT_ATTR = "top.weight"
"""Argument attribute marking a function argument as a weight (resident on chip)."""

REDUCE_KINDS = ("sum", "mean", "max", "min")


def is_weight(arg: BlockArgument) -> bool:
    """Whether `arg` is an argument of a `func.func` marked `{top.weight}`."""
    func = arg.block.parent_op()
    if not isinstance(func, FuncOp) or func.arg_attrs is None:
        return False
    return WEIGHT_ATTR in func.arg_attrs.data[arg.index].data


def _ints(values: Sequence[int]) -> DenseArrayBase:
    return DenseArrayBase.from_list(i64, tuple(values))


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
            [tensor_shape(o) for o in self.operands], [tensor_shape(self.result)]
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
    def result_element(cls, lhs: Attribute, rhs: Attribute) -> Attribute:
        """The result's element type for operands of these types (raises
        VerifyException): by default, their common float type."""
        return float_element([lhs, rhs], ["lhs", "rhs"])

    @classmethod
    def infer_result_type(cls, lhs: Attribute, rhs: Attribute) -> TensorType:
        element = cls.result_element(lhs, rhs)
        return TensorType(
            element, cls.result_shape(tensor_shape(lhs), tensor_shape(rhs))
        )

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.lhs.type, self.rhs.type)


@irdl_op_definition
class MatmulOp(TwoOperandOperation):
    name = "top.matmul"

    result_shape = staticmethod(matmul_shape)

    def iteration_domain(self) -> IterationDomain:
        return matmul_domain(
            tensor_shape(self.lhs), tensor_shape(self.rhs), tensor_shape(self.result)
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
        element = float_element(types, names)
        shape = conv2d_shape(
            tensor_shape(input),
            tensor_shape(weight),
            tensor_shape(bias) if bias is not None else None,
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
        return conv2d_domain(
            tensor_shape(self.weight),
            tensor_shape(self.result),
            self.strides.get_values(),
            self.dilations.get_values(),
            self.pads.get_values(),
            self.group.value.data,
            self.bias is not None,
        )


class ElementwiseBinaryOperation(TwoOperandOperation, abc.ABC):
    """`result = f(lhs, rhs)` with numpy broadcasting, on floats or integers (which
    divide truncating toward zero, as ONNX's Div does)."""

    result_shape = staticmethod(broadcast_shapes)

    @classmethod
    def result_element(cls, lhs: Attribute, rhs: Attribute) -> Attribute:
        return numeric_element([lhs, rhs], ["lhs", "rhs"])

    def iteration_domain(self) -> IterationDomain:
        return elementwise_binary_domain(
            tensor_shape(self.lhs), tensor_shape(self.rhs), tensor_shape(self.result)
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
    """On floats only: an integer to a negative power has no integer value."""

    name = "top.pow"

    @classmethod
    def result_element(cls, lhs: Attribute, rhs: Attribute) -> Attribute:
        return float_element([lhs, rhs], ["lhs", "rhs"])


COMPARE_PREDICATES = ("eq", "ne", "lt", "le", "gt", "ge")


@irdl_op_definition
class CompareOp(ElementwiseBinaryOperation):
    """`lhs <predicate> rhs` elementwise (i1): NaN compares unequal to everything."""

    name = "top.compare"

    predicate = prop_def(StringAttr)

    def __init__(
        self,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        predicate: str,
        result_type: Attribute | None = None,
    ):
        lhs, rhs = SSAValue.get(lhs), SSAValue.get(rhs)
        if result_type is None:
            result_type = self.infer_result_type(lhs.type, rhs.type)
        IRDLOperation.__init__(
            self,
            operands=[lhs, rhs],
            result_types=[result_type],
            properties={"predicate": StringAttr(predicate)},
        )

    @classmethod
    def result_element(cls, lhs: Attribute, rhs: Attribute) -> Attribute:
        any_element([lhs, rhs], ["lhs", "rhs"])
        return BOOL

    def verify_(self) -> None:
        if self.predicate.data not in COMPARE_PREDICATES:
            raise VerifyException(
                f"compare predicate must be one of {', '.join(COMPARE_PREDICATES)}, "
                f"got '{self.predicate.data}'"
            )
        super().verify_()


class LogicalBinaryOperation(ElementwiseBinaryOperation, abc.ABC):
    """`result = f(lhs, rhs)` on i1, with numpy broadcasting."""

    @classmethod
    def result_element(cls, lhs: Attribute, rhs: Attribute) -> Attribute:
        return bool_element([lhs, rhs], ["lhs", "rhs"])


@irdl_op_definition
class AndOp(LogicalBinaryOperation):
    name = "top.and"


@irdl_op_definition
class OrOp(LogicalBinaryOperation):
    name = "top.or"


@irdl_op_definition
class XorOp(LogicalBinaryOperation):
    name = "top.xor"


class ElementwiseUnaryOperation(TopOperation, abc.ABC):
    """`result = f(input)` elementwise; by default on floats, the result of the
    input's type."""

    input = operand_def(TensorType)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self, input: SSAValue | Operation, result_type: Attribute | None = None
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[
                result_type if result_type is not None else self.default_type(input)
            ],
        )

    @classmethod
    def default_type(cls, input: SSAValue) -> Attribute:
        """The result type a builder given none takes (verified later)."""
        return input.type

    @classmethod
    def result_element(cls, input: Attribute) -> Attribute:
        """The result's element type for an input of this type (raises
        VerifyException)."""
        return float_element([input], ["input"])

    @classmethod
    def infer_result_type(cls, input: Attribute) -> TensorType:
        return TensorType(cls.result_element(input), tensor_shape(input, "input"))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type)

    def iteration_domain(self) -> IterationDomain:
        return elementwise_unary_domain(tensor_shape(self.result))


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


class PredicateOperation(ElementwiseUnaryOperation, abc.ABC):
    """An elementwise test of a float (i1 results)."""

    @classmethod
    def default_type(cls, input: SSAValue) -> Attribute:
        return cls.infer_result_type(input.type)

    @classmethod
    def result_element(cls, input: Attribute) -> Attribute:
        float_element([input], ["input"])
        return BOOL


@irdl_op_definition
class IsNanOp(PredicateOperation):
    name = "top.isnan"


@irdl_op_definition
class IsInfOp(PredicateOperation):
    """Whether an element is infinite, of the signs the properties choose."""

    name = "top.isinf"

    negative = prop_def(BoolAttr)
    positive = prop_def(BoolAttr)

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None = None,
        negative: bool = True,
        positive: bool = True,
    ):
        input = SSAValue.get(input)
        IRDLOperation.__init__(
            self,
            operands=[input],
            result_types=[
                result_type if result_type is not None else self.default_type(input)
            ],
            properties={
                "negative": IntegerAttr.from_bool(negative),
                "positive": IntegerAttr.from_bool(positive),
            },
        )


@irdl_op_definition
class NotOp(ElementwiseUnaryOperation):
    name = "top.not"

    @classmethod
    def result_element(cls, input: Attribute) -> Attribute:
        return bool_element([input], ["input"])


@irdl_op_definition
class CastOp(ElementwiseUnaryOperation):
    """Each element converted to the result's element type, as numpy's `astype`:
    floats to integers truncate toward zero, to i1 nonzero is true, i1 is 0 or 1."""

    name = "top.cast"

    def __init__(self, input: SSAValue | Operation, result_type: Attribute):
        super().__init__(input, result_type)

    def inferred_result_type(self) -> TensorType:
        any_element([self.input.type], ["input"])
        target = check_tensor(self.result, "result").get_element_type()
        any_element([self.result.type], ["result"])
        return TensorType(target, tensor_shape(self.input, "input"))


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
        float_element([input], ["input"])
        normalize_axis(axis, len(tensor_shape(input)))
        return check_tensor(input, "input")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type, self.axis.value.data)

    def iteration_domain(self) -> IterationDomain:
        return softmax_domain(tensor_shape(self.result), self.axis.value.data)


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
        float_element([x, scale, bias], ["x", "scale", "bias"])
        shape = tensor_shape(x)
        normalized = shape[normalize_axis(axis, len(shape)) :]
        for name, t in (("scale", scale), ("bias", bias)):
            if tensor_shape(t) != normalized:
                raise VerifyException(
                    f"{name} must have the normalized shape {list(normalized)}, "
                    f"got {list(tensor_shape(t))}"
                )
        return check_tensor(x, "x")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.x.type, self.scale.type, self.bias.type, self.axis.value.data
        )

    def iteration_domain(self) -> IterationDomain:
        return layernorm_domain(tensor_shape(self.result), self.axis.value.data)


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
        float_element([x, *params], names)
        shape = tensor_shape(x)
        if len(shape) < 2:
            raise VerifyException(
                f"batchnorm input must have rank >= 2, got rank {len(shape)}"
            )
        for name, t in zip(names[1:], params, strict=True):
            if tensor_shape(t) != (shape[1],):
                raise VerifyException(
                    f"{name} must have shape [{shape[1]}] (the channels), got {list(tensor_shape(t))}"
                )
        return check_tensor(x, "x")

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.x.type, self.scale.type, self.bias.type, self.mean.type, self.var.type
        )

    def iteration_domain(self) -> IterationDomain:
        return batchnorm_domain(tensor_shape(self.result))


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
        if kind == "mean":
            element = float_element([input], ["input"])
        else:
            element = numeric_element([input], ["input"])
        return TensorType(element, reduce_shape(tensor_shape(input), axes, keepdims))

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

    def iteration_domain(self) -> IterationDomain:
        """The max or min of integers has no padding (the identities are
        infinite): their reduction dims split evenly only."""
        element = check_tensor(self.input, "input").get_element_type()
        return reduce_domain(
            tensor_shape(self.input),
            self.axes.get_values(),
            bool(self.keepdims.value.data),
            self.combiner(),
            padded=isinstance(element, FLOAT_TYPES) or self.combiner() == "sum",
        )


_CANONICALIZATION_PATTERNS: dict[type[Operation], tuple[RewritePattern, ...]] = {}


def register_canonicalization_patterns(
    op: type[Operation], *patterns: RewritePattern
) -> None:
    """Give `op`, which has `CanonicalizationTrait`, its patterns.

    Called by `t10ir.dialects.top.canonicalize`: its patterns match and build these ops,
    so this module cannot import them (as xDSL's dialects do, in a function) without an
    import cycle. The package imports both, so the patterns are in place once any op is.
    """
    _CANONICALIZATION_PATTERNS[op] = patterns


class CanonicalizationTrait(HasCanonicalizationPatternsTrait):
    """The op's patterns, from those `t10ir.dialects.top.canonicalize` registered."""

    def get_patterns(self, op: type[Operation]) -> tuple[RewritePattern, ...]:
        return _CANONICALIZATION_PATTERNS[op]

    @classmethod
    def get_canonicalization_patterns(cls) -> tuple[RewritePattern, ...]:
        """Every op's patterns, for a caller that does not say which op (each pattern
        matches only its own op)."""
        return tuple(
            pattern
            for patterns in _CANONICALIZATION_PATTERNS.values()
            for pattern in patterns
        )


@irdl_op_definition
class TransposeOp(TopOperation):
    name = "top.transpose"

    input = operand_def(TensorType)
    perm = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(CanonicalizationTrait())

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
        t = check_tensor(input, "input")
        return TensorType(t.get_element_type(), transpose_shape(tensor_shape(t), perm))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type, self.perm.get_values())

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        return transpose_domain(tensor_shape(self.result), self.perm.get_values())


@irdl_op_definition
class ReshapeOp(TopOperation):
    name = "top.reshape"

    input = operand_def(TensorType)

    traits = traits_def(CanonicalizationTrait())

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    @staticmethod
    def infer_result_type(input: Attribute, result: Attribute) -> TensorType:
        """The result shape comes from the result type: it only has to keep the count."""
        t, r = check_tensor(input, "input"), check_tensor(result, "result")
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
        return reshape_domain(tensor_shape(self.input), tensor_shape(self.result))


@irdl_op_definition
class ConcatOp(TopOperation):
    name = "top.concat"

    inputs = var_operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    traits = traits_def(CanonicalizationTrait())

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
        element = any_element(inputs, names)
        return TensorType(
            element, concat_shape([tensor_shape(t) for t in inputs], axis)
        )

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            [v.type for v in self.inputs], self.axis.value.data
        )

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        return concat_domain(
            [tensor_shape(v) for v in self.inputs],
            tensor_shape(self.result),
            self.axis.value.data,
        )


@irdl_op_definition
class SliceOp(TopOperation):
    name = "top.slice"

    input = operand_def(TensorType)
    starts = prop_def(DenseArrayBase.constr(i64))
    ends = prop_def(DenseArrayBase.constr(i64))
    steps = prop_def(DenseArrayBase.constr(i64))

    traits = traits_def(CanonicalizationTrait())

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
        t = check_tensor(input, "input")
        return TensorType(
            t.get_element_type(), slice_shape(tensor_shape(t), starts, ends, steps)
        )

    def ranges(self) -> tuple[range, ...]:
        """The input indices read along each dim."""
        return slice_ranges(
            tensor_shape(self.input),
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

    def iteration_domain(self) -> IterationDomain:
        return slice_domain(tensor_shape(self.result), self.ranges())


def _index_element(indices: Attribute) -> None:
    """Indices hold i32 or i64 elements."""
    index_type = check_tensor(indices, "indices").get_element_type()
    if not isinstance(index_type, IntegerType) or index_type.width.data not in (32, 64):
        raise VerifyException(
            f"indices must have i32 or i64 elements, got {index_type}"
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
        element = any_element([table], ["table"])
        _index_element(indices)
        return TensorType(
            element, gather_shape(tensor_shape(table), tensor_shape(indices), axis)
        )

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.table.type, self.indices.type, self.axis.value.data
        )

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        return gather_domain(
            tensor_shape(self.table),
            tensor_shape(self.indices),
            tensor_shape(self.result),
            self.axis.value.data,
        )


@irdl_op_definition
class SelectOp(TopOperation):
    """`np.where(condition, lhs, rhs)`: the three operands broadcast."""

    name = "top.select"

    condition = operand_def(TensorType)
    lhs = operand_def(TensorType)
    rhs = operand_def(TensorType)

    assembly_format = (
        "$condition `,` $lhs `,` $rhs attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        condition: SSAValue | Operation,
        lhs: SSAValue | Operation,
        rhs: SSAValue | Operation,
        result_type: Attribute | None = None,
    ):
        operands = [SSAValue.get(v) for v in (condition, lhs, rhs)]
        if result_type is None:
            result_type = self.infer_result_type(*(v.type for v in operands))
        super().__init__(operands=operands, result_types=[result_type])

    @staticmethod
    def infer_result_type(
        condition: Attribute, lhs: Attribute, rhs: Attribute
    ) -> TensorType:
        bool_element([condition], ["condition"])
        element = any_element([lhs, rhs], ["lhs", "rhs"])
        shapes = [tensor_shape(t) for t in (condition, lhs, rhs)]
        return TensorType(element, broadcast_all(shapes))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.condition.type, self.lhs.type, self.rhs.type)

    def iteration_domain(self) -> IterationDomain:
        return elementwise_domain(
            [tensor_shape(v) for v in self.operands], tensor_shape(self.result)
        )


@irdl_op_definition
class ExpandOp(TopOperation):
    """`np.broadcast_to(input, result shape)`: the shape comes from the result type."""

    name = "top.expand"

    input = operand_def(TensorType)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(self, input: SSAValue | Operation, result_type: Attribute):
        super().__init__(operands=[input], result_types=[result_type])

    def inferred_result_type(self) -> TensorType:
        element = any_element([self.input.type], ["input"])
        shape = expand_shape(tensor_shape(self.input), tensor_shape(self.result))
        return TensorType(element, shape)

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        return elementwise_domain([tensor_shape(self.input)], tensor_shape(self.result))


@irdl_op_definition
class GatherElementsOp(TopOperation):
    """ONNX GatherElements: `result[p] = data[p with p[axis] = indices[p]]`."""

    name = "top.gather_elements"

    data = operand_def(TensorType)
    indices = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])

    assembly_format = (
        "$data `,` $indices attr-dict `:` functional-type(operands, results)"
    )

    def __init__(
        self,
        data: SSAValue | Operation,
        indices: SSAValue | Operation,
        result_type: Attribute | None = None,
        axis: int = 0,
    ):
        data, indices = SSAValue.get(data), SSAValue.get(indices)
        if result_type is None:
            result_type = self.infer_result_type(data.type, indices.type, axis)
        super().__init__(
            operands=[data, indices],
            result_types=[result_type],
            properties={"axis": IntegerAttr(axis, i64)},
        )

    @staticmethod
    def infer_result_type(data: Attribute, indices: Attribute, axis: int) -> TensorType:
        element = any_element([data], ["data"])
        _index_element(indices)
        shape = gather_elements_shape(tensor_shape(data), tensor_shape(indices), axis)
        return TensorType(element, shape)

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.data.type, self.indices.type, self.axis.value.data
        )

    def moves_data_only(self) -> bool:
        return True

    def iteration_domain(self) -> IterationDomain:
        return gather_elements_domain(
            tensor_shape(self.data), tensor_shape(self.result), self.axis.value.data
        )


@irdl_op_definition
class CumSumOp(TopOperation):
    """ONNX CumSum along `axis`: `exclusive` leaves each element out of its own
    sum, `reverse` sums from the end."""

    name = "top.cumsum"

    input = operand_def(TensorType)
    axis = prop_def(IntegerAttr[I64])
    exclusive = prop_def(BoolAttr)
    reverse = prop_def(BoolAttr)

    assembly_format = "$input attr-dict `:` functional-type(operands, results)"

    def __init__(
        self,
        input: SSAValue | Operation,
        result_type: Attribute | None = None,
        axis: int = 0,
        exclusive: bool = False,
        reverse: bool = False,
    ):
        input = SSAValue.get(input)
        super().__init__(
            operands=[input],
            result_types=[result_type if result_type is not None else input.type],
            properties={
                "axis": IntegerAttr(axis, i64),
                "exclusive": IntegerAttr.from_bool(exclusive),
                "reverse": IntegerAttr.from_bool(reverse),
            },
        )

    def inferred_result_type(self) -> TensorType:
        numeric_element([self.input.type], ["input"])
        normalize_axis(self.axis.value.data, len(tensor_shape(self.input)))
        return check_tensor(self.input, "input")

    def iteration_domain(self) -> IterationDomain:
        """A softmax's: each position sums along the axis, which the result is also
        indexed by, so the axis is never split."""
        return softmax_domain(tensor_shape(self.result), self.axis.value.data)


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
        element = float_element([input], ["input"])
        return TensorType(
            element, pool_shape(tensor_shape(input), kernel, strides, pads)
        )

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(
            self.input.type,
            self.kernel.get_values(),
            self.strides.get_values(),
            self.pads.get_values(),
        )

    def iteration_domain(self) -> IterationDomain:
        return pool_domain(
            tensor_shape(self.result),
            self.kernel.get_values(),
            self.strides.get_values(),
            self.pads.get_values(),
            self.COMBINER,
            self.padding_value(),
            self.whole_dims(),
        )

    def whole_dims(self) -> frozenset[str]:
        """Loop dims a sub-operator needs whole (see `IterationDomain.whole`)."""
        return frozenset()


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
        return frozenset() if self.counts_padding() else frozenset(POOL_WINDOW_DIMS)

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
        element = float_element([input], ["input"])
        shape = tensor_shape(input)
        if len(shape) != 4:
            raise VerifyException(
                f"global_avgpool expects a rank-4 input (NCHW), got rank {len(shape)}"
            )
        return TensorType(element, (shape[0], shape[1], 1, 1))

    def inferred_result_type(self) -> TensorType:
        return self.infer_result_type(self.input.type)

    def iteration_domain(self) -> IterationDomain:
        return global_avgpool_domain(tensor_shape(self.input))


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

        shapes = [tensor_shape(t, f"input #{i}") for i, t in enumerate(inputs)]
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
            element = check_tensor(t, f"input #{i}").get_element_type()
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
            check_tensor(self.result, "result").get_element_type(),
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
        shapes = [tensor_shape(v) for v in self.inputs]
        return dataclasses.replace(
            domain,
            padding=guard_padding(self.expr.data, shapes),
            whole=position_dims(self.expr.data, shapes),
        )


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
        CompareOp,
        AndOp,
        OrOp,
        XorOp,
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
        IsNanOp,
        IsInfOp,
        NotOp,
        CastOp,
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
        SelectOp,
        ExpandOp,
        GatherElementsOp,
        CumSumOp,
        MaxPoolOp,
        AvgPoolOp,
        GlobalAvgPoolOp,
        ExprOp,
    ],
    [],
)
