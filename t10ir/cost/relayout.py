"""What moving a distributed tensor costs: a relayout between two layouts, and a ring
rotation. The passes and the interpreter count the same traffic here, so that what a
rewrite saves is what the simulated chip no longer spends.

A relayout is one bulk-synchronous exchange (`plan_cost.exchange_cycles`), bounded by
the core that sends or receives the most. Per destination core and element of its box
inside the tensor:

- without `combine` (replicas agree), nothing moves when the core already holds the
  element in the source layout; otherwise one holder sends it: of the element's holders
  in the source's logical core order, the one at position (the destination's logical
  core number mod holders), so that replicas share the sending;
- with `combine` (partial results), every holder other than the destination core sends
  its copy.

Cores are physical (`Grid.physical()`): a core that holds an element in both layouts
keeps it, even when its logical number differs between the two grids. A layout may hold
part of the tensor only; the source must hold every element the destination does.
"""

from __future__ import annotations

from functools import cache
from math import prod

import numpy as np

from t10ir.cost.model import shift_cycles, sync_cycles
from t10ir.cost.plan_cost import exchange_cycles
from t10ir.layout import Layout, Ring
from t10ir.target import Machine


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
    for axis, (coord, extent) in enumerate(
        zip(np.unravel_index(elements, layout.view), layout.piece, strict=True)
    ):
        offset = coord - origins[:, axis]
        result &= (offset >= 0) & (offset < extent)
    return result


@cache
def relayout_traffic(
    src: Layout, dst: Layout, combine: bool = False, cores: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Elements each physical core sends and receives when a tensor moves from `src`
    to `dst` (`combine`: `src`'s copies are partial results; module docstring): two
    read-only arrays indexed by physical core, as long as `cores` or as the highest
    core of either layout needs. Raises ValueError if `dst` holds an element `src`
    does not. Cached: a model repeats the same moves layer after layer."""
    send, receive = _traffic(src, dst, combine, cores)
    send.flags.writeable = False
    receive.flags.writeable = False
    return send, receive


def _traffic(
    src: Layout, dst: Layout, combine: bool, cores: int
) -> tuple[np.ndarray, np.ndarray]:
    if src.shape != dst.shape:
        raise ValueError(
            f"the layouts are of different tensors: {list(src.shape)} and "
            f"{list(dst.shape)}"
        )
    size = prod(src.shape)
    count = max(
        cores, int(max(src.grid.physical().max(), dst.grid.physical().max())) + 1
    )
    src_logical, src_elements = held_elements(src)
    dst_logical, dst_elements = held_elements(dst)
    src_cores = src.grid.physical()[src_logical]
    dst_cores = dst.grid.physical()[dst_logical]
    holders = np.bincount(src_elements, minlength=size)
    if holders[dst_elements].min(initial=1) == 0:
        raise ValueError("the destination holds an element no core of the source holds")
    kept = holds(src, dst_cores, dst_elements)
    if combine:
        needed = np.bincount(dst_elements, minlength=size)
        sent = needed[src_elements] - holds(dst, src_cores, src_elements)
        received = holders[dst_elements] - kept
        return (
            np.bincount(src_cores, weights=sent, minlength=count).astype(np.int64),
            np.bincount(dst_cores, weights=received, minlength=count).astype(np.int64),
        )
    by_element = src_cores[np.argsort(src_elements, kind="stable")]
    first = np.cumsum(holders) - holders
    moved = dst_elements[~kept]
    choice = dst_logical[~kept] % holders[moved]
    return (
        np.bincount(by_element[first[moved] + choice], minlength=count),
        np.bincount(dst_cores[~kept], minlength=count),
    )


def relayout_cycles(
    machine: Machine, src: Layout, dst: Layout, elem_bytes: int, combine: bool = False
) -> float:
    """One exchange moving a tensor from `src` to `dst` (the cores of either layout
    take part), bounded by the busiest sender or receiver."""
    send, receive = relayout_traffic(src, dst, combine)
    cores = np.union1d(src.grid.physical(), dst.grid.physical())
    return float(
        exchange_cycles(
            machine, int(send.max()), int(receive.max()), elem_bytes, len(cores)
        )
    )


def ring_hops(machine: Machine, ring: Ring, distance: int) -> int:
    """The longest way a piece travels on a rotation by `distance`: mesh hops between
    physical cores (around the torus when it wraps) on a `mesh2d` chip, 1 elsewhere."""
    if machine.topology != "mesh2d" or machine.mesh is None:
        return 1
    rows, cols = machine.mesh
    cores = ring.grid.physical()
    sources = cores[ring.sources(distance)]
    hops = np.zeros(len(cores), dtype=np.int64)
    for here, there, extent in (
        (cores // cols, sources // cols, rows),
        (cores % cols, sources % cols, cols),
    ):
        gap = np.abs(here - there)
        hops += np.minimum(gap, extent - gap) if machine.torus else gap
    return int(hops.max())


def rotation_cycles(
    machine: Machine, ring: Ring, distance: int, elements: int, elem_bytes: int
) -> float:
    """One rotation by `distance` of pieces of `elements` around `ring`, every core of
    its grid sending at once, and the sync that ends it."""
    hops = ring_hops(machine, ring, distance)
    return float(
        shift_cycles(machine, elements, elem_bytes, hops, cores_used=ring.grid.size)
    ) + sync_cycles(machine)
