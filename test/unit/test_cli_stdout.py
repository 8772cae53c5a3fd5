"""stdout carries only what a tool is asked for (issue 16, item 2).

For every plan-selection strategy, `t10-compile`'s output goes through `t10-opt` again
(it must parse: no solver banner, no warning in it), and `t10-run`'s stdout is checked
line by line: each line is one of the report's lines, nothing else. `t10-import`'s
stdout is the module and only the module: it prints back identically through t10-opt
(which ends its output with one more newline).
Every run's stderr must be empty.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from t10ir.passes.t10_select_plans import STRATEGIES

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "examples" / "mlp.mlir"
TARGET = "ipu-mk2"

_NUMBER = r"[-+]?(\d+(\.\d*)?(e[-+]\d+)?|nan|inf)"
REPORT_LINES = [
    re.compile(p)
    for p in (
        r"name +shape +dtype +mean +sum +crc32",
        rf"out\d+ +(\d+(x\d+)*|scalar) +\w+ +{_NUMBER} +{_NUMBER} +[0-9a-f]{{8}}",
        r"",
        r"op +loc +plan +cycles +compute +shift +sync +prologue +epilogue +predicted"
        r" +gap +sram peak +exchanged",
        r"\d+:[\w.]+ +\S+ .* \d+ +(\d+ +){5}(\d+|-) +([-+]\d+\.\d%|-) +\d+ +\d+",
        r"total +(\d+ +){6}(\d+|-) +([-+]\d+\.\d%|-) +\d+ +\d+",
        r"\d+ cycles = [\d.]+ [mun]?s at [\d.]+ [GM]Hz on \S+ \(\d+ cores\), \d+ "
        r"supersteps",
        r"[\d.e+]+ flops: [\d.e+]+ FLOP/s, [\d.]+% of the \d+-bit peak [\d.e+]+ FLOP/s",
        r"SRAM peak per core: max \d+, median \d+, min \d+ of \d+ bytes; \d+ bytes "
        r"exchanged",
        r"--check: every output agrees with the reference: out\d+ off by at most "
        rf"{_NUMBER} \(tolerance {_NUMBER}\)(; out\d+ .*)?",
    )
]


def tool(*argv: str | Path, stdin: str | None = None) -> str:
    """A console script's stdout; it must succeed and print nothing on stderr."""
    script = Path(sys.executable).with_name(str(argv[0]))
    done = subprocess.run(
        [str(script), *map(str, argv[1:])],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return done.stdout


def assert_report_lines(stdout: str) -> None:
    assert stdout.endswith("\n")
    for line in stdout.splitlines():
        assert any(p.fullmatch(line) for p in REPORT_LINES), f"unexpected line {line!r}"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_compiled_output_parses_and_runs_with_only_its_report(
    strategy: str, tmp_path: Path
) -> None:
    compiled = tool(
        "t10-opt", MLP, "-p", f"t10-compile{{target={TARGET} strategy={strategy}}}"
    )
    assert compiled.startswith("builtin.module")
    assert tool("t10-opt", stdin=compiled) == compiled
    (tmp_path / "compiled.mlir").write_text(compiled)
    assert_report_lines(tool("t10-run", tmp_path / "compiled.mlir"))
    checked = tool(
        "t10-run", MLP, "--target", TARGET, "--strategy", strategy, "--check"
    )
    assert_report_lines(checked)
    assert checked.splitlines()[-1].startswith("--check: every output agrees")


def test_reference_run_prints_only_the_summary() -> None:
    lines = tool("t10-run", MLP).splitlines()
    assert len(lines) == 2
    assert_report_lines("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    "model",
    [
        ["examples/tiny_graph.json"],
        ["examples/small_cnn.onnx", "--batch", "1"],
        ["examples/small_transformer.onnx", "--batch", "1"],
    ],
    ids=["nnfusion", "small_cnn", "small_transformer"],
)
def test_import_prints_only_the_module(model: list[str]) -> None:
    if model[0].endswith(".onnx"):
        pytest.importorskip("onnx")
    imported = tool("t10-import", ROOT / model[0], *model[1:])
    lines = imported.splitlines()
    assert lines[0].startswith("builtin.module") and lines[-1] == "}"
    assert imported.endswith("}\n")
    assert tool("t10-opt", stdin=imported).rstrip("\n") == imported.rstrip("\n")
