"""`t10-opt`: xDSL's opt driver with T10ir's dialects and passes, and MLIR's conventions.

On top of `xdsl-opt` it accepts MLIR's `--pass-pipeline='builtin.module(a{x=1}, b)'`,
reports every error as one `file:line:col: error: message` line with exit code 1, and
checks `// expected-error {{...}}` annotations under `--verify-diagnostics` as MLIR does.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.arg_spec import ArgSpec, parse_pipeline
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    VerifyException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from t10ir.passes.diagnostics import OpError, PassOptionError
from t10ir.tools.diagnostics import (
    ToolError,
    op_location,
    parse_module,
    read_file,
    run_tool,
    verify_module,
)

_EXPECTED = re.compile(
    r"//\s*expected-error(@(?P<rel>[+-]\d+|above|below))?\s*\{\{(?P<msg>.*?)\}\}"
)


def pipeline_to_passes(pipeline: str) -> str:
    """MLIR's `builtin.module(a{x=1}, b)` as xDSL's `a{x=1},b`."""
    text = pipeline.strip()
    match = re.fullmatch(r"builtin\.module\((?P<body>.*)\)", text, re.DOTALL)
    if match is None:
        raise ToolError(
            f"invalid pass pipeline '{pipeline}': expected 'builtin.module(pass, ...)'"
        )
    passes: list[str] = []
    depth = 0
    current = ""
    for char in match.group("body"):
        if char == "," and depth == 0:
            passes.append(current.strip())
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    if current.strip():
        passes.append(current.strip())
    return ",".join(passes)


def translate_arguments(argv: Sequence[str]) -> list[str]:
    """Rewrite `--pass-pipeline` (both `=` and separate forms) into xDSL's `-p`."""
    args: list[str] = []
    pending = False
    for arg in argv:
        if pending:
            args += ["-p", pipeline_to_passes(arg)]
            pending = False
        elif arg == "--pass-pipeline":
            pending = True
        elif arg.startswith("--pass-pipeline="):
            args += ["-p", pipeline_to_passes(arg.split("=", 1)[1])]
        else:
            args.append(arg)
    if pending:
        raise ToolError("--pass-pipeline expects a pipeline")
    return args


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

    def setup_pipeline(self) -> None:
        try:
            specs = list(parse_pipeline(self.args.passes))
        except ArgSpecParseError as error:
            lines = str(error).splitlines()
            raise ToolError(
                f"invalid pass pipeline '{self.args.passes}': {lines[-1].strip()}"
            ) from None
        for spec in specs:
            self._check_pass_spec(spec)
        try:
            super().setup_pipeline()
        except ValueError as error:
            raise ToolError(f"invalid pass option: {error}") from None

    def _check_pass_spec(self, spec: ArgSpec) -> None:
        """Name the unknown pass or option before xDSL raises on it."""
        if spec.name not in self.available_passes:
            raise ToolError(f"unknown pass '{spec.name}'")
        pass_class = self.available_passes[spec.name]()
        options = sorted(f.name.replace("_", "-") for f in fields(pass_class))
        for option in spec.parameters:
            if option.replace("_", "-") not in options:
                known = ", ".join(options) if options else "none"
                raise ToolError(
                    f"pass '{spec.name}' has no option '{option}' (its options: {known})"
                )

    def run(self) -> None:
        name = self.args.input_file or "<stdin>"
        text = (
            read_file(self.args.input_file)
            if self.args.input_file
            else sys.stdin.read()
        )
        chunks = text.split("// -----") if self.args.split_input_file else [text]
        outputs: list[str] = []
        failed = False
        line_offset = 0
        for chunk in chunks:
            try:
                outputs.append(self._process(chunk, name, line_offset))
                if self.args.verify_diagnostics:
                    failed |= self._report_missing(chunk, name, line_offset)
            except ToolError as error:
                if not self.args.verify_diagnostics:
                    raise
                failed |= self._check_expected(error, chunk, name, line_offset)
            line_offset += chunk.count("\n")
        output = "// -----\n".join(outputs)
        if self.args.output_file:
            with open(self.args.output_file, "w") as stream:
                stream.write(output)
        else:
            sys.stdout.write(output)
        if failed:
            raise SystemExit(1)

    def _process(self, chunk: str, name: str, line_offset: int) -> str:
        module = parse_module(self.ctx, chunk, name, line_offset)
        if not self.args.disable_verify:
            verify_module(module)
        self._apply_passes(module)
        return self.output_resulting_program(module)

    def _apply_passes(self, module: ModuleOp) -> None:
        try:
            self.apply_passes(module)
        except ToolError:
            raise
        except OpError as error:
            raise ToolError(error.message, op_location(error.op)) from None
        except PassOptionError as error:
            raise ToolError(error.message) from None
        except (VerifyException, DiagnosticException) as error:
            message = str(error.args[0]) if error.args else str(error)
            raise ToolError(message.splitlines()[0], op_location(module)) from None

    @staticmethod
    def _check_expected(
        error: ToolError, chunk: str, name: str, line_offset: int
    ) -> bool:
        """Match a diagnostic against the chunk's annotations; True when they disagree."""
        expected = expected_errors(chunk, line_offset)
        if not expected:
            print(error.render("t10-opt"))
            return False
        line = int(error.location.split(":")[-2]) if error.location else None
        for item in expected:
            if item.line == line and item.message in error.message:
                return False
        print(f"{error.render('t10-opt')}", file=sys.stderr)
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
