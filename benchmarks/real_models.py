"""Real models from the ecosystem, end to end (issue 20, item 2).

Hugging Face `transformers` models built from their configs and `torchvision` CNNs from
their constructors, with seeded random weights, at small sizes (`MODELS`: 2 layers,
sequence 128; images of `IMAGE` pixels), each:

1. exported with `torch.onnx.export`'s default exporter (dynamo, onnxscript), once;
2. run by onnxruntime (f32), the independent reference;
3. for each of f32 and f16: imported with `t10-import` (`--dtype f16`), run on the
   reference interpreter and compared with onnxruntime by `t10-run --check`'s rule
   (`t10_run.check_outputs`: in f32 within 1e-4 of max(1, the output's largest
   magnitude); in f16 within the tolerance that follows from the roundings along the
   output's longest chain of ops, which bound the reference's own, one per op). In f16
   onnxruntime runs the model with its weights and inputs rounded to f16 as the module
   holds them (`rounded_to_f16`), so that what differs is the arithmetic; the error
   against the model as exported is reported too. Each error is the worst
   |t10ir - onnxruntime| over max(1, max |onnxruntime|). Then the module is compiled
   for ipu-mk2 and run on the simulated chip with `t10-run --check` (the chip against
   the reference interpreter), which gives the cycles and the SRAM peak per core.

`test/unit/test_real_models.py` runs every model through `run_models` (CI installs the
packages from `requirements/models.txt`); this script runs them all and writes
`benchmarks/results/real_models.{md,csv}` (the wall time of every step, the figures
above, and the --check line or the diagnostic of a model that fails):

    .venv/bin/python benchmarks/real_models.py [--models NAME ...] [--jobs N] [--output-dir DIR]

Exit code 1 when a model fails a step (the comparison with onnxruntime included).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import io
import json
import logging
import math
import multiprocessing
import platform
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from importlib.metadata import version
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch
import torchvision
import transformers
from onnx import numpy_helper

from t10ir.context import make_context
from t10ir.errors import T10Error
from t10ir.frontend.onnx_import import saturated
from t10ir.interp.reference import find_entry, run_function
from t10ir.module_io import parse_module
from t10ir.tools import t10_import, t10_run

ROOT = Path(__file__).resolve().parent.parent
TARGET = "ipu-mk2"
SEQ = 128
"""Sequence length of the transformers (issue 20: seq 128)."""
VOCAB = 1024
"""Vocabulary of the language models: the embedding table is a weight like any other;
a real vocabulary (30k to 50k) only makes the gather's table, and the compile, larger."""
IMAGE = 64
"""Side of the images of the CNNs and ViT: 224 compiles in minutes per model on the
simulator, and CI runs the suite in about four (issue 20 allows smaller images)."""
HIDDEN = 64
"""Hidden size of the transformers (2 heads of 32), for the same reason."""
DTYPES = ("f32", "f16")


# --- the models -----------------------------------------------------------------------


Inputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Model:
    """A model of the suite: how to build it (seeded) and its example inputs."""

    name: str
    family: str
    build: Callable[[], tuple[torch.nn.Module, Inputs]]


def _tokens() -> Inputs:
    """Token ids and an attention mask padding the last quarter: the exporters' mask
    code (computed from an input) runs as ops, not folded."""
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(0, VOCAB, (1, SEQ), generator=generator)
    mask = torch.ones(1, SEQ, dtype=torch.int64)
    mask[:, SEQ * 3 // 4 :] = 0
    return {"input_ids": ids, "attention_mask": mask}


def _image() -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.randn(1, 3, IMAGE, IMAGE, generator=generator)


def _transformer(
    config: Callable[..., Any], model: Callable[[Any], torch.nn.Module], **options: Any
) -> Callable[[], tuple[torch.nn.Module, Inputs]]:
    def build() -> tuple[torch.nn.Module, Inputs]:
        torch.manual_seed(0)
        network = model(config(**options)).eval()
        if options.get("image_size"):
            return network, {"pixel_values": _image()}
        return network, _tokens()

    return build


def _calibrated(network: torch.nn.Module) -> torch.nn.Module:
    """Batch norms whose running statistics are those of random images: at
    torchvision's initial statistics (mean 0, variance 1) the activations of some
    networks shrink layer by layer (mobilenet_v2's logits are about 1e-15,
    efficientnet_b0's 1e-19), below f16's range and any useful check."""
    norms = [m for m in network.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: the batch's own statistics
    generator = torch.Generator().manual_seed(2)
    network.train()
    with torch.no_grad():
        network(torch.randn(16, 3, IMAGE, IMAGE, generator=generator))
    return network.eval()


def _cnn(name: str) -> Callable[[], tuple[torch.nn.Module, Inputs]]:
    def build() -> tuple[torch.nn.Module, Inputs]:
        torch.manual_seed(0)
        network = _calibrated(getattr(torchvision.models, name)(weights=None))
        return network, {"x": _image()}

    return build


T = transformers
_HEADS = 2
_LAYERS = 2
_BERT_LIKE = {
    "vocab_size": VOCAB,
    "hidden_size": HIDDEN,
    "num_hidden_layers": _LAYERS,
    "num_attention_heads": _HEADS,
    "intermediate_size": 4 * HIDDEN,
}

MODELS: dict[str, Model] = {
    model.name: model
    for model in (
        Model(
            "bert",
            "transformers",
            _transformer(
                T.BertConfig, T.BertModel, max_position_embeddings=SEQ, **_BERT_LIKE
            ),
        ),
        Model(
            "roberta",
            "transformers",
            # RoBERTa's positions start after its padding index (1).
            _transformer(
                T.RobertaConfig,
                T.RobertaModel,
                max_position_embeddings=SEQ + 2,
                **_BERT_LIKE,
            ),
        ),
        Model(
            "distilbert",
            "transformers",
            _transformer(
                T.DistilBertConfig,
                T.DistilBertModel,
                vocab_size=VOCAB,
                dim=HIDDEN,
                n_layers=_LAYERS,
                n_heads=_HEADS,
                hidden_dim=4 * HIDDEN,
                max_position_embeddings=SEQ,
            ),
        ),
        Model(
            "gpt2",
            "transformers",
            _transformer(
                T.GPT2Config,
                T.GPT2Model,
                vocab_size=VOCAB,
                n_embd=HIDDEN,
                n_layer=_LAYERS,
                n_head=_HEADS,
                n_positions=SEQ,
                bos_token_id=VOCAB - 1,  # GPT-2's 50256, in the smaller vocabulary
                eos_token_id=VOCAB - 1,
                use_cache=False,  # no key/value cache among the outputs
            ),
        ),
        Model(
            "vit",
            "transformers",
            _transformer(
                T.ViTConfig,
                T.ViTModel,
                image_size=IMAGE,
                patch_size=16,
                **{k: v for k, v in _BERT_LIKE.items() if k != "vocab_size"},
            ),
        ),
        Model(
            "t5-encoder",
            "transformers",
            _transformer(
                T.T5Config,
                T.T5EncoderModel,
                vocab_size=VOCAB,
                d_model=HIDDEN,
                d_kv=HIDDEN // _HEADS,
                d_ff=4 * HIDDEN,
                num_layers=_LAYERS,
                num_heads=_HEADS,
            ),
        ),
        Model(
            "llama",
            "transformers",
            # Grouped-query attention: 4 query heads share 2 key/value heads.
            _transformer(
                T.LlamaConfig,
                T.LlamaModel,
                vocab_size=VOCAB,
                hidden_size=HIDDEN,
                num_hidden_layers=_LAYERS,
                num_attention_heads=4,
                num_key_value_heads=2,
                intermediate_size=4 * HIDDEN,
                max_position_embeddings=SEQ,
                use_cache=False,
            ),
        ),
        *(
            Model(name, "torchvision", _cnn(name))
            for name in (
                "resnet18",
                "resnet50",
                "mobilenet_v2",
                "efficientnet_b0",
                "vgg11",
                "convnext_tiny",
            )
        ),
    )
}


# --- the steps ------------------------------------------------------------------------


@dataclass
class Exported:
    """A model exported to ONNX, with its inputs and onnxruntime's f32 outputs."""

    path: Path
    inputs: dict[str, np.ndarray]
    """By ONNX graph input name, in the graph's order (t10-import's arg0..)."""
    expected: list[np.ndarray]
    expected_f16: list[np.ndarray]
    """onnxruntime's f32 outputs of the model whose weights, constants and inputs are
    rounded to f16 as `t10-import --dtype f16` rounds them: what the f16 module computes
    but for the rounding of its arithmetic."""
    export_s: float
    onnxruntime_s: float


def rounded_to_f16(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` whose float initializers and `Constant`s hold the values
    `t10-import --dtype f16` gives them (saturated, rounded to f16), still as f32."""
    rounded = onnx.ModelProto()
    rounded.CopyFrom(model)

    def rounded_tensor(tensor: onnx.TensorProto) -> onnx.TensorProto:
        value = numpy_helper.to_array(tensor)
        if value.dtype.kind != "f":
            return tensor
        f16 = saturated(value, np.dtype(np.float16)).astype(value.dtype)
        return numpy_helper.from_array(f16, tensor.name)

    for init in rounded.graph.initializer:
        init.CopyFrom(rounded_tensor(init))
    for node in rounded.graph.node:
        for attr in node.attribute:
            if node.op_type == "Constant" and attr.name == "value":
                attr.t.CopyFrom(rounded_tensor(attr.t))
    return rounded


def _run_onnxruntime(
    model: onnx.ModelProto | Path, feeds: dict[str, np.ndarray]
) -> list[np.ndarray]:
    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    session = onnxruntime.InferenceSession(source, providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


@dataclass
class Row:
    """One model in one float type: the figures of `benchmarks/results/real_models`."""

    model: str
    dtype: str
    export_s: float
    onnxruntime_s: float
    import_s: float = math.nan
    reference_s: float = math.nan
    reference_error: float = math.nan
    """Off onnxruntime on the same values (in f16, `Exported.expected_f16`): the error
    of the arithmetic alone."""
    f32_error: float = math.nan
    """Off onnxruntime's f32 run of the model as exported (in f16, rounding of the
    weights and inputs included)."""
    reference_check: str = ""
    """How the reference agreed with onnxruntime (`t10_run.check_outputs`' line)."""
    check_s: float = math.nan
    cycles: int | None = None
    sram_peak_bytes: int | None = None
    check: str = ""
    """t10-run --check's line, or the diagnostic of the step that failed."""
    failed: str | None = None
    """The step that failed (import, reference, check), None when every step passed."""

    @property
    def passed(self) -> bool:
        return self.failed is None


@contextlib.contextmanager
def _quiet() -> Any:
    """The exporter's progress lines and warnings, which say nothing about the model
    (onnxscript's optimizer logs what it declines to fold), kept off the output."""
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(previous)


def export(model: Model, directory: Path) -> Exported:
    """Build `model`, export it with the default exporter and run onnxruntime."""
    network, inputs = model.build()
    path = directory / f"{model.name}.onnx"
    start = time.perf_counter()
    with _quiet(), torch.no_grad():
        torch.onnx.export(network, (), str(path), kwargs=inputs, dynamo=True)
    export_s = time.perf_counter() - start
    names = [i.name for i in onnx.load(str(path), load_external_data=False).graph.input]
    by_name = {k: v.numpy() for k, v in inputs.items()}
    feeds = {name: by_name[name] for name in names}
    start = time.perf_counter()
    expected = _run_onnxruntime(path, feeds)
    onnxruntime_s = time.perf_counter() - start
    f16 = np.dtype(np.float16)
    feeds_f16 = {
        k: saturated(v, f16).astype(v.dtype) if v.dtype.kind == "f" else v
        for k, v in feeds.items()
    }
    expected_f16 = _run_onnxruntime(rounded_to_f16(onnx.load(str(path))), feeds_f16)
    return Exported(path, feeds, expected, expected_f16, export_s, onnxruntime_s)


def reference_error(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> float:
    """The worst |got - want| over max(1, max |want|) of the output (`t10-run
    --check`'s scale), over every output."""
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        if g.shape != w.shape:
            return math.inf
        wide, reference = g.astype(np.float64), w.astype(np.float64)
        scale = max(1.0, float(np.abs(reference).max(initial=0)))
        worst = max(worst, float(np.abs(wide - reference).max(initial=0)) / scale)
    return worst


def check_reference(
    mlir: Path, inputs: Path, expected: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], str]:
    """Run the module `t10-import` wrote on the reference interpreter, as `t10-run`
    does, and compare with onnxruntime's f32 `expected` (rounded to the outputs'
    types) by `t10-run --check`'s rule along each output's chain of ops, relative to
    the output's own largest magnitude (not the chain's: that of a transformer is the
    attention mask's fill, f16's -65504, which a softmax turns into exact zeros): the
    outputs and the line saying how close they came (T10Error where they do not)."""
    module = parse_module(make_context(), mlir.read_text(), str(mlir))
    func_op = find_entry(module, None)
    weights = t10_import.default_weights_path(str(mlir))
    arrays = t10_run.read_archive(str(inputs), "inputs")
    if Path(weights).exists():
        arrays |= t10_run.read_archive(weights, "weights")
    args = [arrays[f"arg{i}"] for i in range(len(func_op.args))]
    got = run_function(module, None, args, np.float32)
    chains = t10_run.rounding_chains(func_op, {})  # lengths only, no magnitudes
    want = [w.astype(g.dtype) for g, w in zip(got, expected, strict=True)]
    line = t10_run.check_outputs(got, want, np.dtype(np.float32), str(mlir), chains)
    return got, line.replace("--check: ", "", 1).replace("the reference", "onnxruntime")


def _tool(run: Callable[[list[str]], int], argv: list[str]) -> str:
    """A tool run in this process: its standard output (`t10_import.run` and
    `t10_run.run` return 0 or raise T10Error)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run(argv)
    return out.getvalue()


def run_model(exported: Exported, dtype: str, directory: Path) -> Row:
    """Import in `dtype`, check the reference against onnxruntime, then compile for
    ipu-mk2 and run with --check; a step's diagnostic ends the row."""
    name = exported.path.stem
    row = Row(
        name, dtype, round(exported.export_s, 2), round(exported.onnxruntime_s, 2)
    )
    mlir = directory / f"{name}.{dtype}.mlir"
    inputs = directory / f"{name}.{dtype}.in.npz"
    report = directory / f"{name}.{dtype}.report.json"
    stored = np.float16 if dtype == "f16" else np.float32
    np.savez(
        inputs,
        **{
            f"arg{i}": a.astype(stored) if a.dtype.kind == "f" else a
            for i, a in enumerate(exported.inputs.values())
        },
    )
    step = "import"
    try:
        start = time.perf_counter()
        _tool(t10_import.run, [str(exported.path), "--dtype", dtype, "-o", str(mlir)])
        row.import_s = round(time.perf_counter() - start, 2)
        step = "reference"
        start = time.perf_counter()
        expected = exported.expected_f16 if dtype == "f16" else exported.expected
        got, row.reference_check = check_reference(mlir, inputs, expected)
        row.reference_s = round(time.perf_counter() - start, 2)
        row.reference_error = reference_error(got, expected)
        row.f32_error = reference_error(got, exported.expected)
        step = "check"
        start = time.perf_counter()
        argv = [str(mlir), "--inputs", str(inputs), "--target", TARGET, "--check"]
        printed = _tool(t10_run.run, [*argv, "--report", str(report)])
        row.check_s = round(time.perf_counter() - start, 2)
    except T10Error as error:
        row.failed, row.check = step, str(error)
        return row
    row.check = printed.strip().splitlines()[-1]
    totals = json.loads(report.read_text())
    row.cycles, row.sram_peak_bytes = totals["cycles"], totals["sram_peak_bytes"]
    return row


def model_rows(name: str) -> list[Row]:
    """Export `name` once and run it in every float type (in a directory of its
    own, removed after)."""
    with TemporaryDirectory() as work:
        exported = export(MODELS[name], Path(work))
        return [run_model(exported, dtype, Path(work)) for dtype in DTYPES]


SLOWEST_FIRST = ("vgg11", "resnet50", "efficientnet_b0", "convnext_tiny")
"""Started first when models run in parallel, so that none is left alone at the end."""


def run_models(
    names: Sequence[str], jobs: int, done: Callable[[Row], None] | None = None
) -> list[Row]:
    """The rows of `names` (in that order, each float type), `jobs` models at a time
    in processes of their own (the steps are single-threaded Python: CI's two cores
    run two models at once); `done` sees each row as its model finishes."""
    order = sorted(names, key=lambda n: (n not in SLOWEST_FIRST, names.index(n)))
    results: dict[str, list[Row]] = {}

    def finished(name: str, rows: list[Row]) -> None:
        results[name] = rows
        for row in rows if done is not None else ():
            done(row)

    if jobs <= 1:
        for name in order:
            finished(name, model_rows(name))
    else:
        context = multiprocessing.get_context("spawn")  # no fork of torch's threads
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            futures = {pool.submit(model_rows, name): name for name in order}
            for future in as_completed(futures):
                finished(futures[future], future.result())
    return [row for name in names for row in results[name]]


# --- the results ----------------------------------------------------------------------


def _versions() -> str:
    names = (
        "torch",
        "torchvision",
        "transformers",
        "onnxscript",
        "onnx",
        "onnxruntime",
    )
    return ", ".join(f"{n} {version(n)}" for n in names)


def markdown(rows: Sequence[Row], total_s: float) -> str:
    lines = [
        "# Real models, end to end (`benchmarks/real_models.py`)",
        "",
        f"Random weights; transformers with {_LAYERS} layers, hidden {HIDDEN}, "
        f"sequence {SEQ}, vocabulary {VOCAB}; images {IMAGE}x{IMAGE}. Exported with "
        "`torch.onnx.export` (dynamo), imported with `t10-import [--dtype f16]`, run "
        "on the reference interpreter against onnxruntime (f32 arithmetic; for an "
        "f16 row on the weights and inputs rounded to f16, as the module holds them: "
        "'error vs onnxruntime' is the error of the arithmetic alone, 'error vs f32' "
        "against the model as exported; each the worst |t10ir - onnxruntime| / max(1, "
        "max |onnxruntime|)), checked by t10-run --check's rule, then compiled for "
        f"{TARGET} and run with `t10-run --check` (the chip against the reference).",
        "",
        f"{_versions()}; Python {platform.python_version()}; "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d}; {total_s:.0f} s in all.",
        "",
        "| model | dtype | export s | onnxruntime s | import s | reference s "
        "| error vs onnxruntime | error vs f32 "
        "| compile + run + check s | cycles | SRAM peak (bytes/core) | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        cycles = f"{row.cycles:,}" if row.cycles is not None else ""
        sram = f"{row.sram_peak_bytes:,}" if row.sram_peak_bytes is not None else ""
        result = "passed" if row.passed else f"**{row.failed or 'error'}**"
        lines.append(
            f"| {row.model} | {row.dtype} | {row.export_s:.1f} "
            f"| {row.onnxruntime_s:.1f} | {row.import_s:.1f} "
            f"| {row.reference_s:.1f} | {row.reference_error:.2e} "
            f"| {row.f32_error:.2e} | {row.check_s:.1f} "
            f"| {cycles} | {sram} | {result}: {row.check} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=None)
    parser.add_argument(
        "--output-dir", type=Path, default=ROOT / "benchmarks" / "results"
    )
    parser.add_argument(
        "--jobs", type=int, default=2, help="models run at once (default 2)"
    )
    args = parser.parse_args(argv)

    def show(row: Row) -> None:
        print(
            f"{row.model} {row.dtype}: {'passed' if row.passed else 'FAILED'} "
            f"(error {row.reference_error:.2e}) {row.check}",
            flush=True,
        )

    start = time.perf_counter()
    rows = run_models(args.models or list(MODELS), args.jobs, show)
    total_s = time.perf_counter() - start
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "real_models.md").write_text(markdown(rows, total_s))
    with (args.output_dir / "real_models.csv").open("w", newline="") as stream:
        writer = csv.DictWriter(stream, [f.name for f in fields(Row)])
        writer.writeheader()
        writer.writerows(asdict(row) for row in rows)
    return 0 if all(row.passed for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
