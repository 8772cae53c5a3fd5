"""Compute-shift plans for one operator (T10 primer, section 4), in plain Python.

An `OpPlan` says how an op's iteration domain is spread over cores (a spatial factor
`F[d]` per loop dim) and how each core's share of every tensor is cut in time (a temporal
factor `t[d][v]` per loop dim `d` and tensor `v`). Everything else follows from the plan and
the domain: replica groups, rings, steps, per-core shapes, and where each piece lives at
step 0. `RTensor` is the paper's rTensor, the same plan seen from one tensor.

Tensors are named `in0, in1, ...` (the op's operands, in order) and `out0, ...` (its
results), as `input0`/`output0` in T10's einstein expressions.

Cores and coordinates. Core `c` has one coordinate per spatially split loop dim, in the
order of `OpPlan.spatial` (the first is the slowest); core ids are the row-major flattening.

Rings. Tensor `v` is replicated along its *free axes*: the split loop dims that do not index
it. Flatten a core's coordinates along them (first slowest) into `rho`; the core is at
position `rho mod T_v` of ring `rho div T_v` of its replica group. The position is read as
one digit `p[d]` per dim `d` that splits `v` in time (mixed radix, in the order in which the
dims index `v`), so a ring is a torus with one cycle of `t[d][v]` cores per split dim.

Placement (Cannon's skew, generalized). Along loop dim `d` each core runs `n[d]` steps and
processes step-slice `j[d] = (o[d] + s[d]) mod n[d]` at step `s[d]`, where the offset
`o[d] = sum over tensors v split on d of g[d][v] * p_v[d]` and `g[d][v] = n[d] / t[d][v]`
is how many step-slices one piece of `v` spans. Tensor `v` then holds piece
`j[d] div g[d][v]` along `d`. Because every tensor reads its piece from the same `j[d]`, all
pieces a core holds at a step cover the same slice of every loop dim (alignment), and as
`s[d]` runs through `n[d]` steps a core sees every slice once. Every other tensor's term of
`o[d]` is constant over a ring of `v` (they use other free axes; `validate` checks this),
so a ring of `v` holds each of its pieces exactly once at every step, all cores of a ring
change piece at the same steps, and the new piece comes from the ring neighbour whose digit
`p[d]` is one larger: a rotation. For Cannon's plan this is core `(i, j)` starting with
piece `(i + j) mod k` of both A and B.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import ceil, prod

import numpy as np

from t10ir.errors import T10Error
from t10ir.planning.domain import (
    DelinearizedIndex,
    DimKind,
    GatheredIndex,
    Index,
    IterationDomain,
    LinearIndex,
    TensorMap,
    index_span,
    span_cap,
)

Factors = tuple[tuple[str, int], ...]
"""`(name, factor)` pairs; a name not listed has factor 1."""


class PlanError(T10Error):
    """A plan that does not fit its op's iteration domain."""


def tensor_names(domain: IterationDomain) -> tuple[str, ...]:
    """`in0, ..., out0, ...`: the names plans use for an op's operands and results."""
    return (
        *(f"in{i}" for i in range(len(domain.operands))),
        *(f"out{i}" for i in range(len(domain.results))),
    )


def tensor_map(domain: IterationDomain, tensor: str) -> TensorMap:
    """The index map of the operand or result named `tensor`."""
    maps = dict(
        zip(tensor_names(domain), domain.operands + domain.results, strict=True)
    )
    if tensor not in maps:
        raise PlanError(f"unknown tensor '{tensor}' (the op has {', '.join(maps)})")
    return maps[tensor]


def _attributed_dim(domain: IterationDomain, index: Index) -> str | None:
    """The loop dim whose split splits this tensor dim: its single term, or the
    parallel term of a window (`oh * 2 + kh`); None for constants and gathers."""
    linear = index.linear if isinstance(index, DelinearizedIndex) else index
    if not isinstance(linear, LinearIndex) or not linear.dims():
        return None
    kinds = {d.name: d.kind for d in domain.dims}
    parallel = [d for d in linear.dims() if kinds[d] is DimKind.PARALLEL]
    return (parallel or list(linear.dims()))[0]


def tensor_dims(domain: IterationDomain, tensor: str) -> tuple[str | None, ...]:
    """Per tensor dim, the loop dim whose factors it takes (see `_attributed_dim`).

    A loop dim that indexes several tensor dims (a reshape's `n floordiv 64`, `n mod 64`)
    gives its factors to the first of them only: splitting `n` into contiguous chunks cuts
    the outermost tensor dim.
    """
    seen: set[str] = set()
    result: list[str | None] = []
    for index in tensor_map(domain, tensor).indices:
        dim = _attributed_dim(domain, index)
        if dim in seen:
            dim = None
        if dim is not None:
            seen.add(dim)
        result.append(dim)
    return tuple(result)


def _flatten(coords: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    flat = np.zeros_like(coords[0]) if coords else np.zeros((), dtype=np.int64)
    for coord, radix in zip(coords, radices, strict=True):
        flat = flat * radix + coord
    return flat


def _unflatten(flat: np.ndarray, radices: Sequence[int]) -> list[np.ndarray]:
    coords: list[np.ndarray] = []
    for radix in reversed(radices):
        coords.append(flat % radix)
        flat = flat // radix
    return coords[::-1]


@dataclass(frozen=True)
class Placement:
    """Where the pieces of one rotating tensor live (the module docstring has the rule).

    `along` are the loop dims the rings run along (the tensor's free axes, first slowest);
    `skew` are the loop dims whose core coordinate shifts the starting piece, as `i` does
    for A in Cannon's `(i + j) mod k`: the free axes of the other tensors that rotate along
    the same dims.
    """

    ring_size: int = 1
    along: tuple[str, ...] = ()
    skew: tuple[str, ...] = ()

    def check(self) -> list[str]:
        problems: list[str] = []
        if self.ring_size < 1:
            problems.append(f"ring size {self.ring_size} must be >= 1")
        if self.ring_size > 1 and not self.along:
            problems.append(f"a ring of {self.ring_size} cores must run along some dim")
        if self.ring_size == 1 and (self.along or self.skew):
            problems.append("a tensor that does not rotate has no ring dims or skew")
        for name, dims in (("ring", self.along), ("skew", self.skew)):
            if len(set(dims)) != len(dims):
                problems.append(f"{name} dims repeat: {', '.join(dims)}")
        if both := sorted(set(self.along) & set(self.skew)):
            problems.append(f"dims {', '.join(both)} are both ring and skew dims")
        return problems


@dataclass(frozen=True)
class RTensor:
    """T10's rTensor: how one tensor is split over cores (`spatial`, per tensor dim),
    how many cores share each spatial sub-tensor (`replicas`), how each core's share is
    cut in time (`temporal`, per tensor dim), how many pieces move per shift (`pace`,
    T10 uses 1), and where the pieces start (`placement`)."""

    shape: tuple[int, ...]
    element: str
    spatial: tuple[int, ...]
    replicas: int
    temporal: tuple[int, ...]
    pace: int = 1
    placement: Placement = Placement()

    @property
    def ring_size(self) -> int:
        return prod(self.temporal)

    @property
    def piece_shape(self) -> tuple[int, ...]:
        """Shape of the piece one core stores (ceil division: pieces are padded)."""
        return tuple(
            ceil(ceil(size / f) / t)
            for size, f, t in zip(self.shape, self.spatial, self.temporal, strict=True)
        )

    def check(self) -> list[str]:
        """Why this rTensor is inconsistent (empty when it is not)."""
        rank = len(self.shape)
        if len(self.spatial) != rank or len(self.temporal) != rank:
            return [
                f"a rank-{rank} tensor needs {rank} spatial and temporal factors, got "
                f"{len(self.spatial)} and {len(self.temporal)}"
            ]
        problems: list[str] = []
        for axis, (size, f, t) in enumerate(
            zip(self.shape, self.spatial, self.temporal, strict=True)
        ):
            if min(size, f, t) < 1:
                problems.append(f"dim {axis}: size and factors must be >= 1")
            elif f > size:
                problems.append(
                    f"dim {axis}: spatial factor {f} exceeds its size {size}"
                )
            elif t > ceil(size / f):
                problems.append(
                    f"dim {axis}: temporal factor {t} exceeds the per-core size "
                    f"{ceil(size / f)}"
                )
        if self.replicas < 1:
            problems.append(f"replicas {self.replicas} must be >= 1")
        elif self.replicas % self.ring_size:
            problems.append(
                f"{self.ring_size} temporal pieces do not divide {self.replicas} replicas"
            )
        if not 1 <= self.pace <= self.ring_size or self.ring_size % self.pace:
            problems.append(
                f"rotating pace {self.pace} must divide the ring size {self.ring_size}"
            )
        if self.placement.ring_size != self.ring_size:
            problems.append(
                f"placement ring of {self.placement.ring_size} cores, but the tensor has "
                f"{self.ring_size} temporal pieces"
            )
        return problems + self.placement.check()


@dataclass(frozen=True)
class OpPlan:
    """Spatial factors per loop dim and temporal factors per (tensor, loop dim)."""

    spatial: Factors = ()
    temporal: tuple[tuple[str, Factors], ...] = ()

    @staticmethod
    def of(
        spatial: Mapping[str, int] | None = None,
        temporal: Mapping[str, Mapping[str, int]] | None = None,
    ) -> OpPlan:
        """`OpPlan.of({"m": 4, "n": 4}, {"in0": {"k": 4}, "in1": {"k": 4}})`."""
        return OpPlan(
            tuple((spatial or {}).items()),
            tuple((v, tuple(f.items())) for v, f in (temporal or {}).items()),
        )

    # ---- what the plan says on its own -------------------------------------------

    def spatial_factor(self, dim: str) -> int:
        return dict(self.spatial).get(dim, 1)

    def temporal_factors(self, tensor: str) -> Factors:
        return dict(self.temporal).get(tensor, ())

    def temporal_factor(self, tensor: str, dim: str) -> int:
        return dict(self.temporal_factors(tensor)).get(dim, 1)

    @property
    def cores(self) -> int:
        """Cores used: one sub-operator per core."""
        return prod(f for _, f in self.spatial)

    def ring_size(self, tensor: str) -> int:
        """`T_v`: pieces of one core's share, and cores per ring."""
        return prod(f for _, f in self.temporal_factors(tensor))

    def steps_along(self, dim: str) -> int:
        """`n_d = max_v t[d][v]`."""
        return max((dict(f).get(dim, 1) for _, f in self.temporal), default=1)

    @property
    def steps(self) -> int:
        dims = {d for _, factors in self.temporal for d, _ in factors}
        return prod(self.steps_along(d) for d in dims)

    def check(self) -> list[str]:
        """The rules that hold whatever the domain: factors >= 1, no name twice, chains
        of temporal factors, and ring sizes dividing the core count (`T_v | r_v`, and
        `r_v` divides the cores)."""
        problems: list[str] = []
        if len({d for d, _ in self.spatial}) != len(self.spatial):
            problems.append("a loop dim has two spatial factors")
        if len({v for v, _ in self.temporal}) != len(self.temporal):
            problems.append("a tensor has two lists of temporal factors")
        for d, f in self.spatial:
            if f < 1:
                problems.append(f"spatial factor {f} of {d} must be >= 1")
        for v, factors in self.temporal:
            if len({d for d, _ in factors}) != len(factors):
                problems.append(f"{v} has two temporal factors for one loop dim")
            for d, t in factors:
                if t < 1:
                    problems.append(
                        f"temporal factor {t} of {v} along {d} must be >= 1"
                    )
        if problems:
            return problems
        for d in dict.fromkeys(d for _, factors in self.temporal for d, _ in factors):
            chain = sorted(
                (t, v)
                for v, _ in self.temporal
                if (t := self.temporal_factor(v, d)) > 1
            )
            for (small, u), (large, v) in zip(chain, chain[1:], strict=False):
                if large % small:
                    problems.append(
                        f"temporal factors along {d} do not form a divisibility chain: "
                        f"{u} = {small}, {v} = {large}"
                    )
        for v, _ in self.temporal:
            if self.cores % self.ring_size(v):
                problems.append(
                    f"{v} is cut into {self.ring_size(v)} pieces in time, which does not "
                    f"divide the {self.cores} cores"
                )
        return problems

    # ---- derived from the op's domain --------------------------------------------

    def validate(self, domain: IterationDomain, machine_cores: int) -> list[str]:
        """Every rule the plan breaks for this op on a machine of `machine_cores` cores."""
        problems = self.check()
        extents = domain.extents
        names = tensor_names(domain)
        for d, _ in self.spatial:
            if d not in extents:
                problems.append(f"unknown loop dim {d} in the spatial factors")
        for v, factors in self.temporal:
            if v not in names:
                problems.append(f"unknown tensor {v} (the op has {', '.join(names)})")
                continue
            for d, _ in factors:
                if d not in extents:
                    problems.append(
                        f"unknown loop dim {d} in the temporal factors of {v}"
                    )
        if problems:
            return problems
        if self.cores > machine_cores:
            problems.append(
                f"the spatial factors use {self.cores} cores but the machine has "
                f"{machine_cores}"
            )
        for d, f in self.spatial:
            if f > extents[d]:
                problems.append(
                    f"spatial factor {f} of {d} exceeds its extent {extents[d]}"
                )
        for d in sorted(domain.normalized_dims):
            if self.spatial_factor(d) > 1 or any(
                self.temporal_factor(v, d) > 1 for v, _ in self.temporal
            ):
                why = (
                    "its sub-operator needs it whole"
                    if d in domain.whole
                    else "it is reduced and broadcast back (it indexes the result)"
                )
                problems.append(f"{d} cannot be split: {why}")
        for dim in domain.reduction_dims:
            if domain.padding is None and dim.extent % self.spatial_factor(dim.name):
                problems.append(
                    f"reduction dim {dim.name} of extent {dim.extent} is split over "
                    f"{self.spatial_factor(dim.name)} cores unevenly, and the op has no "
                    "padding value that adds nothing to its reduction"
                )
        share = self.core_extents(domain)
        for d in dict.fromkeys(d for _, factors in self.temporal for d, _ in factors):
            if share[d] % self.steps_along(d):
                problems.append(
                    f"{self.steps_along(d)} steps along {d} do not divide its per-core "
                    f"extent {share[d]}: a step's slice would cross into another core's"
                    " share"
                )
        box = self.step_extents(domain)
        for outer, inner in domain.nested:
            cut = [d for d in inner if box[d] < extents[d]]
            if box[outer] > 1 and cut:
                problems.append(
                    f"a step spans {box[outer]} positions of {outer} but only part of "
                    f"{', '.join(cut)}: its sub-operator needs {', '.join(inner)} whole "
                    f"when it spans several of {outer}"
                )
        for v, factors in self.temporal:
            indexing = tensor_map(domain, v).dims()
            attributed = tensor_dims(domain, v)
            for d, t in factors:
                if t > 1 and d not in indexing:
                    problems.append(
                        f"{v} is split in time along {d}, which does not index it"
                    )
                elif t > 1 and d not in attributed:
                    problems.append(
                        f"{v} is split in time along {d}, which indexes it only inside a "
                        "window or a reshape"
                    )
            if self.replicas(domain, v) % self.ring_size(v):
                problems.append(
                    f"{v} is cut into {self.ring_size(v)} pieces in time, which does not "
                    f"divide its {self.replicas(domain, v)} replicas"
                )
        return problems or self._placement_conflicts(domain)

    def _placement_conflicts(self, domain: IterationDomain) -> list[str]:
        """Two tensors rotating along one dim over a shared free axis would skew each
        other's rings; the skew rule cannot align them."""
        problems: list[str] = []
        rotating = [v for v, _ in self.temporal if self.ring_size(v) > 1]
        for i, u in enumerate(rotating):
            for v in rotating[i + 1 :]:
                dims = set(self.split_dims(domain, u)) & set(self.split_dims(domain, v))
                shared = set(self.free_axes(domain, u)) & set(self.free_axes(domain, v))
                if dims and shared:
                    problems.append(
                        f"{u} and {v} both rotate along {min(dims)} and are both "
                        f"replicated along {min(shared)}: their pieces cannot be aligned"
                    )
        return problems

    def replicas(self, domain: IterationDomain, tensor: str) -> int:
        """`r_v`: cores that need the same spatial sub-tensor of `tensor`."""
        return prod(self.spatial_factor(d) for d in self.free_axes(domain, tensor))

    def rings(self, domain: IterationDomain, tensor: str) -> int:
        """Rings per replica group, `r_v / T_v`."""
        return self.replicas(domain, tensor) // self.ring_size(tensor)

    def free_axes(self, domain: IterationDomain, tensor: str) -> tuple[str, ...]:
        """Split loop dims that do not index `tensor`: its rings run along them."""
        indexing = tensor_map(domain, tensor).dims()
        return tuple(d for d, f in self.spatial if f > 1 and d not in indexing)

    def split_dims(self, domain: IterationDomain, tensor: str) -> tuple[str, ...]:
        """Loop dims that cut `tensor` in time, in the order they index it."""
        factors = dict(self.temporal_factors(tensor))
        return tuple(
            d for d in tensor_map(domain, tensor).dims() if factors.get(d, 1) > 1
        )

    def core_extents(self, domain: IterationDomain) -> dict[str, int]:
        """Each loop dim's extent in one core's sub-operator, `ceil(L / F)`."""
        return {
            d.name: ceil(d.extent / self.spatial_factor(d.name)) for d in domain.dims
        }

    def step_extents(self, domain: IterationDomain) -> dict[str, int]:
        """Each loop dim's extent in the sub-operator one core runs at one step."""
        share = self.core_extents(domain)
        return {d: ceil(e / self.steps_along(d)) for d, e in share.items()}

    def padding(self, domain: IterationDomain) -> float:
        """Work wasted on padding, as a fraction of the op's work: ceil divisions
        round each core's share and each step's slice up."""
        steps = self.step_extents(domain)
        padded = prod(
            steps[d.name] * self.steps_along(d.name) * self.spatial_factor(d.name)
            for d in domain.dims
        )
        return padded / domain.points - 1

    def sub_tensor_shape(
        self,
        domain: IterationDomain,
        tensor: str,
        shape: Sequence[int] | None = None,
        temporal: bool = False,
    ) -> tuple[int, ...]:
        """The part of `tensor` one core's sub-operator reads (or, with `temporal`, the
        piece it stores): the span of each index over the core's loop box, capped by
        the tensor's `shape` when given (needed for gathered dims)."""
        box = self.core_extents(domain)
        if temporal:
            factors = dict(self.temporal_factors(tensor))
            box = {d: ceil(e / factors.get(d, 1)) for d, e in box.items()}
        tmap = tensor_map(domain, tensor)
        indices = tmap.indices
        for axis, index in enumerate(indices):
            if shape is None and isinstance(index, GatheredIndex):
                raise PlanError(
                    f"dim {axis} of {tensor} is gathered: its size needs the tensor shape"
                )
        return tuple(
            int(
                index_span(
                    index,
                    box,
                    None if shape is None else span_cap(tmap, index, shape[axis]),
                )
            )
            for axis, index in enumerate(indices)
        )

    def piece_shape(
        self, domain: IterationDomain, tensor: str, shape: Sequence[int] | None = None
    ) -> tuple[int, ...]:
        """The piece of `tensor` one core stores: its sub-tensor cut by `T_v`."""
        return self.sub_tensor_shape(domain, tensor, shape, temporal=True)

    # ---- placement: numpy over cores ---------------------------------------------

    def all_cores(self) -> np.ndarray:
        return np.arange(self.cores, dtype=np.int64)

    def coordinates(self, cores: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Each core's coordinate along every spatially split loop dim."""
        cores = self.all_cores() if cores is None else np.asarray(cores, dtype=np.int64)
        dims = [d for d, _ in self.spatial]
        coords = _unflatten(cores, [f for _, f in self.spatial])
        return dict(zip(dims, coords, strict=True))

    def _core_ids(self, coords: Mapping[str, np.ndarray]) -> np.ndarray:
        return _flatten(
            [coords[d] for d, _ in self.spatial], [f for _, f in self.spatial]
        )

    def _ring_rank(
        self, domain: IterationDomain, tensor: str, coords: Mapping[str, np.ndarray]
    ) -> np.ndarray:
        """`rho`: a core's rank in its replica group of `tensor`."""
        axes = self.free_axes(domain, tensor)
        return _flatten(
            [coords[e] for e in axes], [self.spatial_factor(e) for e in axes]
        )

    def ring_positions(
        self, domain: IterationDomain, tensor: str, cores: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Each core's digit `p[d]` of its ring position, per dim splitting `tensor`."""
        rho = self._ring_rank(domain, tensor, self.coordinates(cores))
        dims = self.split_dims(domain, tensor)
        radices = [self.temporal_factor(tensor, d) for d in dims]
        return dict(zip(dims, _unflatten(rho % prod(radices), radices), strict=True))

    def ring_ids(
        self, domain: IterationDomain, tensor: str, cores: np.ndarray | None = None
    ) -> np.ndarray:
        """A number per core, equal for the cores of one ring of `tensor`."""
        coords = self.coordinates(cores)
        free = set(self.free_axes(domain, tensor))
        group_axes = [d for d, _ in self.spatial if d not in free]
        group = _flatten(
            [coords[d] for d in group_axes],
            [self.spatial_factor(d) for d in group_axes],
        )
        ring = self._ring_rank(domain, tensor, coords) // self.ring_size(tensor)
        return group * self.rings(domain, tensor) + ring

    def offsets(
        self, domain: IterationDomain, cores: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """`o[d]` per core for every loop dim: the step-slice it processes at step 0."""
        cores = self.all_cores() if cores is None else np.asarray(cores, dtype=np.int64)
        result = {d.name: np.zeros_like(cores) for d in domain.dims}
        for v, _ in self.temporal:
            for d, p in self.ring_positions(domain, v, cores).items():
                n = self.steps_along(d)
                result[d] = (result[d] + n // self.temporal_factor(v, d) * p) % n
        return result

    def slices(
        self,
        domain: IterationDomain,
        step: Mapping[str, int],
        cores: np.ndarray | None = None,
    ) -> dict[str, np.ndarray]:
        """`j[d]`: the step-slice of each loop dim every core processes at `step`
        (a step index per loop dim; missing dims are at step 0)."""
        return {
            d: (o + step.get(d, 0)) % self.steps_along(d)
            for d, o in self.offsets(domain, cores).items()
        }

    def pieces(
        self,
        domain: IterationDomain,
        tensor: str,
        step: Mapping[str, int] | None = None,
        cores: np.ndarray | None = None,
    ) -> np.ndarray:
        """The piece of `tensor` each core holds at `step`: the mixed-radix number of its
        piece coordinates `j[d] div g[d][v]` over the dims that split it in time."""
        cores = self.all_cores() if cores is None else np.asarray(cores, dtype=np.int64)
        slices = self.slices(domain, step or {}, cores)
        dims = self.split_dims(domain, tensor)
        radices = [self.temporal_factor(tensor, d) for d in dims]
        coords = [
            slices[d] // (self.steps_along(d) // t)
            for d, t in zip(dims, radices, strict=True)
        ]
        return _flatten(coords, radices) if coords else np.zeros_like(cores)

    def placement(
        self, domain: IterationDomain, tensor: str
    ) -> Callable[[np.ndarray], np.ndarray]:
        """Core ids -> the piece of `tensor` each holds at step 0."""
        return lambda cores: self.pieces(domain, tensor, None, cores)

    def shifts(
        self,
        domain: IterationDomain,
        tensor: str,
        dim: str,
        step: Mapping[str, int],
        cores: np.ndarray | None = None,
    ) -> np.ndarray:
        """Per core, whether `tensor` shifts along `dim` on arriving at `step` (from
        the step before it along `dim`): when the slice enters a new piece."""
        t = self.temporal_factor(tensor, dim)
        j = self.slices(domain, step, cores)[dim]
        return (j % (self.steps_along(dim) // t) == 0) & (t > 1)

    def shift_sources(
        self,
        domain: IterationDomain,
        tensor: str,
        dim: str,
        cores: np.ndarray | None = None,
    ) -> np.ndarray:
        """The core each core receives its next piece of `tensor` from when it shifts
        along `dim`: its ring neighbour one digit further along `dim`."""
        coords = self.coordinates(cores)
        dims = self.split_dims(domain, tensor)
        if dim not in dims:
            return self._core_ids(coords)
        radices = [self.temporal_factor(tensor, d) for d in dims]
        size = prod(radices)
        rho = self._ring_rank(domain, tensor, coords)
        digits = _unflatten(rho % size, radices)
        at = dims.index(dim)
        digits[at] = (digits[at] + 1) % radices[at]
        rho = rho - rho % size + _flatten(digits, radices)
        axes = self.free_axes(domain, tensor)
        moved = dict(coords)
        moved.update(
            zip(
                axes,
                _unflatten(rho, [self.spatial_factor(e) for e in axes]),
                strict=True,
            )
        )
        return self._core_ids(moved)

    # ---- one tensor's view -------------------------------------------------------

    def rtensor(
        self,
        domain: IterationDomain,
        tensor: str,
        shape: Sequence[int],
        element: str,
        pace: int = 1,
    ) -> RTensor:
        """`tensor`'s rTensor under this plan. Each tensor dim takes the factors of the
        loop dim that indexes it (`tensor_dims`: the parallel term of a window, the
        outermost dim of a reshape); constant and gathered dims are not split."""
        dims = tensor_dims(domain, tensor)
        split = self.split_dims(domain, tensor)
        skew = dict.fromkeys(
            e
            for v, _ in self.temporal
            if v != tensor and set(self.split_dims(domain, v)) & set(split)
            for e in self.free_axes(domain, v)
        )
        rotates = self.ring_size(tensor) > 1
        return RTensor(
            shape=tuple(shape),
            element=element,
            spatial=tuple(1 if d is None else self.spatial_factor(d) for d in dims),
            replicas=self.replicas(domain, tensor),
            temporal=tuple(
                1 if d is None else self.temporal_factor(tensor, d) for d in dims
            ),
            pace=pace,
            placement=Placement(
                self.ring_size(tensor),
                self.free_axes(domain, tensor) if rotates else (),
                tuple(skew) if rotates else (),
            ),
        )
