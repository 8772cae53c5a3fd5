"""Rotating outputs (issue 19, item 1): an output cut in time along parallel dims rotates
around the ring of the reduction dims split over its replica group, each core adding
its partial sum into the piece it holds (a reduce-scatter inside the compute). Forced
plans run on grid16-9k with `--check` against the reference and numpy; a hypothesis
test runs the schedule's own maps and checks that every output element receives every
partial sum exactly once.
"""

from __future__ import annotations

import dataclasses
import math
from itertools import product
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_specs import matmul
from test_compiled_ops import SMALL_SRAM, Arg, Case, inputs
from test_schedule import matmul_domain
from test_uneven_splits import MAX_PLUS_OUTER, lowered, run_lowered, spec_of

from t10ir.context import make_context
from t10ir.cost.plan_cost import OpSpec
from t10ir.cost.relayout import plan_moves
from t10ir.module_io import parse_module
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.planning.layout import evaluate_map
from t10ir.planning.plan import OpPlan, plan_problems
from t10ir.planning.schedule import op_schedule
from t10ir.target import load_machine
from t10ir.testing import oracles

P = OpPlan.of

EXP_OUTER = (
    'top.expr {expr = "output0[N, M] +=! (input0[N, K] + input1[K, M]).call(`exp`)"}'
)

MATMUL = Case("top.matmul", (Arg((4, 12)), Arg((12, 8))), (4, 8), lambda a, b: a @ b)
CASES = {
    # k over 4 cores, the output's 4 pieces travel the whole k ring: no epilogue sum
    "matmul-ring": (MATMUL, P({"k": 4}, {"out0": {"n": 4}})),
    # a ring of 2 of the 4 k replicas: the two rings' results are still combined
    "matmul-half-ring": (MATMUL, P({"k": 4, "m": 2}, {"out0": {"n": 2}})),
    # in0 rotates around n while the output rotates around k
    "matmul-with-input": (
        MATMUL,
        P({"k": 2, "n": 2}, {"in0": {"k": 2}, "out0": {"n": 2}}),
    ),
    # the output along an inner step loop (m is stepped outside it): rotated back
    "matmul-inner": (MATMUL, P({"k": 2, "n": 2}, {"in0": {"m": 2}, "out0": {"n": 2}})),
    "exp-sum": (
        Case(
            EXP_OUTER,
            (Arg((4, 8)), Arg((8, 6))),
            (4, 6),
            lambda x, y: np.exp(x[:, :, None] + y[None]).sum(1),
        ),
        P({"K": 4}, {"out0": {"N": 4}}),
    ),
    "max-plus": (
        Case(
            MAX_PLUS_OUTER,
            (Arg((4, 8)), Arg((8, 6))),
            (4, 6),
            lambda x, y: (x[:, :, None] + y[None]).max(1),
        ),
        P({"K": 4, "N": 2}, {"out0": {"M": 2}}),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_rotating_output_computes_the_math(name: str, tmp_path: Path) -> None:
    case, plan = CASES[name]
    spec = spec_of(case, tmp_path)
    assert plan_problems(plan, spec.domain, 16, spec.operand_shapes) == []
    got, ran = run_lowered(*lowered(case, plan, tmp_path), tmp_path)
    args = [a.astype(np.float64) for a in inputs(case)]
    np.testing.assert_allclose(got, case.math(*args), rtol=1e-5, atol=1e-5)
    check_cycles(spec, plan, ran)


def check_cycles(spec: OpSpec, plan: OpPlan, ran: dict) -> None:
    """The chip spends the compute, shift and sync cycles the cost model charges
    (`cost_plans`, as the search costs the plan, and `plan_moves`, as the selection
    does), and the output's rotations are among them."""
    machine = load_machine(SMALL_SRAM)
    planned = oracles.plan_cost(machine, spec, plan)
    moves = plan_moves(machine, spec, plan)
    assert (ran["compute_cycles"], ran["shift_cycles"], ran["sync_cycles"]) == (
        planned.compute,
        planned.shift,
        planned.sync,
    )
    assert (math.ceil(moves.shift), math.ceil(moves.sync)) == (
        planned.shift,
        planned.sync,
    )
    assert planned.sync > 0


def test_f16_rotating_output_accumulates_in_f32(tmp_path: Path) -> None:
    """An f16 matmul whose output rotates keeps its partial sums in an f32 buffer,
    and rotates that one (through an f32 receive buffer): the result is rounded
    once, as numpy's f32 product rounded to f16."""
    text = (
        "func.func @f(%a: tensor<4x64xf16>, %b: tensor<64x8xf16>) -> tensor<4x8xf16> {\n"
        "  %0 = top.matmul %a, %b : (tensor<4x64xf16>, tensor<64x8xf16>)"
        " -> tensor<4x8xf16>\n  func.return %0 : tensor<4x8xf16>\n}\n"
    )
    case = Case("top.matmul", (Arg((4, 64)), Arg((64, 8))), (4, 8), lambda a, b: a @ b)
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 64)).astype(np.float16)
    b = rng.standard_normal((64, 8)).astype(np.float16)
    plan = P({"k": 4}, {"out0": {"n": 4}})
    source, npz, shift_file = lowered(case, plan, tmp_path, text)
    np.savez(npz, arg0=a, arg1=b)
    got, ran = run_lowered(source, npz, shift_file, tmp_path)
    # the f32 partial sums move: 8 elements of 4 bytes over 4-byte links, 3 shifts
    # (`op_spec` does not say the result is a float: the spec is told here)
    spec = dataclasses.replace(spec_of(case, tmp_path, text), float_result=True)
    check_cycles(spec, plan, ran)
    assert ran["shift_cycles"] == 3 * 8
    module = parse_module(make_context(), shift_file.read_text(), str(shift_file))
    T10LowerToCorePass().apply(make_context(), module)
    program = str(module)
    assert "core.shift" in program and "!core.buffer<4x2xf32>" in program
    want = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_allclose(got.astype(np.float32), want, rtol=1e-3, atol=1e-3)


# ---- every partial sum exactly once -------------------------------------------------


BASE = 8
"""Each k contributes `BASE**k`: the sum's base-8 digits count the contributions
(exact in float64 for the at most 15 k of these tests)."""


def received(plan: OpPlan, m: int, n: int, k: int) -> np.ndarray:
    """Per output element and reduction index, how often that index's partial sum
    reached the element: the matmul of ones by `BASE**k`, run with the schedule's maps
    (hot layouts, windows, rotations of the inputs and of the output, whose pieces
    stay where the outermost loop's last step leaves them) and its epilogue combine."""
    domain = matmul_domain(m, n, k)
    schedule = op_schedule(domain, plan, [(m, k), (k, n)], (m, n))
    grid = schedule.grid
    digits = grid.digits()
    a = np.ones((m, k))
    b = np.repeat((float(BASE) ** np.arange(k))[:, None], n, axis=1)
    held = [
        layout.scatter(x) for layout, x in zip(schedule.inputs, (a, b), strict=True)
    ]
    out = np.zeros((grid.size, *schedule.output.piece))

    def windowed(data: np.ndarray, amap, shape, symbols) -> list[np.ndarray]:
        origins = evaluate_map(amap, digits, symbols, grid.size)
        return [
            data[c][
                tuple(slice(o, o + s) for o, s in zip(origins[c], shape, strict=True))
            ]
            for c in range(grid.size)
        ]

    def rotated(rotation, data, symbols) -> np.ndarray:
        go = (evaluate_map(rotation.when, digits, symbols, grid.size) == 0).all(axis=1)
        src = rotation.ring.sources()
        return np.where(go.reshape((-1,) + (1,) * (data.ndim - 1)), data[src], data)

    levels = len(schedule.step_dims)
    for point in product(*(range(s) for s in schedule.steps)):
        symbols = list(point)
        parts = [
            windowed(h, w, s, symbols)
            for h, w, s in zip(
                held, schedule.input_windows, schedule.input_window_shapes, strict=True
            )
        ]
        origins = evaluate_map(schedule.output_window, digits, symbols, grid.size)
        for c in range(grid.size):
            where = tuple(
                slice(o, o + s)
                for o, s in zip(origins[c], schedule.output_window_shape, strict=True)
            )
            out[c][where] += parts[0][c] @ parts[1][c]
        for level in reversed(range(levels)):
            for r in schedule.rotations:
                if schedule.step_dims.index(r.dim) == level:
                    held[r.tensor] = rotated(r, held[r.tensor], symbols)
            last = level == 0 and point[0] == schedule.steps[0] - 1
            for r in schedule.output_rotations:
                if schedule.step_dims.index(r.dim) == level and not last:
                    out = rotated(r, out, symbols)
            if point[level] != schedule.steps[level] - 1:
                break
    total = schedule.output.gather(out, schedule.combine).astype(np.int64)
    return np.stack([(total // BASE**i) % BASE for i in range(k)], axis=-1)


@settings(max_examples=60, deadline=None)
@given(
    fk=st.sampled_from([2, 3, 4, 6]),
    fm=st.integers(1, 3),
    fn=st.integers(1, 2),
    along=st.sampled_from(["m", "n", "mn"]),
    rotate_in0=st.booleans(),
    data=st.data(),
)
def test_every_output_element_receives_every_partial_sum_once(
    fk: int, fm: int, fn: int, along: str, rotate_in0: bool, data: st.DataObject
) -> None:
    """Random small matmuls whose output rotates around a ring of (some of) the k
    cores, along m, n or both (a torus), with or without in0 rotating around n."""
    ring = data.draw(st.sampled_from([t for t in range(2, fk + 1) if fk % t == 0]))
    cut = {"m": ring} if along == "m" else {"n": ring}
    if along == "mn":
        assume(ring % 2 == 0)
        cut = {"m": 2, "n": ring // 2}
    temporal: dict[str, dict[str, int]] = {"out0": cut}
    if rotate_in0 and fn > 1:
        temporal["in0"] = {"k": fn}
    steps = {d: max(f.get(d, 1) for f in temporal.values()) for d in "mnk"}
    m = data.draw(st.integers(fm * steps["m"], fm * steps["m"] + 3))
    n = data.draw(st.integers(fn * steps["n"], fn * steps["n"] + 3))
    k = data.draw(st.integers(fk * steps["k"], fk * steps["k"] + 3))
    plan = P({"m": fm, "n": fn, "k": fk}, temporal)
    domain = matmul_domain(m, n, k)
    assert plan_problems(plan, domain, 64) == []
    np.testing.assert_array_equal(received(plan, m, n, k), np.ones((m, n, k)))


def test_a_rotating_output_holds_one_piece_twice_and_needs_no_epilogue_sum() -> None:
    """4x8x12 f32 matmul, k over 4 cores. Unrotated, each core holds its 4x8 partial
    share (128 bytes) and receives 3 partial chunks of 8 in the reduce-scatter (96);
    rotating around the k ring, it holds one 4x2 piece and the one arriving (64), and
    the pieces leave reduced (no epilogue sum, only the 2-element default share). A
    ring of half the replicas still combines two partials."""
    machine = load_machine(SMALL_SRAM)
    spec = matmul(4, 8, 12, 4)
    inputs_bytes = (4 * 3 + 3 * 8) * 4
    partial = oracles.plan_cost(machine, spec, P({"k": 4}))
    assert partial.memory == inputs_bytes + 4 * 8 * 4 + 3 * 8 * 4
    rotating = oracles.plan_cost(machine, spec, P({"k": 4}, {"out0": {"n": 4}}))
    assert rotating.memory == inputs_bytes + 2 * (4 * 2) * 4 + 2 * 4
    assert (rotating.reduce, rotating.shift, rotating.sync) == (0, 3 * 8, 3 * 200)
    half = oracles.plan_cost(machine, spec, P({"k": 4, "m": 2}, {"out0": {"n": 2}}))
    assert half.reduce > 0
