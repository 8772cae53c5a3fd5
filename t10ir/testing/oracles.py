"""Independent oracles the tests check T10ir against: slow, scalar or brute-force
statements of rules the library computes another way.

- Search options that prune nothing (`EXHAUSTIVE`): a brute force over every plan
  filtered by the scalar rules of `t10ir.planning.plan.plan_problems`, which the
  vectorised plan search (`t10ir.planning.search`) states per candidate column, must
  find their frontier.
- The placement simulator (`pieces`, `shifts`, `shift_sources`, `ring_ids`, ...): the
  placement rule of `t10ir.planning.plan` evaluated with numpy, core by core, which the
  schedules of `t10ir.planning.schedule` state as affine maps.
- The per-plan shapes and costs (`sub_tensor_shape`, `piece_shape`, `padding`,
  `plan_cost`) that the search computes for all candidates at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from math import ceil, inf, prod

import numpy as np

from t10ir.cost.plan_cost import OpSpec, PlanCost, cost_plans, plan_arrays
from t10ir.planning.domain import GatheredIndex, IterationDomain, index_span, span_cap
from t10ir.planning.plan import OpPlan, PlanError, tensor_map
from t10ir.planning.search import SearchOptions
from t10ir.target import Machine

EXHAUSTIVE = SearchOptions(min_core_fraction=0.0, max_padding=inf, rotation_dims=64)
"""Search options that prune nothing: the frontier of every valid plan."""


def plan_cost(machine: Machine, spec: OpSpec, plan: OpPlan) -> PlanCost:
    """The cost of one plan (`cost_plans` on one row)."""
    return cost_plans(machine, spec, *plan_arrays(spec, [plan])).row(0)


def rings(plan: OpPlan, domain: IterationDomain, tensor: str) -> int:
    """Rings per replica group, `r_v / T_v`."""
    return plan.replicas(domain, tensor) // plan.ring_size(tensor)


def padding(plan: OpPlan, domain: IterationDomain) -> float:
    """Work wasted on padding, as a fraction of the op's work: ceil divisions
    round each core's share and each step's slice up."""
    steps = plan.step_extents(domain)
    padded = prod(
        steps[d.name] * plan.steps_along(d.name) * plan.spatial_factor(d.name)
        for d in domain.dims
    )
    return padded / domain.points - 1


def sub_tensor_shape(
    plan: OpPlan,
    domain: IterationDomain,
    tensor: str,
    shape: Sequence[int] | None = None,
    temporal: bool = False,
) -> tuple[int, ...]:
    """The part of `tensor` one core's sub-operator reads (or, with `temporal`, the
    piece it stores): the span of each index over the core's loop box, capped by
    the tensor's `shape` when given (needed for gathered dims)."""
    box = plan.core_extents(domain)
    if temporal:
        factors = dict(plan.temporal_factors(tensor))
        box = {d: ceil(e / factors.get(d, 1)) for d, e in box.items()}
    tmap = tensor_map(domain, tensor)
    indices = tmap.indices
    for axis, index in enumerate(indices):
        if shape is None and isinstance(index, GatheredIndex):
            raise PlanError(
                f"dim {axis} of {tensor} is gathered: its size needs the tensor shape"
            )
    return tuple(
        int(
            index_span(
                index,
                box,
                None if shape is None else span_cap(tmap, index, shape[axis]),
            )
        )
        for axis, index in enumerate(indices)
    )


def piece_shape(
    plan: OpPlan,
    domain: IterationDomain,
    tensor: str,
    shape: Sequence[int] | None = None,
) -> tuple[int, ...]:
    """The piece of `tensor` one core stores: its sub-tensor cut by `T_v`."""
    return sub_tensor_shape(plan, domain, tensor, shape, temporal=True)


# ---- the placement simulator: numpy over cores --------------------------------------


def _flatten(coords: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    flat = np.zeros_like(coords[0]) if coords else np.zeros((), dtype=np.int64)
    for coord, radix in zip(coords, radices, strict=True):
        flat = flat * radix + coord
    return flat


def _unflatten(flat: np.ndarray, radices: Sequence[int]) -> list[np.ndarray]:
    coords: list[np.ndarray] = []
    for radix in reversed(radices):
        coords.append(flat % radix)
        flat = flat // radix
    return coords[::-1]


def all_cores(plan: OpPlan) -> np.ndarray:
    return np.arange(plan.cores, dtype=np.int64)


def coordinates(plan: OpPlan, cores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Each core's coordinate along every spatially split loop dim."""
    cores = all_cores(plan) if cores is None else np.asarray(cores, dtype=np.int64)
    dims = [d for d, _ in plan.spatial]
    coords = _unflatten(cores, [f for _, f in plan.spatial])
    return dict(zip(dims, coords, strict=True))


def _core_ids(plan: OpPlan, coords: Mapping[str, np.ndarray]) -> np.ndarray:
    return _flatten([coords[d] for d, _ in plan.spatial], [f for _, f in plan.spatial])


def _ring_rank(
    plan: OpPlan, domain: IterationDomain, tensor: str, coords: Mapping[str, np.ndarray]
) -> np.ndarray:
    """`rho`: a core's rank in its replica group of `tensor`."""
    axes = plan.free_axes(domain, tensor)
    return _flatten([coords[e] for e in axes], [plan.spatial_factor(e) for e in axes])


def ring_positions(
    plan: OpPlan, domain: IterationDomain, tensor: str, cores: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each core's digit `p[d]` of its ring position, per dim splitting `tensor`."""
    rho = _ring_rank(plan, domain, tensor, coordinates(plan, cores))
    dims = plan.split_dims(domain, tensor)
    radices = [plan.temporal_factor(tensor, d) for d in dims]
    return dict(zip(dims, _unflatten(rho % prod(radices), radices), strict=True))


def ring_ids(
    plan: OpPlan, domain: IterationDomain, tensor: str, cores: np.ndarray | None = None
) -> np.ndarray:
    """A number per core, equal for the cores of one ring of `tensor`."""
    coords = coordinates(plan, cores)
    free = set(plan.free_axes(domain, tensor))
    group_axes = [d for d, _ in plan.spatial if d not in free]
    group = _flatten(
        [coords[d] for d in group_axes],
        [plan.spatial_factor(d) for d in group_axes],
    )
    ring = _ring_rank(plan, domain, tensor, coords) // plan.ring_size(tensor)
    return group * rings(plan, domain, tensor) + ring


def offsets(
    plan: OpPlan, domain: IterationDomain, cores: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """`o[d]` per core for every loop dim: the step-slice it processes at step 0."""
    cores = all_cores(plan) if cores is None else np.asarray(cores, dtype=np.int64)
    result = {d.name: np.zeros_like(cores) for d in domain.dims}
    for v, _ in plan.temporal:
        for d, p in ring_positions(plan, domain, v, cores).items():
            n = plan.steps_along(d)
            result[d] = (result[d] + n // plan.temporal_factor(v, d) * p) % n
    return result


def slices(
    plan: OpPlan,
    domain: IterationDomain,
    step: Mapping[str, int],
    cores: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """`j[d]`: the step-slice of each loop dim every core processes at `step`
    (a step index per loop dim; missing dims are at step 0)."""
    return {
        d: (o + step.get(d, 0)) % plan.steps_along(d)
        for d, o in offsets(plan, domain, cores).items()
    }


def pieces(
    plan: OpPlan,
    domain: IterationDomain,
    tensor: str,
    step: Mapping[str, int] | None = None,
    cores: np.ndarray | None = None,
) -> np.ndarray:
    """The piece of `tensor` each core holds at `step`: the mixed-radix number of its
    piece coordinates `j[d] div g[d][v]` over the dims that split it in time."""
    cores = all_cores(plan) if cores is None else np.asarray(cores, dtype=np.int64)
    at = slices(plan, domain, step or {}, cores)
    dims = plan.split_dims(domain, tensor)
    radices = [plan.temporal_factor(tensor, d) for d in dims]
    coords = [
        at[d] // (plan.steps_along(d) // t) for d, t in zip(dims, radices, strict=True)
    ]
    return _flatten(coords, radices) if coords else np.zeros_like(cores)


def placement(
    plan: OpPlan, domain: IterationDomain, tensor: str
) -> Callable[[np.ndarray], np.ndarray]:
    """Core ids -> the piece of `tensor` each holds at step 0."""
    return lambda cores: pieces(plan, domain, tensor, None, cores)


def shifts(
    plan: OpPlan,
    domain: IterationDomain,
    tensor: str,
    dim: str,
    step: Mapping[str, int],
    cores: np.ndarray | None = None,
) -> np.ndarray:
    """Per core, whether `tensor` shifts along `dim` on arriving at `step` (from
    the step before it along `dim`): when the slice enters a new piece."""
    t = plan.temporal_factor(tensor, dim)
    j = slices(plan, domain, step, cores)[dim]
    return (j % (plan.steps_along(dim) // t) == 0) & (t > 1)


def shift_sources(
    plan: OpPlan,
    domain: IterationDomain,
    tensor: str,
    dim: str,
    cores: np.ndarray | None = None,
) -> np.ndarray:
    """The core each core receives its next piece of `tensor` from when it shifts
    along `dim`: its ring neighbour one digit further along `dim`."""
    coords = coordinates(plan, cores)
    dims = plan.split_dims(domain, tensor)
    if dim not in dims:
        return _core_ids(plan, coords)
    radices = [plan.temporal_factor(tensor, d) for d in dims]
    size = prod(radices)
    rho = _ring_rank(plan, domain, tensor, coords)
    digits = _unflatten(rho % size, radices)
    at = dims.index(dim)
    digits[at] = (digits[at] + 1) % radices[at]
    rho = rho - rho % size + _flatten(digits, radices)
    axes = plan.free_axes(domain, tensor)
    moved = dict(coords)
    moved.update(
        zip(
            axes,
            _unflatten(rho, [plan.spatial_factor(e) for e in axes]),
            strict=True,
        )
    )
    return _core_ids(plan, moved)
