"""Real models from the ecosystem, end to end (issue 20, item 2): Hugging Face
`transformers` models built from their configs and `torchvision` CNNs, with random
weights, exported by `torch.onnx.export`'s default (dynamo) exporter, import with
`t10-import`, agree with onnxruntime on the reference interpreter, and compile for
ipu-mk2 and pass `t10-run --check`, in f32 and in f16 (`t10-import --dtype f16`).

The models, their sizes and the steps are `benchmarks/real_models.py`'s (which also
writes their figures to `benchmarks/results/real_models.{md,csv}`); the models run two
at a time (CI's two cores), once for all the tests. The packages are
`requirements/models.txt` (CI installs them): without them the suite is skipped."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for package in ("torch", "torchvision", "transformers", "onnxscript", "onnxruntime"):
    pytest.importorskip(
        package,
        reason=f"the real-model suite needs {package}: pip install -r "
        "requirements/models.txt",
    )

sys.path.insert(0, str(ROOT / "benchmarks"))
import real_models  # noqa: E402

from t10ir.target import load_machine  # noqa: E402

CASES = [
    pytest.param(
        name,
        dtype,
        id=f"{name}-{dtype}",
    )
    for name in real_models.MODELS
    for dtype in real_models.DTYPES
]
JOBS = 2


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str], real_models.Row]:
    """Every model's rows, computed once: the export and the compiles are the slow
    steps, and two models run at once."""
    ran = real_models.run_models(list(real_models.MODELS), JOBS)
    return {(row.model, row.dtype): row for row in ran}


@pytest.mark.parametrize(("name", "dtype"), CASES)
def test_model_end_to_end(
    name: str, dtype: str, rows: dict[tuple[str, str], real_models.Row]
) -> None:
    row = rows[name, dtype]
    assert row.failed is None, f"{row.failed}: {row.check}"
    assert row.reference_check.startswith("every output agrees with onnxruntime")
    assert row.check.startswith("--check: every output agrees"), row.check
    capacity = load_machine(real_models.TARGET).sram_bytes
    assert row.cycles and row.cycles > 0
    assert row.sram_peak_bytes and 0 < row.sram_peak_bytes <= capacity


def test_every_model_of_the_issue_is_in_the_suite() -> None:
    assert list(real_models.MODELS) == [
        "bert", "roberta", "distilbert", "gpt2", "vit", "t5-encoder", "llama",
        "resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "vgg11",
        "convnext_tiny",
    ]  # fmt: skip
