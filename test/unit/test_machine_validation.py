"""Machine files with non-finite, out-of-range or mistyped figures: one diagnostic each.

`Machine` and `ComputeModel` bound every figure (machine.py's docstring) so that no cost
overflows int64: checked here on the worst machine the bounds allow, then each bad figure
is refused directly and through `t10-opt` and `t10-run` (one stderr line naming the key,
exit 1, never an internal error).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from op_specs import matmul

from t10ir.cost.model import (
    copy_cycles,
    elementwise_cycles,
    matmul_cycles,
    reduction_cycles,
    shift_cycles,
    unary_cycles,
)
from t10ir.planning.search import search_plans
from t10ir.target import ComputeModel, Machine, TargetError, load_machine
from t10ir.target.machine import _COMPUTE_BOUNDS, _MACHINE_BOUNDS

ROOT = Path(__file__).resolve().parents[2]
OPS = ROOT / "test" / "lit" / "transforms" / "Inputs" / "ops.mlir"
MLP = ROOT / "examples" / "mlp.mlir"
BIN = Path(sys.executable).parent

GOOD: dict[str, Any] = {
    "name": "grid16",
    "cores": 16,
    "sram_bytes": 6144,
    "clock_hz": 1.0e9,
    "topology": "all-to-all",
    "link_bytes_per_cycle": 4,
    "sync_cycles": 100,
}

WORST_COMPUTE = ComputeModel(
    **{
        key: bound.low if "block" in key and "cycles" not in key else bound.high
        for key, bound in _COMPUTE_BOUNDS.items()
        if key not in ("matmul_no_swap_max_m", "elementwise_small_max_elements")
    }
    | {"copy_bytes_per_cycle": 2**-10}
)
"""Every block as small, every cost as high and the copy path as slow as allowed."""


def worst_machine(cores: int = 2**20) -> Machine:
    """The slowest chip the bounds allow: a 1 x `cores` mesh (the longest diameter)."""
    return Machine(
        name="worst",
        cores=cores,
        sram_bytes=2**40,
        clock_hz=1,
        link_bytes_per_cycle=2**-10,
        sync_cycles=2**20,
        topology="mesh2d",
        mesh=(1, cores),
        hop_cycles=2**10,
        chips=2,
        inter_chip_comm_factor=2**10,
        compute=WORST_COMPUTE,
    )


def test_every_figure_is_bounded() -> None:
    fields = {f.name for f in dataclasses.fields(ComputeModel)}
    assert set(_COMPUTE_BOUNDS) == fields
    numeric = {
        f.name
        for f in dataclasses.fields(Machine)
        if f.name
        not in ("name", "topology", "mesh", "torus", "accumulator_type", "compute")
    }
    assert set(_MACHINE_BOUNDS) == numeric


# (m, k, n, batch): 2^32 multiply-accumulates in every orientation that maximises a term.
WORST_SHAPES = [
    (2**11, 2**10, 2**11, 1),
    (1, 2**32, 1, 1),
    (2**16, 1, 2**16, 1),
    (1, 1, 2**32, 1),
    (1, 1, 1, 2**32),
]


@pytest.mark.parametrize(("m", "k", "n", "batch"), WORST_SHAPES)
def test_worst_step_costs_stay_below_2_to_57(
    m: int, k: int, n: int, batch: int
) -> None:
    """The docstring's claim: one step of 2^32 points costs < 2^57 cycles."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cycles = matmul_cycles(WORST_COMPUTE, m, k, n, 8, batch)
    assert 0 < cycles < 2**57


def test_worst_elementwise_copy_and_shift_costs_stay_below_2_to_57() -> None:
    machine = worst_machine()
    points = 2**32
    costs = [
        elementwise_cycles(WORST_COMPUTE, points),
        unary_cycles(WORST_COMPUTE, points),
        reduction_cycles(WORST_COMPUTE, points),
        copy_cycles(WORST_COMPUTE, points, 8),
        shift_cycles(machine, points, 8, hops=machine.cores, cores_used=machine.cores),
    ]
    assert all(0 < c < 2**57 for c in costs), costs


def test_the_search_on_the_worst_machine_costs_in_int64() -> None:
    """Every frontier plan of a 2^33-point matmul: whole int64 cycles, no warning."""
    spec = matmul(2**11, 2**11, 2**11, 8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frontier = search_plans(worst_machine(16), spec)
    assert frontier.points
    for point in frontier.points:
        assert 0 < point.cost.cycles < 2**62


def test_the_presets_and_the_bounds_agree() -> None:
    """The real chips sit well inside the bounds (a preset built is a preset checked)."""
    for name in ("ipu-mk2", "ipu-pod4", "wormhole-8x8"):
        assert load_machine(name).cores <= _MACHINE_BOUNDS["cores"].high


BAD_FIGURES: list[tuple[str, object]] = [
    ("sync_cycles", 9223372036854775808),
    ("sync_cycles", float("inf")),
    ("sync_cycles", 1e308),
    ("clock_hz", float("inf")),
    ("clock_hz", float("nan")),
    ("clock_hz", 1e-3),
    ("link_bytes_per_cycle", 1e-300),
    ("link_bytes_per_cycle", float("-inf")),
    ("hop_cycles", 1e9),
    ("cores", 10**30),
    ("sram_bytes", 2**41),
    ("inter_chip_comm_factor", float("nan")),
    ("compute.unary_fixed_cycles", float("nan")),
    ("compute.matmul_block_cycles_per_byte", 1e300),
    ("compute.matmul_block_cycles_per_byte", 1e-300),
    ("compute.matmul_kn_block_cycles", float("inf")),
    ("compute.matmul_m_block", 2**63),
    ("compute.elementwise_small_max_elements", 10**20),
    ("compute.copy_bytes_per_cycle", 0),
]


def with_figure(key: str, value: object) -> dict[str, Any]:
    data = dict(GOOD)
    if key.startswith("compute."):
        data["compute"] = {key.removeprefix("compute."): value}
    else:
        data[key] = value
    return data


def machine_of(data: dict[str, Any]) -> Machine:
    """`data` as keyword arguments, the compute keys as a `ComputeModel`."""
    data = dict(data)
    if "compute" in data:
        data["compute"] = ComputeModel(**data["compute"])
    return Machine(**data)


@pytest.mark.parametrize(("key", "value"), BAD_FIGURES)
def test_machine_refuses_a_figure_out_of_range(key: str, value: object) -> None:
    with pytest.raises(TargetError) as info:
        machine_of(with_figure(key, value))
    assert info.value.key == key
    assert info.value.message.startswith(f"key '{key}': expected a")
    assert "\n" not in info.value.message


BAD_TYPES: list[tuple[str, object]] = [
    ("cores", "16"),
    ("cores", 16.0),
    ("cores", True),
    ("cores", None),
    ("clock_hz", "1e9"),
    ("clock_hz", [1e9]),
    ("sync_cycles", {"cycles": 1}),
    ("compute.matmul_n_block", 1.5),
    ("compute.unary_fixed_cycles", "200"),
    ("name", 7),
    ("name", ""),
    ("name", "two\nlines"),
    ("topology", ["all-to-all"]),
    ("torus", "no"),
]


@pytest.mark.parametrize(("key", "value"), BAD_TYPES)
def test_machine_refuses_a_figure_of_the_wrong_type(key: str, value: object) -> None:
    """Built in Python (no JSON schema in front): still a TargetError, not a TypeError."""
    with pytest.raises(TargetError) as info:
        machine_of(with_figure(key, value))
    assert info.value.key == key


def test_machine_refuses_a_malformed_mesh() -> None:
    for mesh in ((4, "4"), (4,), [4, 4], (True, 16)):
        with pytest.raises(TargetError, match="key 'mesh'"):
            Machine(**GOOD | {"topology": "mesh2d", "mesh": mesh})


def test_machine_refuses_a_compute_model_that_is_not_one() -> None:
    with pytest.raises(TargetError, match="key 'compute'"):
        Machine(**GOOD, compute={"unary_fixed_cycles": 1})  # type: ignore[arg-type]


def test_numpy_figures_in_range_are_figures() -> None:
    machine = Machine(**GOOD | {"cores": np.int64(16), "clock_hz": np.float64(1e9)})
    assert machine.cores == 16
    with pytest.raises(TargetError, match="key 'clock_hz': expected a finite number"):
        Machine(**GOOD | {"clock_hz": np.float64("nan")})


def test_the_bounds_themselves_are_accepted() -> None:
    machine = worst_machine()
    assert machine.hop_cycles == 2**10 and machine.compute == WORST_COMPUTE


# ---- through the tools -------------------------------------------------------------

BAD_FILES: list[tuple[str, str, str]] = [
    # (name, file contents, what the one line must say)
    ("sync", json.dumps(GOOD | {"sync_cycles": 9223372036854775808}), "sync_cycles"),
    (
        "inf",
        json.dumps(GOOD | {"link_bytes_per_cycle": "L"}).replace('"L"', "Infinity"),
        "link_bytes_per_cycle",
    ),
    ("huge", json.dumps(GOOD | {"sync_cycles": 1e308}), "sync_cycles"),
    (
        "nan",
        json.dumps(GOOD | {"compute": {"unary_fixed_cycles": "N"}}).replace(
            '"N"', "NaN"
        ),
        "compute.unary_fixed_cycles",
    ),
    (
        "clock",
        json.dumps(GOOD | {"clock_hz": "C"}).replace('"C"', "Infinity"),
        "clock_hz",
    ),
    ("string", json.dumps(GOOD | {"cores": "16"}), "key 'cores': expected an integer"),
    ("list", json.dumps(GOOD | {"compute": [1]}), "key 'compute': expected an object"),
    (
        "missing",
        json.dumps({k: v for k, v in GOOD.items() if k != "sram_bytes"}),
        "key 'sram_bytes': missing",
    ),
    ("not-object", json.dumps([GOOD]), "expected a JSON object"),
    ("digits", json.dumps(GOOD).replace("100", "1" + "0" * 5000), "invalid JSON"),
    ("deep", "[" * 100000, "invalid JSON"),
    (
        "latin1",
        json.dumps(GOOD | {"name": "gr\u00eed"}, ensure_ascii=False),
        "not UTF-8",
    ),
]


def write_bad(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.json"
    encoding = "latin-1" if name == "latin1" else "utf-8"
    path.write_bytes(text.encode(encoding))
    return path


def assert_one_diagnostic(result: subprocess.CompletedProcess[str], says: str) -> None:
    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "error:" in lines[0]
    assert says in lines[0]


@pytest.mark.parametrize(("name", "text", "says"), BAD_FILES)
def test_t10_opt_partition_gives_one_line(
    name: str, text: str, says: str, tmp_path: Path
) -> None:
    path = write_bad(tmp_path, name, text)
    result = subprocess.run(
        [BIN / "t10-opt", OPS, "-p", f't10-partition{{target="{path}"}}'],
        capture_output=True,
        text=True,
    )
    assert_one_diagnostic(result, says)
    assert result.stdout == ""


@pytest.mark.parametrize(("name", "text", "says"), BAD_FILES)
def test_t10_run_target_gives_one_line(
    name: str, text: str, says: str, tmp_path: Path
) -> None:
    path = write_bad(tmp_path, name, text)
    result = subprocess.run(
        [BIN / "t10-run", MLP, "--target", path], capture_output=True, text=True
    )
    assert_one_diagnostic(result, says)
