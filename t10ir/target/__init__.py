"""Machine descriptions: the chips plans are made for, as plain data (no IR).

`load_machine(spec)` turns a `--target` value (a preset name or a JSON path) into a
`Machine`; the per-core cost formulas that read it live in `t10ir.cost`.
"""

from t10ir.target.machine import (
    TOPOLOGIES,
    ComputeModel,
    Machine,
    TargetError,
    Topology,
)
from t10ir.target.presets import DEFAULT_TARGET, PRESETS, load_machine

__all__ = [
    "DEFAULT_TARGET",
    "PRESETS",
    "TOPOLOGIES",
    "ComputeModel",
    "Machine",
    "TargetError",
    "Topology",
    "load_machine",
]
