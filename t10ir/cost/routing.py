"""How long one exchange takes on the chip's interconnect, from who sends what to whom.

On an all-to-all chip (the IPU's exchange) every core sends and receives through its own
port, so an exchange is bounded by the core that sends or receives the most bytes. On a
`mesh2d` chip transfers share links, which per-core counts cannot see: every transfer is
routed dimension-ordered (XY: along its row to the receiver's column, then along that
column to the receiver; on a torus the shorter way around each axis, east or south on a
tie), each directed link carries the bytes of all transfers routed over it, and the
exchange takes the busiest link's bytes over the link bandwidth plus the pipeline fill
of the longest route (`hops * hop_cycles`). A rotation moving every piece one hop over
links of its own thus costs `model.shift_cycles` of one piece and one hop, exactly as
the planner assumes; rings folded onto the mesh or crossing each other pay for the
links they share.

All of it is array arithmetic over the transfers (difference arrays along every mesh
row and column), so that an exchange of thousands of pairs costs a few numpy calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from t10ir.cost.model import shift_cycles
from t10ir.target import Machine


@dataclass(frozen=True, eq=False)
class Transfers:
    """The point-to-point transfers of one exchange: `elements[i]` elements go from
    physical core `senders[i]` to `receivers[i]`, one entry per pair, sorted by sender
    then receiver, so that a router sees every pair once and in the same order on every
    run. `cores` is the length of the per-core counts `sent` and `received`."""

    senders: np.ndarray
    receivers: np.ndarray
    elements: np.ndarray
    cores: int

    @staticmethod
    def of(
        senders: np.ndarray,
        receivers: np.ndarray,
        elements: np.ndarray | int,
        cores: int,
    ) -> Transfers:
        """The transfers of `elements` (per entry, or the same for all) from
        `senders` to `receivers`, aggregated per pair; pairs moving nothing are
        left out."""
        senders, receivers = np.asarray(senders), np.asarray(receivers)
        weights = np.broadcast_to(np.asarray(elements, dtype=np.int64), senders.shape)
        pairs, which = np.unique(senders * cores + receivers, return_inverse=True)
        counts = np.bincount(which, weights=weights, minlength=len(pairs))
        moving = counts > 0
        pairs = pairs[moving].astype(np.int64)
        return Transfers(
            pairs // cores, pairs % cores, counts[moving].astype(np.int64), cores
        )

    def __post_init__(self) -> None:
        for array in (self.senders, self.receivers, self.elements):
            array.flags.writeable = False

    @cached_property
    def sent(self) -> np.ndarray:
        """Elements each physical core sends (read-only)."""
        return self._per_core(self.senders)

    @cached_property
    def received(self) -> np.ndarray:
        """Elements each physical core receives (read-only)."""
        return self._per_core(self.receivers)

    def _per_core(self, cores: np.ndarray) -> np.ndarray:
        counts = np.bincount(cores, weights=self.elements, minlength=self.cores)
        counts = counts.astype(np.int64)
        counts.flags.writeable = False
        return counts


DIRECTIONS = ("east", "west", "south", "north")
"""The order of the directed links leaving a core in `route`'s loads: east is towards
the next column, south towards the next row."""


def routed_cycles(
    machine: Machine,
    transfers: Transfers,
    elem_bytes: int,
    cores_used: int | None = None,
) -> float:
    """One exchange on a `mesh2d` chip: the busiest link's bytes over the link
    bandwidth plus the longest route's `hop_cycles`, times the multi-chip factor when
    `cores_used` is given (as `model.shift_cycles`). Nothing moved costs nothing."""
    if not len(transfers.elements):
        return 0.0
    loads, hops = route(machine, transfers)
    return float(
        shift_cycles(machine, int(loads.max()), elem_bytes, int(hops.max()), cores_used)
    )


def port_cycles(
    machine: Machine,
    transfers: Transfers,
    elem_bytes: int,
    cores_used: int | None = None,
) -> float:
    """One exchange on an all-to-all chip: `model.shift_cycles` of the most elements
    any core sends or receives. Nothing moved costs nothing."""
    busiest = int(np.maximum(transfers.sent, transfers.received).max(initial=0))
    if busiest == 0:
        return 0.0
    return float(shift_cycles(machine, busiest, elem_bytes, cores_used=cores_used))


def exchange_time(
    machine: Machine, transfers: Transfers, elem_bytes: int, cores_used: int
) -> float:
    """One exchange on `machine`, whatever its topology: routed over shared links on a
    mesh, bounded by the busiest core's port on an all-to-all chip. The sync ending it
    is not included."""
    if machine.topology == "mesh2d":
        return routed_cycles(machine, transfers, elem_bytes, cores_used)
    return port_cycles(machine, transfers, elem_bytes, cores_used)


def route(machine: Machine, transfers: Transfers) -> tuple[np.ndarray, np.ndarray]:
    """XY routing of `transfers`: the link loads, `[4, rows, cols]` elements routed
    over the link leaving each core in each of `DIRECTIONS` (links off the edge of a
    mesh that is no torus carry nothing), and the hops of every transfer's route."""
    if machine.mesh is None:
        raise ValueError(f"'{machine.name}' has no mesh to route on")
    rows, cols = machine.mesh
    row, col = np.divmod(transfers.senders, cols)
    to_row, to_col = np.divmod(transfers.receivers, cols)
    along_rows, across = _axis(
        row, rows, col, to_col, cols, machine.torus, transfers.elements
    )
    along_cols, down = _axis(
        to_col, cols, row, to_row, rows, machine.torus, transfers.elements
    )
    loads = np.stack(
        [
            along_rows[:, 0],
            along_rows[:, 1],
            along_cols[:, 0].T,
            along_cols[:, 1].T,
        ]
    )
    return loads, across + down


def _axis(
    line: np.ndarray,
    lines: int,
    here: np.ndarray,
    there: np.ndarray,
    extent: int,
    torus: bool,
    amount: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The leg of every transfer along one mesh axis, on mesh line `line` (of
    `lines`) from position `here` to `there` (of `extent`): `[lines, 2, extent]`
    elements over the link leaving each position forward (0) and backward (1), and
    the hops of each leg.

    A leg of `hops` forward from `here` loads the forward links of positions `here`
    to `here + hops - 1`, a backward one the backward links of `here - hops + 1` to
    `here` (mod `extent`): a run of positions starting below `extent` and ending below
    `2 * extent`, summed from a difference array twice as long and folded back."""
    gap = there - here
    if torus:
        gap %= extent
        forward = gap <= extent - gap
        hops = np.where(forward, gap, extent - gap)
    else:
        forward = gap >= 0
        hops = np.abs(gap)
    start = np.where(forward, here, (here - hops + 1) % extent)
    width = 2 * extent + 1
    base = (line * 2 + ~forward) * width
    size = lines * 2 * width
    delta = np.bincount(base + start, amount, size) - np.bincount(
        base + start + hops, amount, size
    )
    runs = np.cumsum(delta.reshape(lines, 2, width), axis=2)
    loads = runs[..., :extent] + runs[..., extent : 2 * extent]
    return np.rint(loads).astype(np.int64), hops
