"""Exchanges routed over a mesh's links (`t10ir.cost.routing`) and the transfers they
route (`relayout_transfers`, the mesh interpreter's events).

Link loads are checked against a router written here one hop at a time in plain
Python, on random transfers over meshes and tori of several shapes, and against loads
worked out by hand: two transfers sharing a link, XY turns, the wrap of a torus and
its tie. `relayout_transfers` is checked against counting element by element. Then
rotations: one piece per link and hop gives `shift_cycles` exactly, a ring laid out
in order or folded by `t10ir.target.placement`, a rotation by two sharing links, and
the transfers the interpreter records for a shift and a redistribution.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.ir.affine import AffineExpr, AffineMap

from t10ir.context import make_context
from t10ir.cost.model import shift_cycles
from t10ir.cost.plan_cost import SYNCS_PER_SHIFT
from t10ir.cost.relayout import (
    Transfers,
    relayout_transfers,
    rotation_cycles,
)
from t10ir.cost.routing import (
    DIRECTIONS,
    exchange_time,
    port_cycles,
    route,
    routed_cycles,
)
from t10ir.dialects import core
from t10ir.interp.mesh import run_core_function
from t10ir.module_io import LocatingParser
from t10ir.planning.domain import DimKind, IterationDomain, LoopDim, TensorMap
from t10ir.planning.layout import Grid, Layout, Ring, const, default_layout, dim
from t10ir.planning.plan import OpPlan
from t10ir.target import Machine, load_machine
from t10ir.target.placement import fold, grid_cores
from t10ir.testing import oracles


def mesh(rows: int, cols: int, torus: bool = False) -> Machine:
    """A chip of 32 B/cycle links and 9 cycles a hop, as the Wormhole preset."""
    return Machine(
        f"mesh{rows}x{cols}",
        rows * cols,
        1 << 20,
        1e9,
        32,
        200,
        topology="mesh2d",
        mesh=(rows, cols),
        torus=torus,
        hop_cycles=9,
    )


def transfers(*triples: tuple[int, int, int], cores: int = 16) -> Transfers:
    """(sender, receiver, elements) triples."""
    senders, receivers, elements = zip(*triples, strict=True)
    return Transfers.of(
        np.array(senders), np.array(receivers), np.array(elements), cores
    )


def nonzero_loads(
    machine: Machine, moves: Transfers
) -> dict[tuple[str, int, int], int]:
    loads = route(machine, moves)[0]
    return {
        (DIRECTIONS[d], r, c): int(loads[d, r, c]) for d, r, c in np.argwhere(loads)
    }


def brute_force_route(
    machine: Machine, moves: Transfers
) -> tuple[dict[tuple[str, int, int], int], list[int]]:
    """Every transfer walked hop by hop: along its row, then its column; on a torus
    the shorter way, forward (east, south) on a tie."""
    assert machine.mesh is not None
    rows, cols = machine.mesh

    def step(here: int, there: int, extent: int) -> int:
        if not machine.torus:
            return 1 if there > here else -1
        ahead = (there - here) % extent
        return 1 if ahead <= extent - ahead else -1

    loads: dict[tuple[str, int, int], int] = {}
    hops: list[int] = []
    for sender, receiver, elements in zip(
        moves.senders.tolist(),
        moves.receivers.tolist(),
        moves.elements.tolist(),
        strict=True,
    ):
        (r, c), (to_r, to_c) = divmod(sender, cols), divmod(receiver, cols)
        count = 0
        while c != to_c:
            forward = step(c, to_c, cols)
            link = ("east" if forward == 1 else "west", r, c)
            loads[link] = loads.get(link, 0) + elements
            c, count = (c + forward) % cols, count + 1
        while r != to_r:
            forward = step(r, to_r, rows)
            link = ("south" if forward == 1 else "north", r, c)
            loads[link] = loads.get(link, 0) + elements
            r, count = (r + forward) % rows, count + 1
        hops.append(count)
    return loads, hops


# --- routing ------------------------------------------------------------------------


def test_two_transfers_share_a_link() -> None:
    machine = mesh(4, 4)
    moves = transfers((0, 2, 100), (1, 3, 60))
    assert nonzero_loads(machine, moves) == {
        ("east", 0, 0): 100,
        ("east", 0, 1): 160,
        ("east", 0, 2): 60,
    }
    assert route(machine, moves)[1].tolist() == [2, 2]
    # 160 elements of 2 bytes over 32 B/cycle, then two hops of pipeline fill.
    assert routed_cycles(machine, moves, 2) == pytest.approx(160 * 2 / 32 + 2 * 9)
    # Per-core ports alone would see 100 elements at most.
    assert port_cycles(machine, moves, 2) == pytest.approx(100 * 2 / 32 + 9)


def test_xy_routes_turn_at_the_receivers_column() -> None:
    machine = mesh(4, 4)
    # 0 -> 6 goes east to column 2, then south; 1 -> 6 joins it on both legs.
    moves = transfers((0, 6, 10), (1, 6, 5), (6, 0, 7))
    assert nonzero_loads(machine, moves) == {
        ("east", 0, 0): 10,
        ("east", 0, 1): 15,
        ("south", 0, 2): 15,
        ("west", 1, 2): 7,
        ("west", 1, 1): 7,
        ("north", 1, 0): 7,
    }
    assert route(machine, moves)[1].tolist() == [3, 2, 3]


def test_torus_takes_the_short_way_round() -> None:
    machine, torus = mesh(4, 4), mesh(4, 4, torus=True)
    wrap = transfers((3, 0, 8), (12, 0, 4), (15, 0, 2))
    assert nonzero_loads(torus, wrap) == {
        ("east", 0, 3): 8,  # across the row's wrap
        ("south", 3, 0): 4 + 2,  # across the column's wrap
        ("east", 3, 3): 2,
    }
    assert route(torus, wrap)[1].tolist() == [1, 1, 2]
    assert route(machine, wrap)[1].tolist() == [3, 3, 6]
    # Half way round both ways are as short: the tie goes east (and south).
    tie = transfers((1, 3, 1), (0, 8, 1))
    assert nonzero_loads(torus, tie) == {
        ("east", 0, 1): 1,
        ("east", 0, 2): 1,
        ("south", 0, 0): 1,
        ("south", 1, 0): 1,
    }


@pytest.mark.parametrize(
    ("rows", "cols", "torus"),
    [(4, 4, False), (4, 4, True), (3, 5, True), (2, 6, True), (1, 7, False)],
)
def test_loads_match_brute_force(rows: int, cols: int, torus: bool) -> None:
    machine = mesh(rows, cols, torus)
    rng = np.random.default_rng(rows * 10 + cols)
    count = 60
    moves = Transfers.of(
        rng.integers(0, machine.cores, count),
        rng.integers(0, machine.cores, count),
        rng.integers(1, 50, count),
        machine.cores,
    )
    loads, hops = brute_force_route(machine, moves)
    assert nonzero_loads(machine, moves) == loads
    assert route(machine, moves)[1].tolist() == hops
    busiest, longest = max(loads.values(), default=0), max(hops, default=0)
    assert routed_cycles(machine, moves, 4) == pytest.approx(
        busiest * 4 / 32 + longest * 9
    )


def test_exchange_time_by_topology() -> None:
    moves = transfers((0, 2, 100), (1, 3, 60))
    machine = mesh(4, 4)
    ipu = dataclasses.replace(load_machine("ipu-mk2"), cores=16)
    assert exchange_time(machine, moves, 2, 4) == routed_cycles(machine, moves, 2, 4)
    # All-to-all: the planner's bound on the busiest core's 100 elements.
    assert exchange_time(ipu, moves, 2, 4) == pytest.approx(
        shift_cycles(ipu, 100, 2, cores_used=4)
    )
    nothing = Transfers.of(np.zeros(0, int), np.zeros(0, int), 0, 16)
    assert exchange_time(machine, nothing, 2, 4) == exchange_time(ipu, nothing, 2, 4)
    assert exchange_time(ipu, nothing, 2, 4) == 0.0
    # A plan over both chips of a two-chip mesh pays the inter-chip factor.
    chips = dataclasses.replace(machine, chips=2, inter_chip_comm_factor=1.25)
    assert exchange_time(chips, moves, 2, 16) == pytest.approx(
        1.25 * exchange_time(chips, moves, 2, 8)
    )
    with pytest.raises(ValueError, match="no mesh"):
        routed_cycles(ipu, moves, 2)


# --- relayout transfers -------------------------------------------------------------

SHAPE = (4, 6)
d0, d1 = dim(0), dim(1)


def layout(
    piece: tuple[int, ...],
    grid: tuple[int, ...],
    origin: tuple[AffineExpr, ...],
    cores: tuple[int, ...] | None = None,
) -> Layout:
    return Layout(SHAPE, piece, Grid(grid, cores), AffineMap(len(grid), 0, origin))


LAYOUTS = {
    "default5": default_layout(5, SHAPE),  # flat, 5 per core, the last holds 4
    "rows": layout((1, 6), (4,), (d0, const(0)), cores=(3, 1, 0, 2)),
    "tiles": layout((2, 3), (2, 2), (d0 * 2, d1 * 3), cores=(5, 0, 7, 2)),
    "replicas": layout((4, 6), (3,), (const(0), const(0)), cores=(1, 4, 6)),
    "half-replicas": layout((2, 6), (2, 2), (d0 * 2, const(0))),
    "halo": layout((3, 4), (2, 2), (d0 * 2 - 1, d1 * 3 - 1), cores=(8, 9, 10, 11)),
    "skew": layout((2, 2), (2, 3), (d0 * 2, ((d1 + d0) % 3) * 2)),
    "columns": layout((4, 1), (6,), (const(0), d0), cores=(5, 4, 3, 2, 1, 0)),
    "overlaps": layout((2, 4), (3, 2), (d0, d1 * 2), cores=(9, 3, 1, 7, 0, 2)),
}


def brute_force_transfers(
    src: Layout, dst: Layout, combine: bool
) -> dict[tuple[int, int], int]:
    """Per element a destination core holds, who sends it (relayout's module
    docstring), one element at a time."""

    def boxes(layout: Layout) -> list[tuple[int, set[int]]]:
        cores = layout.grid.cores or tuple(range(layout.grid.size))
        held = []
        for logical, core_ in enumerate(cores):
            digits = np.unravel_index(logical, layout.grid.shape)
            origin = layout.origin.eval([int(d) for d in digits], [])
            elements = set()
            for offset in itertools.product(*(range(p) for p in layout.piece)):
                point = [o + f for o, f in zip(origin, offset, strict=True)]
                if all(0 <= p < s for p, s in zip(point, layout.view, strict=True)):
                    elements.add(int(np.ravel_multi_index(point, layout.view)))
            held.append((core_, elements))
        return held

    source = boxes(src)
    moves: dict[tuple[int, int], int] = {}
    for logical, (receiver, elements) in enumerate(boxes(dst)):
        for element in elements:
            holders = [c for c, held in source if element in held]
            if combine:
                senders = [h for h in holders if h != receiver]
            elif receiver in holders:
                senders = []
            else:
                senders = [holders[logical % len(holders)]]
            for sender in senders:
                moves[sender, receiver] = moves.get((sender, receiver), 0) + 1
    return moves


PAIRS = list(itertools.product(LAYOUTS, repeat=2))


@pytest.mark.parametrize("combine", [False, True], ids=["copy", "combine"])
@pytest.mark.parametrize(("src", "dst"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_relayout_transfers_match_brute_force(
    src: str, dst: str, combine: bool
) -> None:
    moves = relayout_transfers(LAYOUTS[src], LAYOUTS[dst], combine, 16)
    expected = brute_force_transfers(LAYOUTS[src], LAYOUTS[dst], combine)
    pairs = list(zip(moves.senders.tolist(), moves.receivers.tolist(), strict=True))
    assert pairs == sorted(expected)  # one entry per pair, in order
    assert dict(zip(pairs, moves.elements.tolist(), strict=True)) == expected
    sent, received = moves.sent, moves.received
    assert len(sent) == len(received) == moves.cores == 16
    assert (
        sent.tolist()
        == np.bincount(moves.senders, moves.elements, minlength=16).tolist()
    )
    assert (
        received.tolist()
        == np.bincount(moves.receivers, moves.elements, minlength=16).tolist()
    )
    assert relayout_transfers(LAYOUTS[src], LAYOUTS[dst], combine, 16) is moves


def test_transfers_aggregate_per_pair() -> None:
    moves = transfers((3, 1, 2), (0, 2, 1), (3, 1, 5), (0, 1, 0), cores=4)
    assert moves.senders.tolist() == [0, 3]
    assert moves.receivers.tolist() == [2, 1]
    assert moves.elements.tolist() == [1, 7]
    assert moves.sent.tolist() == [1, 0, 0, 7]
    assert moves.received.tolist() == [0, 7, 1, 0]
    assert not moves.elements.flags.writeable and not moves.sent.flags.writeable


# --- rotations ----------------------------------------------------------------------


def ring(cores: tuple[int, ...]) -> Ring:
    """A ring over a grid of one axis laid on the given physical cores."""
    n = len(cores)
    return Ring(Grid((n,), cores), n, AffineMap(1, 0, ((d0 + 1) % n,)))


def rotation(rotating: Ring, distance: int, piece: int, cores: int) -> Transfers:
    """Every core receives the piece of the core `distance` ahead on the ring."""
    physical = rotating.grid.physical()
    return Transfers.of(physical[rotating.sources(distance)], physical, piece, cores)


def test_one_hop_rotation_is_shift_cycles() -> None:
    """Along a torus row every piece moves one hop, the wrap included, over a link of
    its own: exactly the planner's rotation."""
    torus = mesh(4, 4, torus=True)
    along_row = ring((4, 5, 6, 7))
    moves = rotation(along_row, 1, 100, 16)
    assert route(torus, moves)[0].max() == 100
    assert routed_cycles(torus, moves, 2, 4) == shift_cycles(
        torus, 100, 2, hops=1, cores_used=4
    )
    assert routed_cycles(
        torus, moves, 2, 4
    ) + SYNCS_PER_SHIFT * torus.sync_cycles == pytest.approx(
        rotation_cycles(torus, along_row, 1, 100, 2)
    )


def test_ring_in_order_and_folded() -> None:
    """A ring of 4 along a mesh row. In order (0, 1, 2, 3) the piece of core 0 goes
    back 3 hops; folded (`fold`: ring cores at columns 0, 2, 3, 1) every piece moves
    at most 2 hops and the two halves of the ring go opposite ways, so no link is
    shared. A rotation by two shares links either way: in order, 2 -> 0 and 3 -> 1
    both go west from column 2 (and 0 -> 2, 1 -> 3 east from column 1); folded,
    3 -> 0 and 2 -> 1 both go west from column 2 on the way."""
    machine, piece = mesh(4, 4), 64
    fill = 9
    in_order, folded = ring((0, 1, 2, 3)), ring(tuple(int(c) for c in fold(4, 4)))
    assert folded.grid.cores == (0, 2, 3, 1)
    figures = {}
    for name, rotating in (("in order", in_order), ("folded", folded)):
        for distance in (1, 2):
            moves = rotation(rotating, distance, piece, 16)
            figures[name, distance] = (
                int(route(machine, moves)[0].max()) // piece,
                int(route(machine, moves)[1].max()),
                routed_cycles(machine, moves, 4),
            )
    # (pieces on the busiest link, hops, cycles): a piece of 64 x 4 bytes is 8 cycles.
    assert figures == {
        ("in order", 1): (1, 3, 8 + 3 * fill),
        ("in order", 2): (2, 2, 16 + 2 * fill),
        ("folded", 1): (1, 2, 8 + 2 * fill),
        ("folded", 2): (2, 3, 16 + 3 * fill),
    }
    assert nonzero_loads(machine, rotation(folded, 2, 1, 16)) == {
        ("west", 0, 3): 1,
        ("west", 0, 2): 2,
        ("west", 0, 1): 1,
        ("east", 0, 0): 1,
        ("east", 0, 1): 2,
        ("east", 0, 2): 1,
    }


def _matmul(m: int, n: int, k: int) -> IterationDomain:
    return IterationDomain(
        (LoopDim("m", m), LoopDim("n", n), LoopDim("k", k, DimKind.REDUCTION)),
        (TensorMap.identity(["m", "k"]), TensorMap.identity(["k", "n"])),
        (TensorMap.identity(["m", "n"]),),
        combiner="sum",
        padding=0.0,
    )


@pytest.mark.parametrize(
    "plan",
    [
        OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}}),
        OpPlan.of({"n": 16}, {"in0": {"k": 16}}),
    ],
    ids=str,
)
def test_placed_rings_share_no_link(plan: OpPlan) -> None:
    """The rings `grid_cores` folds onto a 4 x 4 mesh (rows and columns of 4, or one
    ring of 16 in a boustrophedon): every piece moves at most 2 hops over links no
    other piece of the rotation uses, so a step costs the planner's two-hop figure
    exactly. By hand for the ring of 16: it visits (0,0) (0,2) (1,3) (1,1) (2,0)
    (2,2) (3,3) (3,1) (3,0) (3,2) (2,3) (2,1) (1,0) (1,2) (0,3) (0,1); the 16 XY
    routes back along it use 12 west, 12 east, 3 north and 3 south links, all
    different."""
    machine, piece, domain = mesh(4, 4), 48, _matmul(48, 48, 48)
    physical = np.array(grid_cores(machine, plan, domain))
    for tensor in ("in0", "in1"):
        if plan.ring_size(tensor) == 1:
            continue
        sources = oracles.shift_sources(plan, domain, tensor, "k")
        moves = Transfers.of(physical[sources], physical, piece, 16)
        assert route(machine, moves)[0].max() == piece
        assert route(machine, moves)[1].max() == 2
        assert routed_cycles(machine, moves, 4) == shift_cycles(machine, piece, 4, 2)
        if plan.ring_size(tensor) == 16:
            links = [direction for direction, _, _ in nonzero_loads(machine, moves)]
            assert [links.count(d) for d in DIRECTIONS] == [12, 12, 3, 3]


# --- the interpreter's events -------------------------------------------------------

CORES = ", cores = [0, 2, 3, 1]"
PIECES = (
    f"#core.layout<[8], piece = [2], grid = [4], origin = affine_map<(d0) -> (d0 * 2)>"
    f"{CORES}>"
)
ROWS = (
    "#core.layout<[8], piece = [4], grid = [2], origin = affine_map<(d0) -> (d0 * 4)>>"
)
RING = (
    "#core.ring<grid = [4], size = 4, next = affine_map<(d0) -> ((d0 + 1) mod 4)>"
    f"{CORES}>"
)
ROTATE = f"""\
func.func @rotate(%x: !core.buffer<2xf32> {{core.layout = {PIECES}}})
    -> (!core.buffer<4xf32> {{core.layout = {ROWS}}}) {{
  %t = core.alloc on #core.grid<[4]{CORES}> : !core.buffer<2xf32>
  %y = core.alloc on #core.grid<[2]> : !core.buffer<4xf32>
  core.steps %s = 0 to 2 {{
    core.shift %x via %t around {RING} by 2 : !core.buffer<2xf32>
    core.sync
  }}
  core.redistribute %x to %y from {PIECES} to {ROWS} : !core.buffer<2xf32>, !core.buffer<4xf32>
  core.sync
  core.free %t : !core.buffer<2xf32>
  func.return %y : !core.buffer<4xf32>
}}
"""


@pytest.mark.parametrize("numerics", [True, False], ids=["numerics", "timing"])
def test_events_carry_transfers(numerics: bool) -> None:
    """A folded ring of 4 on a 1 x 4 mesh rotating by two, twice, then gathered onto
    two cores; the events say who sends to whom, with or without numerics."""
    machine = mesh(1, 4)
    module = LocatingParser(make_context(), ROTATE, "rotate.mlir").parse_module()
    (function,) = [op for op in module.ops if isinstance(op, func.FuncOp)]
    x = np.arange(8, dtype=np.float32)
    run = run_core_function(
        function, [x] if numerics else [], machine, numerics=numerics
    )
    if numerics:  # rotating by 2 twice brings every piece home
        np.testing.assert_array_equal(run.outputs[0], x)
    exchanges = [e for e in run.events if e.transfers is not None]
    first, second, gather = exchanges
    assert [type(e.op) for e in exchanges] == [
        core.ShiftOp,
        core.ShiftOp,
        core.RedistributeOp,
    ]
    assert first.transfers is second.transfers  # cached per op
    assert first.transfers is not None
    # Logical x (physical 0, 2, 3, 1) takes the piece of logical x + 2.
    assert list(
        zip(
            first.transfers.senders.tolist(),
            first.transfers.receivers.tolist(),
            first.transfers.elements.tolist(),
            strict=True,
        )
    ) == [(0, 3, 2), (1, 2, 2), (2, 1, 2), (3, 0, 2)]
    np.testing.assert_array_equal(first.sent, [2, 2, 2, 2])
    assert routed_cycles(machine, first.transfers, 4) == 2 * 2 * 4 / 32 + 3 * 9
    assert isinstance(gather.op, core.RedistributeOp)
    src, dst = gather.op.src_layout.layout, gather.op.dst_layout.layout
    assert gather.transfers is relayout_transfers(src, dst, False, machine.cores)
    assert gather.sent is gather.transfers.sent
    assert gather.received is gather.transfers.received
