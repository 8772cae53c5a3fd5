"""The plan search (T10 primer, section 6) against an independent brute force.

On small ops and small machines every plan is enumerated here with itertools (every
spatial factor tuple, every temporal factor of every input and of the output along
every loop dim that indexes it), kept when `plan_problems` finds nothing wrong with it, costed with
`oracles.plan_cost` and reduced to its Pareto set by a quadratic scan: the exhaustive
search must find the same (memory, cycles) frontier from as many valid plans, rotating
outputs included. Then: the pruned search stays valid and close; Cannon's algorithm or
its dual (an input and the output rotating) is what a k x k machine picks when nothing
faster fits; memory is monotone in the temporal and spatial factors where the model
says it must be; the frontier is ordered, order-independent and deterministic.

The IPU Mk2 matmul fit is checked against the primer's formula on a table of shapes in
test_cost.py, so it is not repeated here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import pairwise, product
from math import ceil, prod
from random import Random

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from op_specs import conv1d, grouped_conv1d, matmul

from t10ir.cost.plan_cost import OpSpec, PlanCost
from t10ir.memo import clear_caches
from t10ir.planning.domain import DimKind, IterationDomain, LoopDim, TensorMap
from t10ir.planning.plan import OpPlan, plan_problems, tensor_map, tensor_names
from t10ir.planning.search import (
    Frontier,
    SearchOptions,
    free_movement_bound,
    pareto,
    search_plans,
)
from t10ir.target import Machine, load_machine
from t10ir.testing import oracles

IPU = load_machine("ipu-mk2")

Pair = tuple[int, int]


def target(cores: int, sram_bytes: int = IPU.sram_bytes) -> Machine:
    """The IPU Mk2's figures on a machine of `cores` cores."""
    return dataclasses.replace(
        IPU, name=f"ipu-{cores}", cores=cores, sram_bytes=sram_bytes
    )


def spec(
    domain: IterationDomain,
    operands: tuple[tuple[int, ...], ...],
    result: tuple[int, ...],
    elem: int,
) -> OpSpec:
    return OpSpec(domain, operands, (result,), (elem,) * len(operands), (elem,))


def batched_matmul(b: int, m: int, n: int, k: int, rhs_batched: bool) -> OpSpec:
    """`C[b, m, n] += A[b, m, k] * B[b?, k, n]` in f16."""
    rhs = ["b", "k", "n"] if rhs_batched else ["k", "n"]
    domain = IterationDomain(
        (
            LoopDim("b", b),
            LoopDim("m", m),
            LoopDim("n", n),
            LoopDim("k", k, DimKind.REDUCTION),
        ),
        (TensorMap.identity(["b", "m", "k"]), TensorMap.identity(rhs)),
        (TensorMap.identity(["b", "m", "n"]),),
        combiner="sum",
        padding=0.0,
    )
    rhs_shape = (b, k, n) if rhs_batched else (k, n)
    return spec(domain, ((b, m, k), rhs_shape), (b, m, n), 2)


def add_broadcast(x: int, y: int) -> OpSpec:
    """`out[x, y] = a[x, y] + bias[y]` in f16."""
    domain = IterationDomain(
        (LoopDim("x", x), LoopDim("y", y)),
        (TensorMap.identity(["x", "y"]), TensorMap.identity(["y"])),
        (TensorMap.identity(["x", "y"]),),
    )
    return spec(domain, ((x, y), (y,)), (x, y), 2)


def layernorm_like(i: int, j: int) -> OpSpec:
    """`out[i, j] = normalize_j(x[i, j]) * gamma[j]` in f16: `j` is reduced and
    indexes the result, so it is never split."""
    domain = IterationDomain(
        (LoopDim("i", i), LoopDim("j", j, DimKind.REDUCTION)),
        (TensorMap.identity(["i", "j"]), TensorMap.identity(["j"])),
        (TensorMap.identity(["i", "j"]),),
        combiner="sum",
        padding=0.0,
    )
    return spec(domain, ((i, j), (j,)), (i, j), 2)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    spec: OpSpec
    cores: int

    @property
    def machine(self) -> Machine:
        return target(self.cores)


CASES = [
    Case("matmul-8x8x8-f32-16", matmul(8, 8, 8, 4), 16),
    Case("matmul-8x8x8-f32-8", matmul(8, 8, 8, 4), 8),
    Case("matmul-12x6x8-f32-6", matmul(12, 6, 8, 4), 6),
    Case("matmul-8x8x8-f16-4", matmul(8, 8, 8, 2), 4),
    Case("bmm-2x4x4x4-8", batched_matmul(2, 4, 4, 4, rhs_batched=True), 8),
    Case("bmm-shared-rhs-2x4x4x4-8", batched_matmul(2, 4, 4, 4, False), 8),
    Case("add-broadcast-8x12-8", add_broadcast(8, 12), 8),
    Case("conv-4x4x2x3-8", conv1d(4, 4, 2, 3), 8),
    Case("grouped-conv-2x2x3x2-8", grouped_conv1d(2, 2, 3, 2), 8),
    Case("layernorm-like-6x8-4", layernorm_like(6, 8), 4),
]


def inputs(domain: IterationDomain) -> list[str]:
    return list(tensor_names(domain)[: len(domain.operands)])


def tensors(domain: IterationDomain) -> list[str]:
    """The inputs, then the output: every tensor a plan may cut in time."""
    return list(tensor_names(domain)[: len(domain.operands) + 1])


def brute_force_plans(op: OpSpec, cores: int) -> Iterator[OpPlan]:
    """Every plan whose spatial factors use at most `cores` cores and whose temporal
    factors cut each input along the loop dims that index it, up to the per-core
    extent, valid or not; and the output likewise where the product of its factors
    divides its replicas (`OpPlan.check`'s ring rule, applied here so that the output's
    cuts multiply only the rows it can rotate in)."""
    domain = op.domain
    names = [d.name for d in domain.dims]
    output = tensor_names(domain)[len(domain.operands)]
    slots = [(v, d) for v in tensors(domain) for d in tensor_map(domain, v).dims()]
    for spatial in product(*(range(1, d.extent + 1) for d in domain.dims)):
        if prod(spatial) > cores:
            continue
        share = {
            d.name: ceil(d.extent / f)
            for d, f in zip(domain.dims, spatial, strict=True)
        }
        replicas = OpPlan.of(dict(zip(names, spatial, strict=True))).replicas(
            domain, output
        )
        ranges = [
            range(1, share[d] + 1) if v != output or replicas > 1 else range(1, 2)
            for v, d in slots
        ]
        for factors in product(*ranges):
            temporal: dict[str, dict[str, int]] = {v: {} for v in tensors(domain)}
            for (v, d), t in zip(slots, factors, strict=True):
                temporal[v][d] = t
            if replicas % prod(temporal[output].values()):
                continue
            yield OpPlan.of(dict(zip(names, spatial, strict=True)), temporal)


@cache
def valid_plans(case: Case) -> tuple[tuple[OpPlan, PlanCost], ...]:
    """The case's valid plans and their costs, by brute force."""
    return tuple(
        (plan, oracles.plan_cost(case.machine, case.spec, plan))
        for plan in brute_force_plans(case.spec, case.cores)
        if plan_problems(plan, case.spec.domain, case.cores, case.spec.operand_shapes)
        == []
    )


def pareto_pairs(pairs: Iterable[Pair]) -> set[Pair]:
    """The (memory, cycles) pairs that no other pair is at most in both."""
    distinct = set(pairs)
    return {
        p
        for p in distinct
        if not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in distinct)
    }


def frontier_pairs(frontier: Frontier) -> list[Pair]:
    return [(p.cost.memory, p.cost.cycles) for p in frontier.points]


# ---- the exhaustive search is the brute force ----------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_exhaustive_search_finds_the_brute_force_frontier(case: Case) -> None:
    plans = valid_plans(case)
    expected = pareto_pairs((c.memory, c.cycles) for _, c in plans)
    frontier = search_plans(case.machine, case.spec, oracles.EXHAUSTIVE)
    assert set(frontier_pairs(frontier)) == expected
    assert len(frontier.points) == len(expected)
    # The search costs every valid plan once: none missed, none twice.
    assert frontier.candidates == len(plans)
    domain = case.spec.domain
    if {d.name for d in domain.reduction_dims} - domain.normalized_dims:
        assert any(plan.ring_size("out0") > 1 for plan, _ in plans)
    for point in frontier.points:
        assert (
            plan_problems(
                point.plan, case.spec.domain, case.cores, case.spec.operand_shapes
            )
            == []
        )
        assert oracles.plan_cost(case.machine, case.spec, point.plan) == point.cost


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_free_movement_bound_is_the_brute_force_fastest_own_time(case: Case) -> None:
    """The bound is the fewest cycles of any fitting plan without its relayout: what
    the op costs if its inputs arrive free and its output stays put."""
    own = [
        c.compute + c.shift + c.sync + c.reduce
        for _, c in valid_plans(case)
        if c.memory <= case.machine.sram_bytes
    ]
    assert free_movement_bound(case.machine, case.spec, oracles.EXHAUSTIVE) == min(own)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_pruned_search_is_valid_and_close_to_the_exhaustive_one(case: Case) -> None:
    """The default options prune the space, so their frontier is weakly dominated by
    the exhaustive one. Every exhaustive point above the pruned frontier's smallest
    memory is matched within 1.5x by a pruned plan of at most its memory (measured on
    these ops: 1.0x). Below it nothing is matched: the pruned smallest plan of the
    batched matmul with a shared B needs 40 bytes, while B's torus ring (n 4 x k 2 on
    a b 2 x m 4 grid, 32 bytes) is cut by `rotation_dims=1`.

    Measured on larger ops (16 cores): a 96x48x80 f16 matmul loses 1.65x at 3392
    bytes, because `rotation_dims=1` forbids B's torus ring (n 3 x k 5, 24,408 cycles)
    and the best single-cycle ring at that memory takes 40,223; the smallest plans of
    a 16x30x8x3 conv (472 bytes, a torus ring) and a 64x100 add with a broadcast bias
    (2428 bytes, 12% padding) are pruned, so the pruned frontier starts at 568 and
    2450 bytes.
    """
    exhaustive = search_plans(case.machine, case.spec, oracles.EXHAUSTIVE)
    pruned = search_plans(case.machine, case.spec, SearchOptions())
    assert 0 < pruned.candidates <= exhaustive.candidates
    for point in pruned.points:
        assert (
            plan_problems(
                point.plan, case.spec.domain, case.cores, case.spec.operand_shapes
            )
            == []
        )
        assert any(
            q.cost.memory <= point.cost.memory and q.cost.cycles <= point.cost.cycles
            for q in exhaustive.points
        )
    for q in exhaustive.points:
        fitting = pruned.fastest_fitting(q.cost.memory)
        assert (fitting is None) == (q.cost.memory < pruned.smallest.cost.memory)
        if fitting is not None:
            assert fitting.cost.cycles <= 1.5 * q.cost.cycles


# ---- Cannon's algorithm on a k x k machine -------------------------------------------


def cannon(k: int) -> OpPlan:
    return OpPlan.of({"m": k, "n": k}, {"in0": {"k": k}, "in1": {"k": k}})


def factors(op: OpSpec, plan: OpPlan) -> tuple[tuple[int, ...], ...]:
    """Every spatial and temporal factor of `plan`, in domain order (1 when absent)."""
    dims = [d.name for d in op.domain.dims]
    return (
        tuple(plan.spatial_factor(d) for d in dims),
        *(tuple(plan.temporal_factor(v, d) for d in dims) for v in tensors(op.domain)),
    )


def rotated_memory(size: int, k: int, elem: int, pieces: int) -> int:
    """Memory per core of a square matmul on a k x k grid (`m`, `n` split k ways, not
    `k`) whose inputs are both cut in `pieces` along the reduction dim (primer 5 and
    plan_cost's docstring): each input's per-core share is an `(N/k) x N` strip, its
    piece `(N/k) x (N/pieces)`, held twice when it rotates; the output share is
    `(N/k)^2`; nothing is reduced, so the epilogue buffer is the default layout's
    `ceil(N^2 / cores)` elements."""
    side = size // k
    piece = side * (size // pieces) * elem
    buffers = 2 if pieces > 1 else 1
    output = side * side * elem
    epilogue = ceil(size * size / (k * k)) * elem
    return 2 * buffers * piece + output + epilogue


def cannon_duals(k: int) -> list[OpPlan]:
    """Cannon's plan with the output in one input's role: `k` split with one of `m`,
    `n`; the input that the other dim does not index stays, and the other input and the
    output's partial sums rotate along it (no epilogue reduction: each piece collects
    its `k` partial sums on its way round the ring)."""
    return [
        OpPlan.of({"n": k, "k": k}, {"in0": {"m": k}, "out0": {"m": k}}),
        OpPlan.of({"m": k, "k": k}, {"in1": {"n": k}, "out0": {"n": k}}),
    ]


@pytest.mark.parametrize("options", [SearchOptions(), oracles.EXHAUSTIVE])
@pytest.mark.parametrize(("size", "k"), [(64, 4), (48, 4), (128, 8)])
def test_cannon_or_its_dual_is_chosen_when_replication_does_not_fit(
    size: int, k: int, options: SearchOptions
) -> None:
    """f32 square matmuls on k x k cores with SRAM of exactly Cannon's footprint:
    `6 (N/k)^2 b` (A and B pieces of `(N/k)^2`, doubled; C; the epilogue buffer).
    Replicated strips need `(2k + 2) (N/k)^2 b`; cutting them in two halves a piece but
    doubles its buffer, so the half-rotated plan needs exactly as much. Cannon's duals
    (an input and the output rotating) need the same memory and are faster: an output
    does not rotate back after its last step, so they shift one piece fewer."""
    elem = 4
    op = matmul(size, size, size, elem)
    cannon_memory = rotated_memory(size, k, elem, k)
    assert cannon_memory == 6 * (size // k) ** 2 * elem
    unrotated = rotated_memory(size, k, elem, 1)
    half_rotated = rotated_memory(size, k, elem, 2)
    assert unrotated == half_rotated > cannon_memory
    machine = target(k * k, sram_bytes=cannon_memory)
    half = OpPlan.of({"m": k, "n": k}, {"in0": {"k": 2}, "in1": {"k": 2}})
    assert (
        oracles.plan_cost(machine, op, OpPlan.of({"m": k, "n": k})).memory == unrotated
    )
    assert oracles.plan_cost(machine, op, half).memory == half_rotated
    reference = oracles.plan_cost(machine, op, cannon(k))
    for dual in cannon_duals(k):
        cost = oracles.plan_cost(machine, op, dual)
        assert cost.memory == cannon_memory
        assert cost.cycles < reference.cycles

    chosen = search_plans(machine, op, options).fastest_fitting(machine.sram_bytes)
    assert chosen is not None
    assert factors(op, chosen.plan) in [factors(op, p) for p in cannon_duals(k)]
    assert chosen.cost.memory == cannon_memory


@pytest.mark.parametrize(
    ("size", "k", "elem"), [(64, 4, 4), (96, 4, 2), (128, 4, 2), (256, 8, 2)]
)
def test_nothing_chosen_at_cannons_memory_is_slower_than_cannon(
    size: int, k: int, elem: int
) -> None:
    """Cannon's plan is in the space, so the fastest plan fitting its footprint is at
    least as fast. In f16 it is not Cannon: e.g. for 96^3 on 16 cores a 2 x 8 grid
    that rotates only A along k (8 pieces of 48 x 12) and keeps B's 96 x 12 strip
    needs the same 6912 bytes and is faster (12,846 cycles)."""
    op = matmul(size, size, size, elem)
    machine = target(k * k)
    reference = oracles.plan_cost(machine, op, cannon(k))
    assert reference.memory == rotated_memory(size, k, elem, k)
    chosen = search_plans(machine, op).fastest_fitting(reference.memory)
    assert chosen is not None
    assert chosen.cost.cycles <= reference.cycles


# ---- monotonicity, frontier shape, order-independence, determinism -------------------


def held_bytes(op: OpSpec, plan: OpPlan, v: int) -> int:
    """Bytes input `v` takes per core: its piece, twice when it rotates."""
    name = inputs(op.domain)[v]
    piece = prod(oracles.piece_shape(plan, op.domain, name, op.operand_shapes[v]))
    buffers = 2 if plan.ring_size(name) > 1 else 1
    return buffers * piece * op.operand_bytes[v]


Factors = tuple[tuple[int, ...], ...]


def plans_by_factors(case: Case) -> dict[Factors, tuple[OpPlan, PlanCost]]:
    return {factors(case.spec, plan): (plan, cost) for plan, cost in valid_plans(case)}


def piece(plan: OpPlan, domain: IterationDomain, name: str) -> int:
    return prod(oracles.piece_shape(plan, domain, name))


def test_finer_rotation_never_grows_memory_by_brute_force() -> None:
    """Over every pair of valid plans of the brute-force ops that differ only in one
    input v's temporal factor along one dim (raised): v's piece never grows, and, when
    the steps pad no core's share further, total memory changes by exactly the change
    of v's held bytes (its piece, twice when it rotates), so it never grows once v
    already rotates. From 1 to 2 it can grow: the second buffer. (Steps that do not
    divide a share pad it, which grows the other tensors' parts of it.)"""
    compared = 0
    for case in CASES:
        domain = case.spec.domain
        dims = [d.name for d in domain.dims]
        plans = plans_by_factors(case)
        for (spatial, *temporal), (plan, cost) in plans.items():
            for v, name in enumerate(inputs(domain)):
                for d in tensor_map(domain, name).dims():
                    i = dims.index(d)
                    for t in range(temporal[v][i] + 1, domain.extents[d] + 1):
                        row = (*temporal[v][:i], t, *temporal[v][i + 1 :])
                        key = (spatial, *temporal[:v], row, *temporal[v + 1 :])
                        if key not in plans:
                            continue
                        other, other_cost = plans[key]
                        compared += 1
                        assert piece(other, domain, name) <= piece(plan, domain, name)
                        if other.core_extents(domain) != plan.core_extents(domain):
                            continue
                        assert other_cost.memory - cost.memory == held_bytes(
                            case.spec, other, v
                        ) - held_bytes(case.spec, plan, v)
                        if plan.ring_size(name) > 1:
                            assert other_cost.memory <= cost.memory
    assert compared > 500


def test_wider_spatial_splits_never_grow_pieces_by_brute_force() -> None:
    """Over every pair of valid plans of the brute-force ops that differ only in one
    spatial factor (raised): no input's piece grows, and total memory does not grow
    when the dim indexes the output. Splitting a reduction dim further is not covered:
    it adds partial sums to receive in the epilogue."""
    compared = 0
    for case in CASES:
        domain = case.spec.domain
        output_dims = set(domain.results[0].dims())
        plans = plans_by_factors(case)
        for (spatial, *temporal), (plan, cost) in plans.items():
            for i, dim in enumerate(domain.dims):
                for f in range(spatial[i] + 1, dim.extent + 1):
                    key = ((*spatial[:i], f, *spatial[i + 1 :]), *temporal)
                    if key not in plans:
                        continue
                    other, other_cost = plans[key]
                    compared += 1
                    for name in inputs(domain):
                        assert piece(other, domain, name) <= piece(plan, domain, name)
                    if dim.name in output_dims:
                        assert other_cost.memory <= cost.memory
    assert compared > 500


@st.composite
def rotated_matmuls(draw: st.DrawFn) -> tuple[OpSpec, OpPlan, OpPlan, int]:
    """A valid matmul plan with power-of-two factors (so chains always divide) and the
    same plan with one input's temporal factor along one dim doubled or more."""
    m, n, k = (draw(st.integers(8, 300)) for _ in range(3))
    op = matmul(m, n, k, draw(st.sampled_from([2, 4])))
    # A rotates over its replicas along n, B over its replicas along m; input v gets
    # at least one factor of two of room to grow.
    v = draw(st.sampled_from([0, 1]))
    room = {"n" if v == 0 else "m": draw(st.integers(1, 3))}
    room.setdefault("m", draw(st.integers(0, 3)))
    room.setdefault("n", draw(st.integers(0, 3)))
    spatial = {
        "m": 2 ** room["m"],
        "n": 2 ** room["n"],
        "k": 2 ** draw(st.integers(0, 3)),
    }
    exponents: dict[str, dict[str, int]] = {}
    for u, (first, second), replicas in (("in0", "mk", "n"), ("in1", "kn", "m")):
        left = room[replicas] - (u == f"in{v}")
        a = draw(st.integers(0, left))
        exponents[u] = {first: a, second: draw(st.integers(0, left - a))}
    name = f"in{v}"
    before = OpPlan.of(
        spatial, {u: {d: 2**e for d, e in f.items()} for u, f in exponents.items()}
    )
    dim = draw(st.sampled_from(sorted(exponents[name])))
    left = room["n" if v == 0 else "m"] - sum(exponents[name].values())
    exponents[name][dim] += draw(st.integers(1, left))
    after = OpPlan.of(
        spatial, {u: {d: 2**e for d, e in f.items()} for u, f in exponents.items()}
    )
    assume(
        plan_problems(before, op.domain, 512) == []
        and plan_problems(after, op.domain, 512) == []
        and before.core_extents(op.domain) == after.core_extents(op.domain)
    )
    return op, before, after, v


@settings(max_examples=300, deadline=None)
@given(rotated_matmuls())
def test_finer_rotation_never_grows_memory_on_random_matmuls(
    case: tuple[OpSpec, OpPlan, OpPlan, int],
) -> None:
    """Raising one input's temporal factor (its steps padding no share further): its
    piece never grows, total memory moves by exactly its held bytes, and never grows
    once the input already rotates."""
    op, before, after, v = case
    machine = target(512)
    name = f"in{v}"
    assert piece(after, op.domain, name) <= piece(before, op.domain, name)
    old, new = (
        oracles.plan_cost(machine, op, before),
        oracles.plan_cost(machine, op, after),
    )
    assert new.memory - old.memory == held_bytes(op, after, v) - held_bytes(
        op, before, v
    )
    if before.ring_size(name) > 1:
        assert new.memory <= old.memory


MID_SIZE = [
    Case("matmul-64x64x64-f32-16", matmul(64, 64, 64, 4), 16),
    Case("matmul-96x48x80-f16-16", matmul(96, 48, 80, 2), 16),
    Case("matmul-128x128x128-f16-64", matmul(128, 128, 128, 2), 64),
    Case("bmm-4x32x32x32-16", batched_matmul(4, 32, 32, 32, rhs_batched=False), 16),
    Case("conv-16x30x8x3-16", conv1d(16, 30, 8, 3), 16),
    Case("add-broadcast-64x100-16", add_broadcast(64, 100), 16),
]


@pytest.mark.parametrize("options", [SearchOptions(), oracles.EXHAUSTIVE])
@pytest.mark.parametrize("case", CASES + MID_SIZE, ids=lambda c: c.name)
def test_frontier_is_strictly_ordered(case: Case, options: SearchOptions) -> None:
    frontier = search_plans(case.machine, case.spec, options)
    memory, cycles = zip(*frontier_pairs(frontier), strict=True)
    assert all(a < b for a, b in pairwise(memory))
    assert all(a > b for a, b in pairwise(cycles))
    assert frontier.smallest is frontier.points[0]
    assert frontier.fastest_fitting(memory[0] - 1) is None
    assert frontier.fastest_fitting(memory[-1]) is frontier.points[-1]


pairs_lists = st.lists(
    st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=40
)


@settings(max_examples=300, deadline=None)
@given(pairs_lists, st.randoms(use_true_random=False))
def test_pareto_is_the_frontier_in_any_order(pairs: list[Pair], rng: Random) -> None:
    """`pareto` keeps each Pareto-optimal pair once, at its first occurrence, by
    increasing memory, and picks the same pairs from any permutation."""
    shuffled = list(pairs)
    rng.shuffle(shuffled)
    for entries in (pairs, shuffled):
        memory = np.array([p[0] for p in entries])
        cycles = np.array([p[1] for p in entries])
        chosen = [int(i) for i in pareto(memory, cycles)]
        picked = [entries[i] for i in chosen]
        assert set(picked) == pareto_pairs(pairs)
        assert len(picked) == len(set(picked))
        assert picked == sorted(picked)
        assert all(entries.index(entries[i]) == i for i in chosen)


@pytest.mark.parametrize("case", [CASES[0], MID_SIZE[1]], ids=lambda c: c.name)
def test_search_is_deterministic(case: Case) -> None:
    clear_caches()
    first = search_plans(case.machine, case.spec, oracles.EXHAUSTIVE)
    clear_caches()
    second = search_plans(case.machine, case.spec, oracles.EXHAUSTIVE)
    assert first is not second
    assert first == second


def test_relaxed_search_reaches_plans_the_pruning_drops() -> None:
    """`t10-partition` searches again with `SearchOptions.relaxed()` when no pruned
    plan fits: on the 16x30x8x3 conv the relaxed space reaches the exhaustive
    smallest memory (a torus ring) that the default pruning cuts."""
    op, machine = conv1d(16, 30, 8, 3), target(16)
    pruned = search_plans(machine, op, SearchOptions())
    relaxed = search_plans(machine, op, SearchOptions.relaxed())
    exhaustive = search_plans(machine, op, oracles.EXHAUSTIVE)
    assert relaxed.smallest.cost.memory == exhaustive.smallest.cost.memory
    assert relaxed.smallest.cost.memory < pruned.smallest.cost.memory
