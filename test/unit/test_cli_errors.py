"""Every command-line and input mistake of every tool is one diagnostic line and exit 1.

Each case runs a tool's `main` in process on a bad command line or a bad input and
asserts the whole stderr is one `file:line:col: error: ...` or `tool: error: ...` line,
naming what is wrong; `--help` still prints the usage and exits 0.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from t10ir.tools import t10_bench, t10_import, t10_opt, t10_run, t10_zoo
from t10ir.tools.diagnostics import run_tool

ROOT = Path(__file__).resolve().parents[2]
MLP = str(ROOT / "examples" / "mlp.mlir")
CNN = str(ROOT / "examples" / "small_cnn.onnx")
GRAPH = str(ROOT / "examples" / "tiny_graph.json")
DIAGNOSTIC = re.compile(r"^(\S+:\d+:\d+|t10-[a-z]+): error: \S.*$")

MAINS: dict[str, Callable[[Sequence[str] | None], None]] = {
    "t10-opt": t10_opt.main,
    "t10-run": t10_run.main,
    "t10-import": t10_import.main,
    "t10-zoo": t10_zoo.main,
    "t10-bench": t10_bench.main,
}


def call(
    tool: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        MAINS[tool](argv)
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return code if isinstance(code, int) else 1, out, err


def assert_one_line(result: tuple[int, str, str], pattern: str) -> None:
    code, out, err = result
    assert (code, out) == (1, ""), (code, out, err)
    assert err.count("\n") == 1 and DIAGNOSTIC.match(err.rstrip("\n")), err
    assert re.search(pattern, err), err


COMMAND_LINES = [
    ("t10-opt", [MLP, "--no-such-flag"], r"unrecognized arguments: --no-such-flag"),
    ("t10-opt", [MLP, "-p"], r"argument -p/--passes: expected one argument"),
    ("t10-opt", [MLP, "-t", "nope"], r"argument -t/--target: invalid choice: 'nope'"),
    ("t10-opt", [MLP, "-t", "x%"], r"argument -t/--target: invalid choice: 'x%'"),
    (
        "t10-opt",
        [MLP, "-t", "x86-asm"],
        r"argument -t/--target: invalid choice: 'x86-asm' \(choose from mlir\)",
    ),
    (
        "t10-opt",
        [MLP, "-t", "mlir{x=1}"],
        r"argument -t/--target: target 'mlir': Provided arguments \[.x.\] not found",
    ),
    (
        "t10-opt",
        [MLP, "--pass-pipeline=builtin.module(-x)"],
        r"^t10-opt: error: unknown pass '-x'",
    ),
    ("t10-opt", [MLP, "--pass-pipeline", "-x"], r"expected 'builtin.module\("),
    ("t10-opt", [MLP, "--pass-pipeline"], r"--pass-pipeline expects a pipeline"),
    (
        "t10-opt",
        [MLP, "--pass-pipeline=builtin.module(t10-partition{\n)"],
        r"invalid pass pipeline 't10-partition\{\\n'",
    ),
    (
        "t10-opt",
        [MLP, "-p", "t10-partition,\nt10-select-plans{strategy=bogus}"],
        r"unknown strategy 'bogus'",
    ),
    ("t10-run", [], r"the following arguments are required: file"),
    ("t10-run", [MLP, "--no-such-flag"], r"unrecognized arguments: --no-such-flag"),
    ("t10-run", [MLP, "--seed", "-1"], r"argument --seed: expected an integer >= 0"),
    ("t10-run", [MLP, "--seed", "x"], r"--seed: expected an integer >= 0, got 'x'$"),
    ("t10-run", [MLP, "--seed"], r"argument --seed: expected one argument"),
    (
        "t10-run",
        [MLP, "--strategy", "bogus"],
        r"argument --strategy: invalid choice: 'bogus'",
    ),
    (
        "t10-run",
        [MLP, "--compute-dtype", "float16"],
        r"argument --compute-dtype: invalid choice: 'float16'",
    ),
    (
        "t10-run",
        [MLP, "--target", "ipu-mk2", "--trace", "t.json", "--trace-cores", "-3"],
        r"argument --trace-cores: expected an integer >= 0, got -3",
    ),
    ("t10-import", [], r"the following arguments are required: input"),
    ("t10-import", [CNN, "--batch", "x"], r"argument --batch: invalid int value: 'x'"),
    ("t10-import", [CNN, "--dtype", "f8"], r"argument --dtype: invalid choice: 'f8'"),
    ("t10-import", [GRAPH, "--bogus"], r"unrecognized arguments: --bogus"),
    ("t10-zoo", ["nerf", "--batch", "x"], r"argument --batch: invalid int value: 'x'"),
    ("t10-zoo", ["nerf", "--seed", "-1"], r"--seed must be >= 0, got -1"),
    ("t10-zoo", ["--bogus"], r"unrecognized arguments: --bogus"),
    ("t10-zoo", ["nerf", "a\nb"], r"unrecognized arguments: a\\nb$"),
    ("t10-run", [MLP, "--seed", "x\u2028"], r"got 'x\\u2028'$"),
    ("t10-opt", ["no\nsuch.mlir"], r"^t10-opt: error: cannot read 'no\\nsuch\.mlir'"),
    ("t10-bench", ["--jobs", "x"], r"argument --jobs: invalid int value: 'x'"),
    ("t10-bench", ["--time-limit", "nan"], r"--time-limit must be > 0, got nan"),
    ("t10-bench", ["--subset", "all"], r"argument --subset: invalid choice: 'all'"),
]


@pytest.mark.parametrize(
    ("tool", "argv", "pattern"),
    COMMAND_LINES,
    ids=[f"{tool} {' '.join(argv[1:] or argv)}" for tool, argv, _ in COMMAND_LINES],
)
def test_command_line_mistake_is_one_line(
    tool: str, argv: list[str], pattern: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line(call(tool, argv, capsys), pattern)


@pytest.mark.parametrize("tool", sorted(MAINS))
def test_help_prints_usage_and_exits_zero(
    tool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = call(tool, ["--help"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("usage: ")


def test_console_script_gives_one_line_not_usage(tmp_path: Path) -> None:
    """Through the installed script, as a user runs it: no usage block, no exit 2."""
    script = Path(sys.executable).with_name("t10-run")
    done = subprocess.run(
        [str(script), MLP, "--seed", "x"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "usage" not in done.stderr, done.stderr


# --- bad inputs: item 5 of issue 16 ----------------------------------------------------

SOFTMAX_AXIS_I32 = """\
func.func @f(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = "top.softmax"(%a) {axis = 1 : i32} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}
"""

# The custom form fails while the op is built, when the parser already stands on the
# next op: the diagnostic points at the op that failed.
SOFTMAX_AXIS_I32_CUSTOM = """\
func.func @f(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = top.softmax %a {axis = 1 : i32} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  func.return %0 : tensor<4x8xf32>
}
"""

LAYOUT_OF_ANOTHER_SHAPE = """\
func.func @f(%a: !shift.dtensor<tensor<8x8xf32>, #core.layout<[4, 8], piece = [2, 8], grid = [4], origin = affine_map<(d0) -> (d0 * 2, 0)>>>) {
  func.return
}
"""


USE_BEFORE_DEFINITION = """\
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %b = top.relu %c : (tensor<4xf32>) -> tensor<4xf32>
  %c = top.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  func.return %b : tensor<4xf32>
}
"""

USE_OUT_OF_SCOPE = """\
func.func @f(%a: tensor<4xf32>, %n: index) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %r = top.relu %b : (tensor<4xf32>) -> tensor<4xf32>
  scf.for %i = %c0 to %n step %n {
    %b = top.relu %a : (tensor<4xf32>) -> tensor<4xf32>
  }
  func.return %r : tensor<4xf32>
}
"""

BOUND_DEFINED_IN_THE_LOOP = """\
func.func @f(%n: index) {
  %c0 = arith.constant 0 : index
  %r = scf.for %i = %c0 to %c2 step %n iter_args(%x = %n) -> (index) {
    %c2 = arith.constant 2 : index
    scf.yield %x : index
  }
  func.return
}
"""

F80_ON_A_BAD_OP = """\
func.func @f(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = top.softmax %a {axis = 0 : i64, x = 1.0 : f80} : (tensor<4xf32>) -> tensor<3xf32>
  func.return %a : tensor<4xf32>
}
"""


def wide(width: str) -> str:
    return (
        f"func.func @f() -> {width} {{\n"
        f"  %0 = arith.constant 5 : {width}\n"
        f"  func.return %0 : {width}\n"
        "}\n"
    )


BAD_MODULES = [
    ("softmax-axis-i32", SOFTMAX_AXIS_I32, r"^m\.mlir:2:3: error: 'top.softmax' op"),
    (
        "softmax-axis-i32-custom",
        SOFTMAX_AXIS_I32_CUSTOM,
        r"^m\.mlir:2:3: error: Expected attribute i64 but got i32$",
    ),
    (
        "layout-shape",
        LAYOUT_OF_ANOTHER_SHAPE,
        r"^m\.mlir:1:\d+: error: the layout is of a \[4, 8\] tensor, not of "
        r"tensor<8x8xf32>",
    ),
    (
        "i618446744073709551616",
        wide("i618446744073709551616"),
        r"^m\.mlir:1:19: error: integer bitwidth is limited to 16777215 bits, got "
        r"'i618446744073709551616'",
    ),
    (
        "i99999999999",
        wide("i99999999999"),
        r"^m\.mlir:1:19: error: integer bitwidth is limited to 16777215 bits",
    ),
    ("si16777216", wide("si16777216"), r"^m\.mlir:1:19: error: integer bitwidth"),
    (
        "use-before-definition",
        USE_BEFORE_DEFINITION,
        r"^m\.mlir:2:3: error: 'top\.relu' op operand #0 does not dominate this use$",
    ),
    (
        "use-out-of-scope",
        USE_OUT_OF_SCOPE,
        r"^m\.mlir:3:3: error: 'top\.relu' op operand #0 does not dominate this use$",
    ),
    (  # xDSL builds the scf.for with the forward reference: a value of no owner
        "bound-defined-in-the-loop",
        BOUND_DEFINED_IN_THE_LOOP,
        r"^m\.mlir:3:3: error: 'scf\.for' op operand #1 does not dominate this use: "
        r"it is defined only inside the op's own regions$",
    ),
    (  # xDSL would print the module into the error, and cannot print f80
        "f80-on-an-op-failing-to-verify",
        F80_ON_A_BAD_OP,
        r"^m\.mlir:2:3: error: 'top.softmax' op result type tensor<3xf32> does not "
        r"match the inferred type tensor<4xf32>$",
    ),
]


@pytest.mark.parametrize("tool", ["t10-opt", "t10-run"])
@pytest.mark.parametrize(
    ("text", "pattern"),
    [case[1:] for case in BAD_MODULES],
    ids=[case[0] for case in BAD_MODULES],
)
def test_bad_module_is_one_located_line(
    tool: str,
    text: str,
    pattern: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("m.mlir").write_text(text)
    assert_one_line(call(tool, ["m.mlir"], capsys), pattern)


def test_widest_integer_mlir_accepts_still_parses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.mlir"
    path.write_text(wide("i16777215"))
    code, out, err = call("t10-opt", [str(path)], capsys)
    assert (code, err) == (0, "")
    assert "arith.constant 5 : i16777215" in out


@pytest.mark.parametrize("tool", ["t10-opt", "t10-run"])
def test_non_utf8_file(
    tool: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.mlir"
    path.write_bytes(b"func.func @f() {\n  func.return\n}\n// caf\xe9\n")
    assert_one_line(
        call(tool, [str(path)], capsys),
        rf"^{tool}: error: cannot read '.*m\.mlir': not UTF-8 text \(byte 0xe9 on "
        r"line 4\)",
    )


@pytest.mark.parametrize("tool", ["t10-opt", "t10-run"])
def test_non_utf8_stdin(tool: str) -> None:
    script = Path(sys.executable).with_name(tool)
    argv = [str(script)] + (["-"] if tool == "t10-run" else [])
    done = subprocess.run(argv, input=b"\xff\xfe", capture_output=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.decode() == (
        f"{tool}: error: cannot read '<stdin>': not UTF-8 text (byte 0xff on line 1)\n"
    )


MISSING_DIRECTORY = [
    ("t10-opt", [MLP, "-o", "{missing}"]),
    ("t10-import", [GRAPH, "-o", "{missing}"]),
    ("t10-import", [CNN, "--batch", "1", "-o", "{missing}"]),
    ("t10-import", [CNN, "--batch", "1", "-o", "{ok}", "--weights", "{missing}"]),
    ("t10-zoo", ["nerf", "--batch", "8", "-o", "{missing}"]),
    ("t10-run", [MLP, "--output", "{missing}"]),
    ("t10-run", [MLP, "--target", "ipu-mk2", "--output", "{missing}"]),
    ("t10-run", [MLP, "--target", "ipu-mk2", "--report", "{missing}"]),
    ("t10-run", [MLP, "--target", "ipu-mk2", "--trace", "{missing}"]),
]


@pytest.mark.parametrize(
    ("tool", "argv"),
    MISSING_DIRECTORY,
    ids=[f"{tool} {' '.join(argv[1:])}" for tool, argv in MISSING_DIRECTORY],
)
def test_output_into_a_missing_directory(
    tool: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "no" / "such" / "out.x")
    filled = [a.format(missing=missing, ok=str(tmp_path / "ok.mlir")) for a in argv]
    assert_one_line(
        call(tool, filled, capsys),
        rf"^{tool}: error: cannot write '{re.escape(missing)}': No such file or "
        "directory$",
    )


def test_running_out_of_memory_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """An input too large for the machine (random inputs of a huge argument below the
    tensor limit) is the user's to fix: one line and exit 1, not an internal error."""

    def body() -> int:
        raise MemoryError

    with pytest.raises(SystemExit) as exit_info:
        run_tool("t10-run", body)
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "t10-run: error: out of memory\n"
