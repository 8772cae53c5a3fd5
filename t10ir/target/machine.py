"""One description of a chip: cores, SRAM, clock, interconnect and per-core cost fits.

Every pass and the interpreter read the same `Machine`, so that a plan costed by the
search is the plan the interpreter reports. The description is plain data (no IR), can be
written to and read from JSON, and checks itself on construction so that a bad figure is
reported where it is given, naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, get_args

Topology = Literal["all-to-all", "mesh2d"]
TOPOLOGIES: tuple[str, ...] = get_args(Topology)


class TargetError(ValueError):
    """An invalid machine description; the message names the key and what was expected."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message = message
        self.key = key


# Block sizes and rates divide; every other coefficient may be zero.
_POSITIVE_COMPUTE_KEYS = frozenset(
    (
        "matmul_m_block",
        "matmul_k_block_bytes",
        "matmul_n_block",
        "matmul_block_cycles_per_byte",
        "copy_bytes_per_cycle",
    )
)


@dataclass(frozen=True)
class ComputeModel:
    """Per-core cycles of one sub-operator, per kind; defaults are IPU Mk2 figures.

    Contractions use T10's fitted IPU Mk2 matmul formula (primer section 5) for an
    `m x k x n` sub-operator with `b`-byte elements:

        b*matmul_block_cycles_per_byte * ceil(m/matmul_m_block)
            * ceil(k*b/matmul_k_block_bytes) * ceil(n/matmul_n_block)
        + matmul_kn_block_cycles * ceil(k*b/matmul_k_block_bytes) * ceil(n/matmul_n_block)
        + matmul_n_block_cycles * ceil(n/matmul_n_block) + matmul_fixed_cycles

    after swapping m and n so that m >= n, unless m <= matmul_no_swap_max_m.
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
        for f in fields(self):
            value = getattr(self, f.name)
            positive = f.name in _POSITIVE_COMPUTE_KEYS
            if (positive and value <= 0) or value < 0:
                expected = "a positive" if positive else "a non-negative"
                raise TargetError(
                    f"key 'compute.{f.name}': expected {expected} number, got {value}",
                    f"compute.{f.name}",
                )

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
        for key in ("cores", "sram_bytes", "clock_hz", "link_bytes_per_cycle", "chips"):
            value = getattr(self, key)
            _require(key, value > 0, "a positive number", value)
        for key in ("sync_cycles", "hop_cycles"):
            value = getattr(self, key)
            _require(key, value >= 0, "a non-negative number", value)
        _require(
            "inter_chip_comm_factor",
            self.inter_chip_comm_factor >= 1,
            "a number >= 1 (inter-chip traffic is never cheaper)",
            self.inter_chip_comm_factor,
        )
        _require(
            "topology",
            self.topology in TOPOLOGIES,
            f"one of {', '.join(map(repr, TOPOLOGIES))}",
            repr(self.topology),
        )
        if self.topology == "mesh2d":
            _require("mesh", self.mesh is not None, "[rows, cols] for mesh2d", None)
            assert self.mesh is not None
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

    @property
    def total_sram_bytes(self) -> int:
        return self.cores * self.sram_bytes

    def peak_flops(self, elem_bytes: int) -> float:
        """Peak matmul FLOP/s of all cores, from the matmul fit's block throughput."""
        return 2 * self.compute.macs_per_cycle(elem_bytes) * self.clock_hz * self.cores

    @property
    def peak_flops_f16(self) -> float:
        return self.peak_flops(2)

    @property
    def peak_flops_f32(self) -> float:
        return self.peak_flops(4)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.mesh is None:
            del data["mesh"]
        else:
            data["mesh"] = list(self.mesh)
        return data

    def to_json(self) -> str:
        """The JSON that `Machine.from_dict(json.loads(...))` reads back equal."""
        return json.dumps(self.to_dict(), indent=2)

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
