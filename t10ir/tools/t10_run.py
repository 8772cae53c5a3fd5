"""t10-run: run a `top`-level module on the numpy reference interpreter.

Inputs come from an .npz (arg0, arg1, ...) or a seeded generator; outputs go to an .npz
(out0, out1, ...) and a summary table with checksums, so two runs (or two compilers) can be
compared byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import zipfile
import zlib
from collections.abc import Sequence

import numpy as np
from xdsl.dialects import func

from t10ir.context import make_context
from t10ir.interp.reference import check_inputs, find_entry, random_inputs, run_function
from t10ir.tools.diagnostics import (
    ToolError,
    parse_module,
    read_file,
    run_tool,
    verify_module,
)

COMPUTE_DTYPES = {"float32": np.float32, "float64": np.float64}

# A fixed timestamp: np.savez stamps the current time, which breaks byte-identical output.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _seed(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"seed must be >= 0, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="t10-run", description="Run a top-level module on the numpy reference."
    )
    parser.add_argument("file", help="input .mlir file (- for standard input)")
    parser.add_argument(
        "--entry", help="function to run (default: the only uncalled one)"
    )
    parser.add_argument("--inputs", help=".npz with arrays arg0, arg1, ...")
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="seed of the random inputs when --inputs is not given",
    )
    parser.add_argument("--output", help=".npz to write out0, out1, ... to")
    parser.add_argument(
        "--compute-dtype",
        choices=sorted(COMPUTE_DTYPES),
        default="float32",
        help="precision kernels compute in (results keep their types)",
    )
    return parser


def load_inputs(path: str, func_op: func.FuncOp) -> list[np.ndarray]:
    """Arrays arg0..argN-1 of an .npz, exactly the entry function's argument types."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ToolError(f"cannot read inputs '{path}': {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ToolError(f"inputs '{path}' is not an .npz archive")
    with archive:
        expected = [f"arg{i}" for i in range(len(func_op.args))]
        missing = [name for name in expected if name not in archive.files]
        extra = sorted(set(archive.files) - set(expected))
        if missing or extra:
            problem = (
                f"lacks {', '.join(missing)}"
                if missing
                else f"has unexpected {', '.join(extra)}"
            )
            raise ToolError(
                f"inputs {problem}; @{func_op.sym_name.data} takes {len(expected)} "
                f"(arg0..arg{len(expected) - 1})",
                path,
            )
        try:
            inputs = [archive[name] for name in expected]
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise ToolError(f"cannot read inputs '{path}': {error}") from None
    try:
        check_inputs(func_op, inputs)
    except ToolError as error:
        raise ToolError(error.message, path) from None
    return inputs


def save_outputs(path: str, outputs: Sequence[np.ndarray]) -> None:
    """Write out0, out1, ... as an .npz that np.load reads, with reproducible bytes."""
    try:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            for index, array in enumerate(outputs):
                info = zipfile.ZipInfo(f"out{index}.npy", date_time=_ZIP_EPOCH)
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(
                        member, np.ascontiguousarray(array), allow_pickle=False
                    )
    except OSError as error:
        raise ToolError(f"cannot write '{path}': {error.strerror or error}") from None


def summary(outputs: Sequence[np.ndarray]) -> str:
    """An aligned table of each output's shape, dtype, mean, sum and crc32 of its bytes."""
    rows = [["name", "shape", "dtype", "mean", "sum", "crc32"]]
    for index, array in enumerate(outputs):
        wide = array.astype(np.float64)
        mean = float(np.mean(wide)) if array.size else float("nan")
        rows.append(
            [
                f"out{index}",
                "x".join(map(str, array.shape)) or "scalar",
                str(array.dtype),
                f"{mean:.6e}",
                f"{float(np.sum(wide)):.9e}",
                f"{zlib.crc32(np.ascontiguousarray(array).tobytes()):08x}",
            ]
        )
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    text = sys.stdin.read() if args.file == "-" else read_file(args.file)
    name = "<stdin>" if args.file == "-" else args.file
    module = parse_module(make_context(), text, name)
    verify_module(module)
    func_op = find_entry(module, args.entry)
    if args.inputs is not None:
        inputs = load_inputs(args.inputs, func_op)
    else:
        inputs = random_inputs(func_op, args.seed)
    outputs = run_function(
        module, func_op.sym_name.data, inputs, COMPUTE_DTYPES[args.compute_dtype]
    )
    if args.output is not None:
        save_outputs(args.output, outputs)
    print(summary(outputs))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-run", lambda: run(argv))
