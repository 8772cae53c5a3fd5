"""t10-run end to end: summary, .npz round trip, determinism and one-line diagnostics."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from t10ir.context import make_context
from t10ir.errors import T10Error
from t10ir.interp import kernels
from t10ir.interp.reference import find_entry, random_inputs, run_function
from t10ir.module_io import parse_module, verify_module
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.passes.t10_lower_to_shift import T10LowerToShiftPass
from t10ir.passes.t10_partition import T10PartitionPass
from t10ir.passes.t10_select_plans import T10SelectPlansPass
from t10ir.target import load_machine
from t10ir.target.machine import Machine
from t10ir.tools.t10_run import (
    RoundingChain,
    check_outputs,
    largest_magnitude,
    main,
    relative_tolerance,
    rounding_chains,
)

MODEL = """\
func.func @block(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %g = top.gelu %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return %g : tensor<2x4xf32>
}
func.func @main(%a: tensor<2x3xf32>, %w: tensor<3x4xf32> {top.weight}, %b: tensor<3xf16>) -> (tensor<2x4xf32>, tensor<2xf32>, tensor<3xf16>) {
  %m = top.matmul %a, %w : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %c = arith.constant dense<[0.5, -1.0, 2.0, 0.0]> : tensor<4xf32>
  %s = top.add %m, %c : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %g = func.call @block(%s) : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %r = top.reduce %g {kind = "max", axes = array<i64: 1>, keepdims = false} : (tensor<2x4xf32>) -> tensor<2xf32>
  %h = top.reshape %r : (tensor<2xf32>) -> tensor<2xf32>
  %e = top.exp %h : (tensor<2xf32>) -> tensor<2xf32>
  %q = top.clip %e {min = 0.0 : f64, max = 4.0 : f64} : (tensor<2xf32>) -> tensor<2xf32>
  %f = top.concat %q {axis = 0 : i64} : (tensor<2xf32>) -> tensor<2xf32>
  %o = top.slice %f {starts = array<i64: 0>, ends = array<i64: 2>, steps = array<i64: 1>} : (tensor<2xf32>) -> tensor<2xf32>
  %z = top.sub %o, %o : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %y = top.add %o, %z : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %half = top.tanh %y : (tensor<2xf32>) -> tensor<2xf32>
  %out = top.neg %half : (tensor<2xf32>) -> tensor<2xf32>
  %t = top.sigmoid %out : (tensor<2xf32>) -> tensor<2xf32>
  %u = top.relu %t : (tensor<2xf32>) -> tensor<2xf32>
  %v = top.sqrt %u : (tensor<2xf32>) -> tensor<2xf32>
  %k = top.transpose %v {perm = array<i64: 0>} : (tensor<2xf32>) -> tensor<2xf32>
  %l = top.mul %k, %k : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %b2 = top.mul %b, %b : (tensor<3xf16>, tensor<3xf16>) -> tensor<3xf16>
  func.return %g, %l, %b2 : tensor<2x4xf32>, tensor<2xf32>, tensor<3xf16>
}
"""


def expected_outputs(
    a: np.ndarray, w: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MODEL in plain numpy (float64; f16 math for the f16 output)."""
    g = kernels.gelu((a.astype(np.float64) @ w) + [0.5, -1.0, 2.0, 0.0])
    q = np.clip(np.exp(g.max(axis=1)), 0.0, 4.0)
    t = 1 / (1 + np.exp(np.tanh(q)))
    return g, t, b * b


def write(tmp_path: Path, text: str, name: str = "model.mlir") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_summary_is_an_aligned_table(tmp_path: Path, capsys) -> None:
    code, out, err = run([write(tmp_path, MODEL)], capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["name", "shape", "dtype", "mean", "sum", "crc32"]
    assert lines[1].split()[:3] == ["out0", "2x4", "float32"]
    assert lines[2].split()[:3] == ["out1", "2", "float32"]
    assert lines[3].split()[:3] == ["out2", "3", "float16"]
    assert len(lines) == 4
    assert (
        lines[0].index("dtype")
        == lines[1].index("float32")
        == lines[3].index("float16")
    )


def test_summary_of_both_infinities_is_silent(tmp_path: Path) -> None:
    """An output holding +inf and -inf has mean and sum nan (IEEE), and numpy's
    'invalid value' warning does not reach stderr."""
    program = tmp_path / "inf.mlir"
    program.write_text(
        "func.func @f(%x: tensor<4xf32>, %z: tensor<4xf32>) -> tensor<4xf32> {\n"
        "  %y = top.div %x, %z : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>\n"
        "  func.return %y : tensor<4xf32>\n}\n"
    )
    x = np.array([1, -1, 2, 3], np.float32)
    np.savez(tmp_path / "in.npz", arg0=x, arg1=np.zeros(4, np.float32))
    result = subprocess.run(
        [sys.executable, "-c", "from t10ir.tools.t10_run import main; main()"]
        + [str(program), "--inputs", str(tmp_path / "in.npz")],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[1].split()[3:5] == ["nan", "nan"]


def test_inputs_and_output_round_trip(tmp_path: Path, capsys) -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float16)
    np.savez(tmp_path / "in.npz", arg0=a, arg1=w, arg2=b)
    out_path = tmp_path / "out.npz"
    code, out, err = run(
        [
            write(tmp_path, MODEL),
            "--inputs",
            str(tmp_path / "in.npz"),
            "--output",
            str(out_path),
        ],
        capsys,
    )
    assert (code, err) == (0, "")
    g, t, b2 = expected_outputs(a, w, b)
    with np.load(out_path) as result:
        assert sorted(result.files) == ["out0", "out1", "out2"]
        assert [result[f"out{i}"].dtype for i in range(3)] == [np.float32] * 2 + [
            np.float16
        ]
        np.testing.assert_allclose(result["out0"], g, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(result["out1"], t, rtol=1e-5)
        np.testing.assert_array_equal(result["out2"], b2)


def test_same_seed_gives_identical_output(tmp_path: Path, capsys) -> None:
    model = write(tmp_path, MODEL)
    runs = []
    for name, seed in [("a", "7"), ("b", "7"), ("c", "8")]:
        output = tmp_path / f"{name}.npz"
        code, out, _ = run([model, "--seed", seed, "--output", str(output)], capsys)
        assert code == 0
        runs.append((out, output.read_bytes()))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_default_inputs_are_seed_zero(tmp_path: Path, capsys) -> None:
    model = write(tmp_path, MODEL)
    assert run([model], capsys)[1] == run([model, "--seed", "0"], capsys)[1]


def test_compute_dtype_float64_is_closer(tmp_path: Path, capsys) -> None:
    model = write(tmp_path, MODEL)
    module = parse_module(make_context(), MODEL, model)
    inputs = random_inputs(find_entry(module, None), 0)
    exact = expected_outputs(*inputs)[0]
    single = run_function(module, None, inputs, np.float32)[0]
    double = run_function(module, None, inputs, np.float64)[0]
    assert single.dtype == double.dtype == np.float32
    assert np.abs(double - exact).max() <= np.abs(single - exact).max()
    np.testing.assert_allclose(double, exact.astype(np.float32), rtol=1e-6, atol=1e-7)


def test_entry_selects_a_nested_function(tmp_path: Path, capsys) -> None:
    code, out, _ = run([write(tmp_path, MODEL), "--entry", "block"], capsys)
    assert code == 0
    assert [line.split()[:3] for line in out.splitlines()[1:]] == [
        ["out0", "2x4", "float32"]
    ]


GATHER = """\
func.func @lookup(%table: tensor<7x3xf32>, %ids: tensor<2x2xi32>) -> tensor<2x2x3xf32> {
  %g = top.gather %table, %ids {axis = 0 : i64} : (tensor<7x3xf32>, tensor<2x2xi32>) -> tensor<2x2x3xf32>
  func.return %g : tensor<2x2x3xf32>
}
func.func @main(%table: tensor<7x3xf32>, %ids: tensor<40xi64>, %x: tensor<5x3xf16>) -> (tensor<4x2x2x3xf32>, tensor<40x3xf16>) {
  %r = top.reshape %ids : (tensor<40xi64>) -> tensor<4x10xi64>
  %s = top.slice %r {starts = array<i64: 0, 0>, ends = array<i64: 4, 4>, steps = array<i64: 1, 1>} : (tensor<4x10xi64>) -> tensor<4x4xi64>
  %t = top.reshape %s : (tensor<4x4xi64>) -> tensor<16xi64>
  %u = top.gather %table, %t {axis = 0 : i64} : (tensor<7x3xf32>, tensor<16xi64>) -> tensor<16x3xf32>
  %v = top.reshape %u : (tensor<16x3xf32>) -> tensor<4x2x2x3xf32>
  %h = top.gather %x, %ids {axis = 0 : i64} : (tensor<5x3xf16>, tensor<40xi64>) -> tensor<40x3xf16>
  func.return %v, %h : tensor<4x2x2x3xf32>, tensor<40x3xf16>
}
"""


def test_random_indices_stay_in_range_of_every_gather(tmp_path: Path) -> None:
    module = parse_module(make_context(), GATHER, "gather.mlir")
    table, ids, x = random_inputs(find_entry(module, "main"), 3)
    assert ids.dtype == np.int64 and x.dtype == np.float16
    assert (
        ids.min() >= 0 and ids.max() < 5 and ids.max() > 1
    )  # the smaller table bounds
    _, lookup_ids = random_inputs(find_entry(module, "lookup"), 3)
    assert lookup_ids.max() < 7
    v, h = run_function(module, "main", [table, ids, x])
    np.testing.assert_array_equal(
        v.reshape(16, 3), table[ids.reshape(4, 10)[:, :4].ravel()]
    )
    np.testing.assert_array_equal(h, x[ids])
    assert h.dtype == np.float16


def test_random_indices_follow_calls() -> None:
    text = (
        GATHER.replace("@main(", "@unused(")
        + """\
func.func @caller(%table: tensor<7x3xf32>, %ids: tensor<2x2xi32>) -> tensor<2x2x3xf32> {
  %g = func.call @lookup(%table, %ids) : (tensor<7x3xf32>, tensor<2x2xi32>) -> tensor<2x2x3xf32>
  func.return %g : tensor<2x2x3xf32>
}
"""
    )
    module = parse_module(make_context(), text, "calls.mlir")
    for seed in range(5):
        _, ids = random_inputs(find_entry(module, "caller"), seed)
        assert 0 <= ids.min() and ids.max() < 7


def test_without_entry_the_uncalled_function_runs(tmp_path: Path) -> None:
    module = parse_module(make_context(), MODEL, "m.mlir")
    assert find_entry(module, None).sym_name.data == "main"
    ambiguous = parse_module(make_context(), GATHER, "g.mlir")
    with pytest.raises(T10Error, match="@lookup, @main"):
        find_entry(ambiguous, None)


# --- errors ---------------------------------------------------------------------------------

DIAGNOSTIC = re.compile(r"^\S.*: error: .+$")


def assert_one_line_error(code: int, out: str, err: str, pattern: str) -> None:
    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert err.count("\n") == 1 and DIAGNOSTIC.match(err.rstrip("\n")), err
    assert re.search(pattern, err), err


def test_missing_file(tmp_path: Path, capsys) -> None:
    assert_one_line_error(
        *run([str(tmp_path / "nope.mlir")], capsys),
        r"^t10-run: error: cannot read '.*nope\.mlir'",
    )


def test_malformed_ir_is_located(tmp_path: Path, capsys) -> None:
    bad = "func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n  %r = top.relu %a :\n}\n"
    assert_one_line_error(
        *run([write(tmp_path, bad)], capsys), r"model\.mlir:\d+:\d+: error:"
    )


def test_invalid_ir_is_located(tmp_path: Path, capsys) -> None:
    bad = """\
func.func @main(%a: tensor<2xf32>) -> tensor<3xf32> {
  %r = top.reshape %a : (tensor<2xf32>) -> tensor<3xf32>
  func.return %r : tensor<3xf32>
}
"""
    assert_one_line_error(
        *run([write(tmp_path, bad)], capsys),
        r"model\.mlir:2:\d+: error: 'top\.reshape' op",
    )


GOOD_INPUTS = {
    "arg0": np.zeros((2, 3), np.float32),
    "arg1": np.zeros((3, 4), np.float32),
    "arg2": np.zeros(3, np.float16),
}


@pytest.mark.parametrize(
    ("changes", "pattern"),
    [
        (
            {"arg0": np.zeros((3, 2), np.float32)},
            r"in\.npz: error: input arg0 is 3x2 float32, expected tensor<2x3xf32>",
        ),
        (
            {"arg2": np.zeros(3)},
            r"in\.npz: error: input arg2 is 3 float64, expected tensor<3xf16>",
        ),
        ({"arg1": None}, r"in\.npz: error: inputs lacks arg1; @main takes 3"),
        ({"extra": np.zeros(1)}, r"in\.npz: error: inputs has unexpected extra"),
    ],
    ids=["shape", "dtype", "missing", "extra"],
)
def test_bad_inputs(tmp_path: Path, capsys, changes: dict, pattern: str) -> None:
    arrays = {k: v for k, v in (GOOD_INPUTS | changes).items() if v is not None}
    np.savez(tmp_path / "in.npz", **arrays)
    result = run([write(tmp_path, MODEL), "--inputs", str(tmp_path / "in.npz")], capsys)
    assert_one_line_error(*result, pattern)


def test_inputs_not_an_npz(tmp_path: Path, capsys) -> None:
    (tmp_path / "in.npz").write_text("not a zip")
    result = run([write(tmp_path, MODEL), "--inputs", str(tmp_path / "in.npz")], capsys)
    assert_one_line_error(*result, r"^t10-run: error: cannot read inputs")


def test_unknown_entry(tmp_path: Path, capsys) -> None:
    assert_one_line_error(
        *run([write(tmp_path, MODEL), "--entry", "nope"], capsys),
        r"^t10-run: error: no function named '@nope'",
    )


def test_op_without_kernel_is_located(tmp_path: Path, capsys) -> None:
    text = """\
func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {
  %r = arith.addf %a, %a : tensor<2xf32>
  func.return %r : tensor<2xf32>
}
"""
    assert_one_line_error(
        *run([write(tmp_path, text)], capsys),
        r"model\.mlir:2:\d+: error: 'arith\.addf' op has no reference",
    )


def test_gather_index_out_of_range_is_located(tmp_path: Path, capsys) -> None:
    text = GATHER.split("func.func @main")[0]
    np.savez(
        tmp_path / "in.npz",
        arg0=np.zeros((7, 3), np.float32),
        arg1=np.array([[0, 1], [7, 2]], np.int32),
    )
    result = run([write(tmp_path, text), "--inputs", str(tmp_path / "in.npz")], capsys)
    assert_one_line_error(
        *result,
        r"model\.mlir:2:\d+: error: 'top\.gather' op gather "
        r"index 7 is out of range",
    )


def test_unwritable_output(tmp_path: Path, capsys) -> None:
    result = run(
        [write(tmp_path, MODEL), "--output", str(tmp_path / "no" / "o.npz")], capsys
    )
    assert_one_line_error(*result, r"^t10-run: error: cannot write")


def test_console_script_reports_errors_in_one_line(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("t10-run")
    done = subprocess.run(
        [str(script), str(tmp_path / "missing.mlir")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_one_line_error(done.returncode, done.stdout, done.stderr, r"cannot read")


# --- every top op through its adapter ----------------------------------------------------------

ALL_OPS = """\
func.func @main(%x: tensor<1x4x6x6xf32>, %w: tensor<6x2x3x3xf32>, %bias: tensor<6xf32>,
                %c: tensor<4xf32>, %p: tensor<4xf32>, %t: tensor<5x4xf32>, %i: tensor<3xi32>)
    -> (tensor<1x6x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>,
        tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<3x4xf32>,
        tensor<1x6x4xf32>, tensor<6x6x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<1x4x1x6xf32>, tensor<10x4xf32>, tensor<5xf32>) {
  %conv = top.conv2d %x, %w, %bias {strides = array<i64: 2, 1>, dilations = array<i64: 1, 2>, pads = array<i64: 1, 0, 0, 1>, group = 2 : i64} : (tensor<1x4x6x6xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<1x6x3x3xf32>
  %mp = top.maxpool %x {kernel = array<i64: 3, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 0, 0>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  %ap = top.avgpool %x {kernel = array<i64: 3, 2>, strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 0, 0>, count_include_pad = false} : (tensor<1x4x6x6xf32>) -> tensor<1x4x3x3xf32>
  %gp = top.global_avgpool %x : (tensor<1x4x6x6xf32>) -> tensor<1x4x1x1xf32>
  %sm = top.softmax %x {axis = 1 : i64} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  %ln = top.layernorm %x, %bias, %bias {axis = -1 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x4x6x6xf32>, tensor<6xf32>, tensor<6xf32>) -> tensor<1x4x6x6xf32>
  %bn = top.batchnorm %x, %c, %p, %p, %p {epsilon = 2.0 : f64} : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %ga = top.gather %t, %i {axis = 0 : i64} : (tensor<5x4xf32>, tensor<3xi32>) -> tensor<3x4xf32>
  %rd = top.reduce %x {kind = "mean", axes = array<i64: 1, -2>, keepdims = false} : (tensor<1x4x6x6xf32>) -> tensor<1x6xf32>
  %rs = top.reshape %rd : (tensor<1x6xf32>) -> tensor<1x6x1xf32>
  %c2 = top.reshape %c : (tensor<4xf32>) -> tensor<1x4xf32>
  %mm = top.matmul %rs, %c2 : (tensor<1x6x1xf32>, tensor<1x4xf32>) -> tensor<1x6x4xf32>
  %tr = top.transpose %x {perm = array<i64: 2, 0, 3, 1>} : (tensor<1x4x6x6xf32>) -> tensor<6x1x6x4xf32>
  %trr = top.reshape %tr : (tensor<6x1x6x4xf32>) -> tensor<6x6x4xf32>
  %dv = top.div %c, %p : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %mx = top.max %c, %p : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %mn = top.min %c, %p : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %ab = top.mul %c, %c : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %pw = top.pow %ab, %p : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %lg = top.log %ab : (tensor<4xf32>) -> tensor<4xf32>
  %rq = top.rsqrt %ab : (tensor<4xf32>) -> tensor<4xf32>
  %ef = top.erf %c : (tensor<4xf32>) -> tensor<4xf32>
  %sl = top.slice %x {starts = array<i64: 0, 1, -100, 0>, ends = array<i64: 1, 4, 3, 100>, steps = array<i64: 1, 2, 3, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x2x1x6xf32>
  %cc = top.concat %sl, %sl {axis = 1 : i64} : (tensor<1x2x1x6xf32>, tensor<1x2x1x6xf32>) -> tensor<1x4x1x6xf32>
  %ct = top.concat %t, %t {axis = 0 : i64} : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<10x4xf32>
  %e = top.expr %t, %c {expr = "output0[N] +=! input0[N, K] * input1[K];"} : (tensor<5x4xf32>, tensor<4xf32>) -> tensor<5xf32>
  func.return %conv, %mp, %ap, %gp, %sm, %ln, %bn, %ga, %mm, %trr, %dv, %mx, %mn, %pw, %lg,
              %rq, %ef, %ab, %cc, %ct, %e
      : tensor<1x6x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x3x3xf32>, tensor<1x4x1x1xf32>,
        tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>, tensor<3x4xf32>,
        tensor<1x6x4xf32>, tensor<6x6x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>,
        tensor<1x4x1x6xf32>, tensor<10x4xf32>, tensor<5xf32>
}
"""


def test_every_top_op_runs_through_its_adapter() -> None:
    module = parse_module(make_context(), ALL_OPS, "all.mlir")
    verify_module(module)
    inputs = random_inputs(find_entry(module, None), 1)
    x, w, bias, c, p, t, i = inputs
    got = run_function(module, None, inputs)
    sq = c * c
    sliced = x[:, 1:4:2, 0:3:3, :]
    expected = [
        kernels.conv2d(x, w, bias, (2, 1), (1, 2), (1, 0, 0, 1), 2),
        kernels.maxpool(x, (3, 2), (2, 2), (1, 0, 0, 0)),
        kernels.avgpool(x, (3, 2), (2, 2), (1, 0, 0, 0), False),
        kernels.global_avgpool(x),
        kernels.softmax(x, 1),
        kernels.layernorm(x, bias, bias, -1, 1e-5),
        kernels.batchnorm(x, c, p, p, p, 2.0),
        t[i],
        x.mean(axis=(1, 2)).reshape(1, 6, 1) @ c.reshape(1, 4),
        x.transpose(2, 0, 3, 1).reshape(6, 6, 4),
        c / p,
        np.maximum(c, p),
        np.minimum(c, p),
        sq**p,
        np.log(sq),
        1 / np.sqrt(sq),
        kernels.erf(c),
        sq,
        np.concatenate([sliced, sliced], axis=1),
        np.concatenate([t, t]),
        t @ c,
    ]
    assert len(got) == len(expected)
    for index, (value, reference) in enumerate(zip(got, expected, strict=True)):
        assert value.dtype == np.float32 and value.shape == reference.shape, index
        np.testing.assert_allclose(
            value, reference, rtol=1e-5, atol=1e-6, err_msg=str(index)
        )


def test_expr_error_is_located(tmp_path: Path, capsys) -> None:
    text = """\
func.func @main(%t: tensor<5x4xf32>, %c: tensor<4xf32>) -> tensor<5xf32> {
  %e = top.expr %t, %c {expr = "output0[N] +=! input0[N, K] * input1[K];"} : (tensor<5x4xf32>, tensor<4xf32>) -> tensor<5xf32>
  func.return %e : tensor<5xf32>
}
"""
    code, out, err = run([write(tmp_path, text)], capsys)
    assert (code, err) == (0, "")
    bad = text.replace("input1[K];", "input1[K] +;")
    assert_one_line_error(
        *run([write(tmp_path, bad)], capsys), r"model\.mlir:2:\d+: error:"
    )


# --- on the simulated chip -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
GRID16 = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "grid16-9k.json")
OPS = str(ROOT / "test" / "lit" / "transforms" / "Inputs" / "ops.mlir")
MLP = str(ROOT / "examples" / "mlp.mlir")


def core_program(model: str, target: str) -> str:
    """`model` compiled by t10-compile, as text."""
    ctx = make_context()
    module = parse_module(ctx, Path(model).read_text(), model)
    T10CompilePass(target=target).apply(ctx, module)
    return str(module)


@pytest.mark.parametrize("target", ["ipu-mk2", GRID16], ids=["ipu-mk2", "grid16"])
@pytest.mark.parametrize("model", [MLP, OPS], ids=["mlp", "ops"])
def test_check_passes_on_the_examples(
    tmp_path: Path, capsys, model: str, target: str
) -> None:
    report = tmp_path / "report.json"
    code, out, err = run(
        [model, "--target", target, "--check", "--report", str(report)], capsys
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split() == [
        "name",
        "shape",
        "dtype",
        "mean",
        "sum",
        "crc32",
    ]
    data = json.loads(report.read_text())
    assert data["cycles"] > 0 and data["ops"]
    assert data["target"] == load_machine(target).name


def test_chip_outputs_match_the_reference_run(tmp_path: Path, capsys) -> None:
    """Same seed, same inputs: the chip's outputs are the reference's within the
    tolerance, and its summary lists the same outputs."""
    reference, chip = tmp_path / "ref.npz", tmp_path / "chip.npz"
    assert run([OPS, "--seed", "3", "--output", str(reference)], capsys)[0] == 0
    code, out, _ = run(
        [OPS, "--seed", "3", "--target", GRID16, "--output", str(chip)], capsys
    )
    assert code == 0
    with np.load(reference) as want, np.load(chip) as got:
        for name in ("out0", "out1", "out2"):
            scale = max(1.0, float(np.abs(want[name]).max()))
            rtol = 1e-2 if want[name].dtype == np.float16 else 1e-4
            np.testing.assert_allclose(got[name], want[name], atol=rtol * scale, rtol=0)


def test_table_without_report_and_determinism(capsys) -> None:
    argv = [MLP, "--target", GRID16]
    code, out, err = run(argv, capsys)
    assert (code, err) == (0, "")
    summary, chip = out.split("\n\n")
    assert summary.splitlines()[1].split()[:3] == ["out0", "8x16", "float32"]
    lines = chip.splitlines()
    assert lines[0].split()[:4] == ["op", "loc", "plan", "cycles"]
    assert [line.split()[0] for line in lines[1:6]] == [
        "0:matmul",
        "2:expr",
        "3:softmax",
        "1:gelu",
        "total",
    ]
    assert "cycles =" in lines[6] and "grid16-9k" in lines[6]
    assert run(argv, capsys)[1] == out


def test_timing_only_gives_the_same_cycles(tmp_path: Path, capsys) -> None:
    reports = []
    for extra in ([], ["--timing-only"]):
        path = tmp_path / f"report{len(extra)}.json"
        code, out, _ = run(
            [OPS, "--target", GRID16, "--report", str(path), *extra], capsys
        )
        assert code == 0
        reports.append(path.read_text())
    assert out == ""  # timing only, and the report went to its file
    assert reports[0] == reports[1]


def test_trace_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "trace.json"
    code, _, _ = run(
        [
            MLP,
            "--target",
            GRID16,
            "--timing-only",
            "--trace",
            str(path),
            "--trace-cores",
            "2",
        ],
        capsys,
    )
    assert code == 0
    events = json.loads(path.read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert tracks == {
        "ops",
        "compute",
        "shift",
        "sync",
        "prologue",
        "epilogue",
        "core 0",
        "core 1",
    }


def test_core_and_shift_level_modules_run(tmp_path: Path, capsys) -> None:
    """A core-level module runs on the target it records, and with --reference is
    checked; a shift-level one is lowered first. Both give the cycles of compiling
    the top-level module."""
    top = tmp_path / "top.json"
    assert run([MLP, "--target", GRID16, "--report", str(top)], capsys)[0] == 0
    program = write(tmp_path, core_program(MLP, GRID16), "core.mlir")
    lowered = tmp_path / "core.json"
    code, _, err = run(
        [program, "--check", "--reference", MLP, "--report", str(lowered)], capsys
    )
    assert (code, err) == (0, "")
    assert (
        json.loads(lowered.read_text())["cycles"]
        == json.loads(top.read_text())["cycles"]
    )
    ctx = make_context()
    module = parse_module(ctx, Path(MLP).read_text(), MLP)
    for step in (
        T10PartitionPass(target=GRID16),
        T10SelectPlansPass(),
        T10LowerToShiftPass(),
    ):
        step.apply(ctx, module)
    code, out, err = run(
        [write(tmp_path, str(module), "shift.mlir"), "--timing-only"], capsys
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[0].split()[0] == "op"


def test_same_seed_gives_the_same_inputs_at_every_level(tmp_path: Path, capsys) -> None:
    """Without --reference, a core-level module's random inputs are the ones the
    top-level module gets from the same seed."""
    program = write(tmp_path, core_program(MLP, GRID16), "core.mlir")
    outputs = []
    for model in (MLP, program):
        path = tmp_path / f"out{len(outputs)}.npz"
        argv = [model, "--seed", "5", "--output", str(path)]
        assert run([*argv, "--target", GRID16], capsys)[0] == 0
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("core.shift", None),
        ("((d2 * 32) + (d1 * 8))", "((d2 * 32) + (((d1 + 1) mod 4) * 8))"),
    ],
    ids=["dropped-shift", "skewed-layout"],
)
def test_check_catches_a_planted_fault(
    tmp_path: Path, capsys, old: str, new: str | None
) -> None:
    """The matmul of ops.mlir rotates its first input on grid16-9k: without the
    rotation, or with its starting layout skewed one piece off, the product is
    wrong, and --check says where."""
    text = core_program(OPS, GRID16)
    assert text.count(old) == 1
    if new is None:
        text = "\n".join(line for line in text.splitlines() if old not in line)
    else:
        text = text.replace(old, new)
    argv = [write(tmp_path, text, "faulty.mlir"), "--check", "--reference", OPS]
    assert_one_line_error(
        *run(argv, capsys),
        r"ops\.mlir:6:3: error: --check: out0\[\d+, \d+\] is -?[\d.e+-]+ on the chip "
        r"and -?[\d.e+-]+ in the reference, off by [\d.e+-]+: more than the "
        r"tolerance [\d.e+-]+ \(0\.0001 x max\(1, max \|reference\| = [\d.e+-]+\), "
        r"float32\)$",
    )


def test_check_outputs_tolerances() -> None:
    f32 = np.dtype(np.float32)
    want = np.array([1.0, -20.0, np.nan, np.inf], dtype=np.float32)
    check_outputs([want + np.float32(1e-3)], [want], f32, None)  # 1e-3 <= 1e-4 * 20
    off = want.copy()
    off[0] += np.float32(2.5e-3)
    with pytest.raises(T10Error, match=r"out0\[0\] is 1\.0025 on the chip and 1 "):
        check_outputs([off], [want], f32, None)
    with pytest.raises(T10Error, match=r"out0\[2\] is 0 .* and nan"):
        check_outputs([np.nan_to_num(want, posinf=np.inf)], [want], f32, None)
    with pytest.raises(T10Error, match=r"out0\[3\] is -inf"):
        check_outputs([np.where(np.isinf(want), -np.inf, want)], [want], f32, None)
    half = np.array([100.0], dtype=np.float16)
    # f16 at the end of one op: 3 roundings of 2^-11 (and no sum) x 100.
    check_outputs([half + np.float16(0.125)], [half], f32, None)
    with pytest.raises(T10Error, match=r"min\(3 u \+ 0 v, .*\) = 0\.00146"):
        check_outputs([half + np.float16(0.25)], [half], f32, None)
    check_outputs(
        [want.astype(np.float64) + 1e-3], [want.astype(np.float64)], f32, None
    )
    with pytest.raises(T10Error, match=r"integers must be equal"):
        check_outputs([np.array([1, 3])], [np.array([1, 2])], f32, None)


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        ([MLP, "--check"], r"^t10-run: error: --check needs --target"),
        ([MLP, "--report", "r.json"], r"^t10-run: error: --report needs --target"),
        (
            [MLP, "--target", GRID16, "--timing-only", "--check"],
            r"^t10-run: error: --check needs the numbers: drop --timing-only",
        ),
        (
            [MLP, "--target", GRID16, "--trace-cores", "2"],
            r"^t10-run: error: --trace-cores needs --trace",
        ),
        (
            [MLP, "--target", GRID16, "--reference", MLP, "--check"],
            r"^t10-run: error: --reference is for shift- and core-level modules",
        ),
        ([MLP, "--target", "nope"], r"^t10-run: error: unknown target 'nope'"),
        (
            [MLP, "--target", str(ROOT / "test/lit/transforms/Inputs/grid16.json")],
            r"mlp\.mlir:2:1: error: 'func\.func' op no choice of plans fits",
        ),
    ],
    ids=[
        "check",
        "report",
        "timing-check",
        "trace-cores",
        "reference",
        "target",
        "fit",
    ],
)
def test_chip_option_errors(
    tmp_path: Path, capsys, argv: list[str], pattern: str
) -> None:
    assert_one_line_error(*run(argv, capsys), pattern)


def test_core_level_errors(tmp_path: Path, capsys) -> None:
    program = write(tmp_path, core_program(MLP, GRID16), "core.mlir")
    assert_one_line_error(
        *run([program, "--check"], capsys),
        r"^t10-run: error: --check of a core-level module needs --reference",
    )
    assert_one_line_error(
        *run([program, "--strategy", "optimal"], capsys),
        r"^t10-run: error: --strategy compiles a top-level module; this one is core",
    )
    small = Machine("tiny", 16, 1024, 1e9, 4, 100)
    (tmp_path / "tiny.json").write_text(json.dumps(small.to_dict()))
    assert_one_line_error(
        *run([program, "--target", str(tmp_path / "tiny.json")], capsys),
        r"^t10-run: error: --target .*tiny\.json: the module was compiled for "
        r"'grid16-9k', not 'tiny' \(drop --target to run on the machine it embeds\)$",
    )
    untargeted = re.sub(
        r"rtensor\.machine = #rtensor\.machine<[^>]*>", "", Path(program).read_text()
    )
    bare = write(tmp_path, untargeted, "bare.mlir")
    assert_one_line_error(
        *run([bare], capsys),
        r"^t10-run: error: a core-level module runs on a target: give --target",
    )
    assert_one_line_error(
        *run([bare, "--target", str(tmp_path / "tiny.json")], capsys),
        r"bare\.mlir:\d+:\d+: error: '[\w.]+' op .*out of SRAM on core 0",
    )


def test_a_compiled_module_runs_without_its_machine_file(
    tmp_path: Path, capsys
) -> None:
    """The machine is embedded in the IR: deleting the JSON file the module was
    compiled for changes nothing, at the shift level and the core level."""
    machine = tmp_path / "chip.json"
    machine.write_text(Path(GRID16).read_text())
    ctx = make_context()
    module = parse_module(ctx, Path(MLP).read_text(), MLP)
    T10PartitionPass(target=str(machine)).apply(ctx, module)
    for step in (T10SelectPlansPass(), T10LowerToShiftPass()):
        step.apply(ctx, module)
    shift = write(tmp_path, str(module), "shift.mlir")
    core = write(tmp_path, core_program(MLP, str(machine)), "core.mlir")
    machine.unlink()
    for program in (shift, core):
        code, out, err = run([program, "--check", "--reference", MLP], capsys)
        assert (code, err) == (0, ""), err
        assert "on grid16-9k (16 cores)" in out


def test_help_documents_the_tolerances(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "rtol f32 1e-4, f64 1e-9" in text
    assert "rtol = min(K u + T v, s (sqrt(K) u + sqrt(T) v))" in text
    assert "unit roundoff of its type (2^-11 for f16)" in text
    assert "NaN agrees with NaN" in text


def chain_of(text: str) -> tuple[list[RoundingChain], list[np.ndarray]]:
    """The rounding chains of a top-level module's entry, in a reference run on
    seeded inputs, and its outputs."""
    module = parse_module(make_context(), text, "m.mlir")
    entry = find_entry(module, None)
    inputs = random_inputs(entry, 0)
    magnitudes: dict = {}

    def observe(value, array) -> None:
        magnitudes[value] = max(magnitudes.get(value, 0.0), largest_magnitude(array))

    for arg, array in zip(entry.args, inputs, strict=True):
        observe(arg, array)
    outputs = run_function(module, None, inputs, np.float32, observe)
    return rounding_chains(entry, magnitudes), outputs


CHAIN = """\
func.func @chain(%x: tensor<4x64xf16>, %w: tensor<64x8xf16>) -> (tensor<4x8xf16>, tensor<4x64xf16>) {
  %y = top.matmul %x, %w : (tensor<4x64xf16>, tensor<64x8xf16>) -> tensor<4x8xf16>
  %p = top.softmax %y {axis = 1 : i64} : (tensor<4x8xf16>) -> tensor<4x8xf16>
  %r = top.relu %x : (tensor<4x64xf16>) -> tensor<4x64xf16>
  func.return %p, %r : tensor<4x8xf16>, tensor<4x64xf16>
}
"""


def test_the_f16_tolerance_follows_the_chain_of_each_output() -> None:
    """The softmax of a 64-deep matmul is at the end of two rounded ops that sum 64
    and 8 terms, at the scale of the matmul's largest value; the relu of an input, of
    one op and no sum, at the input's. Its tolerance is the smaller of the worst case
    and the probabilistic bound (a short chain: the worst case)."""
    chains, (p, r) = chain_of(CHAIN)
    assert [(c.steps, c.terms) for c in chains] == [(2, 64 + 8), (1, 0)]
    assert chains[0].scale > largest_magnitude(p) and chains[1].scale > 0
    f16, f32 = np.dtype(np.float16), np.dtype(np.float32)
    u, v = 2.0**-11, 2.0**-24
    rtol, _ = relative_tolerance(f16, f32, chains[0], p.size)
    assert rtol == 3 * 2 * u + 2 * 72 * v
    long = RoundingChain(168, 53133)
    rtol, rule = relative_tolerance(f16, f32, long, 1000)
    spread = np.sqrt(2 * np.log(2 * 1000 / 1e-6))
    likely = spread * (np.sqrt(3 * 168) * u + np.sqrt(2 * 53133) * v)
    assert rtol == pytest.approx(likely) and likely < 3 * 168 * u + 2 * 53133 * v
    assert rtol == pytest.approx(0.0719, abs=1e-4) and "sqrt(504) u" in rule
    # An accumulator as narrow as the output rounds every partial sum: v is u.
    rtol, _ = relative_tolerance(f16, f32, chains[0], p.size, f16)
    spread = np.sqrt(2 * np.log(2 * p.size / 1e-6))
    assert rtol == pytest.approx(
        min(3 * 2 * u + 2 * 72 * u, spread * (np.sqrt(6) * u + np.sqrt(144) * u))
    )
    # As wide as the compute dtype: the fixed tolerances.
    assert relative_tolerance(f32, f32, long, 1000)[0] == 1e-4
    assert relative_tolerance(np.dtype(np.float64), np.dtype(np.float64), long, 1)[
        0
    ] == pytest.approx(1e-9)
    # The chip within the chain's tolerance passes; past it, fails, naming the rule.
    scale = chains[0].scale
    off = p.astype(np.float32)
    off[0, 0] += np.float32(0.9 * (3 * 2 * u + 2 * 72 * v) * scale)
    check_outputs([off.astype(np.float16), r], [p, r], f32, None, chains)
    off[0, 0] += np.float32(0.2 * (3 * 2 * u + 2 * 72 * v) * scale)
    with pytest.raises(T10Error, match=r"the largest \|value\| on its chain"):
        check_outputs([off.astype(np.float16), r], [p, r], f32, None, chains)


RANK0 = """\
func.func @total(%a: tensor<4x8xf32>) -> (tensor<f32>, tensor<4xf32>) {
  %s = top.reduce %a {kind = "sum", axes = array<i64: 0, 1>, keepdims = false} : (tensor<4x8xf32>) -> tensor<f32>
  %r = top.reduce %a {kind = "max", axes = array<i64: 1>, keepdims = false} : (tensor<4x8xf32>) -> tensor<4xf32>
  func.return %s, %r : tensor<f32>, tensor<4xf32>
}
"""


@pytest.mark.parametrize(
    "chip", [[], ["--target", "ipu-mk2"]], ids=["reference", "chip"]
)
def test_rank0_output_keeps_its_shape(tmp_path: Path, capsys, chip: list[str]) -> None:
    a = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    np.savez(tmp_path / "in.npz", arg0=a)
    out_path = tmp_path / "out.npz"
    argv = [write(tmp_path, RANK0), "--inputs", str(tmp_path / "in.npz")]
    code, _, err = run([*argv, *chip, "--output", str(out_path)], capsys)
    assert (code, err) == (0, "")
    with np.load(out_path) as outputs:
        total, rows = outputs["out0"], outputs["out1"]
    assert total.shape == () and rows.shape == (4,)
    np.testing.assert_allclose(total, a.astype(np.float64).sum(), rtol=1e-5)
    np.testing.assert_array_equal(rows, a.max(axis=1))


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        (  # an argument no op reads: its random input alone is 2^69 bytes
            "func.func @main(%a: tensor<8x18446744073709551616xf32>) -> "
            "tensor<8x18446744073709551616xf32> {\n"
            "  func.return %a : tensor<8x18446744073709551616xf32>\n}\n",
            r"^t10-run: error: tensor<8x18446744073709551616xf32> has "
            r"147573952589676412928 elements of 4 bytes: more than the 4 GiB",
        ),
        (  # small operands, an outer product of 2^40 elements
            "func.func @main(%a: tensor<1048576x1xf32>, %b: tensor<1x1048576xf32>) -> "
            "tensor<1048576x1048576xf32> {\n"
            "  %m = top.matmul %a, %b : (tensor<1048576x1xf32>, tensor<1x1048576xf32>)"
            " -> tensor<1048576x1048576xf32>\n"
            "  func.return %m : tensor<1048576x1048576xf32>\n}\n",
            r"^.*model\.mlir:2:3: error: 'top\.matmul' op result "
            r"tensor<1048576x1048576xf32> has 1099511627776 elements",
        ),
    ],
    ids=["argument", "result"],
)
def test_a_tensor_too_large_to_hold_is_refused(
    tmp_path: Path, capsys, text: str, pattern: str
) -> None:
    """The interpreter holds every tensor as one numpy array: a type past
    MAX_TENSOR_BYTES is a diagnostic before any array is made (numpy's "maximum
    allowed dimension exceeded" or a MemoryError were internal errors)."""
    assert_one_line_error(*run([write(tmp_path, text)], capsys), pattern)


def test_partition_options_reach_t10_compile(tmp_path: Path, capsys) -> None:
    """On grid16-9k the matmul of ops.mlir fits only rotating: with --rotation-dims 0
    (rings over no loop dim) t10-compile finds no choice that fits, even searching
    again looser; the other options compile it. Their bad values, and the options
    where nothing is compiled, are one diagnostic each."""

    def shifts(*options: str) -> int:
        report = tmp_path / "report.json"
        argv = [OPS, "--target", GRID16, "--report", str(report), *options]
        code, _, err = run(argv, capsys)
        assert (code, err) == (0, ""), err
        return sum(op["shift_cycles"] for op in json.loads(report.read_text())["ops"])

    assert shifts() > 0
    assert shifts("--min-core-fraction", "0.5", "--max-padding", "0.25") > 0
    code, _, err = run([OPS, "--target", GRID16, "--rotation-dims", "0"], capsys)
    assert code == 1 and "no choice of plans fits" in err
    assert err.rstrip().endswith("rotation-dims=0)")
    program = write(tmp_path, core_program(MLP, GRID16), "core.mlir")
    for argv, pattern in [
        (
            [MLP, "--target", GRID16, "--min-core-fraction", "1.5"],
            r"^t10-run: error: argument --min-core-fraction: expected a number in "
            r"\[0, 1\], got 1\.5$",
        ),
        (
            [MLP, "--target", GRID16, "--max-padding", "nan"],
            r"^t10-run: error: argument --max-padding: expected a finite number >= 0",
        ),
        (
            [MLP, "--target", GRID16, "--rotation-dims", "-1"],
            r"^t10-run: error: argument --rotation-dims: expected an integer >= 0",
        ),
        (
            [MLP, "--max-padding", "0.5"],
            r"^t10-run: error: --max-padding needs --target: without it a top-level "
            "module runs on the reference interpreter$",
        ),
        (
            [program, "--min-core-fraction", "0.5"],
            r"^t10-run: error: --min-core-fraction compiles a top-level module; this "
            "one is core$",
        ),
    ]:
        assert_one_line_error(*run(argv, capsys), pattern)
