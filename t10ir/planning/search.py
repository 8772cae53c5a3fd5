"""Per-operator plan search: the Pareto frontier of (memory per core, time) of an op's
compute-shift plans on a machine (T10 primer, section 6).

The plan space comes from the iteration domain alone. A plan is a spatial factor per loop
dim and, for every input and the output, temporal factors along the loop dims that index
it (one factor per tensor dim, `tensor_dims`), subject to the rules `plan_problems`
states one plan at a time (`t10ir.planning.plan`): temporal factors of a tensor divide
its replica count and form divisibility chains per dim; a reduction dim is split over cores, or
cut in steps, evenly unless its points beyond its extent contribute the combiner's
identity (`IterationDomain.uneven_reductions`), a parallel dim may be split unevenly
(the last share or step padded; `OpPlan.core_extents`); and two tensors rotating along
one dim never share a replication axis.

The space is vast, so it is pruned as T10 does, by three documented options:

- `min_core_fraction`: keep spatial splits that use at least this fraction of the most
  cores any split can use (on a large op, ~90% of the chip; a small op that cannot fill
  the chip is not forced to);
- `max_padding`: bound the work wasted on padding (ceil divisions of each core's share
  and each step's slice) as a fraction of the op's work (`oracles.padding`);
- `rotation_dims`: how many loop dims one input may rotate along (1: a ring is a single
  cycle, as in T10; a torus ring rotates twice as often for the same memory).

With nothing pruned (the tests' `oracles.EXHAUSTIVE`) the frontier is that of every
valid plan. The enumeration and costing are numpy over all candidates at once (in
chunks of bounded size), and ops of identical shape share one search (`search_plans`
is cached), so no IR is built inside the loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from math import isqrt

import numpy as np

from t10ir.cost.plan_cost import OpSpec, PlanCost, PlanCosts, cost_plans, plan_of
from t10ir.memo import memo
from t10ir.planning.domain import DimKind
from t10ir.planning.plan import OpPlan, tensor_dims, tensor_names
from t10ir.target import Machine

CHUNK_ROWS = 1 << 19
"""Candidate plans costed at once: bounds the search's memory to some hundred MB."""


@dataclass(frozen=True)
class SearchOptions:
    """How far the plan space is pruned (see the module docstring)."""

    min_core_fraction: float = 0.9
    max_padding: float = 0.1
    rotation_dims: int = 1

    @staticmethod
    def relaxed() -> SearchOptions:
        """Looser pruning, for an op no plan of the default space fits: any core
        count, padding up to the work itself, rings over two dims."""
        return SearchOptions(min_core_fraction=0.0, max_padding=1.0, rotation_dims=2)

    def check(self) -> list[str]:
        problems: list[str] = []
        if not 0 <= self.min_core_fraction <= 1:
            problems.append(
                f"min-core-fraction must be in [0, 1], got {self.min_core_fraction}"
            )
        if not 0 <= self.max_padding < np.inf:  # nan and inf bound nothing
            problems.append(f"max-padding must be >= 0, got {self.max_padding}")
        if self.rotation_dims < 0:
            problems.append(f"rotation-dims must be >= 0, got {self.rotation_dims}")
        return problems


@dataclass(frozen=True)
class FrontierPoint:
    plan: OpPlan
    cost: PlanCost


@dataclass(frozen=True)
class Frontier:
    """The Pareto-optimal plans of one op, by increasing memory (so decreasing time),
    and how many candidate plans were costed to find them."""

    points: tuple[FrontierPoint, ...]
    candidates: int

    @property
    def smallest(self) -> FrontierPoint:
        return self.points[0]

    def fastest_fitting(self, capacity: int) -> FrontierPoint | None:
        """The fastest plan whose memory per core is at most `capacity` bytes."""
        fitting = [p for p in self.points if p.cost.memory <= capacity]
        return fitting[-1] if fitting else None


# ---- enumeration ---------------------------------------------------------------------


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with `counts[i]` children each: each child's parent and its 0-based
    rank among its siblings."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return parent, np.arange(int(counts.sum())) - starts[parent]


def spatial_candidates(spec: OpSpec, cores: int, options: SearchOptions) -> np.ndarray:
    """Spatial factors (one row per split, one column per loop dim) using at most
    `cores` cores within the padding bound and the core-fraction rule."""
    frozen = spec.domain.normalized_dims
    uneven = spec.domain.uneven_reductions(spec.operand_shapes)
    bound = 1 + options.max_padding + 1e-9
    rows = np.ones((1, 0), dtype=np.int64)
    waste = np.ones(1)
    for dim in spec.domain.dims:
        limit = 1 if dim.name in frozen else min(dim.extent, cores)
        counts = np.minimum(limit, cores // rows.prod(axis=1))
        parent, rank = _expand(counts)
        factor = rank + 1
        padded = waste[parent] * (factor * -(-dim.extent // factor) / dim.extent)
        keep = padded <= bound
        if dim.kind is DimKind.REDUCTION and dim.name not in uneven:
            keep &= dim.extent % factor == 0
        rows = np.column_stack([rows[parent[keep]], factor[keep]])
        waste = padded[keep]
    used = rows.prod(axis=1)
    keep = used >= options.min_core_fraction * used.max()
    return rows[keep]


@memo(maxsize=4096)
def _divisors(n: int) -> tuple[int, ...]:
    """The divisors of `n`, ascending (trial division up to its square root)."""
    small = [d for d in range(1, isqrt(n) + 1) if n % d == 0]
    return tuple(small + [n // d for d in reversed(small) if d * d != n])


@memo(maxsize=16384)
def factor_tuples(replicas: int, slots: int, max_split: int) -> np.ndarray:
    """Every `slots`-tuple of temporal factors whose product divides `replicas`, with
    at most `max_split` factors above 1 (one row per tuple, the unsplit tuple first)."""
    found: list[tuple[int, ...]] = []

    def extend(prefix: tuple[int, ...], left: int, splits: int) -> None:
        if len(prefix) == slots:
            found.append(prefix)
            return
        for t in _divisors(left):
            if t == 1 or splits < max_split:
                extend((*prefix, t), left // t, splits + (t > 1))

    extend((), replicas, 0)
    table = np.array(found, dtype=np.int64).reshape(len(found), slots)
    table.flags.writeable = False  # shared by every caller through the cache
    return table


@dataclass(frozen=True)
class _InputSpace:
    """What the enumeration needs about one input: the loop dims (columns) it may be
    split along in time and those its replicas run along."""

    splittable: tuple[int, ...]
    free: tuple[int, ...]


def _input_spaces(spec: OpSpec) -> list[_InputSpace]:
    """Per input, then for the output: an output cut in time rotates around the rings
    of its split reduction dims (its replicas), so its space is built as an input's."""
    domain = spec.domain
    columns = {d: i for i, d in enumerate(spec.dims)}
    frozen = domain.normalized_dims
    spaces: list[_InputSpace] = []
    maps = (*domain.operands, domain.results[0])
    for v, tmap in zip(tensor_names(domain), maps, strict=False):
        indexing = set(tmap.dims())
        splittable = tuple(
            columns[d]
            for d in dict.fromkeys(tensor_dims(domain, v))
            if d is not None and d not in frozen
        )
        free = tuple(i for d, i in columns.items() if d not in indexing)
        spaces.append(_InputSpace(splittable, free))
    return spaces


@dataclass(frozen=True)
class _OptionTable:
    """One input's temporal factor tuples for every spatial row: the rows of `table`
    from `offset[row]` on, `size[row]` of them (tuples for the row's replica count)."""

    table: np.ndarray
    offset: np.ndarray
    size: np.ndarray


def _option_tables(
    spec: OpSpec,
    spaces: list[_InputSpace],
    spatial: np.ndarray,
    options: SearchOptions,
) -> list[_OptionTable]:
    """Per input, the factor tuples each spatial row may use: those for its replica
    count whose factors divide the row's shares, or, along a dim that may be stepped
    unevenly (`_unevenable`), are at most the share and pad its last step within the
    padding bound. Every factor divides the steps (the chain rule), and the steps pad
    a share at least as much as any factor does, so this drops only assignments the
    search would refuse, before they are multiplied out: most of them at large
    extents."""
    extents = np.array([d.extent for d in spec.domain.dims], dtype=np.int64)
    share = -(-extents // spatial)
    uneven = _unevenable(spec)
    bound = 1 + options.max_padding + 1e-9
    tables: list[_OptionTable] = []
    for space in spaces:
        columns = list(space.splittable)
        keys = np.column_stack(
            [spatial[:, list(space.free)].prod(axis=1), share[:, columns]]
        )
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        # The keys sort by replica count: one factor table per count, checked against
        # all its keys' shares at once (key x tuple x dim).
        starts = np.flatnonzero(np.diff(unique[:, 0], prepend=0)).tolist()
        sizes = np.zeros(len(unique), dtype=np.int64)
        chosen = []
        for lo, hi in pairwise([*starts, len(unique)]):
            table = factor_tuples(
                int(unique[lo, 0]), len(columns), options.rotation_dims
            )
            cut = unique[lo:hi, None, 1:]
            padded = -(-cut // table) * table
            fits = (
                (padded == cut)
                | (uneven[columns] & (table <= cut) & (padded <= bound * cut))
            ).all(axis=2)
            sizes[lo:hi] = fits.sum(axis=1)
            chosen.append(table[np.nonzero(fits)[1]])
        inverse = inverse.reshape(-1)
        offsets = np.cumsum(sizes) - sizes
        tables.append(
            _OptionTable(np.concatenate(chosen), offsets[inverse], sizes[inverse])
        )
    return tables


def _counts(tables: list[_OptionTable], rows: int) -> np.ndarray:
    """Per spatial row, its number of temporal assignments (the product over inputs)."""
    counts = np.ones(rows, dtype=np.int64)
    for t in tables:
        counts *= t.size
    return counts


def _temporal_candidates(
    spec: OpSpec,
    spaces: list[_InputSpace],
    tables: list[_OptionTable],
    spatial: np.ndarray,
    options: SearchOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Every valid assignment of temporal factors to every spatial row (whose option
    tables are `tables`): the rows' index into `spatial` and the
    `temporal[row, input, dim]` array."""
    parent, rank = _expand(_counts(tables, len(spatial)))
    temporal = np.ones((len(parent), len(spaces), len(spec.dims)), dtype=np.int64)
    stride = np.ones(len(parent), dtype=np.int64)
    for v in reversed(range(len(spaces))):
        t = tables[v]
        choice = (rank // stride) % t.size[parent]
        stride = stride * t.size[parent]
        if spaces[v].splittable:
            temporal[:, v, list(spaces[v].splittable)] = t.table[
                t.offset[parent] + choice
            ]
    keep = _valid(spec, spaces, spatial[parent], temporal, options)
    return parent[keep], temporal[keep]


def _unevenable(spec: OpSpec) -> np.ndarray:
    """Per loop dim, whether steps may cut a core's share of it unevenly (the last
    step's slice padded): a parallel dim, or a reduction dim whose points beyond its
    extent add nothing (`IterationDomain.uneven_reductions`)."""
    uneven = spec.domain.uneven_reductions(spec.operand_shapes)
    return np.array(
        [d.kind is DimKind.PARALLEL or d.name in uneven for d in spec.domain.dims],
        dtype=bool,
    )


def _valid(
    spec: OpSpec,
    spaces: list[_InputSpace],
    spatial: np.ndarray,
    temporal: np.ndarray,
    options: SearchOptions,
) -> np.ndarray:
    """The rules of `plan_problems` the construction does not already ensure, and
    the padding bound on the steps' padding, per candidate: the cheap ones on every
    candidate, the rules between inputs (sorting every candidate's factors) only on
    those that pass them."""
    extents = np.array([d.extent for d in spec.domain.dims], dtype=np.int64)
    share = -(-extents // spatial)
    steps = temporal.max(axis=1) if len(spaces) else np.ones_like(spatial)
    box = -(-share // steps)
    ok = ((share % steps == 0) | _unevenable(spec)).all(axis=1)
    padded = (spatial * steps * box / extents).prod(axis=1)
    ok &= padded <= 1 + options.max_padding + 1e-9
    names = {d.name: i for i, d in enumerate(spec.domain.dims)}
    for outer, inner in spec.domain.nested:
        columns = [names[d] for d in inner]
        whole_inner = (box[:, columns] == extents[columns]).all(axis=1)
        ok &= (box[:, names[outer]] == 1) | whole_inner
    if len(spaces) < 2:
        return ok
    rows = np.flatnonzero(ok)
    factors, split = temporal[rows], spatial[rows]
    ordered = np.sort(factors, axis=1)
    between = (ordered[:, 1:, :] % ordered[:, :-1, :] == 0).all(axis=(1, 2))
    for u in range(len(spaces)):
        for v in range(u + 1, len(spaces)):
            shared = sorted(set(spaces[u].free) & set(spaces[v].free))
            if not shared:
                continue
            replicated = (split[:, shared] > 1).any(axis=1)
            both = ((factors[:, u, :] > 1) & (factors[:, v, :] > 1)).any(axis=1)
            between &= ~(replicated & both)
    ok[rows] = between
    return ok


def _chunks(counts: np.ndarray) -> list[slice]:
    """Consecutive ranges of spatial rows whose expansions hold about CHUNK_ROWS."""
    chunk = (np.cumsum(counts) - counts) // CHUNK_ROWS
    bounds = [0, *(np.flatnonzero(np.diff(chunk)) + 1).tolist(), len(counts)]
    return [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:], strict=False)]


def pareto(memory: np.ndarray, cycles: np.ndarray) -> np.ndarray:
    """Indices of the Pareto-optimal entries (no other entry is at most as large in
    both and smaller in one), by increasing memory; ties keep the first entry."""
    order = np.lexsort((np.arange(len(memory)), cycles, memory))
    best = np.minimum.accumulate(cycles[order])
    before = np.concatenate([[np.inf], best[:-1]])
    return order[cycles[order] < before]


def _costed(
    machine: Machine, spec: OpSpec, options: SearchOptions
) -> Iterator[tuple[np.ndarray, np.ndarray, PlanCosts]]:
    """Every candidate plan of `spec` (spatial rows, temporal rows, costs), chunk by
    chunk, so no more than CHUNK_ROWS are held at once."""
    spatial = spatial_candidates(spec, machine.cores, options)
    spaces = _input_spaces(spec)
    tables = _option_tables(spec, spaces, spatial, options)
    for rows in _chunks(_counts(tables, len(spatial))):
        parent, temporal = _temporal_candidates(
            spec,
            spaces,
            [_OptionTable(t.table, t.offset[rows], t.size[rows]) for t in tables],
            spatial[rows],
            options,
        )
        chunk_spatial = spatial[rows][parent]
        yield (
            chunk_spatial,
            temporal,
            cost_plans(machine, spec, chunk_spatial, temporal),
        )


@memo(maxsize=4096)
def search_plans(
    machine: Machine, spec: OpSpec, options: SearchOptions = SearchOptions()
) -> Frontier:
    """The Pareto frontier of (memory per core, cycles) of `spec`'s plans on `machine`."""
    kept_spatial: list[np.ndarray] = []
    kept_temporal: list[np.ndarray] = []
    kept_memory: list[np.ndarray] = []
    kept_cycles: list[np.ndarray] = []
    candidates = 0
    for chunk_spatial, temporal, costs in _costed(machine, spec, options):
        candidates += len(chunk_spatial)
        front = pareto(costs.memory, costs.cycles)
        kept_spatial.append(chunk_spatial[front])
        kept_temporal.append(temporal[front])
        kept_memory.append(costs.memory[front])
        kept_cycles.append(costs.cycles[front])
    spatial_all = np.concatenate(kept_spatial)
    temporal_all = np.concatenate(kept_temporal)
    front = pareto(np.concatenate(kept_memory), np.concatenate(kept_cycles))
    costs = cost_plans(machine, spec, spatial_all[front], temporal_all[front])
    points = tuple(
        FrontierPoint(plan_of(spec, spatial_all[i], temporal_all[i]), costs.row(j))
        for j, i in enumerate(front)
    )
    return Frontier(points, candidates)


@memo(maxsize=4096)
def free_movement_bound(
    machine: Machine, spec: OpSpec, options: SearchOptions = SearchOptions()
) -> int | None:
    """The fewest cycles any fitting plan of `spec` takes if its inputs arrive free and
    its output may stay where the plan leaves it: compute, shifts, syncs and its own
    partial-sum reduction, no relayout. Summed over a model it bounds what any choice
    of plans can reach, so the evaluation can say how much of the gap to it is
    movement between operators. Over the plans the compiler considers: the space of
    `options`, or the relaxed one for an op no plan of it fits (None: none fits)."""
    best: int | None = None
    for _, _, costs in _costed(machine, spec, options):
        own = (costs.compute + costs.shift + costs.sync + costs.reduce)[
            costs.memory <= machine.sram_bytes
        ]
        if len(own):
            best = int(own.min()) if best is None else min(best, int(own.min()))
    if best is None and options != SearchOptions.relaxed():
        return free_movement_bound(machine, spec, SearchOptions.relaxed())
    return best
