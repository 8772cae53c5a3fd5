"""`t10-import`: bring a model into T10ir as a `top` module.

Reads NNFusion `einstein_v2` graphs (`.json`, T10's evaluation inputs) and ONNX models
(`.onnx`); `--dtype` stores either's floating-point tensors in another type.

An ONNX model becomes one function taking the graph inputs (arg0.., in the graph's order)
and then its weights ({top.weight}); symbolic dims of the graph inputs need --batch.
Constants the import consumes (shapes, axes, scalar operands) leave no argument; the
values of the weight arguments are written to --weights (by default next to -o, as
OUT.weights.npz) under the names t10-run reads (argK); t10-run finds OUT.weights.npz
beside OUT.mlir by itself (or takes --weights), so --inputs needs only the
activations' arg0...
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from xdsl.printer import Printer

from t10ir.errors import T10Error
from t10ir.module_io import verify_module
from t10ir.tools.diagnostics import ToolArgumentParser, run_tool, write_file, write_npz

if TYPE_CHECKING:  # importing onnx is slow and optional: only for an .onnx input
    from t10ir.frontend.onnx_import import ImportedModel


def default_weights_path(module_path: str) -> str:
    """Where the weights of `model.mlir` go (and where t10-run looks for them):
    `model.weights.npz` beside it."""
    return str(Path(module_path).with_suffix("")) + ".weights.npz"


def _import_onnx(args: argparse.Namespace) -> ImportedModel:
    if args.seq is not None:
        raise T10Error("--seq is for NNFusion graphs; ONNX models need no placeholder")
    try:
        from t10ir.frontend.onnx_import import import_onnx
    except ImportError as error:
        raise T10Error(
            f"importing ONNX needs the 'onnx' package ({error}): pip install onnx"
        ) from None
    return import_onnx(args.input, args.batch, args.name, args.dtype)


def build_parser() -> argparse.ArgumentParser:
    parser = ToolArgumentParser(
        prog="t10-import",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "input", help="model file (.json: NNFusion einstein_v2 graph; .onnx: ONNX)"
    )
    parser.add_argument("-o", "--output", help="output .mlir file (default: stdout)")
    parser.add_argument(
        "--batch",
        type=int,
        help="batch size: NNFusion's placeholder 99 (default 1); for ONNX, the size "
        "of every symbolic dim of the graph inputs",
    )
    parser.add_argument(
        "--seq", type=int, help="sequence length (NNFusion placeholder 66, default 128)"
    )
    parser.add_argument(
        "--dtype",
        choices=("f16", "f32", "f64"),
        help="the element type of the model's floating-point tensors, weights "
        "included (default: as declared; T10's graphs and torch's exports declare "
        "float32, T10's figures are f16)",
    )
    parser.add_argument(
        "--weights",
        help="ONNX: .npz to write the weight arguments to (default: OUT.weights.npz "
        "next to -o when there are weights, where t10-run finds them; none when "
        "writing to stdout)",
    )
    parser.add_argument("--name", help="function name (default: the file's stem)")
    return parser


def run(argv: Sequence[str] | None = None) -> int:
    """The tool without exiting: raises T10Error on bad input."""
    args = build_parser().parse_args(argv)
    if (args.batch is not None and args.batch < 1) or (
        args.seq is not None and args.seq < 1
    ):
        raise T10Error("--batch and --seq must be positive")
    imported: ImportedModel | None = None
    if args.input.endswith(".onnx"):
        imported = _import_onnx(args)
        module = imported.module
    elif args.input.endswith(".json"):
        if args.weights is not None:
            raise T10Error("--weights is for ONNX models")
        from t10ir.frontend.nnfusion import import_nnfusion

        module = import_nnfusion(
            args.input, args.batch or 1, args.seq or 128, args.name, args.dtype
        )
    else:
        raise T10Error(
            f"cannot import '{args.input}': expected an NNFusion .json graph or "
            "an .onnx model"
        )
    verify_module(module)
    text = io.StringIO()
    Printer(stream=text).print_op(module)
    text.write("\n")
    if args.output:
        write_file(args.output, text.getvalue())
    else:
        sys.stdout.write(text.getvalue())
    weights = args.weights
    if weights is None and args.output and imported is not None and imported.weights:
        weights = default_weights_path(args.output)
    if weights is not None and imported is not None:
        write_npz(weights, imported.weight_arrays())
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-import", lambda: run(argv))
