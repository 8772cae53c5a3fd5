"""The preset machines and `load_machine`, which `--target` of every tool goes through.

Sources of the figures (see also `docs/t10-primer.md`, sections 1 and 5):

- `ipu-mk2`: Graphcore IPU Mk2 (GC200): 1472 tiles, 624 KiB each, 1.325 GHz, 118-cycle
  sync, T10's per-core cycle fits (the `ComputeModel` defaults) and the fits to T10's
  measured IPU Mk2 convolutions and poolings (`FITTED_KERNELS["..."]["ipu-mk2"]`,
  fitted by `benchmarks/fit_kernel_costs.py`). T10 costs shifting
  `e` elements of `b` bytes at `e*b/2*0.56` cycles, i.e. `link_bytes_per_cycle =
  2/0.56 = 3.571 B/cycle` (4.73 GB/s per core at 1.325 GHz; the datasheet's "about
  5.5 GB/s" is a peak, the fit is what T10 measured).
- `ipu-pod4`: four such chips as one machine of 5888 cores (the same cores and fits); a
  plan on more than one chip's 1472 cores pays 1.25x on its communication (T10's
  artifact).
- `wormhole-8x8`: Tenstorrent Wormhole B0 Tensix cores on an 8 x 8 torus: 1464 KiB of
  L1 each (about 1.5 MB), 1 GHz, 32 B/cycle NoC links. Per-hop latency 9 cycles and a
  200-cycle barrier (about two traversals of the 8-hop torus diameter plus semaphore
  handling) are estimates, not measured figures. No per-core Tensix cycle fits are
  public, so the compute model is the IPU Mk2's stand-in, without the IPU's measured
  convolution and pooling fits (convolutions cost their implicit GEMM).

Every preset accumulates float sums in f32 (`Machine.accumulator_type`, the default):
the IPU's AMP units and PopLibs' `partialsType=float`, and Tensix's FPU with its
destination registers in f32 (`fp32_dest_acc_en`, an assumption as the estimates above
are). A JSON description may give `"accumulator_type": "f16"` for a chip that rounds
every partial sum to the result's type.
"""

from __future__ import annotations

import json
from pathlib import Path

from t10ir.target.machine import FITTED_KERNELS, ComputeModel, Machine, TargetError

_IPU_MK2_COMPUTE = ComputeModel(
    conv_kernel=FITTED_KERNELS["conv_kernel"]["ipu-mk2"],
    pool_kernel=FITTED_KERNELS["pool_kernel"]["ipu-mk2"],
)

_IPU_MK2 = Machine(
    name="ipu-mk2",
    cores=1472,
    sram_bytes=624 * 1024,
    clock_hz=1.325e9,
    link_bytes_per_cycle=2 / 0.56,
    sync_cycles=118,
    compute=_IPU_MK2_COMPUTE,
)

PRESETS: dict[str, Machine] = {
    "ipu-mk2": _IPU_MK2,
    "ipu-pod4": Machine(
        name="ipu-pod4",
        cores=4 * 1472,
        sram_bytes=624 * 1024,
        clock_hz=1.325e9,
        link_bytes_per_cycle=2 / 0.56,
        sync_cycles=118,
        chips=4,
        inter_chip_comm_factor=1.25,
        compute=_IPU_MK2_COMPUTE,
    ),
    "wormhole-8x8": Machine(
        name="wormhole-8x8",
        cores=64,
        sram_bytes=1464 * 1024,
        clock_hz=1.0e9,
        link_bytes_per_cycle=32,
        sync_cycles=200,
        topology="mesh2d",
        mesh=(8, 8),
        torus=True,
        hop_cycles=9,
    ),
}

DEFAULT_TARGET = "ipu-mk2"


def load_machine(spec: str = DEFAULT_TARGET) -> Machine:
    """A preset by name, or the JSON description at the path `spec`."""
    if spec in PRESETS:
        return PRESETS[spec]
    path = Path(spec)
    if not path.exists():
        raise TargetError(
            f"unknown target '{spec}': expected a preset "
            f"({', '.join(PRESETS)}) or the path of a JSON file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise TargetError(
            f"{spec}: cannot read the target file: {e.strerror}"
        ) from None
    except UnicodeDecodeError as e:
        raise TargetError(
            f"{spec}: the target file is not UTF-8 text (byte {e.start})"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TargetError(
            f"{spec}: invalid JSON at line {e.lineno}, column {e.colno}: {e.msg}"
        ) from None
    except (ValueError, RecursionError) as e:
        # An integer of more digits than Python converts, or nesting deeper than its
        # parser recurses: neither is a machine description.
        raise TargetError(f"{spec}: invalid JSON: {str(e).split(';')[0]}") from None
    return Machine.from_dict(data, source=spec)
