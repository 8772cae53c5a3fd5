"""Per-core cycles of sub-operators and of the communication between them.

The one source of truth for the plan search and the interpreter. Every function takes
extents and element counts either as ints or as numpy arrays (one entry per candidate
plan) and returns a number or an array of the same shape, so that the search costs
thousands of plans in a few array operations.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from t10ir.cost.classify import SubOpKind, SubOpShape
from t10ir.cost.kernel_fit import conv_features, kernel_cycles, pool_features
from t10ir.planning.domain import IterationDomain
from t10ir.target import ComputeModel, Machine

Count = int | np.ndarray
Cycles = float | np.ndarray


def matmul_cycles(
    compute: ComputeModel,
    m: Count,
    k: Count,
    n: Count,
    elem_bytes: int,
    batch: Count = 1,
) -> Cycles:
    """T10's fit for `batch` independent `m x k x n` matmuls on one core (primer, 5).

    The sub-operator is oriented first, as T10's code does: m becomes the larger of m
    and n, except that when both are at most `matmul_no_swap_max_m` (16) m becomes the
    smaller. (T10's costs, and so its published figures, assume this orientation.)
    """
    m, n = np.asarray(m), np.asarray(n)
    small, large = np.minimum(m, n), np.maximum(m, n)
    both_small = large <= compute.matmul_no_swap_max_m
    m, n = np.where(both_small, small, large), np.where(both_small, large, small)
    m_blocks = _ceil_div(m, compute.matmul_m_block)
    k_blocks = _ceil_div(np.asarray(k) * elem_bytes, compute.matmul_k_block_bytes)
    n_blocks = _ceil_div(n, compute.matmul_n_block)
    cycles = (
        elem_bytes
        * compute.matmul_block_cycles_per_byte
        * m_blocks
        * k_blocks
        * n_blocks
        + compute.matmul_kn_block_cycles * k_blocks * n_blocks
        + compute.matmul_n_block_cycles * n_blocks
        + compute.matmul_fixed_cycles
    )
    return _scalar(batch * cycles)


def elementwise_cycles(compute: ComputeModel, elements: Count) -> Cycles:
    """T10's fit: the cheaper of its two lines, the second valid on small counts only."""
    e = np.asarray(elements)
    large = (
        compute.elementwise_cycles_per_element * e + compute.elementwise_fixed_cycles
    )
    small = (
        compute.elementwise_small_cycles_per_element * e
        + compute.elementwise_small_fixed_cycles
    )
    use_small = (small < large) & (e <= compute.elementwise_small_max_elements)
    return _scalar(np.where(use_small, small, large))


def unary_cycles(compute: ComputeModel, elements: Count) -> Cycles:
    return _scalar(
        compute.unary_cycles_per_element * np.asarray(elements)
        + compute.unary_fixed_cycles
    )


def reduction_cycles(compute: ComputeModel, elements: Count) -> Cycles:
    """Linear in the points of the loop nest: each reads one input element."""
    return _scalar(
        compute.reduction_cycles_per_element * np.asarray(elements)
        + compute.reduction_fixed_cycles
    )


def copy_cycles(compute: ComputeModel, elements: Count, elem_bytes: int) -> Cycles:
    """A local copy, bounded by the core's load/store bandwidth."""
    return _scalar(
        np.asarray(elements) * elem_bytes / compute.copy_bytes_per_cycle
        + compute.copy_fixed_cycles
    )


def compute_cycles(
    machine: Machine,
    op: IterationDomain | SubOpShape | SubOpKind,
    sub_extents: Mapping[str, Count],
    elem_bytes: int,
) -> Cycles:
    """Cycles of one sub-operator whose loop dims have the per-core `sub_extents`.

    `op` is a domain (classified as a computation; pass `SubOpShape.of(domain, True)`
    for a copy), a `SubOpShape` precomputed once for many calls, or a bare kind whose
    `sub_extents` are keyed `m`, `k`, `n` (and optionally `batch`) for contractions and
    `elements` otherwise.
    """
    if isinstance(op, IterationDomain):
        shape = SubOpShape.of(op)
    elif isinstance(op, SubOpKind):
        shape = SubOpShape.canonical(op)
        if op.is_contraction:
            sub_extents = {"batch": 1, **sub_extents}
    else:
        shape = op
    compute = machine.compute
    if shape.window:
        fitted = _fitted_kernel_cycles(compute, shape, sub_extents)
        if fitted is not None:
            return fitted
    if shape.kind.is_contraction:
        return matmul_cycles(
            compute,
            _product(sub_extents, shape.m),
            _product(sub_extents, shape.k),
            _product(sub_extents, shape.n),
            elem_bytes,
            _product(sub_extents, shape.batch),
        )
    elements = _product(sub_extents, shape.elements)
    if shape.kind is SubOpKind.ELEMENTWISE:
        return elementwise_cycles(compute, elements)
    if shape.kind is SubOpKind.UNARY:
        return unary_cycles(compute, elements)
    if shape.kind is SubOpKind.REDUCTION:
        return reduction_cycles(compute, elements)
    return copy_cycles(compute, elements, elem_bytes)


def _fitted_kernel_cycles(
    compute: ComputeModel, shape: SubOpShape, sub_extents: Mapping[str, Count]
) -> Cycles | None:
    """A convolution's or a pooling's cycles by the machine's fit to measured kernels
    (`t10ir.cost.kernel_fit`), or None without one. The features are products of loop
    dims by their roles: for a convolution the batch (`m` dims outside the window), the
    input channels (`k` dims outside it), the output channels (`n`), the positions
    (`spatial`) and the window, one convolution per group (`batch` dims); for a pooling
    the channels (every dim outside the window), the positions and the window."""
    spatial = _product(sub_extents, shape.spatial)
    window = _product(sub_extents, shape.window)
    inside = set(shape.spatial) | set(shape.window)
    if shape.kind is SubOpKind.CONVOLUTION:
        if compute.conv_kernel is None:
            return None
        features = conv_features(
            _product(sub_extents, tuple(d for d in shape.m if d not in inside)),
            _product(sub_extents, tuple(d for d in shape.k if d not in inside)),
            _product(sub_extents, shape.n),
            spatial,
            window,
        )
        groups = _product(sub_extents, shape.batch)
        return _scalar(groups * kernel_cycles(compute.conv_kernel, features))
    if compute.pool_kernel is None:
        return None
    channels = _product(
        sub_extents, tuple(d for d in shape.elements if d not in inside)
    )
    features = pool_features(channels, spatial, window)
    return _scalar(kernel_cycles(compute.pool_kernel, features))


def comm_factor(machine: Machine, cores_used: Count) -> Cycles:
    """How much dearer communication is for a plan on `cores_used` cores: plans that
    span more than one chip pay the inter-chip factor on all their traffic."""
    spans_chips = np.asarray(cores_used) > machine.cores_per_chip
    return _scalar(np.where(spans_chips, machine.inter_chip_comm_factor, 1.0))


def shift_cycles(
    machine: Machine,
    elements: Count,
    elem_bytes: int,
    hops: Count = 1,
    cores_used: Count | None = None,
) -> Cycles:
    """One ring-rotation step: every core sends `elements` to its ring neighbour
    `hops` hops away while receiving as many, all cores at once.

    The time is the bytes over the per-core (all-to-all) or per-link (mesh) bandwidth,
    plus `hops * hop_cycles` of latency on a mesh; on the IPU this is T10's
    `e*b/2*0.56`. Link sharing between rings on a mesh is the caller's to count (as
    more bytes). With `cores_used`, the multi-chip factor applies. The sync that ends
    the exchange is not included (`sync_cycles`; T10 charges two per shifted tensor
    per round).
    """
    cycles = (
        np.asarray(elements) * elem_bytes / machine.link_bytes_per_cycle
        + np.asarray(hops) * machine.hop_cycles
    )
    if cores_used is not None:
        cycles = cycles * comm_factor(machine, cores_used)
    return _scalar(cycles)


def sync_cycles(machine: Machine) -> float:
    """One chip-wide barrier (the end of a bulk-synchronous exchange)."""
    return machine.sync_cycles


def _product(extents: Mapping[str, Count], dims: tuple[str, ...]) -> Count:
    result: Count = 1
    for d in dims:
        if d not in extents:
            raise KeyError(f"no sub-operator extent for loop dim '{d}'")
        result = result * extents[d]
    return result


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -(-a // b)


def _scalar(value: Count | float | np.generic) -> Cycles:
    """A 0-d result back as a Python number, arrays as they are."""
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array
