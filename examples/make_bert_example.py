"""Write `bert.onnx` and `bert.inputs.npz`, the real network of `make demo`.

The Hugging Face `transformers` BertModel of the real-model suite
(`benchmarks/real_models.py`: 2 layers, hidden 64, 2 heads, sequence 128, a vocabulary
of 1024, seeded random weights), exported with `torch.onnx.export`'s default exporter
(dynamo) and saved as one file, with its inputs: token ids and an attention mask
padding the last quarter (`arg0`, `arg1`, in the order of the graph's inputs). Needs
the packages of the suite (`pip install -r requirements/models.txt`):
`.venv/bin/python examples/make_bert_example.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from tempfile import TemporaryDirectory

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))
import real_models  # noqa: E402


def main() -> None:
    model = real_models.MODELS["bert"]
    with TemporaryDirectory() as tmp:
        exported = real_models.export(model, Path(tmp))
        onnx.save(onnx.load(str(exported.path)), str(HERE / "bert.onnx"))
    arrays = {f"arg{i}": a for i, a in enumerate(exported.inputs.values())}
    np.savez(HERE / "bert.inputs.npz", **arrays)


if __name__ == "__main__":
    main()
