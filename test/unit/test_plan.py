"""Plans on their own: derived quantities by hand, Cannon's placement, validation, and a
simulated rotation showing that the placement aligns every tensor at every step."""

from itertools import product
from math import prod

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from t10ir.dialects.rtensor import OpPlanAttr
from t10ir.planning.domain import (
    DimKind,
    IterationDomain,
    LinearIndex,
    LoopDim,
    TensorMap,
)
from t10ir.planning.plan import (
    OpPlan,
    plan_problems,
    tensor_dims,
    tensor_map,
    tensor_names,
)
from t10ir.testing import oracles


def matmul(m: int, n: int, k: int, batch: tuple[int, bool, bool] | None = None):
    """`C[b, m, n] += A[b?, m, k] * B[b?, k, n]`; `batch` = (extent, A has b, B has b)."""
    dims = [LoopDim("m", m), LoopDim("n", n), LoopDim("k", k, DimKind.REDUCTION)]
    a, b, c = ["m", "k"], ["k", "n"], ["m", "n"]
    if batch is not None:
        dims.insert(0, LoopDim("b", batch[0]))
        a, b, c = ["b"] * batch[1] + a, ["b"] * batch[2] + b, ["b"] + c
    return IterationDomain(
        tuple(dims),
        (TensorMap.identity(a), TensorMap.identity(b)),
        (TensorMap.identity(c),),
        combiner="sum",
        padding=0.0,
    )


def elementwise(x: int, y: int, lhs: list[str], rhs: list[str]) -> IterationDomain:
    """`out[x, y] = lhs[...] + rhs[...]` with numpy broadcasting."""
    return IterationDomain(
        (LoopDim("x", x), LoopDim("y", y)),
        (TensorMap.identity(lhs), TensorMap.identity(rhs)),
        (TensorMap.identity(["x", "y"]),),
    )


def cannon(k: int) -> OpPlan:
    return OpPlan.of({"m": k, "n": k, "k": 1}, {"in0": {"k": k}, "in1": {"k": k}})


# ---- derived quantities ---------------------------------------------------------


def test_matmul_plan_by_hand() -> None:
    """A 128x96x64 matmul on 4 x 2 x 2 cores; A cut 2 ways along k, B 4 ways."""
    domain = matmul(128, 96, 64)
    plan = OpPlan.of({"m": 4, "n": 2, "k": 2}, {"in0": {"k": 2}, "in1": {"k": 4}})
    assert plan_problems(plan, domain, 16) == []
    assert plan.cores == 16
    # A[m, k] is replicated along n, B[k, n] along m, C[m, n] along k (partial sums).
    assert [plan.replicas(domain, v) for v in ("in0", "in1", "out0")] == [2, 4, 2]
    assert [plan.ring_size(v) for v in ("in0", "in1", "out0")] == [2, 4, 1]
    assert [oracles.rings(plan, domain, v) for v in ("in0", "in1", "out0")] == [1, 1, 2]
    assert (plan.steps_along("k"), plan.steps_along("m"), plan.steps) == (4, 1, 4)
    assert plan.core_extents(domain) == {"m": 32, "n": 48, "k": 32}
    assert plan.step_extents(domain) == {"m": 32, "n": 48, "k": 8}
    assert oracles.sub_tensor_shape(plan, domain, "in0") == (32, 32)
    assert oracles.piece_shape(plan, domain, "in0") == (32, 16)
    assert oracles.piece_shape(plan, domain, "in1") == (8, 48)
    assert oracles.piece_shape(plan, domain, "out0") == (32, 48)
    assert oracles.padding(plan, domain) == 0.0
    # A's ring runs along n, B's along m.
    assert [plan.free_axes(domain, v) for v in ("in0", "in1")] == [("n",), ("m",)]


def test_padding_rounds_up() -> None:
    domain = matmul(130, 96, 64)
    plan = OpPlan.of({"m": 4})
    assert plan.core_extents(domain)["m"] == 33
    assert oracles.padding(plan, domain) == pytest.approx(4 * 33 / 130 - 1)
    assert oracles.piece_shape(plan, domain, "in0", (130, 64)) == (33, 64)


def test_window_and_reshape_dims_take_one_factor() -> None:
    """A conv input's row takes the factor of `oh`, not `kh`; a reshape's `n` cuts the
    outer tensor dim only."""
    window = LinearIndex((("oh", 1), ("kh", 1)))
    conv = IterationDomain(
        (LoopDim("oh", 6), LoopDim("kh", 3, DimKind.REDUCTION)),
        (TensorMap((window,)), TensorMap.identity(["kh"])),
        (TensorMap.identity(["oh"]),),
        combiner="sum",
        padding=0.0,
    )
    plan = OpPlan.of({"oh": 3, "kh": 1})
    assert tensor_dims(conv, "in0") == ("oh",)
    assert oracles.sub_tensor_shape(plan, conv, "in0") == (
        4,
    )  # 2 rows plus a halo of 2
    bad = OpPlan.of({"oh": 3}, {"in0": {"kh": 3}})
    assert "indexes it only inside a window" in plan_problems(bad, conv, 8)[0]


def test_domain_free_quantities() -> None:
    plan = OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 2}})
    assert plan.spatial_factor("k") == 1
    assert plan.temporal_factor("in1", "k") == 2
    assert plan.temporal_factor("out0", "k") == 1
    assert plan.check() == []


# ---- Cannon's algorithm ---------------------------------------------------------


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_cannon_placement_aligns_under_rotation(k: int) -> None:
    """Core (i, j) starts with piece (i + j) mod k of A and B; A moves from (i, j+1) to
    (i, j), B from (i+1, j) to (i, j); at every step both cover the same k-slice, and
    every core sees every piece once."""
    domain = matmul(4 * k, 4 * k, 4 * k)
    plan = cannon(k)
    assert plan_problems(plan, domain, k * k) == []
    cores = oracles.all_cores(plan)
    a = oracles.placement(plan, domain, "in0")(cores).reshape(k, k)
    b = oracles.placement(plan, domain, "in1")(cores).reshape(k, k)
    i, j = np.indices((k, k))
    np.testing.assert_array_equal(a, (i + j) % k)
    np.testing.assert_array_equal(b, (i + j) % k)
    np.testing.assert_array_equal(
        oracles.shift_sources(plan, domain, "in0", "k").reshape(k, k),
        i * k + (j + 1) % k,
    )
    np.testing.assert_array_equal(
        oracles.shift_sources(plan, domain, "in1", "k").reshape(k, k),
        (i + 1) % k * k + j,
    )
    seen_a, seen_b = [], []
    for _ in range(k):
        np.testing.assert_array_equal(a, b)
        seen_a.append(a)
        seen_b.append(b)
        a, b = np.roll(a, -1, axis=1), np.roll(b, -1, axis=0)
    for seen in (seen_a, seen_b):
        np.testing.assert_array_equal(
            np.sort(np.stack(seen), axis=0), np.indices((k, k, k))[0]
        )
    assert plan.ring_size("in0") == plan.replicas(domain, "in0") == k
    assert oracles.piece_shape(plan, domain, "in0") == (4, 4)


# ---- validation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "cores", "message"),
    [
        (OpPlan.of({"m": 0}), 16, "spatial factor 0 of m must be >= 1"),
        (
            OpPlan.of({"m": 2}, {"in0": {"k": 0}}),
            16,
            "temporal factor 0 of in0 along k must be >= 1",
        ),
        (OpPlan.of({"q": 2}), 16, "unknown loop dim q in the spatial factors"),
        (OpPlan.of({"n": 2}, {"in7": {"k": 2}}), 16, "unknown tensor in7"),
        (
            OpPlan.of({"m": 8, "n": 4}),
            16,
            "the spatial factors use 32 cores but the machine has 16",
        ),
        (OpPlan.of({"m": 16}), 16, "spatial factor 16 of m exceeds its extent 8"),
        (
            OpPlan.of({"m": 2}, {"in1": {"m": 2}}),
            16,
            "in1 is split in time along m, which does not index it",
        ),
        (
            OpPlan.of({"n": 4}, {"in0": {"k": 8}}),
            16,
            "in0 is cut into 8 pieces in time, which does not divide the 4 cores",
        ),
        (
            OpPlan.of({"n": 2, "m": 4}, {"in0": {"k": 4}}),
            16,
            "in0 is cut into 4 pieces in time, which does not divide its 2 replicas",
        ),
        (
            OpPlan.of({"m": 6, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 6}}),
            64,
            "temporal factors along k do not form a divisibility chain: in0 = 4, in1 = 6",
        ),
        (
            OpPlan.of({"n": 2, "k": 8}, {"in0": {"k": 2}}),
            16,
            "2 steps along k exceed its per-core extent 1",
        ),
    ],
)
def test_validate_names_each_broken_rule(
    plan: OpPlan, cores: int, message: str
) -> None:
    domain = matmul(8, 8, 8)
    assert any(message in problem for problem in plan_problems(plan, domain, cores)), (
        plan_problems(plan, domain, cores)
    )


def test_validate_rejects_tensors_rotating_over_a_shared_axis() -> None:
    """`out[x, y] = a[x] * b[x]`: a and b are both replicated along y; rotating both along
    x would need one skew of x per tensor."""
    domain = IterationDomain(
        (LoopDim("x", 4), LoopDim("y", 4)),
        (TensorMap.identity(["x"]), TensorMap.identity(["x"])),
        (TensorMap.identity(["x", "y"]),),
    )
    plan = OpPlan.of({"y": 4}, {"in0": {"x": 2}, "in1": {"x": 4}})
    assert plan_problems(plan, domain, 4) == [
        "in0 and in1 both rotate along x and are both replicated along y: their "
        "pieces cannot be aligned"
    ]
    assert plan_problems(OpPlan.of({"y": 4}, {"in1": {"x": 4}}), domain, 4) == []


# ---- attributes -----------------------------------------------------------------


def test_plan_attribute_converts_both_ways() -> None:
    plan = cannon(4)
    attr = OpPlanAttr.from_plan(plan)
    assert attr.to_plan() == plan
    assert str(attr) == (
        "#rtensor.plan<spatial = [m = 4, n = 4, k = 1], "
        "temporal = [in0 = [k = 4], in1 = [k = 4]]>"
    )


# ---- placement by simulation ----------------------------------------------------


def simulate(domain: IterationDomain, plan: OpPlan) -> None:
    """Rotate every tensor from its placement as the plan says, and check that at every
    step each ring holds each of its pieces once, that all pieces a core holds cover the
    same slice of every loop dim, and that each core visits every slice once."""
    names = tensor_names(domain)
    cores = oracles.all_cores(plan)
    held = {v: oracles.placement(plan, domain, v)(cores) for v in names}
    rings = {v: oracles.ring_ids(plan, domain, v) for v in names}
    dims = [d.name for d in domain.dims if plan.steps_along(d.name) > 1]
    counts = [plan.steps_along(d) for d in dims]
    visited = []
    previous: dict[str, int] = {}
    for values in product(*(range(n) for n in counts)):
        step = dict(zip(dims, values, strict=True))
        for d in (d for d in dims if previous and step[d] != previous[d]):
            for v in names:
                moves = oracles.shifts(plan, domain, v, d, step)
                source = oracles.shift_sources(plan, domain, v, d)
                np.testing.assert_array_equal(moves[source], moves)  # rings move as one
                assert (rings[v][source] == rings[v]).all()
                held[v] = np.where(moves, held[v][source], held[v])
        previous = step
        slices = {}
        for v in names:
            size = plan.ring_size(v)
            key = rings[v] * size + held[v]
            np.testing.assert_array_equal(np.bincount(key, minlength=plan.cores), 1)
            split = [
                d
                for d in tensor_map(domain, v).dims()
                if plan.temporal_factor(v, d) > 1
            ]
            radices = [plan.temporal_factor(v, d) for d in split]
            rest = held[v]
            for d, t in reversed(list(zip(split, radices, strict=True))):
                piece, rest = rest % t, rest // t
                width = plan.steps_along(d) // t
                slices.setdefault(d, []).append((piece * width, width))
        position = np.zeros_like(cores)
        for d, n in zip(dims, counts, strict=True):
            finest = min(slices[d], key=lambda s: s[1])
            assert finest[1] == 1
            for start, width in slices[d]:
                assert ((start <= finest[0]) & (finest[0] < start + width)).all()
            position = position * n + finest[0]
        visited.append(position)
    np.testing.assert_array_equal(
        np.sort(np.stack(visited), axis=0),
        np.broadcast_to(np.arange(prod(counts))[:, None], (prod(counts), plan.cores)),
    )


def test_simulation_of_a_two_level_chain() -> None:
    """A cut 4 ways along k, B 2 ways, C 2 ways along m: slow and fast rings at once."""
    domain = matmul(8, 8, 8)
    plan = OpPlan.of(
        {"m": 2, "n": 4, "k": 2}, {"in0": {"k": 4}, "in1": {"k": 2}, "out0": {"m": 2}}
    )
    assert plan_problems(plan, domain, 16) == []
    simulate(domain, plan)


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def domains(draw: st.DrawFn) -> IterationDomain:
    size = st.integers(1, 8)
    if draw(st.integers(0, 2)):
        batch = draw(
            st.none() | st.tuples(st.integers(1, 3), st.booleans(), st.booleans())
        )
        return matmul(draw(size), draw(size), draw(size), batch)
    shapes = st.sampled_from([["x", "y"], ["x"], ["y"]])
    return elementwise(draw(size), draw(size), draw(shapes), draw(shapes))


@st.composite
def plans(draw: st.DrawFn, domain: IterationDomain) -> OpPlan:
    """Spatial factors up to the extents; per tensor a ring size dividing its replica
    count (most often the largest), spread over the dims that index it, or along a
    dim another tensor already rotates along (to make divisibility chains)."""
    spatial = {d.name: draw(st.integers(1, d.extent)) for d in domain.dims}
    temporal: dict[str, dict[str, int]] = {}
    for v in tensor_names(domain):
        left = draw(
            st.sampled_from(divisors(OpPlan.of(spatial).replicas(domain, v))[::-1])
        )
        dims = draw(st.permutations(tensor_map(domain, v).dims()))
        rotated = {d for factors in temporal.values() for d in factors}
        if draw(st.booleans()):
            dims.sort(key=lambda d: d not in rotated)
        factors: dict[str, int] = {}
        for d in dims[:-1]:
            factors[d] = draw(st.sampled_from(divisors(left)[::-1]))
            left //= factors[d]
        temporal[v] = {**factors, dims[-1]: left}
    return OpPlan.of(spatial, temporal)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_placement_aligns_at_every_step(data: st.DataObject) -> None:
    domain = data.draw(domains())
    plan = data.draw(plans(domain))
    assume(plan_problems(plan, domain, plan.cores) == [])
    simulate(domain, plan)


CHAINS = [(1, 1), (1, 2), (2, 2), (1, 3), (2, 4), (1, 4), (3, 3)]


@st.composite
def chained_matmul_plans(draw: st.DrawFn) -> tuple[IterationDomain, OpPlan]:
    """Matmul plans where A, B and C all rotate, two per loop dim with factors forming a
    chain, and A and C along two dims each."""

    def chain() -> tuple[int, int]:
        pair = draw(st.sampled_from(CHAINS))
        return pair if draw(st.booleans()) else pair[::-1]

    (a_k, b_k), (a_m, c_m), (b_n, c_n) = chain(), chain(), chain()
    spread = st.integers(1, 2)
    spatial = {
        "m": b_k * b_n * draw(spread),
        "n": a_m * a_k * draw(spread),
        "k": c_m * c_n * draw(spread),
    }
    assume(prod(spatial.values()) <= 4096)
    steps = {"m": max(a_m, c_m), "n": max(b_n, c_n), "k": max(a_k, b_k)}
    domain = matmul(*(spatial[d] * steps[d] * draw(spread) for d in ("m", "n", "k")))
    plan = OpPlan.of(
        spatial,
        {
            "in0": {"m": a_m, "k": a_k},
            "in1": {"k": b_k, "n": b_n},
            "out0": {"m": c_m, "n": c_n},
        },
    )
    return domain, plan


@settings(max_examples=60, deadline=None)
@given(chained_matmul_plans())
def test_placement_aligns_chained_matmuls(case: tuple[IterationDomain, OpPlan]) -> None:
    domain, plan = case
    assert plan_problems(plan, domain, plan.cores) == []
    simulate(domain, plan)
