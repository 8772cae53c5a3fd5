"""The schedule's affine maps, run with numpy, compute the op: each core takes its
pieces from the hot layouts, computes each step's window with an independent numpy
kernel, rotates as the schedule says, and the output layout (with the epilogue's
combine) gives back the reference result."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product

import numpy as np
import pytest

from t10ir.planning.domain import (
    DimKind,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)
from t10ir.planning.layout import evaluate_map
from t10ir.planning.plan import OpPlan, plan_problems
from t10ir.planning.schedule import OpSchedule, Rotation, op_schedule
from t10ir.testing import oracles


def matmul_domain(m: int, n: int, k: int) -> IterationDomain:
    return IterationDomain(
        (LoopDim("m", m), LoopDim("n", n), LoopDim("k", k, DimKind.REDUCTION)),
        (TensorMap.identity(["m", "k"]), TensorMap.identity(["k", "n"])),
        (TensorMap.identity(["m", "n"]),),
        combiner="sum",
        padding=0.0,
    )


def conv1d_domain(f: int, oh: int, c: int, kh: int, pad: int) -> IterationDomain:
    return IterationDomain(
        (
            LoopDim("f", f),
            LoopDim("oh", oh),
            LoopDim("c", c, DimKind.REDUCTION),
            LoopDim("kh", kh, DimKind.REDUCTION),
        ),
        (
            TensorMap(
                (LinearIndex.of("c"), LinearIndex((("oh", 1), ("kh", 1)), -pad)),
                guarded=pad > 0,
            ),
            TensorMap.identity(["f", "c", "kh"]),
        ),
        (TensorMap.identity(["f", "oh"]),),
        combiner="sum",
        padding=0.0,
    )


def window(pieces: np.ndarray, origins: np.ndarray, shape: tuple[int, ...]):
    """Per core, the sub-array of its piece at its origin."""
    return np.stack(
        [
            p[tuple(slice(o, o + s) for o, s in zip(org, shape, strict=True))]
            for p, org in zip(pieces, origins, strict=True)
        ]
    )


def run(
    schedule: OpSchedule,
    kernel: Callable[..., np.ndarray],
    inputs: list[np.ndarray],
) -> np.ndarray:
    grid = schedule.grid
    digits = grid.digits()
    held = [
        layout.scatter(x) for layout, x in zip(schedule.inputs, inputs, strict=True)
    ]
    identity = {"sum": 0.0, "max": -np.inf, "min": np.inf, None: 0.0}
    out = np.full((grid.size, *schedule.output.piece), identity[schedule.accumulate])
    levels = len(schedule.step_dims)

    def rotated(rotation: Rotation, data: np.ndarray, symbols: list[int]):
        when = evaluate_map(rotation.when, digits, symbols, grid.size)
        go = (when == 0).all(axis=1)
        src = rotation.ring.sources()
        return np.where(go.reshape((-1,) + (1,) * (data.ndim - 1)), data[src], data)

    def rotate(level: int, symbols: list[int], last: bool) -> None:
        nonlocal out
        for rotation in schedule.rotations:
            if schedule.step_dims.index(rotation.dim) == level:
                held[rotation.tensor] = rotated(
                    rotation, held[rotation.tensor], symbols
                )
        for rotation in schedule.output_rotations:
            if schedule.step_dims.index(rotation.dim) == level and not last:
                out = rotated(rotation, out, symbols)

    for point in product(*(range(n) for n in schedule.steps)):
        symbols = list(point)
        parts = [
            window(
                h,
                evaluate_map(w, digits, symbols, grid.size),
                shape,
            )
            for h, w, shape in zip(
                held,
                schedule.input_windows,
                schedule.input_window_shapes,
                strict=True,
            )
        ]
        result = np.stack([kernel(*core) for core in zip(*parts, strict=True)])
        origins = evaluate_map(schedule.output_window, digits, symbols, grid.size)
        for c in range(grid.size):
            where = tuple(
                slice(o, o + s)
                for o, s in zip(origins[c], schedule.output_window_shape, strict=True)
            )
            if schedule.accumulate:
                out[c][where] += result[c]
            else:
                out[c][where] = result[c]
        # rotations after this step, innermost level first; a level rotates when all
        # deeper levels have completed their loops; the output stays where the last
        # step of the outermost loop leaves it
        for level in reversed(range(levels)):
            last = level == 0 and point[0] == schedule.steps[0] - 1
            rotate(level, symbols, last)
            if point[level] != schedule.steps[level] - 1:
                break
    return schedule.output.gather(out, schedule.combine)


MATMUL_PLANS = [
    OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}}),  # Cannon
    OpPlan.of({"m": 2, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 2}}),  # uneven rings
    OpPlan.of({"m": 4, "n": 2, "k": 2}, {"in1": {"k": 4}}),
    OpPlan.of({"m": 2, "n": 2}, {"in0": {"m": 2}, "in1": {"n": 2}}),  # parallel dims
    OpPlan.of({"m": 3, "k": 2}),  # uneven m, partials
    OpPlan.of({"n": 4, "m": 2}, {"in0": {"m": 2, "k": 2}}),  # torus ring
    OpPlan.of({"k": 4}, {"out0": {"n": 4}}),  # the output rotates around k
    OpPlan.of({"k": 4, "m": 2}, {"out0": {"n": 2}}),  # two rings: combined after
    OpPlan.of({"k": 4, "m": 3}, {"out0": {"m": 2, "n": 2}}),  # a torus ring
    OpPlan.of({"k": 2, "n": 2}, {"in0": {"k": 2}, "out0": {"n": 2}}),  # in0 around n
    OpPlan.of({"k": 2, "m": 4}, {"out0": {"n": 2}, "in1": {"n": 4}}),  # finer steps
    OpPlan.of(),
]


@pytest.mark.parametrize("plan", MATMUL_PLANS, ids=str)
def test_matmul_schedule_computes_the_product(plan: OpPlan) -> None:
    rng = np.random.default_rng(0)
    m, n, k = 12, 8, 16
    domain = matmul_domain(m, n, k)
    assert plan_problems(plan, domain, 64) == []
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    schedule = op_schedule(domain, plan, [(m, k), (k, n)], (m, n))
    for layout in (*schedule.inputs, schedule.output):
        assert layout.check() == []
    for rotation in schedule.rotations:
        assert rotation.ring.check() == []
    np.testing.assert_allclose(run(schedule, np.matmul, [a, b]), a @ b, rtol=1e-12)


def test_hot_layout_matches_the_plans_placement() -> None:
    plan = MATMUL_PLANS[0]
    domain = matmul_domain(16, 16, 16)
    schedule = op_schedule(domain, plan, [(16, 16), (16, 16)], (16, 16))
    origins = schedule.inputs[0].origins()
    # core (i, j) starts with piece (i + j) mod 4 of A's row block i
    for core, (i, j) in enumerate(product(range(4), range(4))):
        assert tuple(origins[core]) == (4 * i, 4 * ((i + j) % 4))
    assert np.array_equal(
        schedule.rotations[0].ring.sources(),
        oracles.shift_sources(plan, domain, "in0", "k"),
    )


@pytest.mark.parametrize(
    "plan",
    [
        OpPlan.of({"f": 2, "oh": 2}, {"in1": {"c": 2}}),
        OpPlan.of({"oh": 4}, {"in1": {"c": 2}}),
        OpPlan.of({"f": 2, "c": 2}, {"in0": {"oh": 2}}),
    ],
    ids=str,
)
def test_padded_conv_schedule(plan: OpPlan) -> None:
    rng = np.random.default_rng(1)
    f, oh, c, kh, pad = 4, 8, 4, 3, 1
    domain = conv1d_domain(f, oh, c, kh, pad)
    assert plan_problems(plan, domain, 16) == []
    x, w = rng.normal(size=(c, oh + kh - 1 - 2 * pad)), rng.normal(size=(f, c, kh))

    def conv(xp: np.ndarray, wp: np.ndarray) -> np.ndarray:
        out = xp.shape[1] - wp.shape[2] + 1
        return np.einsum(
            "cok,fck->fo",
            np.stack([xp[:, i : i + out] for i in range(wp.shape[2])], axis=2),
            wp,
        )

    reference = conv(np.pad(x, ((0, 0), (pad, pad))), w)
    schedule = op_schedule(domain, plan, [x.shape, w.shape], (f, oh))
    np.testing.assert_allclose(run(schedule, conv, [x, w]), reference, rtol=1e-12)
