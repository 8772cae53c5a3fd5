"""Uneven splits (issue 19, item 2): a dim split over cores or cut in steps whose last
share or step runs past its extent, padded: any parallel dim, and a reduction dim
wherever the points beyond the extent provably contribute the combiner's identity
(`IterationDomain.uneven_reductions`, `t10ir.expr.padding`), checked on the simulated
chip against numpy, in the cycles the cost model charges; and the ops where padding
the inputs with the combiner's identity would be wrong, refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from test_compiled_ops import SMALL_SRAM, Arg, Case, _pool, conv2d, inputs, program
from xdsl.dialects import func
from xdsl.ir import BlockArgument

from t10ir.context import make_context
from t10ir.cost.plan_cost import OpSpec
from t10ir.dialects import shift, top
from t10ir.dialects.rtensor import set_plan
from t10ir.expr import parse_expression
from t10ir.lowering.op_spec import op_spec
from t10ir.module_io import parse_module
from t10ir.passes.t10_eliminate_redundant_shifts import (
    T10EliminateRedundantShiftsPass,
)
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.planning.plan import OpPlan, plan_problems
from t10ir.planning.search import SearchOptions, search_plans
from t10ir.target import load_machine
from t10ir.testing import oracles
from t10ir.tools.t10_run import run

P = OpPlan.of

EXP_SUM = 'top.expr {expr = "output0[N] +=! input0[N, K].call(`exp`)"}'
SOFTMAX_SUM = (
    'top.expr {expr = "output0[N] +=! (input0[N, K] - input1[N]).call(`exp`)"}'
)
MAX_PLUS = 'top.expr {expr = "output0[N] >=! input0[N, K] + input1[K]"}'
MAX_TIMES = 'top.expr {expr = "output0[N] >=! input0[N, K] * input1[N, K]"}'
GUARDED_EXP_SUM = (
    'top.expr {expr = "output0[N] +=! (input0[N, K] + input1[K]'
    '.when([K >= 0, K < 10], 0.0)).call(`exp`)"}'
)

CASES = {
    "exp_sum": Case(
        EXP_SUM,
        (Arg((3, 10)),),
        (3,),
        lambda x: np.exp(x).sum(1),
        (P({"K": 4}), P({"K": 3, "N": 3}), P({"K": 8})),
    ),
    "softmax_sum": Case(
        SOFTMAX_SUM,
        (Arg((3, 10)), Arg((3,))),
        (3,),
        lambda x, m: np.exp(x - m[:, None]).sum(1),
        (P({"K": 4}), P({"K": 7})),
    ),
    "max_plus": Case(
        MAX_PLUS,
        (Arg((3, 10)), Arg((10,))),
        (3,),
        lambda x, y: (x + y).max(1),
        (P({"K": 4}), P({"K": 3, "N": 2})),
    ),
    "reduce_max": Case(
        'top.reduce {kind = "max", axes = array<i64: 1>, keepdims = false}',
        (Arg((3, 10)),),
        (3,),
        lambda x: x.max(1),
        (P({"r0": 4}), P({"r0": 3, "d0": 3})),
    ),
    "matmul": Case(
        "top.matmul",
        (Arg((4, 10)), Arg((10, 3))),
        (4, 3),
        lambda a, b: a @ b,
        (P({"k": 4}), P({"k": 3, "m": 2})),
    ),
}
FORCED = [(n, i) for n, c in CASES.items() for i in range(len(c.plans))]

EXP_OUTER = (
    'top.expr {expr = "output0[N, M] +=! (input0[N, K] + input1[K, M]).call(`exp`)"}'
)
MAX_PLUS_OUTER = 'top.expr {expr = "output0[N, M] >=! input0[N, K] + input1[K, M]"}'
STEPPED = {
    "matmul": Case(
        "top.matmul",
        (Arg((10, 13)), Arg((13, 7))),
        (10, 7),
        lambda a, b: a @ b,
        (
            P({"m": 3, "n": 3}, {"in0": {"k": 3}, "in1": {"k": 3}}),  # k: 5 as 2+2+1
            P({"m": 4}, {"in1": {"n": 4}}),  # a parallel dim: n 7 as 2+2+2+1
            P({"m": 2, "n": 3}, {"in0": {"k": 3}}),
        ),
    ),
    "exp_sum": Case(
        EXP_OUTER,
        (Arg((4, 10)), Arg((10, 6))),
        (4, 6),
        lambda x, y: np.exp(x[:, :, None] + y[None]).sum(1),
        (
            P({"M": 3}, {"in0": {"K": 3}}),  # K: 10 in 3 steps of 4
            P({"M": 3, "K": 2}, {"in0": {"K": 3}}),  # over cores and steps
        ),
    ),
    "max_plus": Case(
        MAX_PLUS_OUTER,
        (Arg((4, 10)), Arg((10, 6))),
        (4, 6),
        lambda x, y: (x[:, :, None] + y[None]).max(1),
        (P({"M": 3}, {"in0": {"K": 3}}), P({"M": 2, "K": 4}, {"in0": {"K": 2}})),
    ),
}
STEPS = [(n, i) for n, c in STEPPED.items() for i in range(len(c.plans))]


def lowered(
    case: Case, plan: OpPlan, tmp_path: Path, text: str | None = None
) -> tuple[Path, Path, Path]:
    """The op under `plan` on grid16-9k, lowered to shift: its source (`text`, by
    default the case's program), inputs and lowered files. The plan is set as given
    (validated or not by the caller)."""
    source = tmp_path / "op.mlir"
    source.write_text(program(case) if text is None else text)
    npz = tmp_path / "inputs.npz"
    np.savez(npz, **{f"arg{i}": a for i, a in enumerate(inputs(case))})
    module = parse_module(make_context(), source.read_text(), str(source))
    T10PartitionPass(target=SMALL_SRAM).apply(make_context(), module)
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.IterationDomainInterface)
    set_plan(op, plan)
    T10LowerToShiftPass().apply(make_context(), module)
    shift_file = tmp_path / "shift.mlir"
    shift_file.write_text(str(module))
    return source, npz, shift_file


def spec_of(case: Case, tmp_path: Path, text: str | None = None) -> OpSpec:
    """The op's `OpSpec` (of `text`, by default the case's program), as the search and
    the cost model see it."""
    source = tmp_path / "spec.mlir"
    source.write_text(program(case) if text is None else text)
    module = parse_module(make_context(), source.read_text(), str(source))
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    op = function.body.block.first_op
    assert isinstance(op, top.IterationDomainInterface)
    return op_spec(op)


def run_lowered(
    source: Path, npz: Path, shift_file: Path, tmp_path: Path
) -> tuple[np.ndarray, dict]:
    """The output of the lowered program run with `--check`, and its op's report."""
    out, report = tmp_path / "out.npz", tmp_path / "report.json"
    argv = [str(shift_file), "--check", "--reference", str(source)]
    argv += ["--inputs", str(npz)]
    assert run([*argv, "--output", str(out), "--report", str(report)]) == 0
    (ran,) = json.loads(report.read_text())["ops"]
    with np.load(out) as saved:
        return saved["out0"], ran


@pytest.mark.parametrize(("name", "number"), FORCED)
def test_uneven_reduction_split_computes_the_math(
    name: str, number: int, tmp_path: Path
) -> None:
    """Each plan splits the reduction unevenly (10 over 3, 4, 7 or 8 cores: the last
    shares part or all padding); `--check` compares the chip with the reference
    interpreter, and the result is compared here with numpy in float64."""
    case = CASES[name]
    plan = case.plans[number]
    spec = spec_of(case, tmp_path)
    reduced = [d for d in spec.domain.reduction_dims if plan.spatial_factor(d.name) > 1]
    assert reduced and all(d.extent % plan.spatial_factor(d.name) for d in reduced)
    problems = plan_problems(plan, spec.domain, 16, spec.operand_shapes)
    assert problems == []
    got, ran = run_lowered(*lowered(case, plan, tmp_path), tmp_path)
    args = [a.astype(np.float64) for a in inputs(case)]
    np.testing.assert_allclose(got, case.math(*args), rtol=1e-5, atol=1e-5)
    # The padded work is charged, as the chip runs it: ceil(10 / F) per core.
    assert oracles.padding(plan, spec.domain) > 0
    planned = oracles.plan_cost(load_machine(SMALL_SRAM), spec, plan)
    assert ran["compute_cycles"] == planned.compute


@pytest.mark.parametrize(("name", "number"), STEPS)
def test_uneven_steps_compute_the_math(name: str, number: int, tmp_path: Path) -> None:
    """Each plan cuts a core's share in steps that do not divide it (the share padded
    to whole steps, `OpPlan.core_extents`); the chip agrees with the reference and
    numpy, in the compute, shift and sync cycles the cost model charges."""
    case = STEPPED[name]
    plan = case.plans[number]
    spec = spec_of(case, tmp_path)
    assert plan_problems(plan, spec.domain, 16, spec.operand_shapes) == []
    assert plan.core_extents(spec.domain) != {
        d.name: -(-d.extent // plan.spatial_factor(d.name)) for d in spec.domain.dims
    }
    got, ran = run_lowered(*lowered(case, plan, tmp_path), tmp_path)
    args = [a.astype(np.float64) for a in inputs(case)]
    np.testing.assert_allclose(got, case.math(*args), rtol=1e-5, atol=1e-5)
    planned = oracles.plan_cost(load_machine(SMALL_SRAM), spec, plan)
    assert (ran["compute_cycles"], ran["shift_cycles"], ran["sync_cycles"]) == (
        planned.compute,
        planned.shift,
        planned.sync,
    )


def test_uneven_steps_of_a_reduction_need_neutral_padding(tmp_path: Path) -> None:
    """A max of products has no neutral padding: K is cut in steps evenly only."""
    case = Case(
        'top.expr {expr = "output0[N, M] >=! input0[N, K] * input1[K, M]"}',
        (Arg((4, 10)), Arg((10, 6))),
        (4, 6),
        lambda x, y: x,
    )
    spec = spec_of(case, tmp_path)
    uneven = plan_problems(
        P({"M": 3}, {"in0": {"K": 3}}), spec.domain, 16, spec.operand_shapes
    )
    assert any("steps along reduction dim K do not divide" in p for p in uneven)
    even = P({"M": 2}, {"in0": {"K": 2}})
    assert plan_problems(even, spec.domain, 16, spec.operand_shapes) == []


@pytest.mark.parametrize(
    ("text", "shapes", "padding", "neutral"),
    [
        # exp(x) is 0 only at -inf: padding with the sum's identity would add 1.
        ("output0[N] +=! input0[N, K].call(`exp`)", [(3, 10)], -math.inf, {"K"}),
        (
            "output0[N] +=! (input0[N, K] - input1[N]).call(`exp`)",
            [(3, 10), (3,)],
            -math.inf,
            {"K"},
        ),
        ("output0[N] >=! input0[N, K] + input1[K]", [(3, 10), (10,)], -math.inf, {"K"}),
        # -inf * -inf is +inf, +inf * -inf wins no max, 0 * y may win: none works.
        ("output0[N] >=! input0[N, K] * input1[N, K]", [(3, 10)] * 2, None, set()),
        (
            "output0[N, M] +=! input0[N, K] * input1[K, M]",
            [(3, 10), (10, 2)],
            0.0,
            {"K"},
        ),
        ("output0[N] <=! input0[N, K]", [(3, 10)], math.inf, {"K"}),
        # The guard's 0 pads the inputs: beyond K's extent exp(0 + 0) adds 1.
        (
            "output0[N] +=! (input0[N, K] + input1[K].when([K >= 0, K < 10], 0.0))"
            ".call(`exp`)",
            [(3, 10), (10,)],
            0.0,
            set(),
        ),
        # Only the weight's read of KH leaves its tensor beyond KH's extent: x * 0.
        (
            "output0[N, OH] +=! input0[N, OH + KH] * input1[KH] where OH in 7",
            [(2, 9), (3,)],
            0.0,
            {"KH"},
        ),
        (
            "output0[N, OH] >=! input0[N, OH + KH] * 1.0 + input1[KH] * 0.0"
            " where OH in 7",
            [(2, 9), (3,)],
            None,
            set(),
        ),
        ("output0[N] = input0[N].call(`exp`)", [(3,)], None, set()),
    ],
)
def test_expression_padding_is_provably_neutral(
    text: str, shapes: list[tuple[int, ...]], padding: float | None, neutral: set[str]
) -> None:
    domain = parse_expression(text).iteration_domain(shapes)
    assert domain.padding == padding
    assert domain.uneven_reductions(shapes) == neutral


def test_naive_identity_padding_would_be_wrong(tmp_path: Path) -> None:
    """The guarded exp-sum pads its inputs with the guard's 0, so K beyond its
    extent would add exp(0) = 1 per point: the validator refuses the uneven split,
    and the chip, made to run it anyway, gets the sum wrong by those ones."""
    case = Case(
        GUARDED_EXP_SUM,
        (Arg((3, 10)), Arg((10,))),
        (3,),
        lambda x, y: np.exp(x + y).sum(1),
    )
    plan = P({"K": 4})  # 10 over 4 cores: 12 points, two beyond the extent
    spec = spec_of(case, tmp_path)
    problems = plan_problems(plan, spec.domain, 16, spec.operand_shapes)
    assert any("unevenly" in p for p in problems)
    _, npz, shift_file = lowered(case, plan, tmp_path)
    out = tmp_path / "out.npz"
    assert run([str(shift_file), "--inputs", str(npz), "--output", str(out)]) == 0
    with np.load(out) as saved:
        got = saved["out0"]
    want = case.math(*[a.astype(np.float64) for a in inputs(case)])
    np.testing.assert_allclose(got, want + 2.0, rtol=1e-5)


def test_pooling_kernel_dims_split_evenly_only(tmp_path: Path) -> None:
    """Beyond kh's extent a max pool's window reads the next window's elements, not
    padding: no plan of the relaxed space splits kh or kw unevenly, and the validator
    refuses one (it ran wrong before: max over elements outside the window)."""
    case = Case(
        _pool("maxpool", (3, 3), (2, 2), (0, 0, 1, 1)),
        (Arg((1, 2, 6, 6)),),
        (1, 2, 3, 3),
        lambda x: x,
    )
    spec = spec_of(case, tmp_path)
    assert spec.domain.uneven_reductions(spec.operand_shapes) == frozenset()
    problems = plan_problems(P({"kh": 2}), spec.domain, 16, spec.operand_shapes)
    assert any("unevenly" in p for p in problems)
    frontier = search_plans(load_machine(SMALL_SRAM), spec, SearchOptions.relaxed())
    for point in frontier.points:
        for d in ("kh", "kw"):
            assert 3 % point.plan.spatial_factor(d) == 0


def test_search_splits_an_exp_sum_unevenly(tmp_path: Path) -> None:
    """A 4 x 997 exp-sum (997 is prime) is split along K on 16 cores only unevenly:
    its exhaustive frontier has such plans, all valid."""
    case = Case(EXP_SUM, (Arg((4, 997)),), (4,), lambda x: x)
    spec = spec_of(case, tmp_path)
    frontier = search_plans(load_machine(SMALL_SRAM), spec, oracles.EXHAUSTIVE)
    factors = {p.plan.spatial_factor("K") for p in frontier.points}
    assert factors - {1}, factors
    for point in frontier.points:
        assert plan_problems(point.plan, spec.domain, 16, spec.operand_shapes) == []


EXP_THEN_SUM = """func.func @f(%a0: tensor<4xf32>) -> tensor<f32> {
  %0 = top.expr %a0 {expr = "output0[N] = input0[N].call(`exp`)"} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = top.reduce %0 {kind = "sum", axes = array<i64: 0>, keepdims = false} : (tensor<4xf32>) -> tensor<f32>
  func.return %1 : tensor<f32>
}"""
CONV_THEN_MEAN = """func.func @f(%a0: tensor<1x4x5x5xf32>, %a1: tensor<4x1x3x3xf32> {top.weight}) -> tensor<1x4xf32> {
  %0 = top.conv2d %a0, %a1 {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, group = 4 : i64} : (tensor<1x4x5x5xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x5x5xf32>
  %1 = top.reduce %0 {kind = "mean", axes = array<i64: 2, 3>, keepdims = false} : (tensor<1x4x5x5xf32>) -> tensor<1x4xf32>
  func.return %1 : tensor<1x4xf32>
}"""
EXP_THEN_EXP = """func.func @f(%a0: tensor<4xf32>) -> tensor<4xf32> {
  %0 = top.expr %a0 {expr = "output0[N] = input0[N].call(`exp`)"} : (tensor<4xf32>) -> tensor<4xf32>
  %1 = top.expr %0 {expr = "output0[N] = input0[N].call(`exp`)"} : (tensor<4xf32>) -> tensor<4xf32>
  func.return %1 : tensor<4xf32>
}"""
CHAINS = {
    # exp writes exp(0) = 1 into the padding of its last core's share of 4 over 3
    "exp_then_sum": (
        EXP_THEN_SUM,
        [(4,)],
        lambda x: np.exp(x).sum(),
        (P({"N": 3}), P({"r0": 3})),
        1,
    ),
    # efficientnet's squeeze-and-excitation: a padded depthwise convolution's rows 5
    # over 2 cores, then the mean over them on the same cores
    "conv_then_mean": (
        CONV_THEN_MEAN,
        [(1, 4, 5, 5), (4, 1, 3, 3)],
        lambda x, w: conv2d(x, w, pads=(1, 1, 1, 1), group=4).mean(axis=(2, 3)),
        (P({"oh": 2}), P({"r0": 2})),
        1,
    ),
    # a parallel dim alone reads the padding only into results outside the tensor
    "exp_then_exp": (
        EXP_THEN_EXP,
        [(4,)],
        lambda x: np.exp(np.exp(x)),
        (P({"N": 3}), P({"N": 3})),
        0,
    ),
}


@pytest.mark.parametrize("name", CHAINS)
@pytest.mark.parametrize("eliminate", [False, True])
def test_padding_a_kernel_wrote_is_refilled_before_a_reduction_reads_it(
    name: str, eliminate: bool, tmp_path: Path
) -> None:
    """The producer leaves its result in exactly the layout its consumer reads, with
    the last core's share running past the tensor; its kernels wrote their whole
    windows there, not the padding a relayout writes. A consumer that reduces over
    those cells gets the value relaid in place first (kept by
    t10-eliminate-redundant-shifts); one that reads them only for results outside
    its tensor does not. Checked on the chip and against numpy."""
    text, shapes, math_, plans, refills = CHAINS[name]
    source = tmp_path / "chain.mlir"
    source.write_text(text)
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=s).astype(np.float32) for s in shapes]
    npz = tmp_path / "inputs.npz"
    np.savez(npz, **{f"arg{i}": a for i, a in enumerate(arrays)})
    module = parse_module(make_context(), text, str(source))
    T10PartitionPass(target=SMALL_SRAM).apply(make_context(), module)
    function = next(o for o in module.ops if isinstance(o, func.FuncOp))
    ops = list(function.body.block.ops)[:2]
    for op, plan in zip(ops, plans, strict=True):
        assert isinstance(op, top.IterationDomainInterface)
        set_plan(op, plan)
    T10LowerToShiftPass().apply(make_context(), module)
    if eliminate:
        T10EliminateRedundantShiftsPass().apply(make_context(), module)
    in_place = [
        op
        for op in module.walk()
        if isinstance(op, shift.RelayoutOp)
        and op.input.type == op.output.type
        and not isinstance(op.input, BlockArgument)
    ]
    assert len(in_place) == refills
    shift_file = tmp_path / "shift.mlir"
    shift_file.write_text(str(module))
    out = tmp_path / "out.npz"
    argv = [str(shift_file), "--check", "--reference", str(source), "--inputs"]
    assert run([*argv, str(npz), "--output", str(out)]) == 0
    with np.load(out) as saved:
        got = saved["out0"]
    want = math_(*(a.astype(np.float64) for a in arrays))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
