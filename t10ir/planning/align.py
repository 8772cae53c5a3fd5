"""Plans that line up with a neighbour: consumer plans that read an input exactly where
its producer left it, and producer plans that leave their result exactly where a consumer
reads it (issue 18, item 2), in plain Python.

Everything is derived from the op's iteration domain and the given layout, never from
op names:

1. The layout is read as boxes: per tensor dim, the extent `p` each core holds (a flat
   layout, the default one, counts only when its chunks are whole boxes: runs of whole
   trailing rows), hence the split `ceil(size / p)`.
2. A tensor dim that the layout splits must be indexed by a loop dim alone (`d`, over
   the whole tensor dim): that loop dim takes the split. A dim the layout keeps whole
   leaves its loop dims unsplit. Loop dims the tensor does not index (a reduction the
   input lacks, the rows a bias is broadcast over) are unsplit, or share the layout's
   replicas among them, if it has any.
3. The candidate is kept only if the search could have found it: its spatial factors
   are among `search.spatial_candidates` under the given `SearchOptions` (core
   fraction, padding, reductions split evenly, normalized dims whole), and a grouped
   op's nested dims stay whole where its rule asks.
4. Which grid axis carries which loop dim decides which physical core holds which
   box. The order the layout's own grid suggests is tried first (the axis along which
   a tensor dim's box moves), then the others; the first order whose schedule reads
   (or leaves) the tensor with `relayout_cycles` 0, on the machine's placement
   (`grid_cores`), is kept. Nothing is assumed equal: every returned plan passed that
   check.

A consumer split along a reduction dim that its input indexes reads in place too: its
schedule then combines partial results (`OpSchedule.combine`), which its cost counts.
Plans are spatial only (no rotation), so deriving them costs a few schedules, not a
search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from itertools import permutations
from math import ceil, prod

import numpy as np

from t10ir.cost.plan_cost import OpSpec, cost_plans, plan_arrays
from t10ir.cost.relayout import relayout_cycles
from t10ir.memo import memo
from t10ir.planning.domain import LinearIndex, TensorMap
from t10ir.planning.layout import Layout
from t10ir.planning.plan import OpPlan, PlanError
from t10ir.planning.schedule import OpSchedule, op_schedule
from t10ir.planning.search import FrontierPoint, SearchOptions, spatial_candidates
from t10ir.target import Machine
from t10ir.target.placement import grid_cores

DEFAULT_OPTIONS = SearchOptions()
"""The search's default pruning, which aligned plans obey unless told otherwise."""

MAX_ORDERS = 24
"""Grid axis orders tried per candidate (all of them up to four split dims)."""


def aligned_plans(
    machine: Machine,
    spec: OpSpec,
    operand: int,
    layout: Layout,
    options: SearchOptions = DEFAULT_OPTIONS,
    combine: bool = False,
) -> list[FrontierPoint]:
    """Spatial-only plans of `spec` whose hot layout of input `operand` is `layout`
    (`relayout_cycles` 0), each with its cost as the search computes it, cheapest
    first. `combine`: `layout` holds partial results still to be combined (a
    producer's split reduction), which no plan reads in place across replicas."""
    if not 0 <= operand < len(spec.domain.operands):
        raise PlanError(f"the op has no operand #{operand}")

    def reads_in_place(plan: OpPlan) -> bool:
        hot = placed_schedule(machine, spec, plan).inputs[operand]
        return (
            relayout_cycles(machine, layout, hot, spec.operand_bytes[operand], combine)
            == 0
        )

    return _aligned(
        machine,
        spec,
        spec.domain.operands[operand],
        layout,
        options,
        reads_in_place,
    )


def output_aligned_plans(
    machine: Machine,
    spec: OpSpec,
    layout: Layout,
    options: SearchOptions = DEFAULT_OPTIONS,
) -> list[FrontierPoint]:
    """Spatial-only plans of `spec` whose result, partial results combined, lies in
    `layout` with nothing to move (`relayout_cycles` 0 from the schedule's output),
    cheapest first: a producer that leaves its value where a consumer reads it. A
    split reduction's partials always move, so those plans never qualify."""

    def leaves_in_place(plan: OpPlan) -> bool:
        schedule = placed_schedule(machine, spec, plan)
        cycles = relayout_cycles(
            machine,
            schedule.output,
            layout,
            spec.result_bytes[0],
            schedule.combine is not None,
        )
        return cycles == 0

    return _aligned(
        machine, spec, spec.domain.results[0], layout, options, leaves_in_place
    )


def box_piece(layout: Layout) -> tuple[int, ...] | None:
    """Per tensor dim, the extent of the box each core holds (capped at the dim), or
    None for a flat layout whose chunks are not boxes. A flat chunk of `share`
    elements is one when it is a run of whole trailing rows: `q` positions of some dim
    (dividing it, or the outermost dim with the last chunk padded) and every position
    of the dims after it."""
    if not layout.flat:
        return tuple(min(p, s) for p, s in zip(layout.piece, layout.shape, strict=True))
    share, shape = layout.piece[0], layout.shape
    for axis in range(len(shape)):
        inner = prod(shape[axis + 1 :])
        if share % inner:
            continue
        q = share // inner
        if q <= shape[axis] and (shape[axis] % q == 0 or axis == 0):
            return (1,) * axis + (q,) + tuple(shape[axis + 1 :])
    return (1,) * len(shape) if share == 1 else None


def _aligned(
    machine: Machine,
    spec: OpSpec,
    tmap: TensorMap,
    layout: Layout,
    options: SearchOptions,
    in_place: Callable[[OpPlan], bool],
) -> list[FrontierPoint]:
    """The candidates of `tmap` read off `layout` (module docstring, steps 1 to 3),
    each in the first grid order that passes `in_place` (step 4), cheapest first."""
    piece = box_piece(layout)
    if piece is None:
        return []
    splits = _tensor_splits(spec, tmap, layout.shape, piece)
    if splits is None:
        return []
    indexing = set(tmap.dims())
    free = [d.name for d in spec.domain.dims if d.name not in indexing]
    replicas = max(1, layout.grid.size // prod(splits.values()))
    allowed = _allowed_spatial(machine, spec, options)
    rows: list[tuple[int, ...]] = []
    for extra in _distributions(replicas, len(free)):
        factors = {**splits, **dict(zip(free, extra, strict=True))}
        row = tuple(factors.get(d, 1) for d in spec.dims)
        if row in allowed and _nested_whole(spec, row) and row not in rows:
            rows.append(row)
    preferred = _axis_order(spec, tmap, layout)
    found: list[OpPlan] = []
    for row in rows:
        factor = dict(zip(spec.dims, row, strict=True))
        split = [d for d in spec.dims if factor[d] > 1]
        for order in _orders(split, preferred):
            plan = OpPlan(tuple((d, factor[d]) for d in order))
            try:
                if in_place(plan):
                    found.append(plan)
                    break
            except PlanError:
                break
    if not found:
        return []
    costs = cost_plans(machine, spec, *plan_arrays(spec, found))
    points = [FrontierPoint(p, costs.row(i)) for i, p in enumerate(found)]
    return sorted(points, key=lambda p: (p.cost.cycles, p.cost.memory))


def _tensor_splits(
    spec: OpSpec, tmap: TensorMap, shape: Sequence[int], piece: Sequence[int]
) -> dict[str, int] | None:
    """Per loop dim that takes a split of the tensor, its spatial factor; None when a
    split tensor dim is not indexed by one loop dim over its whole extent, or the
    loop dim's share would differ from the box."""
    extents = spec.domain.extents
    splits: dict[str, int] = {}
    for index, size, p in zip(tmap.indices, shape, piece, strict=True):
        if p >= size:
            continue
        if not (
            isinstance(index, LinearIndex)
            and index.offset == 0
            and len(index.terms) == 1
            and index.terms[0][1] == 1
        ):
            return None
        d = index.terms[0][0]
        factor = ceil(size / p)
        if (
            extents[d] != size
            or ceil(size / factor) != p
            or splits.get(d, factor) != factor
        ):
            return None
        splits[d] = factor
    return splits


def _distributions(replicas: int, slots: int) -> Iterator[tuple[int, ...]]:
    """Every `slots`-tuple of factors whose product divides `replicas`, the unsplit
    tuple first: how the layout's replicas may be shared by loop dims it lacks."""
    if slots == 0:
        yield ()
        return
    for f in range(1, replicas + 1):
        if replicas % f == 0:
            for rest in _distributions(replicas // f, slots - 1):
                yield (f, *rest)


@memo(maxsize=1024)
def _allowed_spatial(
    machine: Machine, spec: OpSpec, options: SearchOptions
) -> frozenset[tuple[int, ...]]:
    """The spatial splits the search considers for `spec` (rows in domain order)."""
    rows = spatial_candidates(spec, machine.cores, options)
    return frozenset(tuple(int(f) for f in row) for row in rows)


def _nested_whole(spec: OpSpec, row: tuple[int, ...]) -> bool:
    """The grouped-op rule the search applies (`IterationDomain.nested`), for a plan
    without steps: a core covering several positions of the outer dim holds its inner
    dims whole."""
    factor = dict(zip(spec.dims, row, strict=True))
    extents = spec.domain.extents
    for outer, inner in spec.domain.nested:
        several = ceil(extents[outer] / factor[outer]) > 1
        if several and any(factor[d] > 1 for d in inner):
            return False
    return True


def _axis_order(spec: OpSpec, tmap: TensorMap, layout: Layout) -> list[str]:
    """Loop dims in the order of the layout's grid axes that move their tensor dim's
    box (an identity index's loop dim), so that the first order tried puts each box on
    the core that holds it when the two grids number their cores alike."""
    origins = layout.origins()
    if layout.flat:
        origins = np.stack(np.unravel_index(origins[:, 0], layout.shape), axis=1)
    shape = layout.grid.shape
    order: list[str] = []
    for axis, radix in enumerate(shape):
        if radix == 1:
            continue
        step = origins[prod(shape[axis + 1 :])] != origins[0]
        for index, moved in zip(tmap.indices, step, strict=False):
            if moved and isinstance(index, LinearIndex) and index.dims():
                order.append(index.dims()[0])
    return [d for d in dict.fromkeys(order) if d in spec.dims]


def _orders(split: list[str], preferred: list[str]) -> Iterator[tuple[str, ...]]:
    """Orders of the split loop dims: the preferred one first (its dims in its order,
    the others after them in domain order), then the rest, at most MAX_ORDERS."""
    rank = {d: i for i, d in enumerate(preferred)}
    first = tuple(sorted(split, key=lambda d: rank.get(d, len(rank))))
    yield first
    for count, order in enumerate(p for p in permutations(split) if p != first):
        if count + 1 >= MAX_ORDERS:
            return
        yield order


def placed_schedule(machine: Machine, spec: OpSpec, plan: OpPlan) -> OpSchedule:
    """The schedule as the lowering builds it, on the machine's placement: which
    physical core holds which box decides what a relayout moves."""
    return op_schedule(
        spec.domain,
        plan,
        spec.operand_shapes,
        spec.result_shapes[0],
        grid_cores(machine, plan, spec.domain),
    )
