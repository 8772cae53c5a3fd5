"""`make demo`'s real network, as the Makefile runs it: the bundled Hugging Face BERT
export (`examples/bert.onnx`) imported by `t10-import`, compiled for ipu-mk2 and run on
the simulated chip with `--check` and `--compare`; the chip's outputs are also compared
with onnxruntime's on the bundled inputs, independently of the reference interpreter.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from t10ir.tools import t10_import, t10_run

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _demo_commands() -> list[list[str]]:
    """The tool commands of the Makefile's `demo` recipe, tool name first."""
    recipe = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n")[0]
    commands = []
    for line in recipe.splitlines()[1:]:
        words = shlex.split(line.strip().lstrip("@"))
        if words and words[0].startswith("$(BIN)/"):
            commands.append([words[0].removeprefix("$(BIN)/"), *words[1:]])
    return commands


def test_demo_runs_the_bundled_bert_and_agrees_with_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    (importer, *import_args), (runner, *run_args) = _demo_commands()
    assert (importer, runner) == ("t10-import", "t10-run")
    mlir = tmp_path / "bert.mlir"
    import_args[import_args.index("-o") + 1] = str(mlir)
    assert t10_import.run(import_args) == 0
    run_args[0] = str(mlir)
    out = tmp_path / "out.npz"
    assert t10_run.run([*run_args, "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "--check: every output agrees with the reference" in printed
    compared = re.search(
        r"--compare: greedy ([\d,]+) cycles; vgm ([\d,]+) cycles \(([\d.]+)x greedy's\); "
        r"t10 ([\d,]+) cycles",
        printed,
    )
    assert compared is not None, printed
    greedy, vgm, _, t10 = (float(g.replace(",", "")) for g in compared.groups())
    assert greedy <= t10 <= vgm
    with np.load(EXAMPLES / "bert.inputs.npz") as saved:
        feeds = [saved[f"arg{i}"] for i in range(len(saved.files))]
    session = onnxruntime.InferenceSession(
        str(EXAMPLES / "bert.onnx"), providers=["CPUExecutionProvider"]
    )
    names = [i.name for i in session.get_inputs()]
    expected = session.run(None, dict(zip(names, feeds, strict=True)))
    with np.load(out) as saved:
        got = [saved[f"out{i}"] for i in range(len(expected))]
    for g, e in zip(got, expected, strict=True):
        scale = max(1.0, float(np.abs(e).max()))
        np.testing.assert_allclose(g, e, rtol=0, atol=1e-4 * scale)
