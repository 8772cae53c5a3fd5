"""The `top` ops of masks, predicates and positions (select, compare, and/or/xor/not,
isnan/isinf, cast, expand, gather_elements, cumsum, and reductions of integers) on i1
and integer tensors: each verifies, states an iteration domain that fits its tensors
and classifies as its kind, and compiled for a 16-core chip of 9 KiB (which splits
them) runs with `--check` and computes the numpy math written here; one program of
several runs on ipu-mk2 and on a mesh. `test_compiled_ops.py` holds the other ops to
the same (`COMPILED_HERE`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType, f32, i1, i64
from xdsl.utils.exceptions import VerifyException
from xdsl.utils.test_value import create_ssa_value

from t10ir.context import make_context
from t10ir.cost.classify import SubOpKind, classify
from t10ir.dialects import top
from t10ir.module_io import parse_module
from t10ir.tools.t10_run import run

INPUTS = Path(__file__).resolve().parents[1] / "lit" / "transforms" / "Inputs"
TARGETS = {
    "grid16-9k": str(INPUTS / "grid16-9k.json"),
    "ipu-mk2": "ipu-mk2",
    "mesh16": str(INPUTS / "mesh16.json"),
}

ELEMENTS = {"f32": np.float32, "i1": np.bool_, "i64": np.int64}


@dataclass(frozen=True)
class Case:
    op: str
    """The op with its attributes; operands `%a0, %a1, ...`."""
    args: tuple[tuple[tuple[int, ...], str], ...]
    """Each operand's shape and element type."""
    result: tuple[tuple[int, ...], str]
    math: Callable[..., np.ndarray]
    kind: SubOpKind


def _type(shape: tuple[int, ...], element: str) -> str:
    return f"tensor<{''.join(f'{n}x' for n in shape)}{element}>"


def _special(x: np.ndarray) -> np.ndarray:
    """`x` with a NaN, both infinities and a zero in it (what predicates test)."""
    x = x.copy()
    x.flat[:4] = [np.nan, np.inf, -np.inf, 0.0]
    return x


def _gather_elements(data: np.ndarray, indices: np.ndarray, axis: int) -> np.ndarray:
    out = np.empty(indices.shape, data.dtype)
    for point in np.ndindex(*indices.shape):
        source = list(point)
        source[axis] = indices[point] % data.shape[axis]
        out[point] = data[tuple(source)]
    return out


def _cumsum(x: np.ndarray, axis: int, exclusive: bool, reverse: bool) -> np.ndarray:
    out = np.zeros_like(x)
    n = x.shape[axis]
    for i in range(n):
        terms = range(i, n) if reverse else range(i + 1)
        for j in terms:
            if exclusive and j == i:
                continue
            index = [slice(None)] * x.ndim
            index[axis] = slice(j, j + 1)
            target = [slice(None)] * x.ndim
            target[axis] = slice(i, i + 1)
            out[tuple(target)] += x[tuple(index)]
    return out


F = "f32"
EW = SubOpKind.ELEMENTWISE
CASES: dict[str, Case] = {
    "select": Case(
        "top.select",
        (((6, 1), "i1"), ((6, 20), F), ((20,), F)),
        ((6, 20), F),
        np.where,
        EW,
    ),
    "compare": Case(
        'top.compare {predicate = "le"}',
        (((6, 20), F), ((1, 20), F)),
        ((6, 20), "i1"),
        np.less_equal,
        EW,
    ),
    "compare_int": Case(
        'top.compare {predicate = "ne"}',
        (((6, 20), "i64"), ((6, 20), "i64")),
        ((6, 20), "i1"),
        np.not_equal,
        EW,
    ),
    "and": Case(
        "top.and", (((6, 20), "i1"), ((6, 1), "i1")), ((6, 20), "i1"), np.logical_and, EW
    ),
    "or": Case(
        "top.or", (((6, 20), "i1"), ((20,), "i1")), ((6, 20), "i1"), np.logical_or, EW
    ),
    "xor": Case(
        "top.xor", (((6, 20), "i1"), ((6, 20), "i1")), ((6, 20), "i1"), np.logical_xor, EW
    ),
    "not": Case(
        "top.not", (((6, 20), "i1"),), ((6, 20), "i1"), np.logical_not, SubOpKind.UNARY
    ),
    "isnan": Case(
        "top.isnan",
        (((6, 20), F),),
        ((6, 20), "i1"),
        lambda x: np.isnan(_special(x)),
        SubOpKind.UNARY,
    ),
    "isinf": Case(
        "top.isinf {negative = false, positive = true}",
        (((6, 20), F),),
        ((6, 20), "i1"),
        lambda x: np.isposinf(_special(x)),
        SubOpKind.UNARY,
    ),
    "cast_to_bool": Case(
        "top.cast",
        (((6, 20), F),),
        ((6, 20), "i1"),
        lambda x: _special(x) != 0,
        SubOpKind.UNARY,
    ),
    "cast_bool_to_float": Case(
        "top.cast",
        (((6, 20), "i1"),),
        ((6, 20), F),
        lambda m: m.astype(np.float32),
        SubOpKind.UNARY,
    ),
    "cast_float_to_int": Case(
        "top.cast",
        (((6, 20), F),),
        ((6, 20), "i64"),
        lambda x: np.trunc(x).astype(np.int64),
        SubOpKind.UNARY,
    ),
    "expand": Case(
        "top.expand", (((6, 1, 20), F),), ((3, 6, 4, 20), F), lambda x: np.broadcast_to(x, (3, 6, 4, 20)), SubOpKind.COPY
    ),
    "expand_mask": Case(
        "top.expand", (((1, 20), "i1"),), ((6, 20), "i1"), lambda m: np.broadcast_to(m, (6, 20)), SubOpKind.COPY
    ),
    "gather_elements": Case(
        "top.gather_elements {axis = 1 : i64}",
        (((6, 20), F), ((5, 12), "i64")),
        ((5, 12), F),
        lambda d, i: _gather_elements(d, i, 1),
        SubOpKind.COPY,
    ),
    "cumsum": Case(
        "top.cumsum {axis = 1 : i64, exclusive = false, reverse = false}",
        (((6, 20), F),),
        ((6, 20), F),
        lambda x: _cumsum(x, 1, False, False),
        SubOpKind.REDUCTION,
    ),
    "cumsum_int_exclusive_reverse": Case(
        "top.cumsum {axis = 0 : i64, exclusive = true, reverse = true}",
        (((6, 20), "i64"),),
        ((6, 20), "i64"),
        lambda x: _cumsum(x, 0, True, True),
        SubOpKind.REDUCTION,
    ),
    "reduce_int_max": Case(
        'top.reduce {kind = "max", axes = array<i64: 1>, keepdims = false}',
        (((6, 21), "i64"),),
        ((6,), "i64"),
        lambda x: x.max(axis=1),
        SubOpKind.REDUCTION,
    ),
    "reduce_int_sum": Case(
        'top.reduce {kind = "sum", axes = array<i64: 0, 1>, keepdims = false}',
        (((7, 20), "i64"),),
        ((), "i64"),
        lambda x: x.sum(),
        SubOpKind.REDUCTION,
    ),
}  # fmt: skip

COMPILED_HERE = frozenset(c.op.split(" ")[0] for c in CASES.values())
"""The op kinds this module compiles and checks."""


def program(case: Case) -> str:
    name, _, attrs = case.op.partition(" ")
    params = ", ".join(f"%a{i}: {_type(*a)}" for i, a in enumerate(case.args))
    operands = ", ".join(f"%a{i}" for i in range(len(case.args)))
    types = ", ".join(_type(*a) for a in case.args)
    result = _type(*case.result)
    return (
        f"func.func @f({params}) -> {result} {{\n"
        f"  %0 = {name} {operands} {attrs} : ({types}) -> {result}\n"
        f"  func.return %0 : {result}\n}}\n"
    )


def arguments(case: Case) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    arrays: list[np.ndarray] = []
    for shape, element in case.args:
        if element == "i1":
            arrays.append(rng.integers(0, 2, shape).astype(np.bool_))
        elif element == "i64":
            arrays.append(rng.integers(-4, 4, shape).astype(np.int64))
        elif case.op == "top.cast" and case.result[1] == "i64":
            arrays.append((rng.standard_normal(shape) * 3).astype(np.float32))
        else:
            arrays.append(_special(rng.standard_normal(shape).astype(np.float32)))
    return arrays


def expected(case: Case, args: list[np.ndarray]) -> np.ndarray:
    return np.asarray(case.math(*args))


def compiled(case: Case, target: str, tmp_path: Path) -> np.ndarray:
    source, npz, out = tmp_path / "op.mlir", tmp_path / "in.npz", tmp_path / "out.npz"
    source.write_text(program(case))
    np.savez(npz, **{f"arg{i}": a for i, a in enumerate(arguments(case))})
    argv = [str(source), "--target", TARGETS[target], "--check", "--inputs", str(npz)]
    assert run([*argv, "--output", str(out)]) == 0
    with np.load(out) as saved:
        return saved["out0"]


def built(case: Case) -> top.TopOperation:
    """The op, parsed from its program."""
    module = parse_module(make_context(), program(case), "op.mlir")
    op = next(o for o in module.walk() if isinstance(o, top.TopOperation))
    return op


@pytest.mark.parametrize("name", CASES)
def test_op_verifies_and_classifies(name: str) -> None:
    case = CASES[name]
    op = built(case)
    op.verify()
    assert classify(op.iteration_domain(), op.moves_data_only()) is case.kind


@pytest.mark.parametrize("name", CASES)
def test_compiled_op_computes_the_math(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    got = compiled(case, "grid16-9k", tmp_path)
    want = expected(case, arguments(case))
    assert got.dtype == ELEMENTS[case.result[1]] and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5, equal_nan=True)


MASKED_SOFTMAX = """\
func.func @f(%x: tensor<2x4x16x16xf32>, %ids: tensor<2x16xi64>, %pad: tensor<1xi64> {top.weight}) -> (tensor<2x4x16x16xf32>, tensor<2x16xi64>) {
  %keep = top.compare %ids, %pad {predicate = "ne"} : (tensor<2x16xi64>, tensor<1xi64>) -> tensor<2x16xi1>
  %m = top.reshape %keep : (tensor<2x16xi1>) -> tensor<2x1x1x16xi1>
  %mask = top.expand %m : (tensor<2x1x1x16xi1>) -> tensor<2x4x16x16xi1>
  %s = top.softmax %x {axis = 3 : i64} : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %nan = top.isnan %s : (tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xi1>
  %drop = top.not %mask : (tensor<2x4x16x16xi1>) -> tensor<2x4x16x16xi1>
  %zero = top.or %nan, %drop : (tensor<2x4x16x16xi1>, tensor<2x4x16x16xi1>) -> tensor<2x4x16x16xi1>
  %z = top.cast %drop : (tensor<2x4x16x16xi1>) -> tensor<2x4x16x16xf32>
  %y = top.select %zero, %z, %s : (tensor<2x4x16x16xi1>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32>
  %k = top.cast %keep : (tensor<2x16xi1>) -> tensor<2x16xi64>
  %c = top.cumsum %k {axis = 1 : i64, exclusive = false, reverse = false} : (tensor<2x16xi64>) -> tensor<2x16xi64>
  %p = top.mul %c, %k : (tensor<2x16xi64>, tensor<2x16xi64>) -> tensor<2x16xi64>
  func.return %y, %p : tensor<2x4x16x16xf32>, tensor<2x16xi64>
}
"""


@pytest.mark.parametrize("target", ["ipu-mk2", "mesh16"])
def test_masked_attention_and_positions_compile(target: str, tmp_path: Path) -> None:
    """A padding mask from token ids (RoBERTa's positions from it) applied to a
    softmax as torch's SDPA export does, on the chip."""
    source, npz, out = tmp_path / "f.mlir", tmp_path / "in.npz", tmp_path / "out.npz"
    source.write_text(MASKED_SOFTMAX)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 16, 16)).astype(np.float32)
    ids = rng.integers(0, 3, (2, 16)).astype(np.int64)
    pad = np.array([1], np.int64)
    np.savez(npz, arg0=x, arg1=ids, arg2=pad)
    argv = [str(source), "--target", TARGETS[target], "--check", "--inputs", str(npz)]
    assert run([*argv, "--output", str(out)]) == 0
    keep = ids != 1
    e = np.exp(x - x.max(axis=3, keepdims=True))
    softmax = e / e.sum(axis=3, keepdims=True)
    with np.load(out) as saved:
        np.testing.assert_allclose(
            saved["out0"], np.where(keep[:, None, None, :], softmax, 1.0), rtol=1e-5
        )
        np.testing.assert_array_equal(saved["out1"], np.cumsum(keep, axis=1) * keep)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("top.select %m, %x, %i", "lhs has f32, rhs has i64"),
        ("top.select %x, %x, %x", "condition must have i1 elements, got f32"),
        ("top.and %m, %x", "rhs must have i1 elements, got f32"),
        ("top.isnan %i", "input must have f16, f32 or f64 elements, got i64"),
        ("top.cumsum %m", "input must have f16, f32, f64, i32 or i64 elements, got i1"),
        ("top.add %m, %m", "lhs must have f16, f32, f64, i32 or i64 elements, got i1"),
    ],
)
def test_element_types_are_checked(text: str, message: str) -> None:
    values = {
        "%m": create_ssa_value(TensorType(i1, (4,))),
        "%x": create_ssa_value(TensorType(f32, (4,))),
        "%i": create_ssa_value(TensorType(i64, (4,))),
    }
    name, *operands = text.replace(",", "").split(" ")
    args = [values[o] for o in operands]
    builders: dict[str, Callable[..., top.TopOperation]] = {
        "top.select": top.SelectOp,
        "top.and": top.AndOp,
        "top.isnan": lambda x: top.IsNanOp(x, TensorType(i1, (4,))),
        "top.cumsum": top.CumSumOp,
        "top.add": top.AddOp,
    }
    with pytest.raises(VerifyException, match=message):
        builders[name](*args).verify()
