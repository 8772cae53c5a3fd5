"""An op's compute-shift schedule, derived from its iteration domain and plan, in plain
Python: the facts `t10-lower-to-shift` writes into IR.

It is `OpPlan`'s placement rule (see `t10ir.planning.plan`) written as affine maps over a core's
grid digits and the step indices (symbols, one per rotated loop dim, outermost first):

- every input's *hot layout*: the piece each core holds before the first step (the
  skew of Cannon's algorithm, generalized);
- the *output layout*: each core's share of the result (partial results when a reduction
  dim is split over cores, combined by the epilogue);
- per step, the *window* of each piece the sub-operator reads and of the output share it
  writes;
- the *rotations*: for an input cut in time along a loop dim, the ring it rotates around
  and the steps after which it does (a core moves to its next piece when the step slice
  enters it);
- the *output rotations*: an output cut in time (along parallel dims, around the ring of
  the reduction dims split over its replica group) rotates like an input, and each core
  accumulates its partial sum into the piece it holds, so the piece collects every
  ring position's partial sum as it passes (a reduce-scatter inside the compute). It is
  not rotated back after the outermost step loop: the output layout is where the last
  step leaves the pieces; the partials of rings smaller than the replica group are
  still combined by the epilogue.

Step slices never cross a core's share (a rule of every plan the search keeps), so
windows stay inside the pieces and shares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

from xdsl.ir.affine import AffineExpr, AffineMap

from t10ir.memo import memo
from t10ir.planning.domain import (
    DelinearizedIndex,
    GatheredIndex,
    Index,
    IterationDomain,
    TensorMap,
    index_span,
)
from t10ir.planning.layout import (
    Grid,
    Layout,
    Ring,
    add,
    const,
    dim,
    flatten,
    floordiv,
    is_zero,
    modulo,
    scale,
    simplify_map,
    sym,
    unflatten,
)
from t10ir.planning.plan import OpPlan, PlanError, tensor_names

Box = dict[str, AffineExpr]


@dataclass(frozen=True)
class Rotation:
    """Input `tensor` moves to its next piece along loop dim `dim` around `ring`, after
    every step at which `when` (digits and step symbols to values) is all zeros."""

    tensor: int
    """The input's number; for an output rotation (`OpSchedule.output_rotations`), the
    result's."""
    dim: str
    ring: Ring
    when: AffineMap


@dataclass(frozen=True)
class OpSchedule:
    grid: Grid
    step_dims: tuple[str, ...]
    steps: tuple[int, ...]
    inputs: tuple[Layout, ...]
    output: Layout
    input_windows: tuple[AffineMap, ...]
    input_window_shapes: tuple[tuple[int, ...], ...]
    output_window: AffineMap
    output_window_shape: tuple[int, ...]
    rotations: tuple[Rotation, ...]
    accumulate: str | None
    """The combiner when a reduction dim is cut in time or the output rotates (steps
    accumulate)."""
    combine: str | None
    """The combiner when a reduction dim is split over cores and the output's rings do
    not cover its replica group (partials left to combine)."""
    pieces: int
    """How many sub-operator results are combined into each result element: one per
    slice of the reduction dims, over steps and cores (padded slices included)."""
    padded_reads: tuple[bool, ...]
    """Per input, whether the kernels read its layout's padding into results inside
    the result tensor (`IterationDomain.reads_padding`)."""
    output_rotations: tuple[Rotation, ...] = ()
    """The output's rotations (see the module docstring), after the steps at which
    `when` is all zeros, except the last step of the outermost step loop."""


def _origin(index: Index, lo: Box, box: dict[str, int], size: int) -> AffineExpr:
    """Where `index` starts over the loop box at `lo` of extents `box`."""
    if isinstance(index, GatheredIndex):
        return const(0)
    linear = index.linear if isinstance(index, DelinearizedIndex) else index
    terms = [const(linear.offset)]
    for d, c in linear.terms:
        start = lo[d] if c >= 0 else add(lo[d], const(box[d] - 1))
        terms.append(scale(start, c))
    origin = add(*terms)
    if isinstance(index, DelinearizedIndex):
        if index_span(index, box, None) >= (index.modulus or size + 1):
            return const(0)
        origin = floordiv(origin, index.divisor)
        if index.modulus is not None:
            origin = modulo(origin, index.modulus)
    return origin


def _span(index: Index, box: dict[str, int], size: int) -> int:
    return int(
        index_span(index, box, size if isinstance(index, GatheredIndex) else None)
    )


def _box_origins(tmap: TensorMap, lo: Box, box: dict[str, int], shape: Sequence[int]):
    return tuple(
        _origin(i, lo, box, size) for i, size in zip(tmap.indices, shape, strict=True)
    )


def _difference(a: Sequence[AffineExpr], b: Sequence[AffineExpr]) -> tuple:
    return tuple(
        x if is_zero(y) else add(x, scale(y, -1)) for x, y in zip(a, b, strict=True)
    )


def _check_aligned(
    domain: IterationDomain, share: dict[str, int], e: dict[str, int]
) -> None:
    """Raises PlanError when a split dim would start a window inside a block of a
    delinearized read (`(c*d + ...) floordiv q`): a sub-operator reads its window from
    position 0, which is a block's first element only when every window starts at a
    multiple of `q`, i.e. when the core's and the step's extents are."""
    extents = {d.name: d.extent for d in domain.dims}
    for tmap in domain.operands:
        for index in tmap.indices:
            if not isinstance(index, DelinearizedIndex) or index.divisor == 1:
                continue
            for d, c in index.linear.terms:
                split = share[d] < extents[d] or e[d] < share[d]
                if split and (c * share[d] % index.divisor or c * e[d] % index.divisor):
                    raise PlanError(
                        f"loop dim {d} is split into windows of {e[d]} (per core "
                        f"{share[d]}) that do not start at multiples of {index.divisor}"
                        f", the block of the read {index}"
                    )


def op_schedule(
    domain: IterationDomain,
    plan: OpPlan,
    operand_shapes: Sequence[Sequence[int]],
    result_shape: Sequence[int],
    grid_cores: tuple[int, ...] | None = None,
) -> OpSchedule:
    """The schedule of `plan` for an op of this domain (see the module docstring).
    Memoized on these plain-data arguments, so that the cost model
    (`relayout.plan_moves`) and the lowering share one schedule per op and plan."""
    return _op_schedule(
        domain,
        plan,
        tuple(tuple(int(s) for s in shape) for shape in operand_shapes),
        tuple(int(s) for s in result_shape),
        grid_cores,
    )


@memo(maxsize=4096)
def _op_schedule(
    domain: IterationDomain,
    plan: OpPlan,
    operand_shapes: tuple[tuple[int, ...], ...],
    result_shape: tuple[int, ...],
    grid_cores: tuple[int, ...] | None,
) -> OpSchedule:
    if len(domain.results) != 1:
        raise PlanError("only single-result ops can be scheduled")
    names = tensor_names(domain)
    spatial = [(d, f) for d, f in plan.spatial]
    grid = Grid(tuple(f for _, f in spatial) or (1,), grid_cores)
    axis = {d: i for i, (d, _) in enumerate(spatial)}
    coord = {
        d.name: dim(axis[d.name]) if d.name in axis else const(0) for d in domain.dims
    }
    share = plan.core_extents(domain)
    n = {d.name: plan.steps_along(d.name) for d in domain.dims}
    e = {d: share[d] // n[d] for d in share}
    _check_aligned(domain, share, e)
    step_dims = tuple(d.name for d in domain.dims if n[d.name] > 1)
    step = {d: const(0) for d in share}
    step.update({d: sym(k) for k, d in enumerate(step_dims)})

    def ring_rank(v: str) -> tuple[tuple[str, ...], list[int], AffineExpr]:
        """`v`'s free axes, their radices, and a core's rank `rho` over them."""
        axes = plan.free_axes(domain, v)
        radices = [plan.spatial_factor(a) for a in axes]
        return axes, radices, flatten([coord[a] for a in axes], radices)

    def ring_digits(v: str) -> dict[str, AffineExpr]:
        """A core's ring position digit per loop dim splitting `v` in time."""
        split = plan.split_dims(domain, v)
        radices = [plan.temporal_factor(v, d) for d in split]
        return dict(zip(split, unflatten(ring_rank(v)[2], radices), strict=True))

    inputs_named = names[: len(domain.operands)]
    offset = {d: const(0) for d in share}
    for v in names:
        for d, p in ring_digits(v).items():
            offset[d] = add(offset[d], scale(p, n[d] // plan.temporal_factor(v, d)))
    offset = {d: modulo(o, n[d]) for d, o in offset.items()}

    def slices(at: Box) -> Box:
        return {d: modulo(add(offset[d], at[d]), n[d]) for d in share}

    steps_of = tuple(n[d] for d in step_dims)

    def amap(num_symbols: int, results: Sequence[AffineExpr]) -> AffineMap:
        return simplify_map(
            AffineMap(len(grid.shape), num_symbols, tuple(results)),
            grid.shape,
            steps_of,
        )

    zero = {d: const(0) for d in share}
    core_lo = {d: scale(coord[d], share[d]) for d in share}
    step_lo = {d: add(core_lo[d], scale(j, e[d])) for d, j in slices(step).items()}

    layouts: list[Layout] = []
    windows: list[AffineMap] = []
    window_shapes: list[tuple[int, ...]] = []
    rotations: list[Rotation] = []
    symbols = len(step_dims)
    padding = domain.padding if domain.padding is not None else 0.0

    def piece_lo(at: Box, g: dict[str, int]) -> Box:
        """The origin of the piece holding slice `slices(at)`, pieces spanning `g`."""
        return {
            d: add(core_lo[d], scale(floordiv(j, g[d]), g[d] * e[d]))
            for d, j in slices(at).items()
        }

    def ring_rotations(v: str, number: int, g: dict[str, int]) -> list[Rotation]:
        """`v`'s rotations, one per loop dim cutting it in time."""
        found: list[Rotation] = []
        digits = ring_digits(v)
        for d, p in digits.items():
            t = plan.temporal_factor(v, d)
            moved = dict(digits)
            moved[d] = modulo(add(p, const(1)), t)
            axes, radices, rho = ring_rank(v)
            ring_radices = [plan.temporal_factor(v, x) for x in digits]
            size = plan.ring_size(v)
            rho = add(
                scale(floordiv(rho, size), size),
                flatten(list(moved.values()), ring_radices),
            )
            new_coords = dict(zip(axes, unflatten(rho, radices), strict=True))
            next_map = amap(
                0,
                tuple(new_coords.get(a, dim(i)) for i, (a, _) in enumerate(spatial))
                or (const(0),),
            )
            when = modulo(add(slices(step)[d], const(1)), g[d])
            found.append(
                Rotation(number, d, Ring(grid, t, next_map), amap(symbols, (when,)))
            )
        return found

    for number, (v, tmap, shape) in enumerate(
        zip(inputs_named, domain.operands, operand_shapes, strict=True)
    ):
        g = {d: n[d] // plan.temporal_factor(v, d) for d in share}
        box = {d: g[d] * e[d] for d in share}
        origin = _box_origins(tmap, piece_lo(zero, g), box, shape)
        layouts.append(
            Layout(
                tuple(shape),
                tuple(
                    _span(i, box, s) for i, s in zip(tmap.indices, shape, strict=True)
                ),
                grid,
                amap(0, origin),
                padding=padding,
            )
        )
        window = _difference(
            _box_origins(tmap, step_lo, e, shape),
            _box_origins(tmap, piece_lo(step, g), box, shape),
        )
        windows.append(amap(symbols, window))
        window_shapes.append(
            tuple(_span(i, e, s) for i, s in zip(tmap.indices, shape, strict=True))
        )
        rotations.extend(ring_rotations(v, number, g))

    out_map = domain.results[0]
    out_g = {d: n[d] // plan.temporal_factor("out0", d) for d in share}
    out_box = {d: out_g[d] * e[d] for d in share}
    rotates = plan.ring_size("out0") > 1
    if rotates:
        # Where the last step leaves the pieces: the outermost loop ends without
        # rotating the output, every inner one rotates it back to its start.
        last = dict(zero)
        last[step_dims[0]] = const(n[step_dims[0]] - 1)
        out_origin = _box_origins(out_map, piece_lo(last, out_g), out_box, result_shape)
        held_origin = _box_origins(
            out_map, piece_lo(step, out_g), out_box, result_shape
        )
    else:
        out_origin = held_origin = _box_origins(out_map, core_lo, share, result_shape)
    output = Layout(
        tuple(result_shape),
        tuple(
            _span(i, out_box, s)
            for i, s in zip(out_map.indices, result_shape, strict=True)
        ),
        grid,
        amap(0, out_origin),
    )
    output_window = _difference(
        _box_origins(out_map, step_lo, e, result_shape), held_origin
    )
    reduction = [d.name for d in domain.reduction_dims]
    partials = prod(plan.spatial_factor(d) for d in reduction)
    return OpSchedule(
        grid=grid,
        step_dims=step_dims,
        steps=tuple(n[d] for d in step_dims),
        inputs=tuple(layouts),
        output=output,
        input_windows=tuple(windows),
        input_window_shapes=tuple(window_shapes),
        output_window=amap(symbols, output_window),
        output_window_shape=tuple(
            _span(i, e, s) for i, s in zip(out_map.indices, result_shape, strict=True)
        ),
        rotations=tuple(rotations),
        accumulate=domain.combiner
        if rotates or any(n[d] > 1 for d in reduction)
        else None,
        combine=domain.combiner if partials > plan.ring_size("out0") else None,
        pieces=prod(plan.spatial_factor(d) * n[d] for d in reduction),
        padded_reads=tuple(
            domain.reads_padding(v) for v in range(len(domain.operands))
        ),
        output_rotations=tuple(ring_rotations("out0", 0, out_g)) if rotates else (),
    )
