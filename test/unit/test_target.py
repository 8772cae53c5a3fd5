"""Machine descriptions: the presets, JSON round trips, and a diagnostic per bad key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from t10ir.target import (
    DEFAULT_TARGET,
    PRESETS,
    ComputeModel,
    Machine,
    TargetError,
    load_machine,
)
from t10ir.target.machine import FITTED_KERNELS

MINIMAL: dict[str, Any] = {
    "name": "tiny",
    "cores": 4,
    "sram_bytes": 65536,
    "clock_hz": 1e9,
    "topology": "all-to-all",
    "link_bytes_per_cycle": 4,
    "sync_cycles": 100,
}


def write(tmp_path: Path, data: object) -> str:
    path = tmp_path / "machine.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_ipu_mk2_is_the_default_with_the_primer_figures() -> None:
    machine = load_machine()
    assert DEFAULT_TARGET == "ipu-mk2" and machine is PRESETS["ipu-mk2"]
    assert (machine.cores, machine.sram_bytes, machine.clock_hz) == (
        1472,
        624 * 1024,
        1.325e9,
    )
    assert machine.topology == "all-to-all" and machine.sync_cycles == 118
    # The defaults, and the fits to T10's measured kernels (test_kernel_fit.py).
    assert machine.compute == ComputeModel(
        conv_kernel=FITTED_KERNELS["conv_kernel"]["ipu-mk2"],
        pool_kernel=FITTED_KERNELS["pool_kernel"]["ipu-mk2"],
    )
    # About 250 TFLOP/s FP16 (64 MACs per cycle per core) and 62.5 FP32.
    assert machine.compute.macs_per_cycle(2) == 64
    assert machine.peak_flops(2) == pytest.approx(250e12, rel=0.01)
    assert machine.peak_flops(4) == pytest.approx(62.5e12, rel=0.01)
    # The link bandwidth is T10's shift fit e*b/2*0.56 read as bytes per cycle.
    assert 1000 * 2 / machine.link_bytes_per_cycle == pytest.approx(1000 * 2 / 2 * 0.56)


def test_pod4_and_wormhole_presets() -> None:
    pod = load_machine("ipu-pod4")
    assert (pod.cores, pod.chips, pod.cores_per_chip) == (4 * 1472, 4, 1472)
    assert pod.inter_chip_comm_factor == 1.25
    assert pod.peak_flops(2) == pytest.approx(4 * PRESETS["ipu-mk2"].peak_flops(2))
    wormhole = load_machine("wormhole-8x8")
    assert wormhole.topology == "mesh2d" and wormhole.mesh == (8, 8) and wormhole.torus
    assert wormhole.cores == 64 and wormhole.link_bytes_per_cycle == 32
    assert wormhole.sram_bytes == pytest.approx(1.5e6, rel=0.01)
    assert wormhole.hop_cycles > 0


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_json_round_trip(name: str, tmp_path: Path) -> None:
    machine = PRESETS[name]
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(machine.to_dict()))
    assert load_machine(str(path)) == machine


def test_missing_compute_keys_default_to_ipu_mk2(tmp_path: Path) -> None:
    machine = load_machine(write(tmp_path, MINIMAL))
    assert machine.compute == ComputeModel()
    assert (machine.chips, machine.hop_cycles, machine.mesh) == (1, 0, None)
    override = {**MINIMAL, "compute": {"unary_fixed_cycles": 150, "matmul_n_block": 8}}
    compute = load_machine(write(tmp_path, override)).compute
    assert (compute.unary_fixed_cycles, compute.matmul_n_block) == (150, 8)
    assert compute.matmul_kn_block_cycles == 514
    assert compute.elementwise_fixed_cycles == 300


def test_accumulator_type_defaults_to_the_ipus_f32_and_may_be_overridden(
    tmp_path: Path,
) -> None:
    """Float sums accumulate in f32 unless a description says otherwise; the default
    is left out of a description (so the machines that keep it print as before), an
    override is written and read back."""
    assert all(m.accumulator_type == "f32" for m in PRESETS.values())
    machine = load_machine(write(tmp_path, MINIMAL))
    assert machine.accumulator_type == "f32" and "accumulator_type" not in (
        machine.to_dict()
    )
    assert [machine.accumulator_bytes(b) for b in (2, 4, 8)] == [4, 4, 8]
    half = load_machine(write(tmp_path, {**MINIMAL, "accumulator_type": "f16"}))
    assert (
        half.accumulator_type == "f16" and half.to_dict()["accumulator_type"] == "f16"
    )
    assert [half.accumulator_bytes(b) for b in (2, 4)] == [2, 4]
    assert load_machine(write(tmp_path, half.to_dict())) == half


def test_mesh_description(tmp_path: Path) -> None:
    data = {**MINIMAL, "topology": "mesh2d", "mesh": [2, 2], "hop_cycles": 3}
    machine = load_machine(write(tmp_path, data))
    assert machine.mesh == (2, 2) and not machine.torus and machine.hop_cycles == 3


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in MINIMAL.items() if k != key}


INVALID: list[tuple[dict[str, Any], str, str]] = [
    *((without(key), key, "missing") for key in MINIMAL),
    ({**MINIMAL, "cores": "4"}, "cores", "expected an integer"),
    ({**MINIMAL, "cores": True}, "cores", "expected an integer"),
    ({**MINIMAL, "sram_bytes": 1.5}, "sram_bytes", "expected an integer"),
    ({**MINIMAL, "name": 3}, "name", "expected a string"),
    ({**MINIMAL, "clock_hz": "fast"}, "clock_hz", "expected a number"),
    ({**MINIMAL, "cores": 0}, "cores", "positive"),
    ({**MINIMAL, "sram_bytes": -1}, "sram_bytes", "positive"),
    ({**MINIMAL, "clock_hz": 0}, "clock_hz", "positive"),
    ({**MINIMAL, "link_bytes_per_cycle": 0}, "link_bytes_per_cycle", "positive"),
    ({**MINIMAL, "sync_cycles": -1}, "sync_cycles", "non-negative"),
    ({**MINIMAL, "topology": "ring"}, "topology", "'all-to-all', 'mesh2d'"),
    ({**MINIMAL, "topology": "mesh2d"}, "mesh", "[rows, cols]"),
    ({**MINIMAL, "topology": "mesh2d", "mesh": [2, 3]}, "mesh", "rows * cols"),
    ({**MINIMAL, "topology": "mesh2d", "mesh": [4]}, "mesh", "two integers"),
    ({**MINIMAL, "mesh": [2, 2]}, "mesh", "all-to-all"),
    ({**MINIMAL, "chips": 3}, "chips", "divisor of cores"),
    ({**MINIMAL, "inter_chip_comm_factor": 0.5}, "inter_chip_comm_factor", ">= 1"),
    ({**MINIMAL, "corez": 4}, "corez", "unknown key"),
    (
        {**MINIMAL, "accumulator_type": "bf16"},
        "accumulator_type",
        "'f16', 'f32', 'f64'",
    ),
    ({**MINIMAL, "accumulator_type": 32}, "accumulator_type", "expected a string"),
    ({**MINIMAL, "compute": []}, "compute", "an object"),
    ({**MINIMAL, "compute": {"fixed": 1}}, "compute.fixed", "unknown"),
    (
        {**MINIMAL, "compute": {"matmul_m_block": 0}},
        "compute.matmul_m_block",
        "positive",
    ),
    (
        {**MINIMAL, "compute": {"unary_fixed_cycles": "x"}},
        "compute.unary_fixed_cycles",
        "a number",
    ),
]


@pytest.mark.parametrize(("data", "key", "expected"), INVALID)
def test_invalid_json_names_the_key(
    data: dict[str, Any], key: str, expected: str, tmp_path: Path
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TargetError) as info:
        load_machine(path)
    assert f"key '{key}'" in info.value.message
    assert expected in info.value.message
    assert info.value.message.startswith(path)
    assert info.value.key == key


def test_target_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="key 'cores'"):
        Machine("m", 0, 1, 1.0, 1.0, 0)


def test_unknown_preset_lists_the_presets() -> None:
    with pytest.raises(TargetError, match="ipu-mk2, ipu-pod4, wormhole-8x8"):
        load_machine("ipu-mk3")


def test_unreadable_file_bad_json_and_non_object(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot read"):
        load_machine(str(tmp_path))
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": ')
    with pytest.raises(TargetError, match="invalid JSON at line 1"):
        load_machine(str(bad))
    with pytest.raises(TargetError, match="expected a JSON object"):
        load_machine(write(tmp_path, [MINIMAL]))
