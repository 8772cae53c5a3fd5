"""Every `top` op kind compiled (`t10-compile`) and run on the simulated chip, its output
checked by `t10-run --check` and against the same math written here in numpy (float64),
independently of the reference interpreter: a compiled program must never compute a
wrong result, whatever plan it runs.

The programs run on `ipu-mk2`, on `grid16-9k` (16 cores of 9 KiB, which forces splits
and rotations) and on `mesh16`. Plans that split a reduction (a bias added once, a mean
over the whole count, a pool kernel cut in pieces) are also forced one by one through
`t10-partition` and `t10-lower-to-shift`, as no selection is bound to pick them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from test_top_mask_ops import COMPILED_HERE
from xdsl.dialects import func

from t10ir.context import make_context
from t10ir.dialects import top
from t10ir.dialects.rtensor import set_plan
from t10ir.errors import OpError
from t10ir.lowering.op_spec import op_spec
from t10ir.module_io import parse_module
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.planning.plan import OpPlan, plan_problems
from t10ir.planning.search import search_plans
from t10ir.target import load_machine
from t10ir.testing import oracles
from t10ir.tools.t10_run import run

INPUTS = Path(__file__).resolve().parents[1] / "lit" / "transforms" / "Inputs"
SMALL_SRAM = str(INPUTS / "grid16-9k.json")
TARGETS = {
    "ipu-mk2": "ipu-mk2",
    "grid16-9k": SMALL_SRAM,
    "mesh16": str(INPUTS / "mesh16.json"),
}

Math = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Arg:
    shape: tuple[int, ...]
    weight: bool = False
    kind: str = "normal"
    """How to draw it: normal, positive, or indices below `bound`."""
    bound: int = 0


@dataclass(frozen=True)
class Case:
    op: str
    """The op, its operands `%a0, %a1, ...` in order, then its attributes."""
    args: tuple[Arg, ...]
    result: tuple[int, ...]
    math: Math
    plans: tuple[OpPlan, ...] = ()
    """Plans forced on grid16-9k besides the chosen ones."""


def _type(shape: Sequence[int], element: str = "f32") -> str:
    return f"tensor<{'x'.join(map(str, shape))}x{element}>"


def _arg_type(arg: Arg) -> str:
    return _type(arg.shape, "i64" if arg.kind == "indices" else "f32")


def program(case: Case) -> str:
    params = ", ".join(
        f"%a{i}: {_arg_type(a)}" + (" {top.weight}" if a.weight else "")
        for i, a in enumerate(case.args)
    )
    name, _, attrs = case.op.partition(" ")
    operands = ", ".join(f"%a{i}" for i in range(len(case.args)))
    types = ", ".join(_arg_type(a) for a in case.args)
    result = _type(case.result)
    return (
        f"func.func @f({params}) -> {result} {{\n"
        f"  %0 = {name} {operands} {attrs} : ({types}) -> {result}\n"
        f"  func.return %0 : {result}\n}}\n"
    )


def inputs(case: Case) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    arrays = []
    for arg in case.args:
        if arg.kind == "indices":
            arrays.append(rng.integers(-arg.bound, arg.bound, arg.shape))
        elif arg.kind == "positive":
            arrays.append(rng.uniform(0.5, 2.0, arg.shape).astype(np.float32))
        else:
            arrays.append(rng.standard_normal(arg.shape).astype(np.float32))
    return arrays


# ---- the math, in numpy ------------------------------------------------------------


def erf(x: np.ndarray) -> np.ndarray:
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm(x: np.ndarray, scale: np.ndarray, bias: np.ndarray, axis: int):
    axes = tuple(range(axis % x.ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * scale + bias


def batchnorm(x, scale, bias, mean, var):
    def c(v: np.ndarray) -> np.ndarray:
        return v.reshape(1, -1, 1, 1)

    return (x - c(mean)) / np.sqrt(c(var) + 1e-5) * c(scale) + c(bias)


def windows(x: np.ndarray, kernel, stride, pads, value: float, dilation=(1, 1)):
    """Per output position (oh, ow), the padded input's window: [n, c, oh, ow, kh, kw]."""
    top_, left, bottom, right = pads
    padded = np.pad(
        x, ((0, 0), (0, 0), (top_, bottom), (left, right)), constant_values=value
    )
    oh = (padded.shape[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    ow = (padded.shape[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    out = np.empty(x.shape[:2] + (oh, ow, *kernel), dtype=np.float64)
    for i in range(oh):
        for j in range(ow):
            rows = i * stride[0] + dilation[0] * np.arange(kernel[0])
            cols = j * stride[1] + dilation[1] * np.arange(kernel[1])
            out[:, :, i, j] = padded[:, :, rows][:, :, :, cols]
    return out


def conv2d(x, w, b=None, stride=(1, 1), pads=(0, 0, 0, 0), group=1, dilation=(1, 1)):
    win = windows(x, w.shape[2:], stride, pads, 0.0, dilation)
    n, c, oh, ow = win.shape[:4]
    f, cg = w.shape[:2]
    win = win.reshape(n, group, c // group, oh, ow, *w.shape[2:])
    wg = w.reshape(group, f // group, cg, *w.shape[2:])
    out = np.einsum("ngchwij,gfcij->ngfhw", win, wg).reshape(n, f, oh, ow)
    return out if b is None else out + b.reshape(1, -1, 1, 1)


def maxpool(x, kernel, stride, pads):
    return windows(x, kernel, stride, pads, -np.inf).max(axis=(4, 5))


def avgpool(x, kernel, stride, pads, include_pad: bool):
    total = windows(x, kernel, stride, pads, 0.0).sum(axis=(4, 5))
    if include_pad:
        return total / (kernel[0] * kernel[1])
    ones = np.ones((1, 1) + x.shape[2:])
    return total / windows(ones, kernel, stride, pads, 0.0).sum(axis=(4, 5))


def _pool(kind: str, kernel, strides, pads, extra: str = "") -> str:
    k, s, p = (", ".join(map(str, v)) for v in (kernel, strides, pads))
    return (
        f"top.{kind} {{kernel = array<i64: {k}>, strides = array<i64: {s}>, "
        f"pads = array<i64: {p}>{extra}}}"
    )


def _conv(strides=(1, 1), pads=(0, 0, 0, 0), group=1, dilations=(1, 1)) -> str:
    s, p, d = (", ".join(map(str, v)) for v in (strides, pads, dilations))
    return (
        f"top.conv2d {{strides = array<i64: {s}>, dilations = array<i64: {d}>, "
        f"pads = array<i64: {p}>, group = {group} : i64}}"
    )


def _plan(spatial: dict[str, int], **temporal: dict[str, int]) -> OpPlan:
    return OpPlan(
        tuple(spatial.items()),
        tuple((v, tuple(f.items())) for v, f in temporal.items()),
    )


A, W = Arg, lambda *shape: Arg(shape, weight=True)
X4 = (1, 4, 6, 6)

CASES: dict[str, Case] = {
    "matmul": Case(
        "top.matmul",
        (A((12, 20)), W(20, 8)),
        (12, 8),
        np.matmul,
        (
            _plan({"m": 2, "k": 4}),
            _plan({"m": 2, "n": 2, "k": 2}, in0={"k": 2}, in1={"k": 2}),
        ),
    ),
    "conv2d_bias": Case(
        _conv(pads=(1, 1, 1, 1)),
        (A(X4), W(8, 4, 3, 3), W(8)),
        (1, 8, 6, 6),
        lambda x, w, b: conv2d(x, w, b, pads=(1, 1, 1, 1)),
        (
            _plan({"c": 2, "kh": 3}),
            _plan({"f": 2, "c": 2, "oh": 2, "ow": 2}, in0={"c": 2}, in1={"c": 2}),
            _plan({"c": 3, "kw": 3}),  # c: 2 + 2 + a piece all padding
        ),
    ),
    "conv2d_strided_dilated_bias": Case(
        _conv(strides=(2, 1), pads=(2, 1, 0, 1), dilations=(2, 1)),
        (A((1, 3, 9, 7)), W(5, 3, 3, 2), W(5)),
        (1, 5, 4, 8),
        lambda x, w, b: conv2d(x, w, b, (2, 1), (2, 1, 0, 1), dilation=(2, 1)),
        (_plan({"kh": 3, "c": 3}),),
    ),
    "conv2d_group3": Case(
        _conv(pads=(1, 1, 1, 1), group=3),
        (A((1, 3, 6, 6)), W(6, 1, 3, 3), W(6)),
        (1, 6, 6, 6),
        lambda x, w, b: conv2d(x, w, b, pads=(1, 1, 1, 1), group=3),
        (_plan({"g": 3, "kh": 3}), _plan({"g": 3, "f": 2, "oh": 2}), _plan({"kw": 3})),
    ),
    "conv2d_group2": Case(
        _conv(group=2),
        (A((1, 4, 5, 5)), W(6, 2, 2, 2)),
        (1, 6, 4, 4),
        lambda x, w: conv2d(x, w, group=2),
        (_plan({"g": 2, "c": 2, "oh": 2}),),
    ),
    **{
        f"{name}": Case(f"top.{name} {{}}", (A((3, 1, 5)), A((4, 1))), (3, 4, 5), fn)
        for name, fn in (
            ("add", np.add),
            ("sub", np.subtract),
            ("mul", np.multiply),
            ("max", np.maximum),
            ("min", np.minimum),
        )
    },
    "div": Case(
        "top.div {}",
        (A((3, 4, 5)), Arg((5,), kind="positive")),
        (3, 4, 5),
        np.divide,
    ),
    "pow": Case(
        "top.pow {}",
        (Arg((4, 6), kind="positive"), A((4, 6))),
        (4, 6),
        np.power,
    ),
    **{
        name: Case(f"top.{name} {{}}", (Arg((6, 7), kind=kind),), (6, 7), fn)
        for name, kind, fn in (
            ("relu", "normal", lambda x: np.maximum(x, 0)),
            ("gelu", "normal", lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2)))),
            ("tanh", "normal", np.tanh),
            ("sigmoid", "normal", lambda x: 1 / (1 + np.exp(-x))),
            ("exp", "normal", np.exp),
            ("log", "positive", np.log),
            ("sqrt", "positive", np.sqrt),
            ("rsqrt", "positive", lambda x: 1 / np.sqrt(x)),
            ("neg", "normal", np.negative),
            ("erf", "normal", erf),
        )
    },
    "clip": Case(
        "top.clip {min = -0.5 : f64, max = 0.75 : f64}",
        (A((6, 7)),),
        (6, 7),
        lambda x: np.clip(x, -0.5, 0.75),
    ),
    "softmax_axis0": Case(
        "top.softmax {axis = 0 : i64}",
        (A((5, 3, 4)),),
        (5, 3, 4),
        lambda x: softmax(x, 0),
    ),
    "layernorm_axis1": Case(
        "top.layernorm {axis = 1 : i64, epsilon = 1.0e-05 : f64}",
        (A((3, 4, 5)), W(4, 5), W(4, 5)),
        (3, 4, 5),
        lambda x, s, b: layernorm(x, s, b, 1),
    ),
    "batchnorm": Case(
        "top.batchnorm {epsilon = 1.0e-05 : f64}",
        (A((2, 3, 4, 5)), W(3), W(3), W(3), Arg((3,), True, "positive")),
        (2, 3, 4, 5),
        batchnorm,
    ),
    **{
        f"reduce_{kind}": Case(
            f'top.reduce {{kind = "{kind}", axes = array<i64: 0, 2>, keepdims = {k}}}',
            (A((4, 3, 6)),),
            (1, 3, 1) if k == "true" else (3,),
            lambda x, kind=kind, k=k: getattr(np, kind)(
                x, axis=(0, 2), keepdims=k == "true"
            ),
            (_plan({"r1": 4, "r0": 2}), _plan({"r0": 3, "d0": 3})),
        )
        for kind, k in (("sum", "false"), ("mean", "true"), ("max", "false"))
    },
    "reduce_min": Case(
        'top.reduce {kind = "min", axes = array<i64: -1>, keepdims = false}',
        (A((4, 6)),),
        (4,),
        lambda x: x.min(axis=-1),
        (_plan({"r0": 4}),),
    ),
    "transpose": Case(
        "top.transpose {perm = array<i64: 2, 0, 1>}",
        (A((3, 4, 5)),),
        (5, 3, 4),
        lambda x: x.transpose(2, 0, 1),
    ),
    "reshape": Case(
        "top.reshape {}", (A((4, 6)),), (2, 3, 4), lambda x: x.reshape(2, 3, 4)
    ),
    "concat": Case(
        "top.concat {axis = -1 : i64}",
        (A((4, 5)), A((4, 2)), A((4, 3))),
        (4, 10),
        lambda *xs: np.concatenate(xs, axis=-1),
        (_plan({"d1": 4}), _plan({"d0": 2, "d1": 5})),
    ),
    "slice_steps": Case(
        "top.slice {starts = array<i64: 1, 0>, ends = array<i64: 9, 7>, "
        "steps = array<i64: 3, 2>}",
        (A((10, 7)),),
        (3, 4),
        lambda x: x[1:9:3, 0:7:2],
    ),
    "gather": Case(
        "top.gather {axis = 1 : i64}",
        (A((3, 7, 2)), Arg((2, 4), kind="indices", bound=7)),
        (3, 2, 4, 2),
        lambda t, i: np.take(t, i, axis=1),
    ),
    "maxpool": Case(
        _pool("maxpool", (3, 3), (2, 2), (0, 0, 1, 1)),
        (A((1, 2, 6, 6)),),
        (1, 2, 3, 3),
        lambda x: maxpool(x, (3, 3), (2, 2), (0, 0, 1, 1)),
        (_plan({"kh": 3, "kw": 3}), _plan({"oh": 3, "kw": 3})),
    ),
    **{
        f"avgpool_include_pad_{include}": Case(
            _pool(
                "avgpool",
                (3, 3),
                (2, 2),
                (1, 1, 1, 1),
                f", count_include_pad = {include}",
            ),
            (A((1, 2, 5, 7)),),
            (1, 2, 3, 4),
            lambda x, include=include: avgpool(
                x, (3, 3), (2, 2), (1, 1, 1, 1), include == "true"
            ),
            (_plan({"kh": 3, "ow": 4}), _plan({"kw": 3, "c": 2}))
            if include == "true"
            else (_plan({"c": 2}),),
        )
        for include in ("true", "false")
    },
    "avgpool_exclude_pad_large": Case(
        _pool("avgpool", (3, 3), (2, 2), (1, 1, 1, 1), ", count_include_pad = false"),
        (A((1, 8, 16, 16)),),
        (1, 8, 8, 8),
        lambda x: avgpool(x, (3, 3), (2, 2), (1, 1, 1, 1), False),
    ),
    "global_avgpool": Case(
        "top.global_avgpool {}",
        (A(X4),),
        (1, 4, 1, 1),
        lambda x: x.mean(axis=(2, 3), keepdims=True),
        (_plan({"h": 3, "w": 2}), _plan({"c": 2, "h": 4})),
    ),
    "expr": Case(
        'top.expr {expr = "output0[N, M] +=! input0[N, K] * input1[K, M]"}',
        (A((6, 10)), W(10, 4)),
        (6, 4),
        np.matmul,
        (_plan({"K": 5, "N": 2}),),
    ),
    "expr_padded_conv": Case(
        'top.expr {expr = "output0[N, F, OH, OW] +=! input0[N, C, OH + KH - 1, '
        "OW + KW - 1].when([OH + KH - 1 >= 0, OH + KH - 1 < 6, OW + KW - 1 >= 0, "
        'OW + KW - 1 < 6], 0.0) * input1[F, C, KH, KW] where OH in 6, OW in 6"}',
        (A(X4), W(8, 4, 3, 3)),
        (1, 8, 6, 6),
        lambda x, w: conv2d(x, w, pads=(1, 1, 1, 1)),
        (_plan({"KH": 3, "C": 2}),),
    ),
    # Loop indices as values and in guards that stay: the sub-operator sees window
    # positions, so these dims are kept whole (the others split).
    "expr_causal_mask": Case(
        'top.expr {expr = "output0[B, H, I, J] = input0[B, H, I, J]'
        '.when(J <= I, const(-10000.0))"}',
        (A((2, 3, 8, 8)),),
        (2, 3, 8, 8),
        lambda x: np.where(np.tril(np.ones((8, 8), bool)), x, -10000.0),
        (_plan({"B": 2, "H": 3}), _plan({"H": 3, "B": 2})),
    ),
    "expr_index_below_constant": Case(
        'top.expr {expr = "output0[N, I, J] = input0[N, I, J].when(I < 5, 0.0)"}',
        (A((3, 8, 6)),),
        (3, 8, 6),
        lambda x: np.where(np.arange(8)[:, None] < 5, x, 0.0),
        (_plan({"N": 3, "J": 2}),),
    ),
    "expr_index_values": Case(
        'top.expr {expr = "output0[N, I, J] = input0[N, I, J] + I '
        '+ (J * 2 + 1).cast(`float32`) * 0.5"}',
        (A((3, 8, 6)),),
        (3, 8, 6),
        lambda x: x + np.arange(8)[:, None] + (np.arange(6) * 2 + 1) * 0.5,
        (_plan({"N": 3}),),
    ),
    "expr_reduction_index_value": Case(
        'top.expr {expr = "output0[N] +=! input0[N, K] * K"}',
        (A((6, 10)),),
        (6,),
        lambda x: x @ np.arange(10.0),
        (_plan({"N": 2}),),
    ),
    # Guarded reads at an offset, with their guard kept: a shift and a concat.
    "expr_guarded_shift": Case(
        'top.expr {expr = "output0[I, J] = input0[I - 1, J].when(I - 1 >= 0, 0.0) '
        'where I in 12"}',
        (A((12, 5)),),
        (12, 5),
        lambda x: np.concatenate([np.zeros((1, 5)), x[:-1]]),
        (_plan({"J": 5}),),
    ),
    "expr_guarded_concat": Case(
        'top.expr {expr = "output0[N, M] = input0[N, M].when(M < 5, input1[N, M - 5]) '
        'where M in 7"}',
        (A((4, 5)), A((4, 2))),
        (4, 7),
        lambda a, b: np.concatenate([a, b], axis=1),
        (_plan({"N": 4}),),
    ),
    # Negative coefficients: a flip split along the flipped dim; a correlation, whose
    # kernel dim K is read backwards, kept whole.
    "expr_flip": Case(
        'top.expr {expr = "output0[I, J] = input0[11 - I, J] where I in 12"}',
        (A((12, 5)),),
        (12, 5),
        lambda x: x[::-1],
        (_plan({"I": 4}), _plan({"I": 5}), _plan({"I": 3, "J": 5})),
    ),
    "expr_correlation": Case(
        'top.expr {expr = "output0[N, C] +=! input0[N - K + 1, C].when([N - K + 1 >= 0,'
        ' N - K + 1 < 10], 0.0) * input1[K, C] where N in 10"}',
        (A((10, 4)), W(3, 4)),
        (10, 4),
        lambda x, w: sum(
            np.pad(x, ((1, 1), (0, 0)))[2 - k : 12 - k] * w[k] for k in range(3)
        ),
        (_plan({"N": 2, "C": 2}), _plan({"N": 2}, in1={"C": 2})),
    ),
}


def _expected(case: Case) -> np.ndarray:
    args = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in inputs(case)]
    return np.asarray(case.math(*args))


def _check(case: Case, out: Path) -> None:
    with np.load(out) as saved:
        got = saved["out0"]
    want = _expected(case)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max()))
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * scale)


def _files(case: Case, tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "op.mlir"
    source.write_text(program(case))
    npz = tmp_path / "inputs.npz"
    np.savez(npz, **{f"arg{i}": a for i, a in enumerate(inputs(case))})
    return source, npz


def test_every_op_kind_has_a_case() -> None:
    kinds = {c.op.split(" ")[0] for c in CASES.values()}
    assert kinds | COMPILED_HERE == {op.name for op in top.Top.operations}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", CASES)
def test_compiled_op(name: str, target: str, tmp_path: Path) -> None:
    """The compiled op computes the math, and runs in the cycles the selection
    predicted for it, to within rounding."""
    case = CASES[name]
    source, npz = _files(case, tmp_path)
    out, report = tmp_path / "out.npz", tmp_path / "report.json"
    argv = [
        str(source),
        "--target",
        TARGETS[target],
        "--check",
        "--report",
        str(report),
    ]
    assert run([*argv, "--inputs", str(npz), "--output", str(out)]) == 0
    _check(case, out)
    for op in json.loads(report.read_text())["ops"]:
        assert abs(op["cycles"] - op["predicted_cycles"]) <= 2, op["name"]


FORCED = [(n, i) for n, c in CASES.items() for i in range(len(c.plans))]


@pytest.mark.parametrize(("name", "number"), FORCED)
def test_forced_plan(name: str, number: int, tmp_path: Path) -> None:
    """The op under a plan that splits its reduction (or, for an op whose count
    leaves its padding out, the plans it allows), on grid16-9k. Its compute on the
    chip is what the planner charges the plan, to the cycle, though the sub-operator
    adds to the op's body (a bias share, a mean's scaling, a crop) or replaces it (a
    concatenation's sums)."""
    case = CASES[name]
    source, npz = _files(case, tmp_path)
    module = parse_module(make_context(), source.read_text(), str(source))
    T10PartitionPass(target=SMALL_SRAM).apply(make_context(), module)
    plan = case.plans[number]
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.IterationDomainInterface)
    assert plan_problems(plan, op.iteration_domain(), 16) == []
    set_plan(op, plan)
    planned = oracles.plan_cost(load_machine(SMALL_SRAM), op_spec(op), plan)
    T10LowerToShiftPass().apply(make_context(), module)
    lowered = tmp_path / "shift.mlir"
    lowered.write_text(str(module))
    out, report = tmp_path / "out.npz", tmp_path / "report.json"
    argv = [
        str(lowered),
        "--check",
        "--reference",
        str(source),
        "--report",
        str(report),
    ]
    assert run([*argv, "--inputs", str(npz), "--output", str(out)]) == 0
    _check(case, out)
    (ran,) = json.loads(report.read_text())["ops"]
    assert ran["compute_cycles"] == planned.compute


@pytest.mark.parametrize(
    ("name", "plan"),
    [("conv2d_group3", _plan({"f": 2, "oh": 2})), ("conv2d_group2", _plan({"c": 2}))],
)
def test_windows_with_part_of_several_groups_are_refused(
    name: str, plan: OpPlan, tmp_path: Path
) -> None:
    """A box of channels holding part of each of several groups holds channels of
    other cores' groups: the plan is invalid (its domain nests the channels in the
    groups), the search never proposes one, and lowering refuses one forced on it
    rather than compute on it."""
    source, _ = _files(CASES[name], tmp_path)
    module = parse_module(make_context(), source.read_text(), str(source))
    T10PartitionPass(target=SMALL_SRAM).apply(make_context(), module)
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.Conv2dOp)
    domain = op.iteration_domain()
    (problem,) = plan_problems(plan, domain, 16)
    assert "only part of" in problem and "needs f, c whole" in problem
    for target in ("ipu-mk2", SMALL_SRAM):
        frontier = search_plans(load_machine(target), op_spec(op))
        assert [plan_problems(p.plan, domain, 1472) for p in frontier.points] == [
            [] for _ in frontier.points
        ]
    set_plan(op, plan)
    with pytest.raises(OpError, match="holds only part of each"):
        T10LowerToShiftPass().apply(make_context(), module)


@pytest.mark.parametrize(
    "plan", [_plan({"oh": 3}), _plan({"kh": 3}), _plan({"c": 2}, in0={"kw": 3})]
)
def test_exclude_pad_avgpool_keeps_its_window_whole(plan: OpPlan) -> None:
    """Its count depends on where a window is: no plan may cut the windows."""
    source = program(CASES["avgpool_include_pad_false"])
    module = parse_module(make_context(), source, "op.mlir")
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.AvgPoolOp)
    assert plan_problems(plan, op.iteration_domain(), 16) != []


@pytest.mark.parametrize(
    ("name", "whole", "in_time"),
    [
        ("expr_causal_mask", {"I", "J"}, None),
        ("expr_index_below_constant", {"I"}, None),
        ("expr_index_values", {"I", "J"}, None),
        ("expr_reduction_index_value", {"K"}, None),
        ("expr_guarded_shift", {"I"}, None),
        ("expr_guarded_concat", {"M"}, _plan({"N": 2}, in1={"M": 2})),
        ("expr_flip", set(), None),
        ("expr_correlation", {"K"}, _plan({"N": 3}, in1={"K": 3})),
        ("expr_padded_conv", set(), None),
    ],
)
def test_expr_keeps_whole_the_dims_it_needs_global(
    name: str, whole: set[str], in_time: OpPlan | None
) -> None:
    """A sub-operator only knows positions in its windows: dims used as values, in a
    guard that stays or read backwards in a reduction are split neither over cores
    nor in time (`in_time`); the bounds guards of a padded convolution, turned into
    halo reads, keep nothing whole."""
    source = program(CASES[name])
    module = parse_module(make_context(), source, "op.mlir")
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.ExprOp)
    domain = op.iteration_domain()
    assert domain.whole == whole
    plans = [_plan({dim: 2}) for dim in whole] + ([in_time] if in_time else [])
    for plan in plans:
        split = {d for d, _ in plan.spatial} | {
            d for _, factors in plan.temporal for d, _ in factors
        }
        (dim,) = split & whole
        problems = plan_problems(plan, domain, 16)
        assert f"{dim} cannot be split: its sub-operator needs it whole" in problems


@pytest.mark.parametrize("target", TARGETS)
def test_tiny_gpt2_with_its_causal_mask_expr(target: str, tmp_path: Path) -> None:
    """The zoo's GPT-2 masks its scores in a `top.expr` `.when(J <= I, ...)`."""
    from t10ir.tools.t10_zoo import run as zoo

    source, npz = tmp_path / "gpt2.mlir", tmp_path / "gpt2.npz"
    argv = ["gpt2", "--batch", "1", "--seq", "8", "--layers", "1"]
    argv += ["--set", "hidden=32", "--set", "heads=2", "--set", "ffn=64"]
    assert zoo([*argv, "-o", str(source), "--arguments", str(npz)]) == 0
    assert "when(J <= I" in source.read_text()
    argv = [str(source), "--target", TARGETS[target], "--check", "--inputs", str(npz)]
    assert run(argv) == 0


BLOCKS = """\
func.func @blocks(%x: tensor<8xf32>) -> tensor<64x4xf32> {
  %y = top.expr %x {expr = "output0[I, J] = input0[I / 8] where I in 64, J in 4"} : (tensor<8xf32>) -> tensor<64x4xf32>
  func.return %y : tensor<64x4xf32>
}
"""


@pytest.mark.parametrize(("factor", "aligned"), [(4, True), (8, True), (3, False)])
def test_delinearized_read_windows_start_on_block_bounds(
    factor: int, aligned: bool, tmp_path: Path
) -> None:
    """`input0[I / 8]`: a plan cutting I into 16 or 8 rows per core computes the
    blocks (checked against numpy); one cutting it into 22 would start windows inside
    a block and is refused when lowered, instead of computing wrong rows."""
    source = tmp_path / "blocks.mlir"
    source.write_text(BLOCKS)
    module = parse_module(make_context(), BLOCKS, str(source))
    T10PartitionPass(target=SMALL_SRAM).apply(make_context(), module)
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.IterationDomainInterface)
    set_plan(op, _plan({"I": factor}))
    if not aligned:
        with pytest.raises(OpError, match="do not start at multiples of 8"):
            T10LowerToShiftPass().apply(make_context(), module)
        return
    T10LowerToShiftPass().apply(make_context(), module)
    lowered = tmp_path / "shift.mlir"
    lowered.write_text(str(module))
    x = np.arange(8, dtype=np.float32)
    np.savez(tmp_path / "in.npz", arg0=x)
    out = tmp_path / "out.npz"
    argv = [str(lowered), "--check", "--reference", str(source)]
    assert run([*argv, "--inputs", str(tmp_path / "in.npz"), "--output", str(out)]) == 0
    want = np.repeat(x, 8)[:, None] * np.ones((1, 4), dtype=np.float32)
    np.testing.assert_array_equal(np.load(out)["out0"], want)
