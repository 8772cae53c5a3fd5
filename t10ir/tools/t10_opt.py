"""`t10-opt`: xDSL's opt driver with T10ir's dialects and passes, and MLIR's conventions.

On top of `xdsl-opt` it accepts MLIR's `--pass-pipeline='builtin.module(a{x=1}, b)'`,
reports every error as one `file:line:col: error: message` line with exit code 1, and
checks `// expected-error {{...}}` annotations under `--verify-diagnostics` as MLIR does.
"""

from __future__ import annotations

import argparse
import inspect
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import NoReturn, cast, get_args, get_origin, get_type_hints

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline
from xdsl.utils.arg_spec import ArgSpec, ParameterListType, ParameterType, parse_spec
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    VerifyException,
)
from xdsl.utils.target import Target
from xdsl.xdsl_opt_main import xDSLOptMain

from t10ir.errors import T10Error, op_location
from t10ir.module_io import parse_module, read_file, read_stdin, verify_module
from t10ir.tools.diagnostics import ToolArgumentParser, render, run_tool, write_file

_EXPECTED = re.compile(
    r"//\s*expected-error(@(?P<rel>[+-]\d+|above|below))?\s*\{\{(?P<msg>.*?)\}\}"
)


def pipeline_to_passes(pipeline: str) -> str:
    """MLIR's `builtin.module(a{x=1}, b)` as the passes it holds, `a{x=1}, b`."""
    match = re.fullmatch(r"\s*builtin\.module\((?P<body>.*)\)\s*", pipeline, re.DOTALL)
    if match is None:
        raise T10Error(
            f"invalid pass pipeline '{pipeline}': expected 'builtin.module(pass, ...)'"
        )
    return match.group("body")


def translate_arguments(argv: Sequence[str]) -> list[str]:
    """Rewrite `--pass-pipeline` (both `=` and separate forms) into xDSL's `--passes=`
    (one argument, so a pipeline starting with `-` is not taken for a flag)."""
    args: list[str] = []
    pending = False
    for arg in argv:
        if pending:
            args.append(f"--passes={pipeline_to_passes(arg)}")
            pending = False
        elif arg == "--pass-pipeline":
            pending = True
        elif arg.startswith("--pass-pipeline="):
            args.append(f"--passes={pipeline_to_passes(arg.split('=', 1)[1])}")
        else:
            args.append(arg)
    if pending:
        raise T10Error("--pass-pipeline expects a pipeline")
    return args


@dataclass(frozen=True)
class PassText:
    """One pass of a pipeline as written: its name and its options' raw values (None
    for a bare `flag`), in MLIR's syntax."""

    name: str
    options: dict[str, str | None]


class _PipelineScanner:
    """MLIR's textual pass pipeline: `a{k=v k2="v 2" flag}, b`.

    Values run to the next space or `}` outside quotes and brackets, so paths
    (`target=../chips/my-chip.v2.json`) and numbers (`time-limit=1e-1`) need no quotes,
    as in mlir-opt; quotes around a whole value are removed.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> NoReturn:
        raise T10Error(
            f"invalid pass pipeline '{self.text}': {message} "
            f"at character {self.pos + 1}"
        )

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def word(self, what: str) -> str:
        match = re.compile(r"[^\s,{}=()\[\]\"']+").match(self.text, self.pos)
        if match is None:
            found = repr(self.peek()) if self.peek() else "the end"
            self.fail(f"expected {what}, found {found}")
        self.pos = match.end()
        return match.group()

    def passes(self) -> list[PassText]:
        found: list[PassText] = []
        self.skip_space()
        if not self.peek():
            return found
        while True:
            self.skip_space()
            found.append(self.pass_text())
            self.skip_space()
            if not self.peek():
                return found
            if self.peek() != ",":
                self.fail(f"expected ',' between passes, found {self.peek()!r}")
            self.pos += 1

    def pass_text(self) -> PassText:
        name = self.word("a pass name")
        options: dict[str, str | None] = {}
        self.skip_space()
        if self.peek() != "{":
            return PassText(name, options)
        self.pos += 1
        while True:
            self.skip_space()
            if self.peek() == "}":
                self.pos += 1
                return PassText(name, options)
            key = self.word(f"an option of pass '{name}' or '}}'")
            value = None
            if self.peek() == "=":
                self.pos += 1
                value = self.value(name, key)
            normal = key.replace("_", "-")
            if normal in options:
                raise T10Error(f"pass '{name}': option '{normal}' is given twice")
            options[normal] = value

    def value(self, name: str, key: str) -> str:
        start = self.pos
        closers = {"{": "}", "[": "]", "(": ")"}
        depth: list[str] = []
        while True:
            char = self.peek()
            if not char:
                self.fail(f"option '{key}' of pass '{name}' has no closing '}}'")
            if not depth and (char.isspace() or char == "}"):
                break
            if char in "\"'":
                end = self.text.find(char, self.pos + 1)
                if end < 0:
                    self.fail(f"option '{key}' of pass '{name}' has an unclosed {char}")
                self.pos = end + 1
                continue
            if char in closers:
                depth.append(closers[char])
            elif depth and char == depth[-1]:
                depth.pop()
            self.pos += 1
        text = self.text[start : self.pos]
        if not text:
            self.fail(f"option '{key}' of pass '{name}' has no value after '='")
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
            return text[1:-1]
        return text


def parse_passes(text: str) -> list[PassText]:
    """The passes of `a{x=1}, b` (xDSL's `-p` and the inside of `builtin.module(...)`)."""
    return _PipelineScanner(text).passes()


def _kinds(hint: object) -> set[type]:
    """The scalar types an option's type hint accepts (`float | int`, `tuple[int, ...]`)."""
    if isinstance(hint, type) and get_origin(hint) is None:
        return {hint}
    found: set[type] = set()
    for arg in get_args(hint):
        if arg is not Ellipsis and arg is not type(None):
            found |= _kinds(arg)
    return found


def _is_list(hint: object) -> bool:
    return get_origin(hint) is tuple or any(_is_list(a) for a in get_args(hint))


def _scalar(text: str, kinds: set[type]) -> ParameterType | None:
    """`text` as the first of the option's types it reads as, or None."""
    if bool in kinds and text in ("true", "false"):
        return text == "true"
    if int in kinds and re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if float in kinds:
        try:
            return float(text)
        except ValueError:
            pass
    if str in kinds:
        return text
    return None


def option_values(
    pass_name: str, key: str, text: str | None, hint: object
) -> ParameterListType:
    """An option's raw text as the values xDSL's `from_spec` takes for its type."""
    kinds = _kinds(hint)
    if text is None:  # a bare `flag`: true, as mlir-opt reads it
        if bool in kinds:
            return (True,)
        raise T10Error(f"pass '{pass_name}': option '{key}' needs a value ({key}=...)")
    items = text.split(",") if _is_list(hint) else [text]
    values: list[ParameterType] = []
    for item in items:
        value = _scalar(item, kinds)
        if value is None:
            expected = " or ".join(sorted(k.__name__ for k in kinds))
            raise T10Error(
                f"pass '{pass_name}': option '{key}' expects {expected}, got '{item}'"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise T10Error(
                f"pass '{pass_name}': option '{key}' must be a finite number, got "
                f"'{item}'"
            )
        values.append(value)
    if key in _POSITIVE and not all(
        isinstance(v, (int, float)) and v > 0 for v in values
    ):
        raise T10Error(f"pass '{pass_name}': option '{key}' must be > 0, got '{text}'")
    return tuple(values)


_POSITIVE = {"time-limit"}
"""Options whose values must be positive: the passes take them as they come (a solver
given `time-limit=0` stops at once, one given `-1` runs without a limit)."""


@dataclass(frozen=True)
class ExpectedError:
    line: int
    message: str


def expected_errors(text: str, line_offset: int) -> list[ExpectedError]:
    """The `// expected-error {{...}}` annotations of a chunk, with their target lines."""
    found: list[ExpectedError] = []
    for number, line in enumerate(text.splitlines(), start=1 + line_offset):
        for match in _EXPECTED.finditer(line):
            rel = match.group("rel")
            target = number
            if rel == "above":
                target -= 1
            elif rel == "below":
                target += 1
            elif rel is not None:
                target += int(rel)
            found.append(ExpectedError(target, match.group("msg")))
    return found


class T10OptMain(xDSLOptMain):
    """The opt driver; dialects and passes come from the `xdsl.universe` entry points."""

    version_format = "t10-opt built on xdsl version {xdsl_version}"

    def register_all_targets(self) -> None:
        """Only `mlir`: xDSL's other targets (x86-asm, llvm, wat, ...) emit dialects
        T10ir never lowers to, and on a T10ir module they assert, need a missing
        package, or print nothing."""
        super().register_all_targets()
        self.available_targets = {"mlir": self.available_targets["mlir"]}

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        # xDSL makes a plain ArgumentParser; give it ours, which only changes `error`.
        arg_parser.__class__ = ToolArgumentParser
        # xDSL reads -t's value with `parse_spec` after argparse is done, and its
        # ArgSpecParseError is a BaseException that no handler catches: read it as
        # argparse reads a value, so a malformed one is a diagnostic of the option.
        arg_parser._option_string_actions["-t"].type = self._target_spec

    def _target_spec(self, text: str) -> str:
        """`-t`'s value: a known target in xDSL's spec syntax (`name` or
        `name{options}`), with options that target has (xDSL checks them only when it
        prints the output, with a ValueError)."""
        choices = ", ".join(self.available_targets)
        try:
            spec = parse_spec(text)
        except ArgSpecParseError:
            raise argparse.ArgumentTypeError(
                f"invalid choice: {text!r} (choose from {choices})"
            ) from None
        factory = self.available_targets.get(spec.name)
        if factory is None:
            raise argparse.ArgumentTypeError(
                f"invalid choice: '{spec.name}' (choose from {choices})"
            )
        if spec.parameters and not inspect.signature(factory).parameters:
            # a factory without parameters is a new-style one, `() -> type[Target]`
            # (as xDSL's `get_target` reads it)
            try:
                cast(Callable[[], type[Target]], factory)().from_spec(spec)
            except ValueError as error:
                raise argparse.ArgumentTypeError(
                    f"target '{spec.name}': {str(error).splitlines()[0]}"
                ) from None
        return text

    def setup_pipeline(self) -> None:
        """Build the passes from MLIR's option syntax (xDSL's own parser reads
        `chips/a.json` or `1e-1` unquoted as no value, and keeps the last of two
        options of the same name); xDSL supplies the callback between passes."""
        passes = tuple(self._make_pass(text) for text in parse_passes(self.args.passes))
        self.args.passes = ""
        super().setup_pipeline()
        self.pipeline = PassPipeline(passes, self.pipeline.callback)

    def _make_pass(self, text: PassText) -> ModulePass:
        if text.name not in self.available_passes:
            raise T10Error(f"unknown pass '{text.name}'")
        pass_class = self.available_passes[text.name]()
        hints = get_type_hints(pass_class)
        options = {f.name.replace("_", "-"): f.name for f in fields(pass_class)}
        parameters: dict[str, ParameterListType] = {}
        for key, value in text.options.items():
            if key not in options:
                known = ", ".join(sorted(options)) if options else "none"
                raise T10Error(
                    f"pass '{text.name}' has no option '{key}' (its options: {known})"
                )
            parameters[key] = option_values(text.name, key, value, hints[options[key]])
        try:
            return pass_class.from_pass_spec(ArgSpec(text.name, parameters))
        except ValueError as error:
            raise T10Error(
                f"pass '{text.name}': {str(error).splitlines()[0]}"
            ) from None

    def run(self) -> None:
        name = self.args.input_file or "<stdin>"
        text = read_file(self.args.input_file) if self.args.input_file else read_stdin()
        chunks = text.split("// -----") if self.args.split_input_file else [text]
        outputs: list[str] = []
        failed = False
        line_offset = 0
        for chunk in chunks:
            try:
                outputs.append(self._process(chunk, name, line_offset))
                if self.args.verify_diagnostics:
                    failed |= self._report_missing(chunk, name, line_offset)
            except T10Error as error:
                if not self.args.verify_diagnostics:
                    raise
                failed |= self._check_expected(error, chunk, name, line_offset)
            line_offset += chunk.count("\n")
        output = "// -----\n".join(outputs)
        if self.args.output_file:
            write_file(self.args.output_file, output)
        else:
            sys.stdout.write(output)
        if failed:
            raise SystemExit(1)

    def _process(self, chunk: str, name: str, line_offset: int) -> str:
        module = parse_module(self.ctx, chunk, name, line_offset)
        if not self.args.disable_verify:
            verify_module(module)
        self._apply_passes(module)
        try:
            return self.output_resulting_program(module)
        except NotImplementedError as error:  # xDSL packs f16/f32/f64 floats only
            detail = f": {error}" if str(error) else ""
            raise T10Error(
                "xDSL cannot print a value of this module (an f80 or f128 float?)"
                f"{detail}"
            ) from None

    def _apply_passes(self, module: ModuleOp) -> None:
        try:
            self.apply_passes(module)
        except T10Error:
            raise
        except (VerifyException, DiagnosticException) as error:
            message = str(error.args[0]) if error.args else str(error)
            raise T10Error(message.splitlines()[0], op_location(module)) from None

    @staticmethod
    def _check_expected(
        error: T10Error, chunk: str, name: str, line_offset: int
    ) -> bool:
        """Match a diagnostic against the chunk's annotations; True when they disagree."""
        expected = expected_errors(chunk, line_offset)
        if not expected:
            print(render(error, "t10-opt"))
            return False
        line = int(error.location.split(":")[-2]) if error.location else None
        for item in expected:
            if item.line == line and item.message in error.message:
                return False
        print(f"{render(error, 't10-opt')}", file=sys.stderr)
        return T10OptMain._report_missing(chunk, name, line_offset)

    @staticmethod
    def _report_missing(chunk: str, name: str, line_offset: int) -> bool:
        """Report the chunk's expected errors as not produced; True when there were any."""
        expected = expected_errors(chunk, line_offset)
        for item in expected:
            print(
                f'{name}:{item.line}: error: expected error "{item.message}" was not produced',
                file=sys.stderr,
            )
        return bool(expected)


def main(argv: Sequence[str] | None = None) -> None:
    def body() -> int:
        args = translate_arguments(sys.argv[1:] if argv is None else argv)
        T10OptMain(description="T10ir modular optimizer driver", args=args).run()
        return 0

    run_tool("t10-opt", body)
