"""`t10-import`: bring a model into T10ir as a `top` module.

Reads NNFusion `einstein_v2` graphs (`.json`, T10's evaluation inputs).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from xdsl.printer import Printer

from t10ir.tools.diagnostics import ToolError, run_tool, verify_module


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="t10-import", description=__doc__)
    parser.add_argument("input", help="model file (.json: NNFusion einstein_v2 graph)")
    parser.add_argument("-o", "--output", help="output .mlir file (default: stdout)")
    parser.add_argument(
        "--batch", type=int, default=1, help="batch size (placeholder 99)"
    )
    parser.add_argument(
        "--seq", type=int, default=128, help="sequence length (placeholder 66)"
    )
    parser.add_argument("--name", help="function name (default: the file's stem)")
    args = parser.parse_args(argv)

    def body() -> int:
        if args.batch < 1 or args.seq < 1:
            raise ToolError("--batch and --seq must be positive")
        if not args.input.endswith(".json"):
            raise ToolError(
                f"cannot import '{args.input}': expected an NNFusion .json graph"
            )
        from t10ir.frontend.nnfusion import import_nnfusion

        module = import_nnfusion(args.input, args.batch, args.seq, args.name)
        verify_module(module)
        stream = open(args.output, "w") if args.output else sys.stdout
        try:
            Printer(stream=stream).print_op(module)
            stream.write("\n")
        finally:
            if stream is not sys.stdout:
                stream.close()
        return 0

    run_tool("t10-import", body)
