"""One description of a chip: cores, SRAM, clock, interconnect and per-core cost fits.

Every pass and the interpreter read the same `Machine`, so that a plan costed by the
search is the plan the interpreter reports. The description is plain data (no IR), can be
written to and read from JSON, and checks itself on construction so that a bad figure is
reported where it is given, naming the key.

Every figure must be finite and lie in a range (`_MACHINE_BOUNDS`, `_COMPUTE_BOUNDS`) wide
enough for any real chip and narrow enough that no cost the model computes comes near
int64, whose cycles the search and the interpreter store:

- at most 2^20 cores of at most 2^40 bytes of SRAM each, a clock of 1 Hz to 1 THz;
- cycles per element or per byte at most 2^10; fixed, per-block and sync cycles at most
  2^20; at most 2^10 cycles a hop; bandwidths from 2^-10 to 2^20 bytes per cycle; block
  sizes of 1 to 2^20; an inter-chip factor of 1 to 2^10.

With every figure at its bound, one step of an operator of up to 2^32 iteration points
(all of it on one core, the worst plan) and shifting 2^32 eight-byte elements across the
longest mesh cost less than 2^57 cycles each, so a plan has room for 64 times as many
before int64's 2^63 (`test_machine_validation.py` checks these worst cases).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from numbers import Integral, Real
from typing import Any, Literal, get_args

Topology = Literal["all-to-all", "mesh2d"]
TOPOLOGIES: tuple[str, ...] = get_args(Topology)

FloatType = Literal["f16", "f32", "f64"]
FLOAT_BYTES: dict[str, int] = {"f16": 2, "f32": 4, "f64": 8}
"""The float types an accumulator may have, by their bytes."""
DEFAULT_ACCUMULATOR: FloatType = "f32"


class TargetError(ValueError):
    """An invalid machine description; the message names the key and what was expected."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key


@dataclass(frozen=True)
class _Bound:
    """The closed range `[low, high]` a figure must lie in (see the module docstring)."""

    low: float
    high: float
    integer: bool = False

    def check(self, key: str, value: object) -> None:
        noun = "integer" if self.integer else "number"
        if isinstance(value, bool) or not isinstance(
            value, Integral if self.integer else Real
        ):
            raise TargetError(
                f"key '{key}': expected {_article(noun)}, got {value!r}", key
            )
        if not (isinstance(value, Integral) or math.isfinite(value)):
            raise TargetError(
                f"key '{key}': expected a finite {noun}, got {value!r}", key
            )
        # typeshed's `Real` declares `<` and `<=` only: the value is their left operand
        # (for a finite value, `low <= value` is `not value < low`).
        if value < self.low or not value <= self.high:
            raise TargetError(
                f"key '{key}': expected {self.describe()}, got {_shown(value)}", key
            )

    def describe(self) -> str:
        noun = "integer" if self.integer else "number"
        if self.low == 0:
            return f"a non-negative {noun} <= {_figure(self.high)}"
        if self.integer and self.low == 1:
            return f"a positive integer <= {_figure(self.high)}"
        return f"a positive {noun} >= {_figure(self.low)} and <= {_figure(self.high)}"


def _shown(value: Real) -> str:
    """A figure for a message; an integer too long to print in full by its size."""
    if isinstance(value, Integral) and abs(int(value)) >= 2**64:
        return f"an integer of {int(value).bit_length()} bits"
    return str(value)


def _article(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _figure(bound: float) -> str:
    """A bound as written in the docstring's powers of two, when it is one."""
    if bound > 0 and math.log2(bound).is_integer() and abs(math.log2(bound)) >= 10:
        return f"2^{int(math.log2(bound))}"
    return f"{bound:g}"


_RATE = _Bound(0, 2**10)  # cycles per element or byte
_CYCLES = _Bound(0, 2**20)  # fixed, per-block and sync cycles
_BANDWIDTH = _Bound(2**-10, 2**20)  # bytes per cycle
_BLOCK = _Bound(1, 2**20, integer=True)
_THRESHOLD = _Bound(0, 2**40, integer=True)  # extents and element counts compared with

KERNEL_FEATURES: dict[str, tuple[str, ...]] = {
    "conv_kernel": ("batch", "in_channels", "out_channels", "positions", "window"),
    "pool_kernel": ("channels", "positions", "window"),
}
"""The features of each fitted kernel, as T10 defines them (see `t10ir.cost.kernel_fit`)."""

_FIT_COEFFICIENT = _Bound(0, 2**16)
_FIT_MAX_TERMS = 24
_FIT_MAX_LEAVES = 64
_FIT_MAX_MODULUS = 2**10


@dataclass(frozen=True)
class KernelFit:
    """Per-core cycles of one kind of kernel, fitted to measured samples: a model tree.

    Each leaf is a non-negative linear model over `terms`, products of the kernel's
    features (`KERNEL_FEATURES`) such as `"batch*out_channels*positions*window"`, `"1"`
    (the fixed cost) or a factor `"(positions-576)+"`, `max(positions - 576, 0)` (a
    hinge: piecewise linear in that feature). `splits` route a kernel to a leaf: split
    `i` is `(variable, threshold, below, above)`, going to `below` when the variable is
    at most `threshold`; a variable is a feature or `feature%q` (its remainder modulo
    `q`: the channel alignments the IPU's vertices depend on); a child `c >= 0` is split
    `c` (always after `i`), `c < 0` is leaf `-1 - c`. No split has `positions` for a
    variable and every term is non-decreasing in every feature, so the cycles never
    decrease with the output positions, and never are negative. `name` names a committed
    fit (`FITTED_KERNELS`), which a description may give by name.
    """

    kind: str
    terms: tuple[str, ...]
    leaves: tuple[tuple[float, ...], ...]
    splits: tuple[tuple[str, int, int, int], ...] = ()
    name: str = ""

    def check(self, key: str) -> None:
        """Raise a `TargetError` naming `key` for anything the cost model cannot use."""
        features = KERNEL_FEATURES[self.kind]
        if not 1 <= len(self.terms) <= _FIT_MAX_TERMS:
            raise TargetError(
                f"key '{key}.terms': expected 1 to {_FIT_MAX_TERMS} terms, "
                f"got {len(self.terms)}",
                f"{key}.terms",
            )
        for term in self.terms:
            _check_term(f"{key}.terms", term, features)
        if not 1 <= len(self.leaves) <= _FIT_MAX_LEAVES:
            raise TargetError(
                f"key '{key}.leaves': expected 1 to {_FIT_MAX_LEAVES} leaves, "
                f"got {len(self.leaves)}",
                f"{key}.leaves",
            )
        for i, leaf in enumerate(self.leaves):
            where = f"{key}.leaves[{i}]"
            _require(
                where,
                len(leaf) == len(self.terms),
                f"{len(self.terms)} coefficients, one per term",
                len(leaf),
            )
            for value in leaf:
                _FIT_COEFFICIENT.check(where, value)
        _require(
            f"{key}.splits",
            len(self.splits) == len(self.leaves) - 1,
            f"{len(self.leaves) - 1} splits for {len(self.leaves)} leaves",
            len(self.splits),
        )
        reached: list[int] = []
        for i, (variable, threshold, *children) in enumerate(self.splits):
            where = f"{key}.splits[{i}]"
            feature, _, modulus = variable.partition("%")
            _require(
                where,
                feature in features
                and feature != "positions"
                and (not modulus or _modulus(modulus) is not None),
                f"a variable of {', '.join(f for f in features if f != 'positions')}"
                f" (or 'feature%q', 1 <= q <= {_FIT_MAX_MODULUS})",
                repr(variable),
            )
            _THRESHOLD.check(where, threshold)
            for child in children:
                _require(
                    where,
                    i < child < len(self.splits) or -len(self.leaves) <= child < 0,
                    "children that are later splits or leaves",
                    child,
                )
            reached += children
        _require(
            f"{key}.splits",
            not self.splits
            or sorted(reached)
            == sorted([*range(1, len(self.splits)), *range(-len(self.leaves), 0)]),
            "a tree: every split but the first and every leaf reached once",
            [list(s) for s in self.splits],
        )

    def to_dict(self) -> str | dict[str, Any]:
        """A committed fit by its name, any other in full (lists, as JSON has them)."""
        if FITTED_KERNELS[self.kind].get(self.name) == self:
            return self.name
        return {
            "terms": list(self.terms),
            "leaves": [list(leaf) for leaf in self.leaves],
            "splits": [list(split) for split in self.splits],
        }

    @staticmethod
    def from_dict(kind: str, key: str, data: Any) -> KernelFit:
        if isinstance(data, str):
            fit = FITTED_KERNELS[kind].get(data)
            _require(
                key,
                fit is not None,
                f"the name of a fitted kernel ({', '.join(FITTED_KERNELS[kind])}), "
                "an object or null",
                json.dumps(data),
            )
            assert fit is not None
            return fit
        _Kind("object").check(key, data)
        unknown = sorted(set(data) - {"terms", "leaves", "splits"})
        if unknown:
            raise TargetError(
                f"key '{key}.{unknown[0]}': unknown key (expected terms, leaves, splits)",
                f"{key}.{unknown[0]}",
            )
        for part in ("terms", "leaves"):
            if part not in data:
                raise TargetError(f"key '{key}.{part}': missing", f"{key}.{part}")
        terms = _list_of(f"{key}.terms", data["terms"], lambda v: isinstance(v, str))
        leaves = _list_of(
            f"{key}.leaves",
            data["leaves"],
            lambda v: isinstance(v, list) and all(map(_is_number, v)),
        )
        splits = _list_of(
            f"{key}.splits",
            data.get("splits", []),
            lambda v: (
                isinstance(v, list)
                and len(v) == 4
                and isinstance(v[0], str)
                and all(map(_is_int, v[1:]))
            ),
        )
        fit = KernelFit(
            kind,
            tuple(terms),
            tuple(tuple(leaf) for leaf in leaves),
            tuple((v, t, lo, hi) for v, t, lo, hi in splits),
        )
        fit.check(key)
        return fit


def _check_term(key: str, term: str, features: tuple[str, ...]) -> None:
    parsed = [] if term == "1" else [term_factor(f) for f in term.split("*")]
    _require(
        key,
        all(
            p is not None and p[0] in features and p[2] <= _THRESHOLD.high
            for p in parsed
        ),
        f"products of {', '.join(features)}, '(feature-N)+' or 'min(feature,N)' "
        "factors, or '1'",
        repr(term),
    )


_FACTOR = re.compile(r"(\w+)|\((\w+)-(\d+)\)\+|min\((\w+),(\d+)\)")


def term_factor(text: str) -> tuple[str, Literal["", "hinge", "min"], int] | None:
    """A factor of a `KernelFit` term as (feature, form, knot): a bare feature
    (`""`), `(feature-N)+` (`"hinge"`) or `min(feature,N)`; None if it is neither."""
    match = _FACTOR.fullmatch(text)
    if match is None:
        return None
    bare, hinged, above, capped, cap = match.groups()
    if bare is not None:
        return bare, "", 0
    if hinged is not None:
        return hinged, "hinge", int(above)
    return capped, "min", int(cap)


def _modulus(text: str) -> int | None:
    return int(text) if text.isdigit() and 1 <= int(text) <= _FIT_MAX_MODULUS else None


def _list_of(key: str, value: Any, ok: Any) -> list[Any]:
    if not (isinstance(value, list) and all(ok(v) for v in value)):
        raise TargetError(f"key '{key}': expected a list, got {json.dumps(value)}", key)
    return value


def _is_number(value: Any) -> bool:
    return _is_int(value) or isinstance(value, float)


@dataclass(frozen=True)
class _FitBound:
    """What a kernel-fit key admits: no fit, or a fit that `KernelFit.check` accepts.
    `high` is the dearest fit allowed (every term a product of every feature, at the
    largest coefficient): each term is at most 16 times the kernel's loop points (the
    channel roundings), so a sub-operator of 2^32 points costs at most 2^56 cycles."""

    kind: str

    @property
    def low(self) -> None:
        return None

    @property
    def high(self) -> KernelFit:
        product = "*".join(KERNEL_FEATURES[self.kind])
        return KernelFit(
            self.kind,
            (product,) * _FIT_MAX_TERMS,
            ((_FIT_COEFFICIENT.high,) * _FIT_MAX_TERMS,),
        )

    def check(self, key: str, value: object) -> None:
        if value is None:
            return
        _require(
            key,
            isinstance(value, KernelFit) and value.kind == self.kind,
            f"a {self.kind.removesuffix('_kernel')} kernel fit or None",
            type(value).__name__,
        )
        assert isinstance(value, KernelFit)
        value.check(key)


_COMPUTE_BOUNDS: dict[str, _Bound | _FitBound] = {
    "matmul_m_block": _BLOCK,
    "matmul_k_block_bytes": _BLOCK,
    "matmul_n_block": _BLOCK,
    "matmul_block_cycles_per_byte": _Bound(2**-10, 2**10),  # divides the peak rate
    "matmul_kn_block_cycles": _CYCLES,
    "matmul_n_block_cycles": _CYCLES,
    "matmul_fixed_cycles": _CYCLES,
    "matmul_no_swap_max_m": _THRESHOLD,
    "conv_kernel": _FitBound("conv_kernel"),
    "pool_kernel": _FitBound("pool_kernel"),
    "elementwise_cycles_per_element": _RATE,
    "elementwise_fixed_cycles": _CYCLES,
    "elementwise_small_cycles_per_element": _RATE,
    "elementwise_small_fixed_cycles": _CYCLES,
    "elementwise_small_max_elements": _THRESHOLD,
    "unary_cycles_per_element": _RATE,
    "unary_fixed_cycles": _CYCLES,
    "reduction_cycles_per_element": _RATE,
    "reduction_fixed_cycles": _CYCLES,
    "copy_bytes_per_cycle": _BANDWIDTH,
    "copy_fixed_cycles": _CYCLES,
}

_MACHINE_BOUNDS: dict[str, _Bound] = {
    "cores": _Bound(1, 2**20, integer=True),
    "sram_bytes": _Bound(1, 2**40, integer=True),
    "clock_hz": _Bound(1, 1e12),
    "link_bytes_per_cycle": _BANDWIDTH,
    "sync_cycles": _CYCLES,
    "hop_cycles": _Bound(0, 2**10),
    "chips": _Bound(1, 2**20, integer=True),
    "inter_chip_comm_factor": _Bound(1, 2**10),
}


@dataclass(frozen=True)
class ComputeModel:
    """Per-core cycles of one sub-operator, per kind; defaults are IPU Mk2 figures.

    Contractions use T10's fitted IPU Mk2 matmul formula (primer section 5) for an
    `m x k x n` sub-operator with `b`-byte elements:

        b*matmul_block_cycles_per_byte * ceil(m/matmul_m_block)
            * ceil(k*b/matmul_k_block_bytes) * ceil(n/matmul_n_block)
        + matmul_kn_block_cycles * ceil(k*b/matmul_k_block_bytes) * ceil(n/matmul_n_block)
        + matmul_n_block_cycles * ceil(n/matmul_n_block) + matmul_fixed_cycles

    after orienting the sub-operator as T10's code does: m is the larger of m and n,
    except that when both are at most matmul_no_swap_max_m, m is the smaller.
    (`ceil(k*b/32)` is the primer's `ceil(k/(32/b))` in integers.) Convolutions are costed
    as their implicit-GEMM contraction with the same coefficients, and poolings as
    reductions, unless `conv_kernel` / `pool_kernel` give a fit to measured kernels
    (`KernelFit`); the `ipu-mk2` preset carries the fits to T10's measured IPU Mk2 cycles
    (`FITTED_KERNELS`), a description without them keeps the implicit GEMM.

    Elementwise, unary and reduction costs are linear in the element count (T10's fits for
    the first two; the primer gives no reduction fit, so reductions default to the
    elementwise fit: one vector pass over the input). Copies are bounded by the core's
    load/store path: 8 bytes per cycle (the IPU tile's 64-bit load-store), plus the unary
    fit's fixed vertex overhead.
    """

    matmul_m_block: int = 6
    matmul_k_block_bytes: int = 32
    matmul_n_block: int = 16
    matmul_block_cycles_per_byte: float = 12
    matmul_kn_block_cycles: float = 514
    matmul_n_block_cycles: float = 113
    matmul_fixed_cycles: float = 173
    matmul_no_swap_max_m: int = 16
    conv_kernel: KernelFit | None = None
    pool_kernel: KernelFit | None = None
    elementwise_cycles_per_element: float = 0.5
    elementwise_fixed_cycles: float = 300
    elementwise_small_cycles_per_element: float = 0.75
    elementwise_small_fixed_cycles: float = 290
    elementwise_small_max_elements: int = 16432
    unary_cycles_per_element: float = 0.5
    unary_fixed_cycles: float = 200
    reduction_cycles_per_element: float = 0.5
    reduction_fixed_cycles: float = 300
    copy_bytes_per_cycle: float = 8
    copy_fixed_cycles: float = 200

    def __post_init__(self) -> None:
        for key, bound in _COMPUTE_BOUNDS.items():
            bound.check(f"compute.{key}", getattr(self, key))

    def macs_per_cycle(self, elem_bytes: int) -> float:
        """Peak multiply-accumulates per cycle: one full block of the matmul fit."""
        block_macs = (
            self.matmul_m_block
            * (self.matmul_k_block_bytes / elem_bytes)
            * self.matmul_n_block
        )
        return block_macs / (elem_bytes * self.matmul_block_cycles_per_byte)


@dataclass(frozen=True)
class Machine:
    """An inter-core connected chip (or several chips acting as one).

    `link_bytes_per_cycle` is each core's send (and receive) bandwidth on an all-to-all
    exchange, and each link's bandwidth on a mesh, where a transfer also pays `hop_cycles`
    per hop. `sync_cycles` is one chip-wide barrier. With `chips > 1`, a plan that spans
    more than `cores_per_chip` cores pays `inter_chip_comm_factor` on its communication.

    `accumulator_type` is the float type a sum of floats accumulates in while a reduction
    is not yet complete: partial sums kept across the steps of a reduction cut in time,
    and partial results of one split over cores until they are combined. A sum whose
    result is narrower (an f16 contraction on an f32 accumulator) keeps its partial sums
    in an accumulator buffer of this type and is rounded to its own type once, when the
    result is written; a result as wide or wider accumulates in its own type. The
    default, f32, is the IPU's: its AMP units accumulate f16 products in f32 and PopLibs'
    convolutions and matmuls keep their partials in f32 (`partialsType=float`); "f16"
    rounds every partial sum to the result's type, as a chip without wider accumulators
    (or PopLibs' `partialsType=half`) would.
    """

    name: str
    cores: int
    sram_bytes: int
    clock_hz: float
    link_bytes_per_cycle: float
    sync_cycles: float
    topology: Topology = "all-to-all"
    mesh: tuple[int, int] | None = None
    torus: bool = False
    hop_cycles: float = 0
    chips: int = 1
    inter_chip_comm_factor: float = 1.0
    accumulator_type: FloatType = DEFAULT_ACCUMULATOR
    compute: ComputeModel = field(default_factory=ComputeModel)

    def __post_init__(self) -> None:
        _require(
            "name",
            isinstance(self.name, str) and self.name.isprintable() and self.name != "",
            "a non-empty string on one line",
            repr(self.name),
        )
        for key, bound in _MACHINE_BOUNDS.items():
            bound.check(key, getattr(self, key))
        _require(
            "topology",
            isinstance(self.topology, str) and self.topology in TOPOLOGIES,
            f"one of {', '.join(map(repr, TOPOLOGIES))}",
            repr(self.topology),
        )
        _require("torus", isinstance(self.torus, bool), "true or false", self.torus)
        _require(
            "accumulator_type",
            isinstance(self.accumulator_type, str)
            and self.accumulator_type in FLOAT_BYTES,
            f"one of {', '.join(map(repr, FLOAT_BYTES))}",
            repr(self.accumulator_type),
        )
        _require(
            "compute",
            isinstance(self.compute, ComputeModel),
            "a compute model",
            type(self.compute).__name__,
        )
        if self.topology == "mesh2d":
            _require("mesh", self.mesh is not None, "[rows, cols] for mesh2d", None)
            assert self.mesh is not None
            _require(
                "mesh",
                isinstance(self.mesh, tuple)
                and len(self.mesh) == 2
                and all(
                    isinstance(v, Integral) and not isinstance(v, bool)
                    for v in self.mesh
                ),
                "[rows, cols], two integers",
                self.mesh,
            )
            rows, cols = self.mesh
            _require(
                "mesh", rows > 0 and cols > 0, "positive [rows, cols]", list(self.mesh)
            )
            _require(
                "mesh",
                rows * cols == self.cores,
                f"rows * cols == cores ({self.cores})",
                f"{list(self.mesh)} ({rows * cols} cores)",
            )
        else:
            _require(
                "mesh",
                self.mesh is None,
                "no mesh for an all-to-all topology",
                list(self.mesh or ()),
            )
            _require(
                "torus", not self.torus, "false for an all-to-all topology", self.torus
            )
        _require(
            "chips",
            self.cores % self.chips == 0,
            f"a divisor of cores ({self.cores})",
            self.chips,
        )

    @property
    def cores_per_chip(self) -> int:
        return self.cores // self.chips

    def accumulator_bytes(self, result_bytes: int) -> int:
        """Bytes of an element of the accumulator of a float sum whose result has
        `result_bytes`-byte elements: the wider of the two types."""
        return max(result_bytes, FLOAT_BYTES[self.accumulator_type])

    def peak_flops(self, elem_bytes: int) -> float:
        """Peak matmul FLOP/s of all cores, from the matmul fit's block throughput."""
        return 2 * self.compute.macs_per_cycle(elem_bytes) * self.clock_hz * self.cores

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.accumulator_type == DEFAULT_ACCUMULATOR:
            # Left out as the default, so the descriptions (and the #rtensor.machine
            # attributes) of every machine that keeps it read as before.
            del data["accumulator_type"]
        if self.mesh is None:
            del data["mesh"]
        else:
            data["mesh"] = list(self.mesh)
        for key in KERNEL_FEATURES:
            fit = getattr(self.compute, key)
            if fit is None:
                del data["compute"][key]
            else:
                data["compute"][key] = fit.to_dict()
        return data

    @staticmethod
    def from_dict(data: Any, source: str = "machine description") -> Machine:
        """Check keys and types of a parsed JSON description; `source` prefixes errors."""
        try:
            if not isinstance(data, Mapping):
                raise TargetError(f"expected a JSON object, got {type(data).__name__}")
            unknown = sorted(set(data) - _MACHINE_KEYS)
            if unknown:
                raise TargetError(
                    f"key '{unknown[0]}': unknown key (expected one of "
                    f"{', '.join(sorted(_MACHINE_KEYS))})",
                    unknown[0],
                )
            values: dict[str, Any] = {}
            for key, kind in _MACHINE_SCHEMA.items():
                if key not in data:
                    if key in _REQUIRED:
                        raise TargetError(
                            f"key '{key}': missing (expected {kind.describe()})", key
                        )
                    continue
                values[key] = kind.check(key, data[key])
            if "mesh" in values:
                values["mesh"] = tuple(values["mesh"])
            if "compute" in data:
                values["compute"] = _compute_from_dict(data["compute"])
            return Machine(**values)
        except TargetError as e:
            raise TargetError(f"{source}: {e.message}", e.key) from None


def _require(key: str, ok: bool, expected: str, got: object) -> None:
    if not ok:
        raise TargetError(f"key '{key}': expected {expected}, got {got}", key)


@dataclass(frozen=True)
class _Kind:
    """The JSON type a key must have."""

    name: Literal["str", "int", "number", "bool", "mesh", "object"]

    def describe(self) -> str:
        return {
            "str": "a string",
            "int": "an integer",
            "number": "a number",
            "bool": "true or false",
            "mesh": "[rows, cols], two integers",
            "object": "an object",
        }[self.name]

    def check(self, key: str, value: Any) -> Any:
        ok = {
            "str": lambda v: isinstance(v, str),
            "int": _is_int,
            "number": lambda v: _is_int(v) or isinstance(v, float),
            "bool": lambda v: isinstance(v, bool),
            "mesh": lambda v: (
                isinstance(v, list) and len(v) == 2 and all(map(_is_int, v))
            ),
            "object": lambda v: isinstance(v, Mapping),
        }[self.name](value)
        if not ok:
            raise TargetError(
                f"key '{key}': expected {self.describe()}, got {json.dumps(value)}", key
            )
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_MACHINE_SCHEMA: dict[str, _Kind] = {
    "name": _Kind("str"),
    "cores": _Kind("int"),
    "sram_bytes": _Kind("int"),
    "clock_hz": _Kind("number"),
    "topology": _Kind("str"),
    "link_bytes_per_cycle": _Kind("number"),
    "sync_cycles": _Kind("number"),
    "mesh": _Kind("mesh"),
    "torus": _Kind("bool"),
    "hop_cycles": _Kind("number"),
    "chips": _Kind("int"),
    "inter_chip_comm_factor": _Kind("number"),
    "accumulator_type": _Kind("str"),
    "compute": _Kind("object"),
}
_REQUIRED = frozenset(
    (
        "name",
        "cores",
        "sram_bytes",
        "clock_hz",
        "topology",
        "link_bytes_per_cycle",
        "sync_cycles",
    )
)
_MACHINE_KEYS = frozenset(_MACHINE_SCHEMA)
# Annotations are strings here (postponed evaluation): "int" or "float".
_COMPUTE_SCHEMA: dict[str, _Kind] = {
    f.name: _Kind("int" if f.type == "int" else "number") for f in fields(ComputeModel)
}


def _compute_from_dict(data: Any) -> ComputeModel:
    """Compute-model keys override the IPU Mk2 defaults one by one."""
    _Kind("object").check("compute", data)
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _COMPUTE_SCHEMA:
            raise TargetError(
                f"key 'compute.{key}': unknown compute-model key (expected one of "
                f"{', '.join(_COMPUTE_SCHEMA)})",
                f"compute.{key}",
            )
        if key in KERNEL_FEATURES:
            values[key] = (
                None
                if value is None
                else KernelFit.from_dict(key, f"compute.{key}", value)
            )
        else:
            values[key] = _COMPUTE_SCHEMA[key].check(f"compute.{key}", value)
    return ComputeModel(**values)


IPU_MK2_CONV_TERMS = (
    "batch*in_channels*out_channels*positions*window",
    "batch*out_channels*positions*window",
    "batch*in_channels*positions*window",
    "batch*positions*window",
    "batch*positions",
    "batch*out_channels*window",
    "out_channels*window",
    "batch*window",
    "batch",
    "1",
    "batch*window*(positions-576)+",
    "batch*window*(positions-1296)+",
    "batch*out_channels*window*(positions-576)+",
    "batch*out_channels*window*(positions-1296)+",
    "batch*window*min(positions,144)",
    "batch*out_channels*window*min(positions,144)",
    "batch*in_channels*out_channels*window*min(positions,144)",
)
"""The terms of the IPU Mk2 convolution fit: MACs, overheads per output channel, per
position and per window tap, fixed cycles, and pieces linear in the positions."""

IPU_MK2_POOL_TERMS = (
    "channels*positions*window",
    "positions*window",
    "channels*positions",
    "positions",
    "channels*window",
    "window",
    "channels",
    "1",
    "channels*window*(positions-256)+",
    "window*(positions-256)+",
)
"""The terms of the IPU Mk2 pooling fit (one leaf: no split improves on it)."""

# The fits of `benchmarks/fit_kernel_costs.py --print-python` to T10's measured IPU Mk2
# kernels (`../shared/data/t10-ipu-kernel-profiles.json`): one leaf's coefficients a
# line, in the order of the terms; splits as `KernelFit` describes them.
# fmt: off
_IPU_MK2_CONV = KernelFit(
    "conv_kernel",
    IPU_MK2_CONV_TERMS,
    (
        (0.007745867587, 0, 0.5081995706, 0, 0, 0, 0, 0, 0, 564.8470522, 4.336564917, 0, 0, 0, 0, 0, 0),
        (0.06252589317, 0, 0.02241493814, 0, 0, 0, 0, 0, 0, 243.2685792, 0, 0, 0, 0, 0.2010251047, 0, 0),
        (0.02340474753, 0, 0.6965395633, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0326962425, 0),
        (0.03878604958, 0, 0, 0, 0, 0, 20.92058105, 0, 0, 241.3258324, 0, 0, 0, 0, 0, 0, 0),
        (0, 0, 0, 0, 16.49045112, 0, 0, 0, 0, 0, 0.4246507476, 0, 0, 0, 0, 0, 0),
        (0, 0.1468663646, 0.05339869254, 1.094670841, 0, 0, 0, 417.9280918, 0, 0, 0, 0, 0.03207326636, 0, 0.3836682776, 0, 0),
        (0.02184798675, 0, 0.001589410195, 0.4970146461, 0, 0, 0, 0, 210.406678, 0, 0, 0, 0, 0, 0, 0.05941732003, 0.05980486083),
        (0.04124548684, 0.03585616961, 0.01141465811, 0, 0, 5.463350467, 0, 0, 0, 0, 0.1606384693, 0, 0, 0, 0, 0.01576699241, 0.02409414782),
        (0.0384222658, 0, 0.05003296097, 0, 0, 7.841557969, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.07026266974, 0.01021157173),
        (0.05227760747, 0.04306587254, 0.00112208612, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.07946451409, 0, 0),
        (0, 0, 0, 0, 15.95592069, 0.2639889068, 0, 0, 0, 0, 0.3746489075, 0.0490943772, 0, 0, 0, 0, 0),
        (0.04364779807, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (0.00804095395, 0.004219132285, 0, 0, 0, 0, 0, 0, 88.06681451, 0, 0, 0, 0, 0, 0.004064912711, 0, 0.01092461479),
    ),
    (
        ('window', 25, 1, 10),
        ('in_channels%16', 1, 2, 6),
        ('window', 9, 3, -5),
        ('out_channels%16', 4, 4, 5),
        ('out_channels%8', 0, -1, -2),
        ('in_channels', 1, -3, -4),
        ('window', 1, -6, 7),
        ('batch', 1, 8, 9),
        ('out_channels%16', 4, -7, -8),
        ('in_channels', 4, -9, -10),
        ('batch', 1, 11, -13),
        ('in_channels', 1, -11, -12),
    ),
    name="ipu-mk2",
)
_IPU_MK2_POOL = KernelFit(
    "pool_kernel",
    IPU_MK2_POOL_TERMS,
    (
        (0.4665707501, 0, 0.3503620609, 2.133780916, 12.02382572, 271.6082151, 0, 0, 0.2348179396, 0),
    ),
    (),
    name="ipu-mk2",
)
# fmt: on

FITTED_KERNELS: dict[str, dict[str, KernelFit]] = {
    "conv_kernel": {"ipu-mk2": _IPU_MK2_CONV},
    "pool_kernel": {"ipu-mk2": _IPU_MK2_POOL},
}
"""Committed fits by kind and name; a machine description may name one."""
