"""The plan cost model (`t10ir.cost.plan_cost`) on plans costed by hand.

Every field of `PlanCost` is worked out here from the primer's formulas (section 5) and
plan_cost's docstring, with the link bandwidth and sync from the `Machine`: Cannon's
plan, a spatial-only plan with the reduction split, an elementwise op with a rotating
broadcast operand, a convolution whose input pieces carry a halo, a plan spanning two
chips, and T10's 128x5120x15360 reference matmul. Then the vectorized `cost_plans`
against `oracles.plan_cost` row by row, and `plan_arrays` / `plan_of` round trips.
"""

from __future__ import annotations

import dataclasses
from math import ceil

import numpy as np
import pytest
from op_specs import conv1d, matmul

from t10ir.cost.plan_cost import (
    OpSpec,
    PlanCost,
    cost_plans,
    plan_arrays,
    plan_of,
)
from t10ir.planning.domain import IterationDomain, LoopDim, TensorMap
from t10ir.planning.plan import OpPlan, plan_problems, tensor_dims, tensor_names
from t10ir.target import ComputeModel, Machine, load_machine
from t10ir.testing import oracles

IPU = load_machine("ipu-mk2")
SIXTEEN = dataclasses.replace(IPU, name="ipu-16", cores=16)


def primer_matmul(m: int, k: int, n: int, b: int) -> float:
    """Primer section 5, as written there: m the larger of m and n, unless both are
    at most 16, then m the smaller."""
    if m <= 16 and n <= 16:
        m, n = sorted((m, n))
    elif m < n:
        m, n = n, m
    kb = ceil(k / (32 / b))
    return (
        b * 12 * ceil(m / 6) * kb * ceil(n / 16)
        + 514 * kb * ceil(n / 16)
        + 113 * ceil(n / 16)
        + 173
    )


def primer_elementwise(e: int) -> float:
    big, small = 0.5 * e + 300, 0.75 * e + 290
    return small if small < big and e <= 16432 else big


def shift(machine: Machine, elements: int, b: int) -> float:
    """Cycles to shift `elements` of `b` bytes (the IPU's `e*b/2*0.56`)."""
    return elements * b / machine.link_bytes_per_cycle


def add_broadcast(x: int, y: int) -> OpSpec:
    """`out[x, y] = a[x, y] + bias[y]` in f16."""
    domain = IterationDomain(
        (LoopDim("x", x), LoopDim("y", y)),
        (TensorMap.identity(["x", "y"]), TensorMap.identity(["y"])),
        (TensorMap.identity(["x", "y"]),),
    )
    return OpSpec(domain, ((x, y), (y,)), ((x, y),), (2, 2), (2,))


def cost_fields(cost: PlanCost) -> dict[str, int]:
    return dataclasses.asdict(cost)


def test_cannon_64_cubed_f32_on_16_cores() -> None:
    """F = [m:4, n:4, k:1]; A and B each cut in 4 along k and rotating."""
    op, plan = (
        matmul(64, 64, 64, 4),
        OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}}),
    )
    b, sync = 4, SIXTEEN.sync_cycles
    steps = 4  # along k
    # Per core: A 16 x 64, B 64 x 16, C 16 x 16; per step a 16 x 16 x 16 matmul.
    compute = steps * primer_matmul(16, 64 // 4, 16, b)
    piece = 16 * 16  # A's 16 x 64 strip in 4, and B's 64 x 16 strip in 4
    rounds = 4 * steps // 4  # per input: t * N / n_k, the last one back home
    shifts = 2 * rounds * shift(SIXTEEN, piece, b)
    # Nothing is reduced; the 16 x 16 output block moves once into the default layout
    # (an even 4096 / 16 elements per core).
    relayout = shift(SIXTEEN, max(16 * 16, ceil(64 * 64 / 16)), b) + sync
    memory = 2 * (2 * piece * b) + 16 * 16 * b + ceil(64 * 64 / 16) * b
    expected = PlanCost(
        steps=steps,
        cores=16,
        memory=memory,
        compute=ceil(compute),
        shift=ceil(shifts),
        sync=ceil(2 * rounds * 2 * sync),
        reduce=0,
        relayout=ceil(relayout),
    )
    cost = oracles.plan_cost(SIXTEEN, op, plan)
    assert cost_fields(cost) == cost_fields(expected)
    assert (cost.memory, cost.compute, cost.shift, cost.sync, cost.relayout) == (
        6144,
        6408,
        2294,
        1888,
        405,
    )
    assert cost.epilogue == cost.relayout
    assert cost.cycles == cost.compute + cost.shift + cost.sync + cost.relayout


def test_spatial_plan_with_the_reduction_split() -> None:
    """F = [m:2, n:2, k:4], nothing in time: 4 cores hold partial sums of each 32 x 32
    output block and reduce-scatter them (each receives 3 quarters of 256 elements)."""
    op, plan = matmul(64, 64, 64, 4), OpPlan.of({"m": 2, "n": 2, "k": 4})
    b, sync = 4, SIXTEEN.sync_cycles
    held = 32 * 32
    partial_holders = 4
    chunk = ceil(held / partial_holders)
    received = (partial_holders - 1) * chunk
    reduce = shift(SIXTEEN, received, b) + sync + primer_elementwise(received)
    relayout = shift(SIXTEEN, max(chunk, ceil(64 * 64 / 16)), b) + sync
    memory = (32 * 16 + 16 * 32 + held) * b + max(received, ceil(64 * 64 / 16)) * b
    expected = PlanCost(
        steps=1,
        cores=16,
        memory=memory,
        compute=ceil(primer_matmul(32, 16, 32, b)),
        shift=0,
        sync=0,
        reduce=ceil(reduce),
        relayout=ceil(relayout),
    )
    cost = oracles.plan_cost(SIXTEEN, op, plan)
    assert cost_fields(cost) == cost_fields(expected)
    assert (cost.memory, cost.compute, cost.reduce, cost.relayout) == (
        11264,
        3607,
        1663,
        405,
    )
    assert cost.epilogue == cost.reduce + cost.relayout


def test_an_f16_sum_accumulates_in_the_machines_f32() -> None:
    """An f16 matmul (a float sum) on the IPU's f32 accumulator: cut in time along k
    (Cannon's plan), its 16 x 16 output share is held in f32 while the steps add to it
    and then rounded into an f16 share by one unary pass (both held). Nothing changes
    on a machine accumulating in f16, nor for a result that is not a float."""
    half = dataclasses.replace(SIXTEEN, accumulator_type="f16")
    plain = matmul(64, 64, 64, 2)
    wide = dataclasses.replace(plain, float_result=True)
    cannon = OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})
    held = 16 * 16
    before = oracles.plan_cost(SIXTEEN, plain, cannon)
    after = oracles.plan_cost(SIXTEEN, wide, cannon)
    assert after.memory - before.memory == held * (4 - 2) + held * 2
    assert after.compute - before.compute == ceil(0.5 * held + 200)
    assert (after.shift, after.sync, after.reduce, after.relayout) == (
        before.shift,
        before.sync,
        before.reduce,
        before.relayout,
    )
    # Split over cores but not cut in time, each core's partial sum is whole in one
    # step: nothing accumulates, and the partials are exchanged in f16.
    split = OpPlan.of({"m": 2, "n": 2, "k": 4})
    assert oracles.plan_cost(SIXTEEN, wide, split) == oracles.plan_cost(
        SIXTEEN, plain, split
    )
    assert oracles.plan_cost(half, wide, cannon) == oracles.plan_cost(
        half, plain, cannon
    )


def test_elementwise_with_a_rotating_broadcast_operand() -> None:
    """64 x 128 f16 add of a bias row on a 4 x 4 grid: the bias is replicated along x,
    so it is cut in 4 along y and rotates; `a` is neither replicated nor cut."""
    op = add_broadcast(64, 128)
    plan = OpPlan.of({"x": 4, "y": 4}, {"in1": {"y": 4}})
    b, sync = 2, SIXTEEN.sync_cycles
    steps = 4
    compute = steps * primer_elementwise(16 * (32 // 4))
    bias_piece = 32 // 4
    rounds = 4 * steps // 4
    relayout = shift(SIXTEEN, max(16 * 32, ceil(64 * 128 / 16)), b) + sync
    memory = 16 * 32 * b + 2 * bias_piece * b + 16 * 32 * b + ceil(64 * 128 / 16) * b
    expected = PlanCost(
        steps=steps,
        cores=16,
        memory=memory,
        compute=ceil(compute),
        shift=ceil(rounds * shift(SIXTEEN, bias_piece, b)),
        sync=ceil(rounds * 2 * sync),
        reduce=0,
        relayout=ceil(relayout),
    )
    cost = oracles.plan_cost(SIXTEEN, op, plan)
    assert cost_fields(cost) == cost_fields(expected)
    assert (cost.memory, cost.compute, cost.shift, cost.sync) == (3104, 1456, 18, 944)


def test_convolution_pieces_carry_their_halo() -> None:
    """8 filters, 16 output rows, 4 channels, 3 taps, on F = [f:2, oh:4]: x (replicated
    along f) is cut in 2 along c, w (replicated along oh) in 4 along c. A core's x
    piece covers 4 output rows plus a halo of 2: 2 channels x 6 columns."""
    op = conv1d(8, 16, 4, 3)
    plan = OpPlan.of({"f": 2, "oh": 4}, {"in0": {"c": 2}, "in1": {"c": 4}})
    assert plan_problems(plan, op.domain, 8) == []
    # The implicit GEMM, not the IPU's fit to measured convolutions (test_kernel_fit).
    machine = dataclasses.replace(IPU, name="ipu-8", cores=8, compute=ComputeModel())
    b, sync = 4, machine.sync_cycles
    steps = 4  # along c: max(2, 4)
    # Implicit GEMM per step: m = oh (4), n = f (4), k = c * kh (1 * 3).
    compute = steps * primer_matmul(4, 1 * 3, 4, b)
    x_piece = (4 // 2) * ((4 - 1) + (3 - 1) + 1)
    w_piece = 4 * (4 // 4) * 3
    x_rounds, w_rounds = 2 * steps // 4, 4 * steps // 4
    shifts = x_rounds * shift(machine, x_piece, b) + w_rounds * shift(
        machine, w_piece, b
    )
    held = 4 * 4
    relayout = shift(machine, max(held, ceil(8 * 16 / 8)), b) + sync
    memory = (2 * x_piece + 2 * w_piece + held + ceil(8 * 16 / 8)) * b
    expected = PlanCost(
        steps=steps,
        cores=8,
        memory=memory,
        compute=ceil(compute),
        shift=ceil(shifts),
        sync=ceil((x_rounds + w_rounds) * 2 * sync),
        reduce=0,
        relayout=ceil(relayout),
    )
    cost = oracles.plan_cost(machine, op, plan)
    assert cost_fields(cost) == cost_fields(expected)
    assert (cost.memory, cost.compute, cost.shift, cost.sync) == (320, 3392, 81, 1416)


@pytest.mark.parametrize("chips", [1, 2])
def test_a_plan_over_two_chips_pays_the_factor_on_communication(chips: int) -> None:
    """A two-level chain on 32 cores (A in 8 pieces along k, B in 4) of one chip or
    two chips of 16: shifts and the output's move cost 1.25x, syncs and compute do
    not."""
    machine = dataclasses.replace(
        IPU,
        name=f"ipu-32-{chips}",
        cores=32,
        chips=chips,
        inter_chip_comm_factor=1.25,
    )
    factor = 1.25 if chips == 2 else 1.0
    op = matmul(64, 64, 64, 4)
    plan = OpPlan.of({"m": 4, "n": 8}, {"in0": {"k": 8}, "in1": {"k": 4}})
    b, sync = 4, machine.sync_cycles
    steps = 8
    a_piece, b_piece = 16 * (64 // 8), (64 // 4) * 8
    a_rounds, b_rounds = 8 * steps // 8, 4 * steps // 8
    shifts = factor * (
        a_rounds * shift(machine, a_piece, b) + b_rounds * shift(machine, b_piece, b)
    )
    held = 16 * 8
    relayout = factor * shift(machine, max(held, ceil(64 * 64 / 32)), b) + sync
    expected = PlanCost(
        steps=steps,
        cores=32,
        memory=(2 * a_piece + 2 * b_piece + held + ceil(64 * 64 / 32)) * b,
        compute=ceil(steps * primer_matmul(16, 8, 8, b)),
        shift=ceil(shifts),
        sync=ceil((a_rounds + b_rounds) * 2 * sync),
        reduce=0,
        relayout=ceil(relayout),
    )
    assert cost_fields(oracles.plan_cost(machine, op, plan)) == cost_fields(expected)


def test_t10_reference_matmul_on_ipu_mk2() -> None:
    """T10's 128x5120x15360 f16 matmul on F = [m:4, n:26, k:14] (1456 cores), primer
    section 7: "482 KB per core". Per core the resident pieces are A 32 x 366, B 366 x
    591 and C 32 x 591 (ceil divisions: 26 x 591 = 15366, 14 x 366 = 5124), 493,860
    bytes = 482.3 KiB; the model adds the buffer that receives 13 of the 14 partial-sum
    chunks, 35,126 bytes."""
    op = matmul(128, 15360, 5120, 2)
    plan = OpPlan.of({"m": 4, "n": 26, "k": 14})
    assert plan_problems(plan, op.domain, IPU.cores) == []
    b, sync = 2, IPU.sync_cycles
    m, n, k = ceil(128 / 4), ceil(15360 / 26), ceil(5120 / 14)
    assert (m, n, k) == (32, 591, 366)
    resident = (m * k + k * n + m * n) * b
    assert resident == 493_860
    chunk = ceil(m * n / 14)
    received = 13 * chunk
    default = ceil(128 * 15360 / IPU.cores)
    assert received * b == 35_126
    expected = PlanCost(
        steps=1,
        cores=4 * 26 * 14,
        memory=resident + max(received, default) * b,
        compute=ceil(primer_matmul(m, k, n, b)),
        shift=0,
        sync=0,
        reduce=ceil(shift(IPU, received, b) + sync + primer_elementwise(received)),
        relayout=ceil(shift(IPU, max(chunk, default), b) + sync),
    )
    cost = oracles.plan_cost(IPU, op, plan)
    assert cost_fields(cost) == cost_fields(expected)
    assert cost.memory == 528_986 <= IPU.sram_bytes
    assert (cost.compute, cost.reduce, cost.relayout, cost.cycles) == (
        133_339,
        19_035,
        875,
        153_249,
    )


# ---- the vectorized model and the plan <-> array conversions -------------------------


def random_rows(
    op: OpSpec, count: int, seed: int, cores: int
) -> tuple[np.ndarray, np.ndarray]:
    """Random valid plans of `op` as `cost_plans` arrays: power-of-two factors, and
    temporal ones only along the loop dims a tensor (an input, or the output,
    rotating around its split reduction dims) may be cut along."""
    rng = np.random.default_rng(seed)
    names = [d.name for d in op.domain.dims]
    tensors = tensor_names(op.domain)
    cuttable = np.array(
        [[d in tensor_dims(op.domain, v) for d in names] for v in tensors]
    )
    spatial_rows: list[np.ndarray] = []
    temporal_rows: list[np.ndarray] = []
    while len(spatial_rows) < count:
        spatial = rng.choice([1, 2, 4, 8], size=len(names))
        temporal = np.where(cuttable, rng.choice([1, 1, 2, 4], size=cuttable.shape), 1)
        if plan_problems(plan_of(op, spatial, temporal), op.domain, cores) == []:
            spatial_rows.append(spatial)
            temporal_rows.append(temporal)
    return np.array(spatial_rows), np.array(temporal_rows)


@pytest.mark.parametrize(
    "op", [matmul(96, 40, 72, 2), conv1d(8, 16, 4, 3)], ids=["matmul", "conv"]
)
def test_cost_plans_equals_plan_cost_row_by_row(op: OpSpec) -> None:
    spatial, temporal = random_rows(op, 200, seed=7, cores=64)
    assert (
        len(
            {(s.tobytes(), t.tobytes()) for s, t in zip(spatial, temporal, strict=True)}
        )
        > 50
    )
    machine = dataclasses.replace(IPU, name="ipu-64", cores=64)
    costs = cost_plans(machine, op, spatial, temporal)
    for i in range(len(spatial)):
        one = oracles.plan_cost(machine, op, plan_of(op, spatial[i], temporal[i]))
        assert costs.row(i) == one
        assert costs.cycles[i] == one.cycles


def test_plan_arrays_and_plan_of_round_trip() -> None:
    op = matmul(96, 40, 72, 2)
    spatial, temporal = random_rows(op, 100, seed=3, cores=64)
    plans = [plan_of(op, s, t) for s, t in zip(spatial, temporal, strict=True)]
    back_spatial, back_temporal = plan_arrays(op, plans)
    np.testing.assert_array_equal(back_spatial, spatial)
    np.testing.assert_array_equal(back_temporal, temporal)
    # A plan written with split dims only, in domain order, comes back equal; one with
    # factors of 1 and another order comes back as that plan.
    canonical = OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})
    loose = OpPlan.of(
        {"k": 1, "n": 4, "m": 4}, {"in1": {"n": 1, "k": 4}, "in0": {"k": 4, "m": 1}}
    )
    for plan in (canonical, loose):
        rows = plan_arrays(op, [plan])
        assert plan_of(op, rows[0][0], rows[1][0]) == canonical
    empty_spatial, empty_temporal = plan_arrays(op, [])
    assert (empty_spatial.shape, empty_temporal.shape) == ((0, 3), (0, 3, 3))
