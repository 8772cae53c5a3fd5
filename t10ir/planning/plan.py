"""Compute-shift plans for one operator (T10 primer, section 4), in plain Python.

An `OpPlan` says how an op's iteration domain is spread over cores (a spatial factor
`F[d]` per loop dim) and how each core's share of every tensor is cut in time (a temporal
factor `t[d][v]` per loop dim `d` and tensor `v`). Everything else follows from the plan and
the domain: replica groups, rings, steps, per-core shapes, and where each piece lives at
step 0.

Tensors are named `in0, in1, ...` (the op's operands, in order) and `out0, ...` (its
results), as `input0`/`output0` in T10's einstein expressions. An output is cut in time
like an input: its free axes are the reduction dims split over cores, so its pieces
rotate around them, each core adding its partial sum into the piece it holds
(`t10ir.planning.schedule`).

Cores and coordinates. Core `c` has one coordinate per spatially split loop dim, in the
order of `OpPlan.spatial` (the first is the slowest); core ids are the row-major flattening.

Rings. Tensor `v` is replicated along its *free axes*: the split loop dims that do not index
it. Flatten a core's coordinates along them (first slowest) into `rho`; the core is at
position `rho mod T_v` of ring `rho div T_v` of its replica group. The position is read as
one digit `p[d]` per dim `d` that splits `v` in time (mixed radix, in the order in which the
dims index `v`), so a ring is a torus with one cycle of `t[d][v]` cores per split dim.

Placement (Cannon's skew, generalized). Along loop dim `d` each core runs `n[d]` steps and
processes step-slice `j[d] = (o[d] + s[d]) mod n[d]` at step `s[d]`, where the offset
`o[d] = sum over tensors v split on d of g[d][v] * p_v[d]` and `g[d][v] = n[d] / t[d][v]`
is how many step-slices one piece of `v` spans. Tensor `v` then holds piece
`j[d] div g[d][v]` along `d`. Because every tensor reads its piece from the same `j[d]`, all
pieces a core holds at a step cover the same slice of every loop dim (alignment), and as
`s[d]` runs through `n[d]` steps a core sees every slice once. Every other tensor's term of
`o[d]` is constant over a ring of `v` (they use other free axes; the search keeps only such plans),
so a ring of `v` holds each of its pieces exactly once at every step, all cores of a ring
change piece at the same steps, and the new piece comes from the ring neighbour whose digit
`p[d]` is one larger: a rotation. For Cannon's plan this is core `(i, j)` starting with
piece `(i + j) mod k` of both A and B.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import ceil, prod

from t10ir.errors import T10Error
from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    Index,
    IterationDomain,
    LinearIndex,
    TensorMap,
)

Factors = tuple[tuple[str, int], ...]
"""`(name, factor)` pairs; a name not listed has factor 1."""


class PlanError(T10Error):
    """A plan that does not fit its op's iteration domain."""


def tensor_names(domain: IterationDomain) -> tuple[str, ...]:
    """`in0, ..., out0, ...`: the names plans use for an op's operands and results."""
    return (
        *(f"in{i}" for i in range(len(domain.operands))),
        *(f"out{i}" for i in range(len(domain.results))),
    )


def tensor_map(domain: IterationDomain, tensor: str) -> TensorMap:
    """The index map of the operand or result named `tensor`."""
    maps = dict(
        zip(tensor_names(domain), domain.operands + domain.results, strict=True)
    )
    if tensor not in maps:
        raise PlanError(f"unknown tensor '{tensor}' (the op has {', '.join(maps)})")
    return maps[tensor]


def _attributed_dim(domain: IterationDomain, index: Index) -> str | None:
    """The loop dim whose split splits this tensor dim: its single term, or the
    parallel term of a window (`oh * 2 + kh`); None for constants and gathers."""
    linear = index.linear if isinstance(index, DelinearizedIndex) else index
    if not isinstance(linear, LinearIndex) or not linear.dims():
        return None
    kinds = {d.name: d.kind for d in domain.dims}
    parallel = [d for d in linear.dims() if kinds[d] is DimKind.PARALLEL]
    return (parallel or list(linear.dims()))[0]


def tensor_dims(domain: IterationDomain, tensor: str) -> tuple[str | None, ...]:
    """Per tensor dim, the loop dim whose factors it takes (see `_attributed_dim`).

    A loop dim that indexes several tensor dims (a reshape's `n floordiv 64`, `n mod 64`)
    gives its factors to the first of them only: splitting `n` into contiguous chunks cuts
    the outermost tensor dim.
    """
    seen: set[str] = set()
    result: list[str | None] = []
    for index in tensor_map(domain, tensor).indices:
        dim = _attributed_dim(domain, index)
        if dim in seen:
            dim = None
        if dim is not None:
            seen.add(dim)
        result.append(dim)
    return tuple(result)


@dataclass(frozen=True)
class OpPlan:
    """Spatial factors per loop dim and temporal factors per (tensor, loop dim)."""

    spatial: Factors = ()
    temporal: tuple[tuple[str, Factors], ...] = ()

    @staticmethod
    def of(
        spatial: Mapping[str, int] | None = None,
        temporal: Mapping[str, Mapping[str, int]] | None = None,
    ) -> OpPlan:
        """`OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})`."""
        return OpPlan(
            tuple((spatial or {}).items()),
            tuple((v, tuple(f.items())) for v, f in (temporal or {}).items()),
        )

    # ---- what the plan says on its own -------------------------------------------

    def spatial_factor(self, dim: str) -> int:
        return dict(self.spatial).get(dim, 1)

    def temporal_factors(self, tensor: str) -> Factors:
        return dict(self.temporal).get(tensor, ())

    def temporal_factor(self, tensor: str, dim: str) -> int:
        return dict(self.temporal_factors(tensor)).get(dim, 1)

    @property
    def cores(self) -> int:
        """Cores used: one sub-operator per core."""
        return prod(f for _, f in self.spatial)

    def ring_size(self, tensor: str) -> int:
        """`T_v`: pieces of one core's share, and cores per ring."""
        return prod(f for _, f in self.temporal_factors(tensor))

    def steps_along(self, dim: str) -> int:
        """`n_d = max_v t[d][v]`."""
        return max((dict(f).get(dim, 1) for _, f in self.temporal), default=1)

    @property
    def steps(self) -> int:
        dims = {d for _, factors in self.temporal for d, _ in factors}
        return prod(self.steps_along(d) for d in dims)

    def check(self) -> list[str]:
        """The rules that hold whatever the domain: factors >= 1, no name twice, chains
        of temporal factors, and ring sizes dividing the core count (`T_v | r_v`, and
        `r_v` divides the cores)."""
        problems: list[str] = []
        if len({d for d, _ in self.spatial}) != len(self.spatial):
            problems.append("a loop dim has two spatial factors")
        if len({v for v, _ in self.temporal}) != len(self.temporal):
            problems.append("a tensor has two lists of temporal factors")
        for d, f in self.spatial:
            if f < 1:
                problems.append(f"spatial factor {f} of {d} must be >= 1")
        for v, factors in self.temporal:
            if len({d for d, _ in factors}) != len(factors):
                problems.append(f"{v} has two temporal factors for one loop dim")
            for d, t in factors:
                if t < 1:
                    problems.append(
                        f"temporal factor {t} of {v} along {d} must be >= 1"
                    )
        if problems:
            return problems
        for d in dict.fromkeys(d for _, factors in self.temporal for d, _ in factors):
            chain = sorted(
                (t, v)
                for v, _ in self.temporal
                if (t := self.temporal_factor(v, d)) > 1
            )
            for (small, u), (large, v) in zip(chain, chain[1:], strict=False):
                if large % small:
                    problems.append(
                        f"temporal factors along {d} do not form a divisibility chain: "
                        f"{u} = {small}, {v} = {large}"
                    )
        for v, _ in self.temporal:
            if self.cores % self.ring_size(v):
                problems.append(
                    f"{v} is cut into {self.ring_size(v)} pieces in time, which does not "
                    f"divide the {self.cores} cores"
                )
        return problems

    # ---- derived from the op's domain --------------------------------------------

    def replicas(self, domain: IterationDomain, tensor: str) -> int:
        """`r_v`: cores that need the same spatial sub-tensor of `tensor`."""
        return prod(self.spatial_factor(d) for d in self.free_axes(domain, tensor))

    def free_axes(self, domain: IterationDomain, tensor: str) -> tuple[str, ...]:
        """Split loop dims that do not index `tensor`: its rings run along them."""
        indexing = tensor_map(domain, tensor).dims()
        return tuple(d for d, f in self.spatial if f > 1 and d not in indexing)

    def split_dims(self, domain: IterationDomain, tensor: str) -> tuple[str, ...]:
        """Loop dims that cut `tensor` in time, in the order they index it."""
        factors = dict(self.temporal_factors(tensor))
        return tuple(
            d for d in tensor_map(domain, tensor).dims() if factors.get(d, 1) > 1
        )

    def core_extents(self, domain: IterationDomain) -> dict[str, int]:
        """Each loop dim's extent in one core's share, `ceil(L / F)` rounded up to a
        whole number of steps (`n * ceil(ceil(L / F) / n)`): a split in time that does
        not divide it pads the last step's slice, so that slices never cross into
        another core's share."""
        return {
            d.name: (n := self.steps_along(d.name))
            * ceil(ceil(d.extent / self.spatial_factor(d.name)) / n)
            for d in domain.dims
        }

    def step_extents(self, domain: IterationDomain) -> dict[str, int]:
        """Each loop dim's extent in the sub-operator one core runs at one step."""
        share = self.core_extents(domain)
        return {d: ceil(e / self.steps_along(d)) for d, e in share.items()}


# ---- the rules a plan keeps for its op -----------------------------------------------


def plan_problems(
    plan: OpPlan,
    domain: IterationDomain,
    machine_cores: int | None = None,
    operand_shapes: Sequence[Sequence[int]] | None = None,
) -> list[str]:
    """Every rule the plan breaks for an op of this domain (on a machine of
    `machine_cores` cores when given), its operands of `operand_shapes` (by default
    the parts of them the maps read): one message per broken rule. The plan search
    enumerates only plans that keep them all (test_search checks it by brute force);
    the `rtensor.plan` verifier reports the first a hand-written plan breaks."""
    problems = plan.check()
    extents = domain.extents
    names = tensor_names(domain)
    for d, _ in plan.spatial:
        if d not in extents:
            problems.append(f"unknown loop dim {d} in the spatial factors")
    for v, factors in plan.temporal:
        if v not in names:
            problems.append(f"unknown tensor {v} (the op has {', '.join(names)})")
            continue
        for d, _ in factors:
            if d not in extents:
                problems.append(f"unknown loop dim {d} in the temporal factors of {v}")
    if problems:
        return problems
    if machine_cores is not None and plan.cores > machine_cores:
        problems.append(
            f"the spatial factors use {plan.cores} cores but the machine has "
            f"{machine_cores}"
        )
    for d, f in plan.spatial:
        if f > extents[d]:
            problems.append(
                f"spatial factor {f} of {d} exceeds its extent {extents[d]}"
            )
    for d in sorted(domain.normalized_dims):
        if plan.spatial_factor(d) > 1 or any(
            plan.temporal_factor(v, d) > 1 for v, _ in plan.temporal
        ):
            why = (
                "its sub-operator needs it whole"
                if d in domain.whole
                else "it is reduced and broadcast back (it indexes the result)"
            )
            problems.append(f"{d} cannot be split: {why}")
    uneven = domain.uneven_reductions(operand_shapes or read_shapes(domain))
    reductions = {d.name for d in domain.reduction_dims}
    for dim in domain.reduction_dims:
        if dim.name not in uneven and dim.extent % plan.spatial_factor(dim.name):
            problems.append(
                f"reduction dim {dim.name} of extent {dim.extent} is split over "
                f"{plan.spatial_factor(dim.name)} cores unevenly, and its points "
                "beyond the extent do not provably add nothing to the reduction"
            )
    for d in dict.fromkeys(d for _, factors in plan.temporal for d, _ in factors):
        share = ceil(extents[d] / plan.spatial_factor(d))
        if plan.steps_along(d) > share:
            problems.append(
                f"{plan.steps_along(d)} steps along {d} exceed its per-core extent "
                f"{share}"
            )
        elif d in reductions and d not in uneven and share % plan.steps_along(d):
            problems.append(
                f"{plan.steps_along(d)} steps along reduction dim {d} do not divide "
                f"its per-core extent {share}, and its points beyond the extent do "
                "not provably add nothing to the reduction"
            )
    box = plan.step_extents(domain)
    for outer, inner in domain.nested:
        cut = [d for d in inner if box[d] < extents[d]]
        if box[outer] > 1 and cut:
            problems.append(
                f"a step spans {box[outer]} positions of {outer} but only part of "
                f"{', '.join(cut)}: its sub-operator needs {', '.join(inner)} whole "
                f"when it spans several of {outer}"
            )
    for v, factors in plan.temporal:
        indexing = tensor_map(domain, v).dims()
        attributed = tensor_dims(domain, v)
        for d, t in factors:
            if t > 1 and d not in indexing:
                problems.append(
                    f"{v} is split in time along {d}, which does not index it"
                )
            elif t > 1 and d not in attributed:
                problems.append(
                    f"{v} is split in time along {d}, which indexes it only inside a "
                    "window or a reshape"
                )
        replicas = plan.replicas(domain, v)
        if replicas == 1 and plan.ring_size(v) > 1:
            problems.append(
                f"{v} is cut into {plan.ring_size(v)} pieces in time but has no "
                "replicas to rotate them around: every split loop dim indexes it"
            )
        elif replicas % plan.ring_size(v):
            problems.append(
                f"{v} is cut into {plan.ring_size(v)} pieces in time, which does not "
                f"divide its {replicas} replicas"
            )
    return problems or _placement_conflicts(plan, domain)


def read_shapes(domain: IterationDomain) -> list[tuple[int, ...]]:
    """Per operand, the smallest shape its map fits: each dim up to the largest
    index read (a gathered dim: 1)."""
    return [
        tuple(
            1 if isinstance(i, GatheredIndex) else i.bounds(domain.extents)[1] + 1
            for i in tmap.indices
        )
        for tmap in domain.operands
    ]


def _placement_conflicts(plan: OpPlan, domain: IterationDomain) -> list[str]:
    """Two tensors rotating along one dim over a shared free axis would skew each
    other's rings; the skew rule cannot align them."""
    problems: list[str] = []
    rotating = [v for v, _ in plan.temporal if plan.ring_size(v) > 1]
    for i, u in enumerate(rotating):
        for v in rotating[i + 1 :]:
            dims = set(plan.split_dims(domain, u)) & set(plan.split_dims(domain, v))
            shared = set(plan.free_axes(domain, u)) & set(plan.free_axes(domain, v))
            if dims and shared:
                problems.append(
                    f"{u} and {v} both rotate along {min(dims)} and are both "
                    f"replicated along {min(shared)}: their pieces cannot be aligned"
                )
    return problems
