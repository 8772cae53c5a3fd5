"""What moving a distributed tensor costs: a relayout between two layouts, and a ring
rotation. The passes and the interpreter count the same traffic here, so that what a
rewrite saves is what the simulated chip no longer spends.

A relayout is one bulk-synchronous exchange (`plan_cost.exchange_cycles`), bounded by
the core that sends or receives the most on an all-to-all chip, by its busiest link on a
mesh (`t10ir.cost.routing`, which needs who sends to whom: `relayout_transfers`). Per
destination core and element of its box inside the tensor:

- without `combine` (replicas agree), nothing moves when the core already holds the
  element in the source layout; otherwise one holder sends it: of the element's holders
  in the source's logical core order, the one at position (the destination's logical
  core number mod holders), so that replicas share the sending;
- with `combine` (partial results), every holder other than the destination core sends
  its copy.

Cores are physical (`Grid.physical()`): a core that holds an element in both layouts
keeps it, even when its logical number differs between the two grids. A layout may hold
part of the tensor only; the source must hold every element the destination does.

The rule is applied to many elements at once: run by run of row-major elements from or
into contiguous chunks (the default layout: every prologue and epilogue), else cell by
cell of the boxes' common refinement, and element by element only for scalars and
where the cells would outnumber the elements. All give the same transfers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import prod

import numpy as np

from t10ir.cost.model import elementwise_cycles, sync_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT, OpSpec, accumulator_bytes
from t10ir.cost.routing import Transfers, exchange_time
from t10ir.memo import memo
from t10ir.planning.layout import (
    Layout,
    Ring,
    chunked_layout,
    cores_spanned,
    default_layout,
    evaluate_map,
)
from t10ir.planning.plan import OpPlan
from t10ir.planning.schedule import OpSchedule, Rotation, op_schedule
from t10ir.target import Machine
from t10ir.target.placement import grid_cores


def held_elements(layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """Every (logical core, element) pair of the layout, as two arrays in logical core
    order: the element is its row-major index in the tensor; padding outside the tensor
    is left out."""
    origins = layout.origins()
    cores = layout.grid.size
    flat = np.zeros((cores, 1), dtype=np.int64)
    inside = np.ones((cores, 1), dtype=bool)
    for axis, (size, extent) in enumerate(zip(layout.view, layout.piece, strict=True)):
        index = origins[:, axis, None] + np.arange(extent)
        flat = (
            flat[:, :, None] * size + np.clip(index, 0, size - 1)[:, None, :]
        ).reshape(cores, -1)
        inside = (
            inside[:, :, None] & ((index >= 0) & (index < size))[:, None, :]
        ).reshape(cores, -1)
    logical = np.broadcast_to(np.arange(cores)[:, None], flat.shape)
    return logical[inside], flat[inside]


def holds(layout: Layout, cores: np.ndarray, elements: np.ndarray) -> np.ndarray:
    """Whether physical core `cores[i]` holds element `elements[i]` (a row-major index
    in the tensor) in `layout`."""
    physical = layout.grid.physical()
    logical = np.full(max(int(physical.max()), int(cores.max(initial=0))) + 1, -1)
    logical[physical] = np.arange(layout.grid.size)
    which = logical[cores]
    origins = layout.origins()[which]
    result = which >= 0
    # A scalar's only element is held by every core of the grid.
    coords = np.unravel_index(elements, layout.view) if layout.view else ()
    for axis, (coord, extent) in enumerate(zip(coords, layout.piece, strict=True)):
        offset = coord - origins[:, axis]
        result &= (offset >= 0) & (offset < extent)
    return result


@memo(maxsize=4096)
def relayout_transfers(
    src: Layout, dst: Layout, combine: bool = False, cores: int = 0
) -> Transfers:
    """The transfers moving a tensor from `src` to `dst` (`combine`: `src`'s copies
    are partial results; module docstring), counted over as many cores as `cores` or
    as the highest core of either layout needs. Raises ValueError if `dst` holds an
    element `src` does not. Cached: a model repeats the same moves layer after layer."""
    if src.shape != dst.shape:
        raise ValueError(
            f"the layouts are of different tensors: {list(src.shape)} and "
            f"{list(dst.shape)}"
        )
    count = max(
        cores, int(max(src.grid.physical().max(), dst.grid.physical().max())) + 1
    )
    share = chunk_share(src)
    if share is not None and not combine and dst.view:
        return _from_chunks(src, share, dst, count)
    target = chunk_share(dst)
    if target is not None and src.shape:
        found = _to_chunks(src, dst, target, combine, count)
        if found is not None:
            return found
    if src.shape:
        return _box_transfers(src, dst, combine, count)
    return _element_transfers(src, dst, combine, count)


def _element_transfers(
    src: Layout, dst: Layout, combine: bool, count: int
) -> Transfers:
    """`relayout_transfers` element by element (in runs of elements with the same
    holders): for scalars, and where the cells of `_box_transfers` are too many to
    number."""
    size = prod(src.shape)
    src_logical, src_elements = held_elements(src)
    dst_logical, dst_elements = held_elements(dst)
    holders = np.bincount(src_elements, minlength=size)
    if holders[dst_elements].min(initial=1) == 0:
        raise ValueError("the destination holds an element no core of the source holds")
    # The holders of element e are by_element[first[e]:first[e] + holders[e]], in the
    # source's logical core order.
    order = np.argsort(src_elements, kind="stable")
    by_element = src.grid.physical()[src_logical[order]]
    first = np.cumsum(holders) - holders
    # Consecutive elements with the same holders form a run; a destination core's
    # elements of one run all move alike, so work per segment of them, not per element.
    run = np.cumsum(np.r_[0, ~_same_as_next(by_element, src_elements[order], holders)])
    boundary = np.ones(len(dst_elements), dtype=bool)
    boundary[1:] = (np.diff(dst_logical) != 0) | (np.diff(run[dst_elements]) != 0)
    starts = np.flatnonzero(boundary)
    lengths = np.diff(np.r_[starts, len(dst_elements)])
    element, logical = dst_elements[starts], dst_logical[starts]
    receivers = dst.grid.physical()[logical]
    if combine:
        copies = holders[element]
        receivers, lengths = np.repeat(receivers, copies), np.repeat(lengths, copies)
        offsets = np.repeat(first[element] - (np.cumsum(copies) - copies), copies)
        senders = by_element[offsets + np.arange(len(receivers))]
        other = senders != receivers
        return Transfers.of(senders[other], receivers[other], lengths[other], count)
    moving = ~holds(src, receivers, element)
    element = element[moving]
    senders = by_element[first[element] + logical[moving] % holders[element]]
    return Transfers.of(senders, receivers[moving], lengths[moving], count)


def _row_major_boxes(
    shape: tuple[int, ...], start: int, stop: int
) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """The row-major elements `start` to `stop - 1` of a tensor of `shape` as at most
    2 * rank - 1 boxes `(low, high)`: a partial first row, whole rows, a partial last."""
    if start >= stop:
        return []
    if len(shape) == 1:
        return [((start,), (stop,))]
    inner = prod(shape[1:])

    def within(
        row: int, lo: int, hi: int
    ) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
        offset = row * inner
        return [
            ((row, *low), (row + 1, *high))
            for low, high in _row_major_boxes(shape[1:], lo - offset, hi - offset)
        ]

    first, last = -(-start // inner), stop // inner  # the whole rows: first..last-1
    if first > last:
        return within(start // inner, start, stop)
    boxes = within(first - 1, start, first * inner) if start < first * inner else []
    if first < last:
        boxes.append(((first, *(0,) * (len(shape) - 1)), (last, *shape[1:])))
    if last * inner < stop:
        boxes += within(last, last * inner, stop)
    return boxes


def _boxes(layout: Layout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each logical core holds as boxes of the tensor's shape, clipped to it: the
    owning core of each box and its low and high corners. A core holds one box, or,
    in a flat layout of a tensor of rank 2 or more, the boxes its run of row-major
    elements makes (`_row_major_boxes`)."""
    view = np.array(layout.view, dtype=np.int64)
    origins = layout.origins()
    lo = np.clip(origins, 0, view)
    hi = np.clip(origins + np.array(layout.piece), 0, view)
    if layout.view == layout.shape:
        return np.arange(layout.grid.size), lo, hi
    owners: list[int] = []
    corners: list[tuple[tuple[int, ...], ...]] = []
    for core, (start, stop) in enumerate(
        zip(lo[:, 0].tolist(), hi[:, 0].tolist(), strict=True)
    ):
        boxes = _row_major_boxes(layout.shape, start, stop)
        owners += [core] * len(boxes)
        corners += boxes
    rank = len(layout.shape)
    low = np.array([c[0] for c in corners], dtype=np.int64).reshape(-1, rank)
    high = np.array([c[1] for c in corners], dtype=np.int64).reshape(-1, rank)
    return np.array(owners, dtype=np.int64), low, high


CELLS_PER_ELEMENT = 4
"""`_box_transfers` counts by cells while there are fewer (box, cell) pairs than a
quarter of the elements the boxes hold; the per-element path is faster below."""


def _cell_count(lo: np.ndarray, hi: np.ndarray, cuts: list[np.ndarray]) -> int:
    """How many (box, cell) pairs `_cells` would list."""
    spans = [
        np.searchsorted(points, hi[:, a]) - np.searchsorted(points, lo[:, a])
        for a, points in enumerate(cuts)
    ]
    return int(np.prod(spans, axis=0).sum()) if len(lo) else 0


def _volume(lo: np.ndarray, hi: np.ndarray) -> int:
    return int((hi - lo).prod(axis=1).sum())


def _cells(
    lo: np.ndarray, hi: np.ndarray, cuts: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (box, cell) pair of boxes `lo`..`hi` cut at `cuts` (per axis): the
    box, the cell's row-major number among all cells, and its number of elements."""
    box = np.arange(len(lo))
    key = np.zeros(len(lo), dtype=np.int64)
    volume = np.ones(len(lo), dtype=np.int64)
    for axis, points in enumerate(cuts):
        first = np.searchsorted(points, lo[box, axis])
        spans = np.searchsorted(points, hi[box, axis]) - first
        rank = np.arange(int(spans.sum())) - np.repeat(np.cumsum(spans) - spans, spans)
        interval = np.repeat(first, spans) + rank
        box = np.repeat(box, spans)
        key = np.repeat(key, spans) * (len(points) - 1) + interval
        volume = np.repeat(volume, spans) * np.diff(points)[interval]
    return box, key, volume


def _box_transfers(src: Layout, dst: Layout, combine: bool, count: int) -> Transfers:
    """`relayout_transfers` by boxes of the tensor rather than elements. Along each
    axis the corners of every box cut the tensor into intervals; their products are
    cells, within which every element has the same holders. So the work is per box and
    cell it meets, however large the tensor: the elementwise rule of the module
    docstring applied to a cell at once."""
    src_owner, src_lo, src_hi = _boxes(src)
    dst_owner, dst_lo, dst_hi = _boxes(dst)
    cuts = [
        np.unique(np.r_[src_lo[:, a], src_hi[:, a], dst_lo[:, a], dst_hi[:, a]])
        for a in range(len(src.shape))
    ]
    pieces = _cell_count(src_lo, src_hi, cuts) + _cell_count(dst_lo, dst_hi, cuts)
    elements = _volume(src_lo, src_hi) + _volume(dst_lo, dst_hi)
    if (
        CELLS_PER_ELEMENT * pieces > elements
        or prod(len(c) for c in cuts) * src.grid.size >= 1 << 62
    ):
        # Cut finer than it saves (a flat layout's runs cut every axis often), or
        # too many cells to number.
        return _element_transfers(src, dst, combine, count)
    box, key, volume = _cells(dst_lo, dst_hi, cuts)
    core = dst_owner[box]
    holder_box, held = _cells(src_lo, src_hi, cuts)[:2]
    holder = src_owner[holder_box]
    wanted = np.isin(held, key)
    holder, held = holder[wanted], held[wanted]
    # Each cell's holders in the source's logical core order: holder[first:first + n].
    order = np.lexsort((holder, held))
    holder, held = holder[order], held[order]
    cells, first, holders = np.unique(held, return_index=True, return_counts=True)
    at = np.searchsorted(cells, key)
    found = at < len(cells)
    found[found] = cells[at[found]] == key[found]
    if not found.all():
        raise ValueError("the destination holds an element no core of the source holds")
    first, holders = first[at], holders[at]
    physical = src.grid.physical()
    receivers = dst.grid.physical()[core]
    if combine:
        copies = np.arange(int(holders.sum())) - np.repeat(
            np.cumsum(holders) - holders, holders
        )
        senders = physical[holder[np.repeat(first, holders) + copies]]
        receivers, volume = np.repeat(receivers, holders), np.repeat(volume, holders)
        other = senders != receivers
        return Transfers.of(senders[other], receivers[other], volume[other], count)
    # Whether the receiving core holds the cell in the source already.
    logical = np.full(max(int(physical.max()), int(receivers.max())) + 1, -1)
    logical[physical] = np.arange(src.grid.size)
    own = logical[receivers]
    pairs = held * src.grid.size + holder  # sorted
    asked = key * src.grid.size + own
    at = np.minimum(np.searchsorted(pairs, asked), len(pairs) - 1)
    moving = ~((own >= 0) & (pairs[at] == asked))
    senders = physical[holder[first + core % holders]]
    return Transfers.of(senders[moving], receivers[moving], volume[moving], count)


def chunk_share(layout: Layout) -> int | None:
    """The chunk size of a layout cutting its flattened tensor into contiguous chunks,
    one per core in order (the default layout's form), else None."""
    if not layout.flat or len(layout.piece) != 1:
        return None
    share = layout.piece[0]
    chunks = chunked_layout(layout.shape, share, layout.padding)
    return share if layout == chunks else None


def _merged(
    view: np.ndarray, lo: np.ndarray, extents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The boxes from `lo` of `extents` in a tensor of shape `view` with the trailing
    axes every box covers whole merged into the axis before them: the same elements in
    the same row-major order, in longer runs."""
    tail = len(view)
    while (
        tail > 1
        and ((lo[:, tail - 1] == 0) & (extents[:, tail - 1] == view[tail - 1])).all()
    ):
        tail -= 1
    inner = int(view[tail:].prod())
    view = np.r_[view[: tail - 1], view[tail - 1] * inner]
    lo = np.c_[lo[:, : tail - 1], lo[:, tail - 1] * inner]
    extents = np.c_[extents[:, : tail - 1], extents[:, tail - 1] * inner]
    return view, lo, extents


def _runs_per_box(extents: np.ndarray) -> np.ndarray:
    """How many runs `_rows` lists for each box (of `_merged` extents)."""
    return extents[:, :-1].prod(axis=1) * (extents[:, -1] > 0)


def _strides(view: np.ndarray) -> np.ndarray:
    """The row-major strides of a tensor of shape `view`."""
    return np.cumprod(np.r_[1, view[:0:-1]])[::-1].astype(np.int64)


def _rows(
    view: np.ndarray, lo: np.ndarray, extents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The boxes from `lo` of `extents` (in a tensor of shape `view`) as runs of
    elements contiguous in its row-major order: each run's box, start and end, box
    after box and in increasing order within one (`_merged` axes: longer runs, fewer
    of them)."""
    view, lo, extents = _merged(view, lo, extents)
    rows_per_box = _runs_per_box(extents)
    box = np.repeat(np.arange(len(lo)), rows_per_box)
    local = np.arange(len(box)) - np.repeat(
        np.cumsum(rows_per_box) - rows_per_box, rows_per_box
    )
    strides = _strides(view)
    start = lo[box, -1]
    for axis in reversed(range(len(view) - 1)):
        local, digit = np.divmod(local, extents[box, axis])
        start = start + (lo[box, axis] + digit) * strides[axis]
    return box, start, start + extents[box, -1]


def _before(
    view: np.ndarray, lo: np.ndarray, extents: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """How many elements of box `i` (from `lo[i]`, of `extents[i]`, in a tensor of
    shape `view`) come before row-major index `index[i]` (0 to the tensor's size):
    axis by axis, the whole slabs of the box before the index's digit, then, while
    that digit lies in the box, the same count inside the slab it falls in."""
    inner = np.cumprod(
        np.c_[np.ones(len(lo), dtype=np.int64), extents[:, :0:-1]], axis=1
    )[:, ::-1]
    count = np.zeros(len(lo), dtype=np.int64)
    inside = np.ones(len(lo), dtype=bool)
    rest = index
    for axis, stride in enumerate(_strides(view).tolist()):
        digit, rest = np.divmod(rest, stride)
        offset = digit - lo[:, axis]
        count += np.clip(offset, 0, extents[:, axis]) * inner[:, axis] * inside
        inside &= (offset >= 0) & (offset < extents[:, axis])
    return count


def _cut(outer: np.ndarray, reach: np.ndarray, share: int) -> int:
    """The axis before which `_box_chunks` cuts the boxes into slabs: the one that
    bounds fewest, where cutting before axis k makes `outer[:, k]` slabs per box, each
    reaching over `reach[:, k]` elements and so at most `reach // share + 3` chunk
    bounds."""
    return int(np.argmin((outer * (reach // share + 3)).sum(axis=0)))


def _box_chunks(
    view: np.ndarray, lo: np.ndarray, extents: np.ndarray, share: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How many elements of each box (from `lo`, of `extents`, in a tensor of shape
    `view`) fall in each chunk of `share` row-major elements: a box, a chunk and a
    count per pair that meets, box by box and chunk by chunk within one. A box is cut
    along its leading axes into slabs, each contiguous in the tensor's order but for
    gaps, and counted per chunk its span reaches (`_before` at the chunks' bounds): as
    one slab when chunks are many (a box spanning the tensor meets most of them), run
    by run when they are few, and in between where that reaches fewer chunks."""
    view, lo, extents = _merged(view, lo, extents)
    boxes = np.flatnonzero((extents > 0).all(axis=1))
    lo, extents = lo[boxes], extents[boxes]
    strides = _strides(view)
    # Cut before axis k: outer[:, k] slabs per box, each spanning reach[:, k] elements.
    ones = np.ones((len(lo), 1), dtype=np.int64)
    outer = np.cumprod(np.c_[ones, extents[:, :-1]], axis=1)
    reach = np.cumsum(((extents - 1) * strides)[:, ::-1], axis=1)[:, ::-1] + 1
    k = _cut(outer, reach, share)
    slabs = outer[:, k]
    box = np.repeat(np.arange(len(lo)), slabs)
    local = np.arange(len(box)) - np.repeat(np.cumsum(slabs) - slabs, slabs)
    base = np.zeros(len(box), dtype=np.int64)
    for axis in reversed(range(k)):
        local, digit = np.divmod(local, extents[box, axis])
        base += (lo[box, axis] + digit) * strides[axis]
    start = base + lo[box, k:] @ strides[k:]
    first = start // share
    bounds = (start + reach[box, k] - 1) // share - first + 2
    slab = np.repeat(np.arange(len(box)), bounds)
    chunk = first[slab] + (
        np.arange(len(slab)) - np.repeat(np.cumsum(bounds) - bounds, bounds)
    )
    box = box[slab]
    before = _before(
        view[k:],
        lo[box, k:],
        extents[box, k:],
        np.clip(chunk * share - base[slab], 0, int(view[k:].prod())),
    )
    # A slab's count in a chunk: the difference between the chunk's bounds.
    within = np.ones(max(len(slab) - 1, 0), dtype=bool)
    within[(np.cumsum(bounds) - 1)[:-1]] = False
    counts = np.diff(before)[within]
    box, chunk = box[:-1][within], chunk[:-1][within]
    # A box's slabs meet the chunks in order: sum each stretch of one (box, chunk).
    stretch = np.ones(len(counts), dtype=bool)
    stretch[1:] = (box[1:] != box[:-1]) | (chunk[1:] != chunk[:-1])
    starts = np.flatnonzero(stretch)
    counts = np.add.reduceat(counts, starts) if len(starts) else counts
    box, chunk = box[starts], chunk[starts]
    met = counts > 0
    return boxes[box[met]], chunk[met], counts[met]


def _cover(
    view: np.ndarray, lo: np.ndarray, hi: np.ndarray, limit: int
) -> np.ndarray | None:
    """How many of the boxes `lo`..`hi` (clipped to a tensor of shape `view`) hold
    each cell of the tensor cut along every axis at their corners: by adding each
    box's signed corners into an array of cells and summing it along every axis.
    None when there would be more than `limit` cells."""
    rank = len(view)
    cuts = [np.unique(np.r_[0, view[a], lo[:, a], hi[:, a]]) for a in range(rank)]
    if prod(len(c) for c in cuts) > limit:
        return None
    corners = [
        (np.searchsorted(c, lo[:, a]), np.searchsorted(c, hi[:, a]))
        for a, c in enumerate(cuts)
    ]
    cover = np.zeros([len(c) for c in cuts], dtype=np.int64)
    for ends in itertools.product((0, 1), repeat=rank):
        at = tuple(corners[a][end] for a, end in enumerate(ends))
        np.add.at(cover, at, -1 if sum(ends) % 2 else 1)
    for axis in range(rank):
        cover = np.cumsum(cover, axis=axis)
    return cover[(slice(-1),) * rank]


def _tiles(view: np.ndarray, lo: np.ndarray, hi: np.ndarray, combine: bool) -> bool:
    """Whether the boxes `lo`..`hi` (clipped to a tensor of shape `view`) hold every
    element of it, and, unless `combine`, each once: counted by cells where they are
    fewer than the boxes' runs, else from the runs in order."""
    runs = int(_runs_per_box(_merged(view, lo, hi - lo)[2]).sum())
    cover = _cover(view, lo, hi, runs)
    if cover is not None:
        if not cover.size:
            return False
        return bool((cover >= 1).all() if combine else (cover == 1).all())
    start, end = _rows(view, lo, hi - lo)[1:]
    order = np.argsort(start, kind="stable")
    starts, ends = start[order], end[order]
    if not len(starts) or starts[0] != 0 or ends.max() != int(view.prod()):
        return False
    if combine:
        reach = np.maximum.accumulate(ends)
        return not (starts[1:] > reach[:-1]).any()  # a gap
    return not (starts[1:] != ends[:-1]).any()  # replicas, or a gap


def _to_chunks(
    src: Layout, dst: Layout, share: int, combine: bool, count: int
) -> Transfers | None:
    """`relayout_transfers` into contiguous chunks (core `element // share` receives
    the element), run by run of each source box, as `_from_chunks` the other way:
    every op's epilogue. With `combine` every copy goes to its chunk's core; without,
    only when each element has one holder (the source's runs tile the tensor), which
    then sends it unless it is the chunk's core. None where that does not hold (or an
    element has no holder: the general path says so)."""
    owner, lo, hi = _boxes(src)
    if not _tiles(np.array(src.shape, dtype=np.int64), lo, hi, combine):
        return None
    box, chunk, lengths = _box_chunks(
        np.array(src.shape, dtype=np.int64), lo, hi - lo, share
    )
    senders = src.grid.physical()[owner[box]]
    receivers = dst.grid.physical()[chunk]
    moving = senders != receivers
    return Transfers.of(senders[moving], receivers[moving], lengths[moving], count)


def _from_chunks(src: Layout, share: int, dst: Layout, count: int) -> Transfers:
    """`relayout_transfers` from contiguous chunks (every element has one holder, the
    core `element // share`) without listing elements: a destination box is a set of
    rows contiguous in the flattened tensor, and a row meets a few chunks, so the work
    is per row and chunk met, once per distinct box (replicas receive alike). This is
    every op's prologue, on the largest tensors."""
    view = np.array(dst.view, dtype=np.int64)
    origins = dst.origins()
    lo = np.clip(origins, 0, view)
    extents = np.clip(origins + np.array(dst.piece), 0, view) - lo
    boxes, box_of_core = np.unique(np.c_[lo, extents], axis=0, return_inverse=True)
    box_of_core = box_of_core.reshape(-1)
    rank = len(view)
    box_of_run, chunk_of_run, length_of_run = _box_chunks(
        view, boxes[:, :rank], boxes[:, rank:], share
    )
    # Every core receives its box's runs.
    per_box = np.bincount(box_of_run, minlength=len(boxes))
    first_run = np.cumsum(per_box) - per_box
    taken = per_box[box_of_core]
    core = np.repeat(np.arange(len(box_of_core)), taken)
    which = np.repeat(first_run[box_of_core], taken) + (
        np.arange(len(core)) - np.repeat(np.cumsum(taken) - taken, taken)
    )
    senders = src.grid.physical()[chunk_of_run[which]]
    receivers = dst.grid.physical()[core]
    moving = senders != receivers
    return Transfers.of(
        senders[moving], receivers[moving], length_of_run[which][moving], count
    )


def _same_as_next(
    by_element: np.ndarray, elements: np.ndarray, holders: np.ndarray
) -> np.ndarray:
    """Whether each element but the last has the same holders as the next, from the
    holders of every element in turn (`by_element`, of the sorted `elements`)."""
    same = holders[:-1] == holders[1:]
    # The k-th holder of e sits at i, that of e + 1 (if as many) at i + holders[e].
    compared = np.flatnonzero(elements < len(same))
    compared = compared[same[elements[compared]]]
    differ = by_element[compared] != by_element[compared + holders[elements[compared]]]
    return same & (np.bincount(elements[compared[differ]], minlength=len(same)) == 0)


def transfer_cycles(
    machine: Machine,
    transfers: Transfers,
    elem_bytes: int,
    cores_used: int,
    combine: bool = False,
) -> float:
    """One exchange moving `transfers` (`routing.exchange_time`: routed over shared
    links on a mesh, the busiest port on an all-to-all chip), plus, when it combines
    partial results, the elementwise combining of the most elements a core receives.
    The sync ending it is not included; nothing moved costs nothing."""
    if not len(transfers.elements):
        return 0.0
    cycles = exchange_time(machine, transfers, elem_bytes, cores_used)
    if combine:
        cycles += float(
            elementwise_cycles(machine.compute, int(transfers.received.max()))
        )
    return cycles


def relayout_cycles(
    machine: Machine, src: Layout, dst: Layout, elem_bytes: int, combine: bool = False
) -> float:
    """One exchange moving a tensor from `src` to `dst` (the cores of either layout
    take part) and the sync ending it, as the simulated chip charges a
    `core.redistribute`; nothing, not even the sync, when nothing moves."""
    transfers = relayout_transfers(src, dst, combine)
    if not len(transfers.elements):
        return 0.0
    cores = cores_spanned(src.grid, dst.grid)
    exchange = transfer_cycles(machine, transfers, elem_bytes, cores, combine)
    return exchange + sync_cycles(machine)


def cheaper_route(
    machine: Machine, src: Layout, dst: Layout, elem_bytes: int, combine: bool = False
) -> tuple[float, bool]:
    """The cheaper of moving a tensor straight from `src` to `dst` and through the
    default layout, whose even spread shares the sending when few cores hold what many
    need (`combine`: `src` holds partial results, summed on the way): its cycles, and
    whether it goes through the default layout. The lowering takes this route and the
    selection costs it."""
    direct = relayout_cycles(machine, src, dst, elem_bytes, combine)
    default = default_layout(machine.cores, src.shape)
    if src == dst or dst == default or (src == default and not combine):
        return direct, False
    try:
        via = relayout_cycles(machine, src, default, elem_bytes, combine)
    except ValueError:  # `src` holds only what `dst` needs, not the whole tensor
        return direct, False
    via += relayout_cycles(machine, default, dst, elem_bytes)
    return (via, True) if via < direct else (direct, False)


def combined_layout(
    machine: Machine, partial: Layout, consumer: Layout | None, elem_bytes: int
) -> Layout:
    """Where partial results (`partial`: an op's output when a reduction dim is split
    over cores) are combined: straight into their only consumer's layout (`consumer`)
    when that is cheaper than combining into the default layout and bringing them from
    there (`cheaper_route`), else the default layout."""
    default = default_layout(machine.cores, partial.shape)
    if consumer is None:
        return default
    _, through_default = cheaper_route(
        machine, partial, consumer, elem_bytes, combine=True
    )
    return default if through_default else consumer


def rotation_transfers(
    ring: Ring,
    distance: int,
    elements: int,
    moving: np.ndarray | None = None,
    cores: int = 0,
) -> Transfers:
    """The transfers of a rotation by `distance` of pieces of `elements` around `ring`:
    every core of its grid (or those where `moving` is set) receives the piece of its
    source, unless that is itself; counted over `cores` cores or as many as the
    ring's highest core needs."""
    grid = ring.grid
    everyone = np.arange(grid.size)
    sources = ring.sources(distance)
    moves = sources != everyone
    if moving is not None:
        moves &= moving
    physical = grid.physical()
    return Transfers.of(
        physical[sources[moves]],
        physical[moves],
        elements,
        max(cores, int(physical.max()) + 1),
    )


def rotation_exchange(
    machine: Machine,
    ring: Ring,
    distance: int,
    elements: int,
    elem_bytes: int,
    moving: np.ndarray | None = None,
) -> float:
    """The exchange of one rotation by `distance` of pieces of `elements` around
    `ring` (`rotation_transfers`), every moving core sending at once
    (`routing.exchange_time`: on a mesh, over the links its routes share); its syncs
    are not included. Nothing when no piece moves."""
    transfers = rotation_transfers(ring, distance, elements, moving)
    if not len(transfers.elements):
        return 0.0
    return exchange_time(machine, transfers, elem_bytes, ring.grid.size)


def rotation_cycles(
    machine: Machine, ring: Ring, distance: int, elements: int, elem_bytes: int
) -> float:
    """One rotation of the whole ring (`rotation_exchange`) and the syncs that end
    it: `SYNCS_PER_SHIFT`, as the planner and the simulated chip charge a shift
    round. Nothing when no piece moves."""
    exchange = rotation_exchange(machine, ring, distance, elements, elem_bytes)
    if not exchange:
        return 0.0
    return exchange + SYNCS_PER_SHIFT * sync_cycles(machine)


def rotation_runs(
    schedule: OpSchedule, rotation: Rotation
) -> list[tuple[int, np.ndarray]]:
    """How often `rotation` runs and which logical cores move each time, as
    `t10-lower-to-shift` writes it: after every step `j` of its loop (the last one
    closing the circle after the loop), once per iteration of the loops around it,
    moving the cores where `when` is all zeros at `j`."""
    level = schedule.step_dims.index(rotation.dim)
    outer = prod(schedule.steps[:level])
    grid = rotation.ring.grid
    runs: list[tuple[int, np.ndarray]] = []
    for j in range(schedule.steps[level]):
        symbols = [0] * rotation.when.num_symbols
        symbols[level] = j
        when = evaluate_map(rotation.when, grid.digits(), tuple(symbols), grid.size)
        runs.append((outer, (when == 0).all(axis=1)))
    return runs


@dataclass(frozen=True)
class PlanMoves:
    """What moving an op's tensors costs under a plan, exactly as the lowered program
    moves them: per input, its prologue (from the default layout into the plan's);
    the exchanges of its rotations and the output's (`shift`) and the syncs ending
    them (`sync`); the
    epilogue (the output, partial sums combined, into the default layout). `closing`:
    per input, the shift and sync cycles of the rotations after its outermost step
    loop that close its rings (what `t10-eliminate-redundant-shifts` drops where
    nothing reads the rotated buffer afterwards)."""

    prologue: tuple[float, ...]
    shift: float
    sync: float
    epilogue: float
    closing: tuple[float, ...] = ()


def placed_schedule(machine: Machine, spec: OpSpec, plan: OpPlan) -> OpSchedule:
    """The schedule as the lowering builds it, on the machine's placement
    (`grid_cores`): which physical core holds which box decides what a relayout
    moves."""
    return op_schedule(
        spec.domain,
        plan,
        spec.operand_shapes,
        spec.result_shapes[0],
        grid_cores(machine, plan, spec.domain),
    )


@memo(maxsize=4096)
def plan_moves(machine: Machine, spec: OpSpec, plan: OpPlan) -> PlanMoves:
    """The relayouts and rotations `t10-lower-to-shift` writes for an op of `spec` run
    with `plan` (its `OpSchedule`), costed as the simulated chip costs them: the plan
    search estimates an epilogue from even shares and a rotation as one hop on links
    of its own, and every rotation as a full round of its ring; this counts who sends
    what over which links, and which cores of a ring move at each step (a skewed
    schedule moves some cores of a ring at every step, which costs a whole exchange
    and its syncs each time). Cached: a model repeats its ops layer
    after layer. Raises PlanError if the plan cannot be scheduled."""
    schedule = placed_schedule(machine, spec, plan)
    prologue = tuple(
        relayout_cycles(machine, default_layout(machine.cores, shape), layout, b)
        for shape, layout, b in zip(
            spec.operand_shapes, schedule.inputs, spec.operand_bytes, strict=True
        )
    )
    epilogue = relayout_cycles(
        machine,
        schedule.output,
        default_layout(machine.cores, spec.result_shapes[0]),
        spec.result_bytes[0],
        schedule.combine is not None,
    )
    shift = sync = 0.0

    def charged(
        rotation: Rotation,
        runs: list[tuple[int, np.ndarray]],
        elements: int,
        elem_bytes: int,
    ) -> list[float]:
        """Adds `rotation`'s `runs` of pieces of `elements` to `shift` and `sync`;
        each run's exchange cycles (0: nothing moves)."""
        nonlocal shift, sync
        exchanges: list[float] = []
        for times, moving in runs:
            exchange = rotation_exchange(
                machine, rotation.ring, 1, elements, elem_bytes, moving
            )
            if exchange:
                shift += times * exchange
                sync += times * SYNCS_PER_SHIFT * sync_cycles(machine)
            exchanges.append(exchange)
        return exchanges

    closing = [0.0] * len(schedule.inputs)
    for rotation in schedule.rotations:
        v = rotation.tensor
        exchanges = charged(
            rotation,
            rotation_runs(schedule, rotation),
            schedule.inputs[v].piece_elements,
            spec.operand_bytes[v],
        )
        last = exchanges[-1] if exchanges else 0.0
        if last and schedule.step_dims.index(rotation.dim) == 0:
            closing[v] += last + SYNCS_PER_SHIFT * sync_cycles(machine)
    for rotation in schedule.output_rotations:
        runs = rotation_runs(schedule, rotation)
        if schedule.step_dims.index(rotation.dim) == 0:
            runs = runs[:-1]  # the outermost loop leaves the output where it ends
        charged(
            rotation,
            runs,
            schedule.output.piece_elements,
            accumulator_bytes(machine, spec),
        )
    return PlanMoves(prologue, shift, sync, epilogue, tuple(closing))
