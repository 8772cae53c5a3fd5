"""Building one zoo model as a `top` function, and drawing arguments it can run on.

A model is a `func.func` whose arguments are its activations and its weights (marked
`{top.weight}`). Each argument also carries, on the Python side only, how to draw it
(`Init`): standard-normal data would overflow deep models, so weights are drawn with
fan-in scaling and normalization parameters are the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    ModuleOp,
    TensorType,
    UnitAttr,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from t10ir.dialects.top import WEIGHT_ATTR, AddOp, ExprOp, MatmulOp, is_weight
from t10ir.errors import T10Error
from t10ir.interp.reference import tensor_spec

DTYPES: dict[str, Attribute] = {"f16": Float16Type(), "f32": Float32Type()}

MASKED = -10000.0
"""The score of a masked (future) position: exp underflows to 0, even in f16."""


@dataclass(frozen=True)
class Init:
    """How to draw one argument: `normal` (scale * N(0, 1)), `constant` (scale), or
    `causal` (0 on and below the diagonal of the last two dims, MASKED above)."""

    kind: str
    scale: float = 0.0

    def draw(self, rng: np.random.Generator, shape: Sequence[int]) -> np.ndarray:
        if self.kind == "normal":
            return self.scale * rng.standard_normal(shape)
        if self.kind == "constant":
            return np.full(shape, self.scale)
        if self.kind == "causal":
            rows, cols = shape[-2:]
            mask = np.triu(np.full((rows, cols), MASKED), k=1)
            return np.broadcast_to(mask, shape)
        raise ValueError(f"unknown init kind {self.kind!r}")


ACTIVATION = Init("normal", 1.0)
ZEROS = Init("constant", 0.0)
ONES = Init("constant", 1.0)
SMALL = Init("normal", 0.02)
"""Biases and embeddings: small, but not zero, so a dropped bias still shows."""


def fan_in(fan: int, gain: float = 1.0) -> Init:
    """Variance-preserving weights: std gain / sqrt(fan-in) (gain sqrt(2) before relu)."""
    return Init("normal", gain / math.sqrt(fan))


@dataclass(frozen=True)
class Model:
    """A built model: its module (one function), and each argument's name and draw."""

    module: ModuleOp
    names: tuple[str, ...]
    inits: tuple[Init, ...]

    @property
    def function(self) -> FuncOp:
        (func,) = self.module.ops
        assert isinstance(func, FuncOp)
        return func

    def arguments(self, seed: int = 0) -> list[np.ndarray]:
        """Seeded arguments in the function's order and types, drawn by each `Init`."""
        rng = np.random.default_rng(seed)
        arrays = []
        for arg, init in zip(self.function.args, self.inits, strict=True):
            shape, dtype = tensor_spec(arg.type)
            arrays.append(np.ascontiguousarray(init.draw(rng, shape), dtype=dtype))
        return arrays


def check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise T10Error(f"{name} must be positive, got {value}")


def parameter_count(func: FuncOp) -> int:
    """The number of weight elements: the sizes of the `{top.weight}` arguments."""
    count = 0
    for arg in func.args:
        if is_weight(arg):
            assert isinstance(arg.type, TensorType)
            count += math.prod(arg.type.get_shape())
    return count


class FunctionBuilder:
    """Appends `top` ops to one block whose arguments are created on demand."""

    def __init__(self, dtype: str) -> None:
        if dtype not in DTYPES:
            raise T10Error(f"dtype must be one of {', '.join(DTYPES)}, got '{dtype}'")
        self.element = DTYPES[dtype]
        self.block = Block()
        self.names: list[str] = []
        self.inits: list[Init] = []
        self.weights: list[bool] = []

    def type(self, shape: Sequence[int]) -> TensorType:
        return TensorType(self.element, shape)

    def _argument(
        self, name: str, shape: Sequence[int], init: Init, weight: bool
    ) -> SSAValue:
        arg = self.block.insert_arg(self.type(shape), len(self.block.args))
        arg.name_hint = name
        self.names.append(name)
        self.inits.append(init)
        self.weights.append(weight)
        return arg

    def activation(self, name: str, shape: Sequence[int]) -> SSAValue:
        return self._argument(name, shape, ACTIVATION, weight=False)

    def weight(self, name: str, shape: Sequence[int], init: Init) -> SSAValue:
        return self._argument(name, shape, init, weight=True)

    def op(self, op: Operation) -> SSAValue:
        """Append `op`; its (single) result."""
        self.block.add_op(op)
        return op.results[0]

    def expr(
        self, inputs: Sequence[SSAValue], expr: str, shape: Sequence[int]
    ) -> SSAValue:
        return self.op(ExprOp(inputs, expr, self.type(shape)))

    def linear(
        self, x: SSAValue, name: str, features: int, gain: float = 1.0
    ) -> SSAValue:
        """`x @ w + b` over the last dim of x, w of shape [in, features]."""
        assert isinstance(x.type, TensorType)
        fan = x.type.get_shape()[-1]
        w = self.weight(f"{name}_w", (fan, features), fan_in(fan, gain))
        b = self.weight(f"{name}_b", (features,), SMALL)
        return self.op(AddOp(self.op(MatmulOp(x, w)), b))

    def finish(self, name: str, outputs: Sequence[SSAValue]) -> Model:
        self.block.add_op(ReturnOp(*outputs))
        arg_attrs = ArrayAttr(
            DictionaryAttr({WEIGHT_ATTR: UnitAttr()} if weight else {})
            for weight in self.weights
        )
        func = FuncOp(
            name,
            ([a.type for a in self.block.args], [v.type for v in outputs]),
            Region(self.block),
            arg_attrs=arg_attrs,
        )
        return Model(ModuleOp([func]), tuple(self.names), tuple(self.inits))
