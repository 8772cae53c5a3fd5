"""Weights travel with the model: `t10-import` writes them beside the module and
`t10-run` finds them, so `--inputs` holds only the activations (issue 16, item 8).

Runs the console scripts as a user does, on examples/small_cnn.onnx, and compares the
reference and the chip (ipu-mk2, --check) with onnxruntime.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[2]
CNN = ROOT / "examples" / "small_cnn.onnx"
BATCH = 2


def tool(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name(str(argv[0]))
    return subprocess.run(
        [str(script), *map(str, argv[1:])],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """The CNN imported to model.mlir (and model.weights.npz), activations in
    acts.npz; returns the directory and onnxruntime's output on them."""
    directory = tmp_path_factory.mktemp("weights")
    done = tool("t10-import", CNN, "--batch", BATCH, "-o", "model.mlir", cwd=directory)
    assert (done.returncode, done.stderr) == (0, "")
    assert (directory / "model.weights.npz").is_file()
    session = ort.InferenceSession(str(CNN))
    graph_input = session.get_inputs()[0]
    shape = (BATCH, *graph_input.shape[1:])
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    np.savez(directory / "acts.npz", arg0=x)
    (expected,) = session.run(None, {graph_input.name: x})
    return directory, expected


@pytest.mark.parametrize(
    "chip", [[], ["--target", "ipu-mk2", "--check"]], ids=["reference", "chip"]
)
def test_run_finds_the_weights_beside_the_module(
    imported: tuple[Path, np.ndarray], chip: list[str]
) -> None:
    directory, expected = imported
    out = f"out{len(chip)}.npz"
    done = tool(
        "t10-run",
        "model.mlir",
        "--inputs",
        "acts.npz",
        *chip,
        "--output",
        out,
        cwd=directory,
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    with np.load(directory / out) as outputs:
        got = outputs["out0"]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    if chip:
        assert "--check: every output agrees with the reference" in done.stdout


def test_explicit_weights_for_a_module_moved_elsewhere(
    imported: tuple[Path, np.ndarray],
) -> None:
    directory, expected = imported
    moved = directory / "moved"
    moved.mkdir(exist_ok=True)
    (moved / "copy.mlir").write_text((directory / "model.mlir").read_text())
    lacking = tool("t10-run", "copy.mlir", "--inputs", "../acts.npz", cwd=moved)
    assert lacking.returncode == 1
    assert lacking.stderr.count("\n") == 1
    assert "inputs lacks arg1, " in lacking.stderr
    assert "--weights gives the weights t10-import wrote" in lacking.stderr
    done = tool(
        "t10-run",
        "copy.mlir",
        "--inputs",
        "../acts.npz",
        "--weights",
        "../model.weights.npz",
        "--output",
        "out.npz",
        cwd=moved,
    )
    assert (done.returncode, done.stderr) == (0, "")
    with np.load(moved / "out.npz") as outputs:
        np.testing.assert_allclose(outputs["out0"], expected, rtol=1e-4, atol=1e-5)


def test_an_argument_in_both_files_is_an_error(
    imported: tuple[Path, np.ndarray],
) -> None:
    directory, _ = imported
    with np.load(directory / "model.weights.npz") as weights:
        merged = dict(weights)
    with np.load(directory / "acts.npz") as acts:
        merged["arg0"] = acts["arg0"]
    np.savez(directory / "merged.npz", **merged)
    done = tool("t10-run", "model.mlir", "--inputs", "merged.npz", cwd=directory)
    assert done.returncode == 1
    assert done.stderr == (
        "model.weights.npz: error: weights hold arg1, which inputs 'merged.npz' "
        "also hold: give each argument once\n"
    )


def test_seeded_activations_with_the_real_weights(
    imported: tuple[Path, np.ndarray],
) -> None:
    """Without --inputs the activations are seeded and the weights still the model's:
    the same run as with --inputs of the seeded activations."""
    directory, _ = imported
    seeded = tool("t10-run", "model.mlir", "--seed", "5", cwd=directory)
    assert (seeded.returncode, seeded.stderr) == (0, "")
    rng = np.random.default_rng(5)
    with np.load(directory / "acts.npz") as acts:
        shape = acts["arg0"].shape
    np.savez(
        directory / "seeded.npz", arg0=rng.standard_normal(shape).astype(np.float32)
    )
    given = tool("t10-run", "model.mlir", "--inputs", "seeded.npz", cwd=directory)
    assert (given.returncode, given.stdout) == (0, seeded.stdout)
