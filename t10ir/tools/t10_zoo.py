"""`t10-zoo`: write a model of the zoo (`t10ir.models`) as a `top` module.

`t10-zoo bert-base --batch 8 --seq 128 --dtype f16 --layers 1 -o bert.mlir` writes one
function whose arguments are the activations and the `{top.weight}` weights;
`--arguments args.npz` also writes seeded arguments (arg0, arg1, ...) with the zoo's
scales, for `t10-run --inputs`. Any other option of a model: `--set NAME=VALUE`.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
from collections.abc import Sequence
from typing import Any

from xdsl.printer import Printer

from t10ir.errors import T10Error
from t10ir.module_io import verify_module
from t10ir.tools.diagnostics import ToolArgumentParser, run_tool, write_file, write_npz


def build_parser() -> argparse.ArgumentParser:
    parser = ToolArgumentParser(prog="t10-zoo", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("model", nargs="?", help="model name (see --list)")
    parser.add_argument("--list", action="store_true", help="list the models")
    parser.add_argument("-o", "--output", help="output .mlir file (default: stdout)")
    parser.add_argument("--batch", type=int, help="batch size (NeRF: points)")
    parser.add_argument("--seq", type=int, help="sequence length (BERT, GPT-2)")
    parser.add_argument("--dtype", help="element type: f16 or f32 (default f32)")
    parser.add_argument("--layers", type=int, help="number of layers (transformers)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other option of the model (see --list), e.g. --set hidden=64",
    )
    parser.add_argument(
        "--arguments", metavar="FILE.npz", help="also write seeded arguments"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of --arguments (default 0)"
    )
    return parser


def _parse_value(name: str, text: str, default: Any) -> Any:
    """`text` as the type of the option's default (tuples: comma-separated ints)."""
    try:
        if isinstance(default, bool):
            if text not in ("true", "false"):
                raise ValueError(text)
            return text == "true"
        if isinstance(default, tuple):
            return tuple(int(part) for part in text.split(","))
        return type(default)(text)
    except ValueError:
        kind = "comma-separated integers" if isinstance(default, tuple) else None
        kind = kind or type(default).__name__
        raise T10Error(f"option '{name}' expects {kind}, got '{text}'") from None


def overrides(args: argparse.Namespace, defaults: dict[str, Any]) -> dict[str, Any]:
    """The config fields the command line sets, checked against the model's options."""
    values: dict[str, Any] = {}
    for item in args.set:
        name, equals, text = item.partition("=")
        if not equals:
            raise T10Error(f"--set expects NAME=VALUE, got '{item}'")
        if name not in defaults:
            raise T10Error(
                f"model '{args.model}' has no option '{name}' "
                f"(options: {', '.join(defaults)})"
            )
        values[name] = _parse_value(name, text, defaults[name])
    for name in ("batch", "seq", "dtype", "layers"):
        value = getattr(args, name)
        if value is None:
            continue
        if name not in defaults:
            raise T10Error(f"model '{args.model}' has no --{name}")
        values[name] = value
    return values


def listing() -> str:
    from t10ir.models import MODELS

    lines = []
    for model in MODELS.values():
        lines.append(f"{model.name:<12} {model.summary}")
        fields = dataclasses.asdict(model.config)
        lines.append(" " * 13 + " ".join(f"{k}={_show(v)}" for k, v in fields.items()))
    return "\n".join(lines) + "\n"


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _write_module(path: str | None, module: Any) -> None:
    text = io.StringIO()
    Printer(stream=text).print_op(module)
    text.write("\n")
    if path:
        write_file(path, text.getvalue())
    else:
        sys.stdout.write(text.getvalue())


def run(argv: Sequence[str] | None = None) -> int:
    """The tool without exiting: raises T10Error on bad input."""
    args = build_parser().parse_args(argv)
    if args.list:
        sys.stdout.write(listing())
        return 0
    if args.model is None:
        raise T10Error("no model given (t10-zoo --list lists them)")
    if args.seed < 0:
        raise T10Error(f"--seed must be >= 0, got {args.seed}")
    from t10ir.models import build_model, options

    model = build_model(args.model, **overrides(args, options(args.model)))
    verify_module(model.module)
    _write_module(args.output, model.module)
    if args.arguments:
        arrays = model.arguments(args.seed)
        write_npz(args.arguments, {f"arg{i}": a for i, a in enumerate(arrays)})
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-zoo", lambda: run(argv))
