"""Placement on a mesh: every rotation step of a ring is at most two hops."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from t10ir.planning.domain import DimKind, IterationDomain, LoopDim, TensorMap
from t10ir.planning.layout import Grid, cores_spanned
from t10ir.planning.plan import OpPlan
from t10ir.target.placement import fold, grid_cores
from t10ir.target.presets import load_machine
from t10ir.testing import oracles


@pytest.mark.parametrize("block", [1, 2, 3, 4, 5, 8, 9])
def test_fold_keeps_ring_neighbours_within_two(block: int) -> None:
    position = fold(2 * block, block)
    assert sorted(position) == list(range(2 * block))
    for start in (0, block):
        ring = position[start : start + block]
        gaps = np.abs(ring - np.roll(ring, -1))
        assert gaps.max(initial=0) <= 2


def _matmul(m: int, n: int, k: int) -> IterationDomain:
    return IterationDomain(
        (LoopDim("m", m), LoopDim("n", n), LoopDim("k", k, DimKind.REDUCTION)),
        (TensorMap.identity(["m", "k"]), TensorMap.identity(["k", "n"])),
        (TensorMap.identity(["m", "n"]),),
        combiner="sum",
        padding=0.0,
    )


@pytest.mark.parametrize(
    ("mesh", "plan"),
    [
        ((4, 4), OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})),
        ((4, 4), OpPlan.of({"n": 16}, {"in0": {"k": 16}})),
        ((6, 6), OpPlan.of({"m": 6, "n": 6}, {"in0": {"k": 6}, "in1": {"k": 3}})),
    ],
    ids=str,
)
def test_rings_step_at_most_two_hops_on_a_mesh(
    mesh: tuple[int, int], plan: OpPlan
) -> None:
    machine = dataclasses.replace(
        load_machine("ipu-mk2"), cores=mesh[0] * mesh[1], topology="mesh2d", mesh=mesh
    )
    domain = _matmul(48, 48, 48)
    cores = np.array(grid_cores(machine, plan, domain))
    assert sorted(cores) == list(range(plan.cores))
    assert grid_cores(machine, plan, domain) == tuple(cores)  # deterministic
    row, col = cores // mesh[1], cores % mesh[1]
    for tensor in ("in0", "in1"):
        if plan.ring_size(tensor) == 1:
            continue
        src = oracles.shift_sources(plan, domain, tensor, "k")
        hops = np.abs(row - row[src]) + np.abs(col - col[src])
        assert hops.max() <= 2


def test_all_to_all_keeps_the_logical_order() -> None:
    plan = OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})
    assert grid_cores(load_machine("ipu-mk2"), plan, _matmul(48, 48, 48)) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Grid((4,)), Grid((2, 3))),
        (Grid((2, 2), (7, 3, 5, 1)), Grid((3,), (1, 9, 7))),
        (Grid((3,), (0, 2, 4)), Grid((2,))),
    ],
)
def test_cores_spanned_counts_the_union_of_physical_cores(
    first: Grid, second: Grid
) -> None:
    union = np.union1d(first.physical(), second.physical())
    assert cores_spanned(first, second) == len(union)
