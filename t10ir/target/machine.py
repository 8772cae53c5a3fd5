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
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from numbers import Integral, Real
from typing import Any, Literal, get_args

Topology = Literal["all-to-all", "mesh2d"]
TOPOLOGIES: tuple[str, ...] = get_args(Topology)


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

_COMPUTE_BOUNDS: dict[str, _Bound] = {
    "matmul_m_block": _BLOCK,
    "matmul_k_block_bytes": _BLOCK,
    "matmul_n_block": _BLOCK,
    "matmul_block_cycles_per_byte": _Bound(2**-10, 2**10),  # divides the peak rate
    "matmul_kn_block_cycles": _CYCLES,
    "matmul_n_block_cycles": _CYCLES,
    "matmul_fixed_cycles": _CYCLES,
    "matmul_no_swap_max_m": _THRESHOLD,
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
    as their implicit-GEMM contraction with the same coefficients: no public per-core
    convolution fit exists for the IPU.

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

    def peak_flops(self, elem_bytes: int) -> float:
        """Peak matmul FLOP/s of all cores, from the matmul fit's block throughput."""
        return 2 * self.compute.macs_per_cycle(elem_bytes) * self.clock_hz * self.cores

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.mesh is None:
            del data["mesh"]
        else:
            data["mesh"] = list(self.mesh)
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
        values[key] = _COMPUTE_SCHEMA[key].check(f"compute.{key}", value)
    return ComputeModel(**values)
