"""The fitted convolution and pooling costs (`t10ir.cost.kernel_fit`): the committed
IPU Mk2 fits against T10's measured samples, their shape (non-negative, growing with the
output), how a machine description carries or overrides them, and what they do to a
convolution's plan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from xdsl.dialects.builtin import TensorType, f16
from xdsl.parser import Parser
from xdsl.utils.test_value import create_ssa_value

from t10ir.context import make_context
from t10ir.cost import SubOpKind, SubOpShape, compute_cycles, matmul_cycles
from t10ir.cost.kernel_fit import conv_features, kernel_cycles, pool_features
from t10ir.cost.plan_cost import cost_plans, plan_arrays
from t10ir.dialects import top
from t10ir.dialects.rtensor import MachineAttr
from t10ir.expr.window import position_dims
from t10ir.lowering.op_spec import op_spec
from t10ir.planning.plan import OpPlan
from t10ir.target import PRESETS, ComputeModel, Machine, TargetError, load_machine
from t10ir.target.machine import FITTED_KERNELS, KernelFit

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "data" / "t10-ipu-kernel-profiles.json"
REPORT = ROOT / "benchmarks" / "results" / "kernel_fit.json"
IPU = PRESETS["ipu-mk2"]
CONV = FITTED_KERNELS["conv_kernel"]["ipu-mk2"]
POOL = FITTED_KERNELS["pool_kernel"]["ipu-mk2"]
FEATURES = {"conv": conv_features, "pool": pool_features}
FITS = {"conv": CONV, "pool": POOL}


@pytest.mark.parametrize("kind", ["conv", "pool"])
def test_committed_fits_reproduce_the_reported_errors(kind: str) -> None:
    if not SAMPLES.exists():
        pytest.skip(f"{SAMPLES} absent (../shared is not here)")
    data = json.loads(SAMPLES.read_text())[kind]["samples"]
    x = np.array([s["x"] for s in data])
    cycles = np.array([s["cycles"] for s in data], dtype=float)
    errors = np.abs(kernel_cycles(FITS[kind], FEATURES[kind](*x.T)) - cycles) / cycles
    report = json.loads(REPORT.read_text())[kind]
    assert np.median(errors) == pytest.approx(report["in_sample"]["median"], rel=1e-9)
    assert np.percentile(errors, 90) == pytest.approx(
        report["in_sample"]["p90"], rel=1e-9
    )
    assert KernelFit.from_dict(f"{kind}_kernel", kind, report["fit"]) == replace(
        FITS[kind], name=""
    )
    cv = report["cross_validated"]
    assert cv["median"] <= 0.10 and cv["p90"] <= 0.30


rng = np.random.default_rng(0)
WIDE = rng.integers(1, 4096, size=(5, 5000))
"""Features far beyond the samples' ranges too (the search costs any sub-operator)."""


def test_conv_fit_is_non_negative_and_grows_with_the_positions() -> None:
    batch, c, f, positions, window = WIDE
    batch, window = batch % 8 + 1, window % 64 + 1
    base = kernel_cycles(CONV, conv_features(batch, c, f, positions, window))
    assert np.all(base >= 0)
    more = kernel_cycles(CONV, conv_features(batch, c, f, positions + 37, window))
    assert np.all(more >= base)


def test_pool_fit_is_non_negative_and_monotone_in_every_feature() -> None:
    channels, positions, window = WIDE[:3]
    base = kernel_cycles(POOL, pool_features(channels, positions, window))
    assert np.all(base >= 0)
    for grown in (
        (channels + 4, positions, window),
        (channels, positions + 1, window),
        (channels, positions, window + 1),
    ):
        assert np.all(kernel_cycles(POOL, pool_features(*grown)) >= base)


def test_t10s_channel_roundings() -> None:
    features = conv_features(
        np.array([1, 1, 1]), np.array([2, 2, 3]), np.array([5, 8, 8]), 1, 1
    )
    assert list(features["in_channels"]) == [4, 2, 4]
    assert list(features["out_channels"]) == [8, 8, 8]
    assert list(pool_features(np.array([1, 4, 5]), 1, 1)["channels"]) == [4, 4, 8]


def conv_op(group: int = 1) -> top.Conv2dOp:
    image = create_ssa_value(TensorType(f16, (1, 16, 16, 16)))
    weight = create_ssa_value(TensorType(f16, (32, 16 // group, 3, 3)))
    return top.Conv2dOp(image, weight, None, pads=(1, 1, 1, 1), group=group)


def test_features_come_from_the_roles_of_the_loop_dims() -> None:
    shape = SubOpShape.of(conv_op().iteration_domain())
    assert (shape.spatial, shape.window) == (("oh", "ow"), ("kh", "kw"))
    grouped = SubOpShape.of(conv_op(group=2).iteration_domain())
    assert (grouped.spatial, grouped.window, grouped.batch) == (
        ("oh", "ow"),
        ("kh", "kw"),
        ("g",),
    )
    image = create_ssa_value(TensorType(f16, (2, 8, 16, 16)))
    pool = SubOpShape.of(top.MaxPoolOp(image, None, [3, 3], [2, 2]).iteration_domain())
    assert (pool.kind, pool.spatial, pool.window) == (
        SubOpKind.REDUCTION,
        ("oh", "ow"),
        ("kh", "kw"),
    )
    assert SubOpShape.of(top.GlobalAvgPoolOp(image).iteration_domain()).window == ()
    # A grouped convolution costs one convolution per group, on its own channels.
    extents = conv_op(group=2).iteration_domain().extents
    per_group = kernel_cycles(CONV, conv_features(1, 8, 16, 256, 9))
    assert compute_cycles(IPU, grouped, extents, 2) == pytest.approx(2 * per_group)
    pooled = kernel_cycles(POOL, pool_features(2 * 8, 7 * 7, 9))
    pool_extents = {"n": 2, "c": 8, "oh": 7, "ow": 7, "kh": 3, "kw": 3}
    assert compute_cycles(IPU, pool, pool_extents, 2) == pytest.approx(pooled)


def test_json_targets_override_or_drop_the_fits(tmp_path: Path) -> None:
    macs = {
        "terms": ["batch*in_channels*out_channels*positions*window"],
        "leaves": [[1.0]],
    }
    base = {k: v for k, v in IPU.to_dict().items() if k != "compute"}
    assert IPU.to_dict()["compute"]["conv_kernel"] == "ipu-mk2"

    def load(compute: dict[str, object]) -> Machine:
        path = tmp_path / "machine.json"
        path.write_text(json.dumps({**base, "compute": compute}))
        return load_machine(str(path))

    shape = SubOpShape.of(conv_op().iteration_domain())
    extents = dict(conv_op().iteration_domain().extents)
    custom = load({"conv_kernel": macs})
    assert compute_cycles(custom, shape, extents, 2) == 16 * 32 * 256 * 9
    assert (
        custom.compute.pool_kernel is None
    )  # a JSON machine has no fit it does not name
    named = load({"conv_kernel": "ipu-mk2", "pool_kernel": "ipu-mk2"})
    assert named.compute == IPU.compute
    gemm = load({"conv_kernel": None})
    assert compute_cycles(gemm, shape, extents, 2) == matmul_cycles(
        gemm.compute, 256, 16 * 9, 32, 2
    )
    assert load_machine(_round_trip(tmp_path, custom)) == custom
    tree = {**macs, "leaves": [[1.0], [2.0]], "splits": [["in_channels%16", 0, -1, -2]]}
    split = load({"conv_kernel": tree})
    printed = str(MachineAttr(split))
    assert "conv_kernel = {terms = [" in printed
    assert Parser(make_context(), printed).parse_attribute() == MachineAttr(split)
    assert compute_cycles(split, shape, extents, 2) == 16 * 32 * 256 * 9  # 16 % 16 == 0
    for bad, key in (
        ({"conv_kernel": "nope"}, "compute.conv_kernel"),
        (
            {"conv_kernel": {**macs, "leaves": [[-1.0]]}},
            "compute.conv_kernel.leaves[0]",
        ),
        ({"conv_kernel": {**macs, "terms": ["channels"]}}, "compute.conv_kernel.terms"),
        (
            {
                "conv_kernel": {
                    **macs,
                    "leaves": [[1.0], [1.0]],
                    "splits": [["positions", 4, -1, -2]],
                }
            },
            "compute.conv_kernel.splits[0]",
        ),
        ({"pool_kernel": 3}, "compute.pool_kernel"),
    ):
        with pytest.raises(TargetError) as error:
            load(bad)
        assert error.value.key == key, error.value.message


def _round_trip(tmp_path: Path, machine: Machine) -> str:
    path = tmp_path / "round-trip.json"
    path.write_text(json.dumps(machine.to_dict()))
    return str(path)


def test_other_presets_keep_the_implicit_gemm() -> None:
    assert PRESETS["ipu-pod4"].compute == IPU.compute
    wormhole = PRESETS["wormhole-8x8"].compute
    assert (wormhole.conv_kernel, wormhole.pool_kernel) == (None, None)
    assert ComputeModel().conv_kernel is None


def test_a_conv_plans_compute_follows_the_fit() -> None:
    """One plan of a 3x3 convolution (16 -> 32 channels, 16x16): 4 cores on the output
    channels, 2 on the rows, the input rotating over 2 steps of the input channels.
    The kernels' compute alone: not the pass rounding an f16 result's f32 accumulator
    (`OpSpec.float_result`), which costs the same under either model."""
    spec = replace(op_spec(conv_op()), float_result=False)
    plan = OpPlan.of({"f": 4, "oh": 2}, {"in0": {"c": 2}, "in1": {"c": 2}})
    spatial, temporal = plan_arrays(spec, [plan])
    fitted = cost_plans(IPU, spec, spatial, temporal).row(0)
    gemm = cost_plans(
        replace(IPU, compute=ComputeModel()), spec, spatial, temporal
    ).row(0)
    # Each step: batch 1, 8 input and 8 output channels, 8 x 16 positions, a 3x3 window.
    step = kernel_cycles(CONV, conv_features(1, 8, 8, 8 * 16, 9))
    assert fitted.steps == 2 and fitted.compute == int(np.ceil(2 * step))
    assert gemm.compute == int(
        np.ceil(2 * matmul_cycles(ComputeModel(), 128, 72, 8, 2))
    )
    assert fitted.compute != gemm.compute
    assert (fitted.shift, fitted.memory) == (gemm.shift, gemm.memory)


def test_a_where_sized_window_is_never_split() -> None:
    """The fitted pooling charges each window tap, so splitting a window over cores
    pays off; an expression whose `where` sizes the window cannot run on part of it
    (its windowed `where` keeps the extent), so the plans keep such dims whole."""
    text = (
        "output0[N, C, D0, D1] >=! input0[N, C, D0 * 2 + K0, D1 * 2 + K1]"
        " where D0 in 4, K0 in 3, D1 in 4, K1 in 3"
    )
    assert {"K0", "K1"} <= position_dims(text, [(1, 8, 9, 9)])
