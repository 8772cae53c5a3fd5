"""The traffic and cycles of relayouts and rotations (`t10ir.cost.relayout`).

`relayout_transfers` is checked against brute-force counting, one core and element at a
time with plain Python, on every pair of a dozen small layouts of one 6x8 tensor:
contiguous chunks (one with ceil padding), row blocks, tiles on permuted physical cores,
replicas, a Cannon skew, halos reaching outside the tensor, and a grid on other physical
cores, and a slice holding part of the tensor (which cannot feed a layout needing
the rest). Then a few counts worked out by hand, the cycles as the exchange they are, and
rotation hops on an all-to-all chip, a mesh and a torus.
"""

from __future__ import annotations

import dataclasses
import itertools
from math import prod
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from xdsl.ir.affine import AffineExpr, AffineMap

from t10ir.cost import relayout
from t10ir.cost.model import elementwise_cycles, shift_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT, exchange_cycles
from t10ir.cost.relayout import (
    _box_chunks,
    _box_transfers,
    _element_transfers,
    _tiles,
    _to_chunks,
    chunk_share,
    relayout_cycles,
    relayout_transfers,
    rotation_cycles,
    rotation_transfers,
)
from t10ir.cost.routing import route
from t10ir.planning.layout import Grid, Layout, Ring, const, default_layout, dim
from t10ir.target import Machine, load_machine

SHAPE = (6, 8)


def layout(
    piece: tuple[int, ...],
    grid: tuple[int, ...],
    origin: tuple[AffineExpr, ...],
    cores: tuple[int, ...] | None = None,
) -> Layout:
    return Layout(SHAPE, piece, Grid(grid, cores), AffineMap(len(grid), 0, origin))


d0, d1 = dim(0), dim(1)
LAYOUTS = {
    "default16": default_layout(16, SHAPE),
    "default5": default_layout(5, SHAPE),  # 10 per core, the last holds 8
    "rows": layout((2, 8), (3,), (d0 * 2, const(0))),
    "tiles": layout((3, 4), (2, 2), (d0 * 3, d1 * 4), cores=(3, 0, 2, 1)),
    "replicas": layout((6, 8), (2, 3), (const(0), const(0))),
    "half-replicas": layout((3, 8), (2, 2), (d0 * 3, const(0))),
    "skew": layout((3, 2), (2, 4), (d0 * 3, ((d1 + d0) % 4) * 2)),
    "halo": layout((4, 6), (2, 2), (d0 * 3 - 1, d1 * 4 - 1)),
    "ceil": layout((4, 8), (2,), (d0 * 4, const(0))),
    "far-cores": layout((3, 4), (2, 2), (d0 * 3, d1 * 4), cores=(10, 5, 7, 12)),
    "columns": layout((6, 1), (8,), (const(0), d0), cores=(7, 6, 5, 4, 3, 2, 1, 0)),
    "slice": layout((3, 4), (2,), (const(0), d0 * 4), cores=(4, 2)),  # rows 0 to 2
}


def boxes(layout: Layout) -> list[tuple[int, list[int]]]:
    """Per logical core, its physical core and the row-major indices of the tensor
    elements it holds."""
    physical = layout.grid.cores or tuple(range(layout.grid.size))
    held: list[tuple[int, list[int]]] = []
    for logical, core in enumerate(physical):
        digits = np.unravel_index(logical, layout.grid.shape)
        origin = layout.origin.eval([int(d) for d in digits], [])
        elements = []
        for offset in itertools.product(*(range(p) for p in layout.piece)):
            point = [o + f for o, f in zip(origin, offset, strict=True)]
            if all(0 <= p < s for p, s in zip(point, layout.view, strict=True)):
                elements.append(int(np.ravel_multi_index(point, layout.view)))
        held.append((core, elements))
    return held


def brute_force(
    src: Layout, dst: Layout, combine: bool
) -> tuple[dict[int, int], dict[int, int]]:
    holders: dict[int, list[int]] = {}
    for core, elements in boxes(src):
        for element in elements:
            holders.setdefault(element, []).append(core)
    send = dict.fromkeys(range(64), 0)
    receive = dict.fromkeys(range(64), 0)
    for logical, (core, elements) in enumerate(boxes(dst)):
        for element in elements:
            held_by = holders.get(element)
            if held_by is None:
                raise ValueError(f"no source core holds element {element}")
            if combine:
                senders = [h for h in held_by if h != core]
            elif core in held_by:
                senders = []
            else:
                senders = [held_by[logical % len(held_by)]]
            for sender in senders:
                send[sender] += 1
                receive[core] += 1
    return send, receive


@pytest.mark.parametrize("name", LAYOUTS)
def test_layouts_are_valid(name: str) -> None:
    assert LAYOUTS[name].check() == []


@pytest.mark.parametrize("name", LAYOUTS)
def test_a_layout_runs_outside_where_a_box_holds_padding(name: str) -> None:
    """`Layout.runs_outside` is whether some box element lies outside the tensor, as
    brute force over the boxes counts them."""
    held = sum(len(elements) for _, elements in boxes(LAYOUTS[name]))
    cells = LAYOUTS[name].grid.size * LAYOUTS[name].piece_elements
    assert LAYOUTS[name].runs_outside() == (held < cells)
    assert LAYOUTS[name].runs_outside() == (name in ("default5", "halo", "ceil"))


PAIRS = list(itertools.product(LAYOUTS, repeat=2))


@pytest.mark.parametrize("combine", [False, True], ids=["copy", "combine"])
@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_traffic_matches_brute_force(src: str, dst: str, combine: bool) -> None:
    try:
        expected_send, expected_receive = brute_force(
            LAYOUTS[src], LAYOUTS[dst], combine
        )
    except ValueError:
        with pytest.raises(ValueError, match="no core of the source holds"):
            relayout_transfers(LAYOUTS[src], LAYOUTS[dst], combine)
        return
    moves = relayout_transfers(LAYOUTS[src], LAYOUTS[dst], combine)
    send, receive = moves.sent, moves.received
    top = max(int(LAYOUTS[n].grid.physical().max()) for n in (src, dst)) + 1
    assert len(send) == len(receive) == top
    assert send.tolist() == [expected_send[c] for c in range(top)]
    assert receive.tolist() == [expected_receive[c] for c in range(top)]
    assert send.sum() == receive.sum()


def test_traffic_counted_by_hand() -> None:
    rows, default = LAYOUTS["rows"], LAYOUTS["default16"]
    # Row block i is elements 16i to 16i + 15; default chunk i is 3i to 3i + 2: core 0
    # keeps its three, cores 1 and 2 receive all sixteen.
    moves = relayout_transfers(default, rows)
    send, receive = moves.sent, moves.received
    assert receive.tolist() == [13, 16, 16] + [0] * 13
    assert send.tolist() == [0] + [3] * 15
    assert len(relayout_transfers(default, rows, cores=20).sent) == 20
    # Nothing moves into the layout a tensor has.
    moves = relayout_transfers(rows, rows)
    send, receive = moves.sent, moves.received
    assert not send.any() and not receive.any()
    # Six partial sums of the whole tensor onto rows: core 0 receives five copies of
    # each of its 16 elements; each holder sends what the three row cores need but it.
    moves = relayout_transfers(LAYOUTS["replicas"], rows, combine=True)
    send, receive = moves.sent, moves.received
    assert receive.tolist() == [80, 80, 80, 0, 0, 0]
    assert send.tolist() == [32, 32, 32, 48, 48, 48]
    # Without combining, the replicas share the sending: none sends everything.
    moves = relayout_transfers(LAYOUTS["replicas"], default)
    send, receive = moves.sent, moves.received
    assert receive.sum() == 48 - 3 * 6 and send.max() < 48 - 3 * 6


def test_relayout_cycles_is_one_exchange() -> None:
    machine = dataclasses.replace(load_machine("ipu-mk2"), name="ipu-16", cores=16)
    src, dst = LAYOUTS["replicas"], LAYOUTS["far-cores"]
    moves = relayout_transfers(src, dst, combine=True)
    send, receive = moves.sent, moves.received
    cores_used = len(set(range(6)) | {10, 5, 7, 12})
    assert relayout_cycles(machine, src, dst, 2, combine=True) == pytest.approx(
        exchange_cycles(machine, int(send.max()), int(receive.max()), 2, cores_used)
        + elementwise_cycles(machine.compute, int(receive.max()))
    )
    same = LAYOUTS["rows"]
    assert relayout_cycles(machine, same, same, 2) == 0.0  # not even a sync


def test_relayout_of_another_tensor_is_refused() -> None:
    with pytest.raises(ValueError, match="different tensors"):
        relayout_transfers(default_layout(4, (2, 2)), LAYOUTS["rows"])


def _ring(cores: tuple[int, ...]) -> Ring:
    """A ring over a grid of one axis laid on the given physical cores."""
    n = len(cores)
    return Ring(Grid((n,), cores), n, AffineMap(1, 0, (((d0 + 1) % n),)))


def _hops(machine: Machine, ring: Ring, distance: int) -> int:
    """The longest route of a rotation's transfers (1 on an all-to-all chip)."""
    transfers = rotation_transfers(ring, distance, 1)
    if machine.topology != "mesh2d":
        return int(len(transfers.elements) > 0)
    return int(route(machine, transfers)[1].max(initial=0))


def test_rotation_hops() -> None:
    ipu = load_machine("ipu-mk2")
    mesh = dataclasses.replace(
        ipu, cores=16, topology="mesh2d", mesh=(4, 4), hop_cycles=9
    )
    torus = dataclasses.replace(mesh, torus=True)
    ring = _ring((0, 1, 2, 3))  # along the first mesh row
    assert _hops(ipu, ring, 1) == 1
    assert _hops(mesh, ring, 1) == 3  # 3 -> 0 back along the row
    assert _hops(torus, ring, 1) == 1  # the row wraps around
    assert _hops(mesh, ring, 2) == 2
    assert _hops(mesh, ring, 4) == 0
    diagonal = _ring((0, 5, 10, 15))
    assert _hops(mesh, diagonal, 1) == 6
    assert _hops(torus, diagonal, 1) == 2


def test_rotation_cycles() -> None:
    wormhole = load_machine("wormhole-8x8")
    ring = _ring((0, 9, 18, 27))  # down the diagonal: 2 hops a step, 6 back
    cycles = rotation_cycles(wormhole, ring, 1, 100, 2)
    hops = _hops(wormhole, ring, 1)
    assert hops == 6
    assert cycles == pytest.approx(
        shift_cycles(wormhole, 100, 2, hops, cores_used=4)
        + SYNCS_PER_SHIFT * wormhole.sync_cycles
    )
    assert cycles == pytest.approx(100 * 2 / 32 + 6 * 9 + 2 * 200)


def test_cores_are_physical() -> None:
    # One tile moved to the physical core that already holds it costs nothing.
    tiles, far = LAYOUTS["tiles"], LAYOUTS["far-cores"]
    moved = dataclasses.replace(far, grid=Grid((2, 2), (3, 0, 2, 1)))
    moves = relayout_transfers(tiles, moved)
    send, receive = moves.sent, moves.received
    assert not send.any() and not receive.any()
    moves = relayout_transfers(tiles, far)
    send, receive = moves.sent, moves.received
    assert receive.sum() == prod(SHAPE)


def test_scalar_is_held_by_every_core_of_its_grid() -> None:
    """A rank-0 tensor's one element: every core of a replicated layout holds it, so
    spreading it from the default layout's single core sends it to the three others."""
    replicated = Layout((), (), Grid((4,)), AffineMap(1, 0, ()))
    moves = relayout_transfers(default_layout(4, ()), replicated)
    send, receive = moves.sent, moves.received
    assert send.tolist() == [3, 0, 0, 0]
    assert receive.tolist() == [0, 1, 1, 1]
    moves = relayout_transfers(replicated, default_layout(4, ()))
    send, receive = moves.sent, moves.received
    assert send.sum() == receive.sum() == 0


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@pytest.mark.parametrize("cores", [16, 5, 48])
def test_transfers_from_chunks_are_the_general_counts(name: str, cores: int) -> None:
    """From the default layout's contiguous chunks, transfers are counted per row of
    a destination box (`chunk_share`); the same layout with its cores spelled out
    takes the general per-element path, and both give the same pairs."""
    chunks = default_layout(cores, SHAPE)
    spelled = dataclasses.replace(
        chunks, grid=Grid(chunks.grid.shape, tuple(range(chunks.grid.size)))
    )
    assert chunk_share(chunks) == chunks.piece[0] and chunk_share(spelled) is None
    fast = relayout_transfers(chunks, LAYOUTS[name], cores=64)
    general = relayout_transfers(spelled, LAYOUTS[name], cores=64)
    for field in ("senders", "receivers", "elements"):
        assert getattr(fast, field).tolist() == getattr(general, field).tolist()


def test_transfers_from_chunks_to_a_rank3_box() -> None:
    """Rows of a rank-3 box step through two strides of the flattened tensor."""
    shape = (4, 6, 5)
    chunks = default_layout(7, shape)
    spelled = dataclasses.replace(
        chunks, grid=Grid(chunks.grid.shape, tuple(range(chunks.grid.size)))
    )
    d0, d1 = AffineExpr.dimension(0), AffineExpr.dimension(1)
    box = Layout(
        shape, (3, 4, 3), Grid((2, 2)), AffineMap(2, 0, (d0 * 2, d1 * 3 - 1, d0 + 1))
    )
    fast = relayout_transfers(chunks, box, cores=8)
    general = relayout_transfers(spelled, box, cores=8)
    assert fast.elements.sum() > 0
    for field in ("senders", "receivers", "elements"):
        assert getattr(fast, field).tolist() == getattr(general, field).tolist()


@st.composite
def box_layouts(draw: st.DrawFn, tensor: tuple[int, ...]) -> Layout:
    """A layout of a `tensor`-shaped tensor on a random grid: per axis (of the flattened tensor
    when flat), a grid axis (or none: replicas) stepping a random stride from a random
    offset (halos and padding included), pieces of any size, on shuffled physical
    cores."""
    flat = draw(st.booleans())
    shape = (prod(tensor),) if flat else tensor
    rank = len(shape)
    grid = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    origins = []
    for axis in range(rank):
        which = draw(st.integers(-1, len(grid) - 1))
        offset = draw(st.integers(-2, 1))
        stride = draw(st.integers(1, shape[axis]))
        origins.append(dim(which) * stride + offset if which >= 0 else const(offset))
    piece = tuple(draw(st.integers(1, size + 2)) for size in shape)
    cores = draw(st.permutations(range(2 * prod(grid))))[: prod(grid)]
    return Layout(
        tensor,
        piece,
        Grid(grid, tuple(cores)),
        AffineMap(len(grid), 0, tuple(origins)),
        flat,
    )


@settings(max_examples=300, deadline=None)
@given(st.data(), st.booleans())
def test_transfers_by_boxes_are_those_by_elements(
    data: st.DataObject, combine: bool
) -> None:
    """The per-cell path gives the per-element path's pairs exactly (or its refusal),
    between shaped and flat layouts alike."""
    shape = tuple(data.draw(st.lists(st.integers(1, 7), min_size=1, max_size=3)))
    src, dst = data.draw(box_layouts(shape)), data.draw(box_layouts(shape))
    assume(src.check() == [] and dst.check() == [])
    count = 2 * max(src.grid.size, dst.grid.size)
    with patch.object(relayout, "CELLS_PER_ELEMENT", 0):  # cells, however many
        try:
            expected = _element_transfers(src, dst, combine, count)
        except ValueError:
            with pytest.raises(ValueError, match="no core of the source holds"):
                _box_transfers(src, dst, combine, count)
            return
        found = _box_transfers(src, dst, combine, count)
    for field in ("senders", "receivers", "elements"):
        assert getattr(found, field).tolist() == getattr(expected, field).tolist()


@settings(max_examples=300, deadline=None)
@given(st.data(), st.booleans(), st.integers(1, 9))
def test_transfers_into_chunks_are_those_by_elements(
    data: st.DataObject, combine: bool, chunks: int
) -> None:
    """Into contiguous chunks (an op's epilogue), run by run of the source's boxes:
    the per-element path's pairs exactly, where the runs allow it (one holder per
    element, or combining; else None, and the general path takes over)."""
    shape = tuple(data.draw(st.lists(st.integers(1, 7), min_size=1, max_size=3)))
    src, dst = data.draw(box_layouts(shape)), default_layout(chunks, shape)
    assume(src.check() == [])
    count = 2 * max(src.grid.size, dst.grid.size)
    assert chunk_share(dst) is not None
    found = _to_chunks(src, dst, dst.piece[0], combine, count)
    try:
        expected = _element_transfers(src, dst, combine, count)
    except ValueError:
        assert found is None
        return
    if found is None:
        assert not combine  # only replicas stop it
        return
    for field in ("senders", "receivers", "elements"):
        assert getattr(found, field).tolist() == getattr(expected, field).tolist()


@st.composite
def clipped_boxes(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A tensor shape and boxes clipped to it (some empty, some whole along trailing
    axes, overlapping or not): the shape, the low and the high corners."""
    view = np.array(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    count = draw(st.integers(1, 6))
    lo = np.zeros((count, len(view)), dtype=np.int64)
    hi = np.zeros_like(lo)
    for box, axis in itertools.product(range(count), range(len(view))):
        lo[box, axis] = draw(st.integers(0, int(view[axis])))
        hi[box, axis] = draw(st.integers(int(lo[box, axis]), int(view[axis])))
    return view, lo, hi


def _held(view: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[int]:
    """The row-major indices of a box's elements, one by one."""
    ranges = [range(a, b) for a, b in zip(low.tolist(), high.tolist(), strict=True)]
    return [int(np.ravel_multi_index(i, view)) for i in itertools.product(*ranges)]


@settings(max_examples=300, deadline=None)
@given(clipped_boxes(), st.integers(1, 40))
def test_box_chunks_are_counted_element_by_element(
    tensor: tuple[np.ndarray, np.ndarray, np.ndarray], share: int
) -> None:
    """Per box and chunk of `share` elements it meets, in that order, the count of its
    elements there, however the boxes are cut into slabs (per chunk when they are
    many, per run when few: every cut is tried)."""
    view, lo, hi = tensor
    expected = sorted(
        (box, chunk, count)
        for box in range(len(lo))
        for chunk, count in zip(
            *np.unique(
                np.array(_held(view, lo[box], hi[box]), dtype=np.int64) // share,
                return_counts=True,
            ),
            strict=True,
        )
    )
    expected = [(b, int(c), int(n)) for b, c, n in expected]
    merged = len(relayout._merged(view, lo, hi - lo)[0])
    chosen = [_box_chunks(view, lo, hi - lo, share)]
    for cut in range(merged):
        with patch.object(relayout, "_cut", lambda *_, k=cut: k):
            chosen.append(_box_chunks(view, lo, hi - lo, share))
    for box, chunk, count in chosen:
        found = zip(box.tolist(), chunk.tolist(), count.tolist(), strict=True)
        assert list(found) == expected


@settings(max_examples=300, deadline=None)
@given(clipped_boxes(), st.booleans(), st.booleans())
def test_tiles_counts_the_holders_of_every_element(
    tensor: tuple[np.ndarray, np.ndarray, np.ndarray], combine: bool, by_runs: bool
) -> None:
    """Boxes tile a tensor when each element has one holder (at least one when
    combining), by cells or (`by_runs`, as where cells are too many) run by run."""
    view, lo, hi = tensor
    holders = np.zeros(int(view.prod()), dtype=np.int64)
    for low, high in zip(lo, hi, strict=True):
        holders[_held(view, low, high)] += 1
    expected = bool((holders >= 1).all() if combine else (holders == 1).all())
    if by_runs:
        with patch.object(relayout, "_cover", lambda *_: None):
            assert _tiles(view, lo, hi, combine) == expected
    else:
        assert _tiles(view, lo, hi, combine) == expected
