"""Plans that line up with a neighbour: consumer plans that read an input exactly where
its producer left it, and producer plans that leave their result exactly where a consumer
reads it (issue 18, item 2), in plain Python.

Everything is derived from the op's iteration domain and the given layout, never from
op names:

1. The layout is read as boxes (`box_piece`): per tensor dim, the extent each core
   holds. A flat layout (the default one) counts only when its chunks are boxes: runs
   of whole trailing rows. Reading the extents off the layout itself, not off the
   producer's plan, works for any layout: an output, a hot input, a default layout.
2. Candidates are the spatial splits the search itself considers
   (`search.spatial_candidates` under the given `SearchOptions`: core fraction,
   padding, reductions split evenly, normalized dims whole, and the grouped-op rule
   for nested dims) under which a core's part of the tensor has those extents: the
   span of the tensor's index map over a core's share of the loop nest, per tensor
   dim, on no more cores than the layout has. So an identity index's loop dim takes
   the layout's split along its dim (a transpose's moves to the other loop dim), a
   dim the layout keeps whole keeps its loop dims whole, loop dims the tensor does
   not index (a reduction the input lacks, the rows a bias is broadcast over) share
   the layout's replicas or stay unsplit, and a reshape's `floordiv`/`mod` read or a
   window counts by the span it reads.
3. Which grid axis carries which loop dim decides which physical core holds which
   box. The order the layout's own grid suggests is tried first (the axes along which
   a tensor dim's box moves, each giving its place to the loop dim that splits that
   tensor dim, `tensor_dims`), then the others; the first order whose schedule reads
   (or leaves) the tensor with `relayout_cycles` 0, on the machine's placement
   (`grid_cores`), is kept. Nothing is assumed equal: every returned plan passed that
   check, and a split the lowering cannot schedule is dropped.

A consumer split along a reduction dim that its input indexes reads in place too: its
schedule then combines partial results (`OpSchedule.combine`), which its cost counts.
Plans are spatial only (no rotation), so deriving them costs a few schedules, not a
search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import permutations
from math import prod

import numpy as np

from t10ir.cost.plan_cost import OpSpec, cost_plans, plan_arrays
from t10ir.cost.relayout import placed_schedule, relayout_cycles
from t10ir.memo import memo
from t10ir.planning.domain import GatheredIndex, index_span
from t10ir.planning.layout import Layout
from t10ir.planning.plan import (
    OpPlan,
    PlanError,
    tensor_dims,
    tensor_map,
    tensor_names,
)
from t10ir.planning.search import FrontierPoint, SearchOptions, spatial_candidates
from t10ir.target import Machine

DEFAULT_OPTIONS = SearchOptions()
"""The search's default pruning, which aligned plans obey unless told otherwise."""

MAX_ORDERS = 24
"""Grid axis orders tried per candidate (all of them up to four split dims)."""


@memo(maxsize=4096)
def aligned_plans(
    machine: Machine,
    spec: OpSpec,
    operand: int,
    layout: Layout,
    options: SearchOptions = DEFAULT_OPTIONS,
) -> tuple[FrontierPoint, ...]:
    """Spatial-only plans of `spec` whose hot layout of input `operand` is `layout`
    (`relayout_cycles` 0), each with its cost as the search computes it, cheapest
    first.

    A `layout` of partial results (a producer's split reduction, `OpSchedule.combine`)
    is matched by its boxes too: each core of a returned plan holds a partial of its
    very box, so that the producer's epilogue only sums the other partials into place
    (the relayout from `layout` with `combine`, which the caller still pays, is that
    reduction and moves nothing else)."""
    if not 0 <= operand < len(spec.domain.operands):
        raise PlanError(f"the op has no operand #{operand}")

    def reads_in_place(plan: OpPlan) -> bool:
        hot = placed_schedule(machine, spec, plan).inputs[operand]
        return relayout_cycles(machine, layout, hot, spec.operand_bytes[operand]) == 0

    # A plan on more cores than the layout's has cores holding nothing.
    cores = layout.grid.size
    return _aligned(
        machine, spec, f"in{operand}", layout, cores, options, reads_in_place
    )


@memo(maxsize=4096)
def output_aligned_plans(
    machine: Machine,
    spec: OpSpec,
    layout: Layout,
    options: SearchOptions = DEFAULT_OPTIONS,
) -> tuple[FrontierPoint, ...]:
    """Spatial-only plans of `spec` that leave their result where `layout` reads it
    (`relayout_cycles` 0 from the schedule's output), cheapest first. A plan that
    splits a reduction qualifies when every core of `layout` holds a partial of its
    box: its epilogue then only sums partials into place (as in `aligned_plans`)."""

    def leaves_in_place(plan: OpPlan) -> bool:
        output = placed_schedule(machine, spec, plan).output
        return relayout_cycles(machine, output, layout, spec.result_bytes[0]) == 0

    # A split reduction may leave partials on cores `layout` does not use.
    cores = machine.cores
    return _aligned(machine, spec, "out0", layout, cores, options, leaves_in_place)


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
    return None if shape else ()


def _aligned(
    machine: Machine,
    spec: OpSpec,
    tensor: str,
    layout: Layout,
    cores: int,
    options: SearchOptions,
    in_place: Callable[[OpPlan], bool],
) -> tuple[FrontierPoint, ...]:
    """The candidates for `tensor` read off `layout` (module docstring, steps 1 and
    2), each in the first grid order that passes `in_place` (step 3), cheapest first."""
    piece = box_piece(layout)
    if piece is None:
        return ()
    rows = _candidate_rows(machine, spec, tensor, piece, cores, options)
    preferred = _axis_order(spec, tensor, layout)
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
        return ()
    costs = cost_plans(machine, spec, *plan_arrays(spec, found))
    points = [FrontierPoint(p, costs.row(i)) for i, p in enumerate(found)]
    return tuple(sorted(points, key=lambda p: (p.cost.cycles, p.cost.memory)))


def _candidate_rows(
    machine: Machine,
    spec: OpSpec,
    tensor: str,
    piece: tuple[int, ...],
    cores: int,
    options: SearchOptions,
) -> list[tuple[int, ...]]:
    """The search's spatial splits (rows in domain order, most cores first) under
    which every core's part of `tensor` is a box of extents `piece`, on at most
    `cores`: its index map's span over a core's share of the loop nest, per
    tensor dim. An identity index takes the layout's split along its dim; a dim the
    tensor lacks shares the layout's replicas or stays whole; a window, a reshape's
    delinearized read or a gather counts by the span it reads."""
    tmap = tensor_map(spec.domain, tensor)
    shape = _tensor_shape(spec, tensor)
    rows = _allowed_spatial(machine, spec, options)
    extents = np.array([d.extent for d in spec.domain.dims], dtype=np.int64)
    share = -(-extents // rows)
    box = {d: share[:, i] for i, d in enumerate(spec.dims)}
    ok = (rows.prod(axis=1) <= cores) & _nested_whole(spec, share)
    for index, size, p in zip(tmap.indices, shape, piece, strict=True):
        span = index_span(
            index, box, size if isinstance(index, GatheredIndex) else None
        )
        ok &= np.minimum(span, size) == p
    kept = rows[ok]
    order = np.argsort(-kept.prod(axis=1), kind="stable")
    return [tuple(int(f) for f in row) for row in kept[order]]


def _tensor_shape(spec: OpSpec, tensor: str) -> tuple[int, ...]:
    """The shape of the operand or result named `tensor` (`in0`, ..., `out0`)."""
    shapes = spec.operand_shapes + spec.result_shapes
    return shapes[tensor_names(spec.domain).index(tensor)]


@memo(maxsize=1024)
def _allowed_spatial(
    machine: Machine, spec: OpSpec, options: SearchOptions
) -> np.ndarray:
    """The spatial splits the search considers for `spec` (rows in domain order;
    read-only, as the cache shares it)."""
    rows = spatial_candidates(spec, machine.cores, options)
    rows.flags.writeable = False
    return rows


def _nested_whole(spec: OpSpec, share: np.ndarray) -> np.ndarray:
    """The grouped-op rule the search applies (`IterationDomain.nested`) to plans
    without steps, per row of core shares: a core covering several positions of the
    outer dim holds its inner dims whole."""
    extents = np.array([d.extent for d in spec.domain.dims], dtype=np.int64)
    column = {d: i for i, d in enumerate(spec.dims)}
    ok = np.ones(len(share), dtype=bool)
    for outer, inner in spec.domain.nested:
        columns = [column[d] for d in inner]
        whole = (share[:, columns] == extents[columns]).all(axis=1)
        ok &= (share[:, column[outer]] == 1) | whole
    return ok


def _axis_order(spec: OpSpec, tensor: str, layout: Layout) -> list[str]:
    """Loop dims in the order of the layout's grid axes that move the box along the
    tensor dim they split (`tensor_dims`), so that the first order tried puts each box
    on the core that holds it when the two grids number their cores alike."""
    origins = layout.origins()
    if layout.flat and layout.shape:  # a scalar's one origin has no dims
        origins = np.stack(np.unravel_index(origins[:, 0], layout.shape), axis=1)
    attributed = tensor_dims(spec.domain, tensor)
    shape = layout.grid.shape
    order: list[str] = []
    for axis, radix in enumerate(shape):
        if radix > 1:
            moved = origins[prod(shape[axis + 1 :])] != origins[0]
            order += [d for d, m in zip(attributed, moved, strict=True) if m and d]
    return list(dict.fromkeys(order))


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
