"""Time and memory per core of compute-shift plans (T10 primer, section 5).

`cost_plans` costs many plans of one op at once, as numpy arrays with one row per plan:
the plan search calls it on hundreds of thousands of candidates, and one plan's cost is
the same code on one row (`PlanCosts.row`).

The model, for an op with loop extents `L`, spatial factors `F` and temporal factors
`t[v][d]` of each input `v` and of the output:

- steps: `n[d] = max_v t[v][d]`, `N = prod n[d]`; the sub-operator of one step has
  extents `ceil(ceil(L / F) / n)` (a core's share is padded to whole steps when they do
  not divide it) and costs `compute_cycles` (the per-core fit) of each op of its body
  (`OpSpec.body`: the op itself, and what some ops add to it);
- shifts: along each dim `d` it is split on, input `v` turns its ring once per sweep of
  the `n[d]` steps, `t[v][d]` shifts per sweep, the last one bringing the pieces back to
  where they started; the step loops nest in domain order (`OpSchedule.step_dims`), so
  `d` is swept once per step of the dims before it, `prod n[d']` times over them. Each shift moves one piece (rotating pace 1, as T10 does)
  and costs `shift_cycles` plus two syncs (T10's figure: two per shifted tensor per
  round); a rotating output (cut in time around the ring of the reduction dims split
  over its replica group) turns the same way, except that the outermost step loop
  does not turn it back (its last shift is not made), and moves its partial sums in
  the accumulator's element type;
- epilogue: when reduction dims are split across cores (`R = prod F[d]` over them)
  beyond the output's ring (`R / T_out` holders of each partial piece), a
  reduce-scatter of the partial sums, one exchange of `(R/T_out - 1)/(R/T_out)` of the
  output piece plus the elementwise combining; then the output moves, in one exchange, to the even
  default layout the next op starts from (`ceil(size / cores)` elements per core),
  bounded by the larger of what a core holds and what it receives;
- memory per core: each input's piece (twice for a rotating input: it receives the next
  piece while computing on this one), the output's piece (its share unless it rotates;
  twice, in the accumulator's type, when it does), and the larger of the two epilogue
  receive buffers;
- accumulators: a float sum (`OpSpec.float_result`, combiner `sum`) whose result is
  narrower than the machine's accumulator type (`Machine.accumulator_type`) and whose
  reduction is cut in time, or whose output rotates, keeps its output piece in that type while the steps add to
  it (as `t10-lower-to-core` allocates it), then rounds it into a share of its own
  type by one unary pass: both shares are held, and the pass is computed. Partial
  results of a reduction split over cores are exchanged in the result's type.

Spans of pieces come from the index maps (`index_span`), so windows (`oh*2 + kh`),
reshapes and gathers cost what they read. Nothing here depends on an op's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil, prod

import numpy as np

from t10ir.cost.classify import OWN_LOOP_NEST, BodyOp, SubOpKind, SubOpShape
from t10ir.cost.model import (
    Count,
    Cycles,
    compute_cycles,
    elementwise_cycles,
    shift_cycles,
)
from t10ir.memo import memo
from t10ir.planning.domain import IterationDomain, TensorMap, index_span, span_cap
from t10ir.planning.plan import OpPlan, tensor_names
from t10ir.target import Machine

SYNCS_PER_SHIFT = 2
"""T10 charges two chip-wide syncs per shifted tensor per shift round."""


@dataclass(frozen=True)
class OpSpec:
    """One op as the cost model sees it: its iteration domain, the shapes and element
    sizes of its operands and results, whether it only moves data, and the ops of its
    sub-operator's body. Plain and hashable, so that ops of identical shape share one
    plan search."""

    domain: IterationDomain
    operand_shapes: tuple[tuple[int, ...], ...]
    result_shapes: tuple[tuple[int, ...], ...]
    operand_bytes: tuple[int, ...]
    result_bytes: tuple[int, ...]
    is_copy: bool = False
    body: tuple[BodyOp, ...] = (OWN_LOOP_NEST,)
    float_result: bool = False
    """The result's elements are floats: summed over reduction dims (combiner `sum`),
    its partial sums accumulate in the machine's accumulator type."""

    @property
    def dims(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domain.dims)

    @property
    def compute_bytes(self) -> int:
        """Element size the sub-operator computes in: the result's."""
        return self.result_bytes[0]


@dataclass(frozen=True)
class PlanCost:
    """The cost of one plan: cycles by phase (rounded up to whole cycles) and bytes."""

    steps: int
    cores: int
    memory: int
    compute: int
    shift: int
    sync: int
    reduce: int
    relayout: int

    @property
    def epilogue(self) -> int:
        return self.reduce + self.relayout

    @property
    def cycles(self) -> int:
        return self.compute + self.shift + self.sync + self.epilogue


@dataclass(frozen=True)
class PlanCosts:
    """The costs of many plans of one op, one entry per plan (numpy arrays)."""

    steps: np.ndarray
    cores: np.ndarray
    memory: np.ndarray
    compute: np.ndarray
    shift: np.ndarray
    sync: np.ndarray
    reduce: np.ndarray
    relayout: np.ndarray

    @property
    def cycles(self) -> np.ndarray:
        return self.compute + self.shift + self.sync + self.reduce + self.relayout

    def row(self, i: int) -> PlanCost:
        return PlanCost(
            *(int(getattr(self, f)[i]) for f in PlanCost.__dataclass_fields__)
        )


def accumulator_bytes(machine: Machine, spec: OpSpec) -> int:
    """Bytes of an element of the op's partial sums over steps: the machine's
    accumulator type for a float sum narrower than it, else the result's own."""
    b_out = spec.result_bytes[0]
    if spec.float_result and spec.domain.combiner == "sum":
        return machine.accumulator_bytes(b_out)
    return b_out


def default_share(machine: Machine, shape: Sequence[int]) -> int:
    """Elements per core of a tensor in the default layout, spread evenly over all
    cores: where activations wait between ops and weights are stored cold."""
    return ceil(prod(shape) / machine.cores)


def exchange_cycles(
    machine: Machine,
    send: Count,
    receive: Count,
    elem_bytes: int,
    cores_used: Count,
) -> Cycles:
    """One bulk-synchronous exchange in which every core sends at most `send` and
    receives at most `receive` elements, then a sync: bounded by the busier side."""
    return (
        shift_cycles(
            machine, np.maximum(send, receive), elem_bytes, cores_used=cores_used
        )
        + machine.sync_cycles
    )


def redistribution_cycles(
    machine: Machine, size: int, piece: Count, cores_used: Count, elem_bytes: int
) -> Cycles:
    """Bring a tensor of `size` elements from the default layout into one where each
    of `cores_used` cores holds `piece` elements (a consumer's working layout): a core
    receives its piece and sends its default share to every core that needs it."""
    copies = np.asarray(cores_used) * np.asarray(piece) / size
    share = ceil(size / machine.cores)
    return exchange_cycles(
        machine, np.ceil(share * copies), piece, elem_bytes, cores_used
    )


def _shares(spec: OpSpec, spatial: np.ndarray, steps_along: np.ndarray) -> np.ndarray:
    """Each loop dim's extent in one core's share, per plan: `ceil(L / F)` rounded up
    to whole steps (`OpPlan.core_extents`)."""
    extents = np.array([d.extent for d in spec.domain.dims], dtype=np.int64)
    return _ceil_div(_ceil_div(extents, spatial), steps_along) * steps_along


def _pieces(spec: OpSpec, share: np.ndarray, temporal: np.ndarray) -> list[np.ndarray]:
    """Per input, then for the output, the elements of the piece one core stores, per
    plan."""
    return [
        _elements(tmap, shape, spec.dims, _ceil_div(share, temporal[:, v, :]))
        for v, (tmap, shape) in enumerate(
            zip(
                (*spec.domain.operands, spec.domain.results[0]),
                (*spec.operand_shapes, spec.result_shapes[0]),
                strict=True,
            )
        )
    ]


@memo(maxsize=65536)
def piece_elements(spec: OpSpec, plan: OpPlan) -> tuple[int, ...]:
    """Per input, the elements of the piece of it one core stores under `plan`
    (memoized: the selection asks it of every candidate of every op and edge, and the
    layers of a model repeat their ops)."""
    spatial, temporal = plan_arrays(spec, [plan])
    share = _shares(spec, spatial, _steps_along(spatial, temporal))
    inputs = _pieces(spec, share, temporal)[: len(spec.domain.operands)]
    return tuple(int(p[0]) for p in inputs)


def _steps_along(spatial: np.ndarray, temporal: np.ndarray) -> np.ndarray:
    """`n[d] = max_v t[v][d]` per plan."""
    return temporal.max(axis=1) if temporal.shape[1] else np.ones_like(spatial)


def _ceil_div(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return -(-a // b)


def _elements(
    tmap: TensorMap,
    shape: Sequence[int],
    dims: Sequence[str],
    box: np.ndarray,
    inside: bool = False,
) -> np.ndarray:
    """Elements of the part of a tensor read over loop boxes (one row per box), with
    the padding a guarded map reads around the tensor unless `inside`."""
    extents = {d: box[:, i] for i, d in enumerate(dims)}
    count = np.ones(len(box), dtype=np.int64)
    for index, size in zip(tmap.indices, shape, strict=True):
        cap = size if inside else span_cap(tmap, index, size)
        count = count * index_span(index, extents, cap)
    return count


def step_cycles(
    machine: Machine, spec: OpSpec, box: np.ndarray, cut: np.ndarray
) -> Cycles:
    """One step's sub-operator on loop boxes `box` (one row per plan, domain order),
    `cut[p, d]` telling whether plan `p` cuts dim `d`: the cycles of every op of the
    body (`OpSpec.body`), as `program_cost.kernel_cost` charges the ops the lowering built."""
    dims, b = spec.dims, spec.compute_bytes
    tensors = (*spec.domain.operands, *spec.domain.results)
    shapes = (*spec.operand_shapes, *spec.result_shapes)
    total = np.zeros(len(box))
    for op in spec.body:
        if op.kind is None:
            extents = {d: box[:, i] for i, d in enumerate(dims)}
            shape = SubOpShape.of(spec.domain, spec.is_copy)
            total = total + compute_cycles(machine, shape, extents, b)
            continue
        window = _elements(tensors[op.tensor], shapes[op.tensor], dims, box, op.inside)
        cycles = op.count * np.asarray(
            compute_cycles(machine, op.kind, {"elements": window}, b)
        )
        if op.when_cut:
            runs = cut[:, [dims.index(d) for d in op.when_cut]].any(axis=1)
            cycles = np.where(runs, cycles, 0.0)
        total = total + cycles
    return total


def cost_plans(
    machine: Machine, spec: OpSpec, spatial: np.ndarray, temporal: np.ndarray
) -> PlanCosts:
    """Cost plans given as arrays: `spatial[p, d]` is plan `p`'s factor of loop dim `d`
    (in domain order) and `temporal[p, v, d]` tensor `v`'s temporal factor along it
    (the inputs, then the output, as `tensor_names`)."""
    domain, dims = spec.domain, spec.dims
    rows = len(spatial)
    cores = spatial.prod(axis=1)
    steps_along = _steps_along(spatial, temporal)
    share = _shares(spec, spatial, steps_along)
    steps = steps_along.prod(axis=1)
    step_box = _ceil_div(share, steps_along)
    compute = steps * step_cycles(machine, spec, step_box, spatial * steps_along > 1)
    shift = np.zeros(rows)
    sync = np.zeros(rows)
    memory = np.zeros(rows, dtype=np.int64)
    *pieces, held = _pieces(spec, share, temporal)
    sweeps = np.cumprod(steps_along, axis=1) // steps_along
    for v, (piece, elem) in enumerate(zip(pieces, spec.operand_bytes, strict=True)):
        factors = temporal[:, v, :]
        rounds = np.where(factors > 1, factors * sweeps, 0).sum(axis=1)
        shift += rounds * shift_cycles(machine, piece, elem, cores_used=cores)
        sync += rounds * SYNCS_PER_SHIFT * machine.sync_cycles
        memory += piece * elem * np.where(factors.prod(axis=1) > 1, 2, 1)
    out_shape, b_out = spec.result_shapes[0], spec.result_bytes[0]
    b_acc = accumulator_bytes(machine, spec)
    out_factors = temporal[:, len(pieces), :]
    ring = out_factors.prod(axis=1)
    rotates = ring > 1
    # the outermost step loop (the first stepped dim: no steps before it) ends unturned
    rounds = np.where(out_factors > 1, out_factors * sweeps - (sweeps == 1), 0)
    rounds = rounds.sum(axis=1)
    shift += rounds * shift_cycles(machine, held, b_acc, cores_used=cores)
    sync += rounds * SYNCS_PER_SHIFT * machine.sync_cycles
    indexing_out = set(domain.results[0].dims())
    partial_holders = np.ones(rows, dtype=np.int64)
    over_steps = rotates.copy()
    for i, d in enumerate(dims):
        if d not in indexing_out:
            partial_holders *= spatial[:, i]
            over_steps |= steps_along[:, i] > 1
    partial_holders //= ring
    chunk = _ceil_div(held, partial_holders)
    received = (partial_holders - 1) * chunk
    split = partial_holders > 1
    widened = over_steps & (b_acc > b_out)
    memory += held * np.where(widened, b_acc + b_out, b_out)
    memory += np.where(rotates, held * np.where(widened, b_acc, b_out), 0)
    compute = compute + np.where(
        widened, compute_cycles(machine, SubOpKind.UNARY, {"elements": held}, b_out), 0
    )
    reduce = np.where(
        split,
        shift_cycles(machine, received, b_out, cores_used=cores)
        + machine.sync_cycles
        + elementwise_cycles(machine.compute, received),
        0,
    )
    default = default_share(machine, out_shape)
    relayout = exchange_cycles(machine, chunk, default, b_out, cores)
    memory += np.maximum(np.where(split, received, 0), default) * b_out
    return PlanCosts(
        steps=steps,
        cores=cores,
        memory=memory,
        compute=np.ceil(compute).astype(np.int64),
        shift=np.ceil(shift).astype(np.int64),
        sync=np.ceil(sync).astype(np.int64),
        reduce=np.ceil(reduce).astype(np.int64),
        relayout=np.ceil(relayout).astype(np.int64),
    )


def plan_arrays(spec: OpSpec, plans: Sequence[OpPlan]) -> tuple[np.ndarray, np.ndarray]:
    """Plans as the `spatial` and `temporal` arrays `cost_plans` takes."""
    dims = spec.dims
    tensors = tensor_names(spec.domain)[: len(spec.domain.operands) + 1]
    spatial = np.array(
        [[p.spatial_factor(d) for d in dims] for p in plans], dtype=np.int64
    ).reshape(len(plans), len(dims))
    temporal = np.array(
        [[[p.temporal_factor(v, d) for d in dims] for v in tensors] for p in plans],
        dtype=np.int64,
    ).reshape(len(plans), len(tensors), len(dims))
    return spatial, temporal


def plan_of(spec: OpSpec, spatial: np.ndarray, temporal: np.ndarray) -> OpPlan:
    """The `OpPlan` of one row: split dims only, in domain order."""
    dims = spec.dims
    tensors = tensor_names(spec.domain)[: len(spec.domain.operands) + 1]
    return OpPlan(
        tuple((d, int(f)) for d, f in zip(dims, spatial, strict=True) if f > 1),
        tuple(
            (v, factors)
            for v, row in zip(tensors, temporal, strict=True)
            if (
                factors := tuple(
                    (d, int(t)) for d, t in zip(dims, row, strict=True) if t > 1
                )
            )
        ),
    )
