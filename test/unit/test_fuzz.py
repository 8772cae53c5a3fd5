"""Fuzz the tools: mutated inputs of every kind, and the promise every tool makes.

For every input, a tool exits with 0 or 1; on 1 its standard error is exactly one
diagnostic line (`file:line:col: error: ...` or `tool: error: ...`); it never reports an
internal error, never prints a traceback, never leaves a library's warning on stderr,
and never gives a wrong result (`t10-run --check` agreeing, and a program `t10-compile`
accepted never running out of SRAM on the simulated chip).

Each test mutates valid seeds of one kind and runs the tools on them:

- `test_fuzz_mlir`: `.mlir` files (examples/, test/lit/, and mlp.mlir compiled to the
  shift and core levels), mutated by bytes, characters and tokens (numbers, types, op
  names, string attributes, SSA names, lines), through `t10-opt` with a few pipelines
  and `t10-run` on the reference interpreter and on small targets;
- `test_fuzz_programs`: valid top-level programs (the lit tests', small zoo models,
  imported examples) with shapes and attributes changed consistently, compiled for a
  random small machine and run with `t10-run --check` under every strategy;
- `test_fuzz_zoo`: zoo models with mutated options (`t10-zoo`, its seeded arguments),
  run on the reference, on small targets and on ipu-mk2 with `--check`;
- `test_fuzz_pipelines`: `t10-opt` pass pipelines, mutated pass names, options and values;
- `test_fuzz_machines`: machine JSON files, mutated keys, types and numbers (huge,
  infinite, NaN, negative), compiled for and run on;
- `test_fuzz_onnx`: ONNX models, mutated attributes, shapes, types, opsets and bytes,
  imported and the import run;
- `test_fuzz_nnfusion`: NNFusion graphs (examples/tiny_graph.json), mutated nodes and
  expressions, imported and the import run;
- `test_fuzz_command_lines`: command lines of t10-opt, t10-run, t10-import and t10-zoo.

The tools run in-process (`main(argv)`, `SystemExit` caught, file descriptors 1 and 2
captured as well as `sys.stdout` and `sys.stderr`, warnings shown as Python would show
them); `test_in_process_is_faithful` checks a few cases against a subprocess. Every run
has its own working directory under a temporary directory, holding copies of the files
it may name, so that no mutated option writes into the tree.

Budget: `make test` runs a small fixed number of examples per test (655 in all, about
30 s), derandomized so that CI is deterministic, and stops at the first failing case
without shrinking it. `T10IR_FUZZ_EXAMPLES=N` runs N examples per test instead, with
fresh random choices each run, shrinking a failure (hypothesis's database under
.hypothesis/ replays it next time). `T10IR_FUZZ_KEEP_GOING=DIR` (for campaigns) records
every failing case in DIR (its working directory, `command.sh` to rerun it, stderr)
instead of stopping at the first, and the counts per kind (examples, runs, exit codes,
failures) in DIR/summary.json; each test still fails at its end if a case failed.
Without it, the last failing case of each kind is kept in
$TMPDIR/t10ir-fuzz-failures/KIND. `test_fuzz_regression` replays the minimized cases
the fuzzer found (test/unit/fuzz_inputs/).

A campaign: `T10IR_FUZZ_EXAMPLES=1000 T10IR_FUZZ_KEEP_GOING=/tmp/fuzz .venv/bin/pytest
test/unit/test_fuzz.py -k fuzz_`.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from t10ir.tools import t10_import, t10_opt, t10_run, t10_zoo

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
LIT = ROOT / "test" / "lit"
INPUTS = LIT / "transforms" / "Inputs"

EXAMPLES_ENV = "T10IR_FUZZ_EXAMPLES"
KEEP_GOING_ENV = "T10IR_FUZZ_KEEP_GOING"

_requested = os.environ.get(EXAMPLES_ENV, "").strip()
LONG = bool(_requested)
LONG_EXAMPLES = int(_requested) if LONG else 0
KEEP_GOING = os.environ.get(KEEP_GOING_ENV, "").strip() or None

RUN_TIMEOUT_S = 20.0
"""A run taking longer than this is a hang, and a failure."""


def budget(default: int) -> Callable:
    """The settings of one fuzz test: `default` examples, derandomized, in `make test`."""
    return settings(
        max_examples=LONG_EXAMPLES if LONG else default,
        deadline=None,
        derandomize=not LONG,
        database=None if not LONG else settings.default.database,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
        # make test stops at the first failing case (saved under FAILURES): a
        # hang would cost RUN_TIMEOUT_S per shrinking step. Campaigns shrink.
        phases=list(Phase) if LONG else [Phase.explicit, Phase.reuse, Phase.generate],
    )


# --------------------------------------------------------------------------- running

MAINS: dict[str, Callable[[Sequence[str] | None], None]] = {
    "t10-opt": t10_opt.main,
    "t10-run": t10_run.main,
    "t10-import": t10_import.main,
    "t10-zoo": t10_zoo.main,
}

# Categories Python does not show by default outside __main__.
_HIDDEN_WARNINGS = (
    DeprecationWarning,
    PendingDeprecationWarning,
    ImportWarning,
    ResourceWarning,
)


@dataclass
class Result:
    tool: str
    argv: list[str]
    code: int | None
    stdout: str
    stderr: str
    cwd: Path

    def command(self) -> str:
        return " ".join([self.tool, *(_quote(a) for a in self.argv)])


def _quote(arg: str) -> str:
    if re.fullmatch(r"[\w@%+=:,./-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


class _Timeout(BaseException):
    """Raised in the run by SIGALRM: a hang (a BaseException, so no tool catches it)."""


def _on_alarm(signum, frame):  # noqa: ANN001
    raise _Timeout


@contextlib.contextmanager
def _captured_fds():
    """File descriptors 1 and 2 into temporary files (what C libraries print)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    files = [tempfile.TemporaryFile(mode="w+b"), tempfile.TemporaryFile(mode="w+b")]
    texts: list[str] = ["", ""]
    try:
        os.dup2(files[0].fileno(), 1)
        os.dup2(files[1].fileno(), 2)
        yield texts
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for index, handle in enumerate(files):
            handle.seek(0)
            texts[index] = handle.read().decode("utf-8", "replace")
            handle.close()
        for fd in saved:
            os.close(fd)


def run_in_process(
    tool: str,
    argv: Sequence[str],
    cwd: Path,
    stdin: str = "",
    timeout: float = RUN_TIMEOUT_S,
) -> Result:
    """Run a tool's main as its console script would, and capture what it printed."""
    out, err = io.StringIO(), io.StringIO()
    code: int | None = None
    old_cwd = os.getcwd()
    old_stdin = sys.stdin
    old_debug = os.environ.pop("T10IR_DEBUG", None)
    old_handler = signal.signal(signal.SIGALRM, _on_alarm)
    try:
        os.chdir(cwd)
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
        with (
            _captured_fds() as fd_texts,
            warnings.catch_warnings(record=True) as caught,
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            warnings.simplefilter("always")
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                MAINS[tool](list(argv))
                code = 0  # a console script returning normally exits with 0
            except SystemExit as exit_:
                code = _exit_code(exit_.code, err)
            except _Timeout:
                code = None
                err.write(f"fuzz: hang: no exit within {timeout:g} s\n")
            except BaseException as error:  # noqa: BLE001 what Python prints and exits 1 on
                import traceback

                err.write("".join(traceback.format_exception(error)))
                code = 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            for warning in caught:
                if not issubclass(warning.category, _HIDDEN_WARNINGS):
                    err.write(
                        warnings.formatwarning(
                            warning.message,
                            warning.category,
                            warning.filename,
                            warning.lineno,
                            warning.line,
                        )
                    )
    finally:
        signal.signal(signal.SIGALRM, old_handler)
        sys.stdin = old_stdin
        os.chdir(old_cwd)
        if old_debug is not None:
            os.environ["T10IR_DEBUG"] = old_debug
    stdout = fd_texts[0] + out.getvalue()
    stderr = fd_texts[1] + err.getvalue()
    return Result(tool, list(argv), code, stdout, stderr, cwd)


def _exit_code(code: object, err: io.StringIO) -> int:
    """The process exit status `sys.exit(code)` gives (a non-int is printed, exit 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    err.write(f"{code}\n")
    return 1


def run_subprocess(
    tool: str, argv: Sequence[str], cwd: Path, stdin: str = ""
) -> Result:
    env = {k: v for k, v in os.environ.items() if k != "T10IR_DEBUG"}
    done = subprocess.run(
        [str(Path(sys.executable).parent / tool), *argv],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=RUN_TIMEOUT_S,
    )
    return Result(tool, list(argv), done.returncode, done.stdout, done.stderr, cwd)


# -------------------------------------------------------------------------- checking

_WRONG_RESULT = re.compile(r"--check: (out\d+\[|out\d+ is |the chip gives)")
_RUN_OUT_OF_SRAM = re.compile(r"out of SRAM on core")


def problems(result: Result, compiled_here: bool = False) -> list[str]:
    """How a run broke the promise (nothing when it kept it).

    `compiled_here`: the run compiled a top-level module itself, so running out of SRAM
    on the chip is the compiler's fault, not the input's."""
    found: list[str] = []
    # Lines as a terminal shows them: str.splitlines also splits at \x1c, \x85, ...
    lines = result.stderr.removesuffix("\n").split("\n") if result.stderr else []
    if result.code is None:
        found.append("hang")
    elif result.code not in (0, 1):
        found.append(f"exit code {result.code}")
    if "Traceback" in result.stderr or "Traceback" in result.stdout:
        found.append("traceback")
    if "internal error" in result.stderr:
        found.append("internal error")
    if result.code == 1:
        if len(lines) != 1:
            found.append(f"{len(lines)} lines on stderr, not one diagnostic")
        elif "error:" not in lines[0]:
            found.append("the line on stderr is not a diagnostic")
        if _WRONG_RESULT.search(result.stderr):
            found.append("wrong result")
        if compiled_here and _RUN_OUT_OF_SRAM.search(result.stderr):
            found.append("compiled, then ran out of SRAM")
    elif result.code == 0 and result.stderr:
        found.append("exit 0 with output on stderr")
    return found


@dataclass
class Campaign:
    """Counts of one session's fuzzing, and the failing cases when keeping going."""

    examples: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    exits: Counter = field(default_factory=Counter)
    failed: list[str] = field(default_factory=list)

    def save(self) -> None:
        if KEEP_GOING is None:
            return
        out = Path(KEEP_GOING)
        out.mkdir(parents=True, exist_ok=True)
        summary = {
            "examples": dict(self.examples),
            "runs": dict(self.runs),
            "failures": dict(self.failures),
            "exits": {
                f"{k} {c}": n for (k, c), n in sorted(self.exits.items(), key=str)
            },
        }
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


CAMPAIGN = Campaign()


FAILURES = Path(tempfile.gettempdir()) / "t10ir-fuzz-failures"
"""Without KEEP_GOING, the last failing case of each kind is kept here: hypothesis runs
the smallest one last."""


def record_failure(kind: str, result: Result, found: list[str], stdin: str) -> str:
    """Copy the failing case (its working directory and command) aside; the message."""
    CAMPAIGN.failures[kind] += 1
    message = (
        f"{kind}: {', '.join(found)}\n  $ {result.command()}\n  exit {result.code}, "
        f"stderr: {result.stderr.strip()[:2000] or '(empty)'}"
    )
    if KEEP_GOING is not None:
        case = Path(KEEP_GOING) / f"{kind}-{len(CAMPAIGN.failed):04d}"
    else:
        case = FAILURES / kind
    if case.exists():
        shutil.rmtree(case)
    shutil.copytree(result.cwd, case)
    (case / "command.sh").write_text(
        f'# {", ".join(found)}\ncd "$(dirname "$0")"\n'
        f'PATH="{Path(sys.executable).parent}:$PATH"\n{result.command()}'
        + (" < stdin.txt" if stdin else "")
        + "\n"
    )
    if stdin:
        (case / "stdin.txt").write_text(stdin)
    (case / "stderr.txt").write_text(result.stderr)
    (case / "argv.json").write_text(json.dumps([result.tool, *result.argv]) + "\n")
    message += f"\n  saved in {case} (command.sh runs it)"
    if KEEP_GOING is not None:
        CAMPAIGN.failed.append(message)
    return message


def check(
    kind: str, result: Result, compiled_here: bool = False, stdin: str = ""
) -> None:
    """Count a run; on a broken promise, fail (or record it, when keeping going)."""
    CAMPAIGN.runs[kind] += 1
    CAMPAIGN.exits[kind, result.code] += 1
    found = problems(result, compiled_here)
    if found:
        message = record_failure(kind, result, found, stdin)
        if KEEP_GOING is None:
            pytest.fail(message, pytrace=False)
    CAMPAIGN.save()


def fuzz_test(
    kind: str, body: Callable[..., None], strategy: st.SearchStrategy, default: int
) -> Callable[[], None]:
    """A pytest test running `body` on `default` examples of `strategy` (see budget)."""

    @budget(default)
    @given(strategy)
    def examples(case: object) -> None:
        CAMPAIGN.examples[kind] += 1
        with tempfile.TemporaryDirectory(prefix="t10ir-fuzz-") as work:
            body(Path(work), case)

    def test() -> None:
        before = len(CAMPAIGN.failed)
        examples()
        CAMPAIGN.save()
        failed = CAMPAIGN.failed[before:]
        if failed:
            pytest.fail(
                f"{len(failed)} failing {kind} cases:\n" + "\n".join(failed),
                pytrace=False,
            )

    test.__name__ = f"test_fuzz_{kind}"
    return test


# ----------------------------------------------------------------------------- seeds


def _strip_comments(text: str) -> str:
    return "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("//")
    )


def _mlir_chunks(path: Path) -> list[str]:
    chunks = [_strip_comments(c).strip() for c in path.read_text().split("// -----")]
    return [c + "\n" for c in chunks if c]


def _lit_files() -> list[Path]:
    found = sorted(p for p in LIT.rglob("*.mlir") if "Output" not in p.parts)
    return [*sorted(EXAMPLES.glob("*.mlir")), *found]


def _compiled_seeds() -> list[tuple[str, str]]:
    """mlp.mlir and ops.mlir lowered to the shift and core levels, to mutate too."""
    seeds: list[tuple[str, str]] = []
    pipelines = {
        "shift": f't10-partition{{target="{INPUTS / "grid16-9k.json"}"}},t10-select-plans,'
        "t10-lower-to-shift",
        "core": f't10-compile{{target="{INPUTS / "grid16-9k.json"}"}}',
    }
    with tempfile.TemporaryDirectory(prefix="t10ir-fuzz-seed-") as work:
        for source in (EXAMPLES / "mlp.mlir", INPUTS / "ops.mlir"):
            for level, pipeline in pipelines.items():
                result = run_in_process(
                    "t10-opt", [str(source), "-p", pipeline], Path(work)
                )
                if result.code == 0:
                    seeds.append((f"{source.stem}.{level}", result.stdout))
    return seeds


MLIR_SEEDS: list[tuple[str, str]] = [
    (f"{path.stem}.{index}", chunk)
    for path in _lit_files()
    for index, chunk in enumerate(_mlir_chunks(path))
]
MLIR_SEEDS += _compiled_seeds()


def _valid(seed: tuple[str, str]) -> bool:
    with tempfile.TemporaryDirectory(prefix="t10ir-fuzz-seed-") as work:
        (Path(work) / "seed.mlir").write_text(seed[1])
        return run_in_process("t10-opt", ["seed.mlir"], Path(work)).code == 0


VALID_MLIR_SEEDS = [seed for seed in MLIR_SEEDS if _valid(seed)]
"""The seeds t10-opt accepts, drawn most of the time: mutants of valid programs reach
the passes and the interpreters, mutants of the invalid ones the verifiers."""
MLIR_CORPUS = "\n".join(text for _, text in MLIR_SEEDS)

MACHINE_SEEDS: list[dict] = [
    json.loads((INPUTS / name).read_text())
    for name in ("grid16.json", "grid16-9k.json", "mesh16.json")
]
MACHINE_SEEDS.append(
    {
        **MACHINE_SEEDS[2],
        "name": "torus16",
        "torus": True,
        "chips": 2,
        "inter_chip_comm_factor": 1.5,
        "compute": {
            "matmul_m_block": 4,
            "copy_bytes_per_cycle": 4,
            "unary_fixed_cycles": 10,
        },
    }
)

# Files every run's working directory holds, as `NAME` (paths are relative to it).
ASSETS = {
    "mlp.mlir": EXAMPLES / "mlp.mlir",
    "ops.mlir": INPUTS / "ops.mlir",
    "grid16.json": INPUTS / "grid16.json",
    "grid16-9k.json": INPUTS / "grid16-9k.json",
    "mesh16.json": INPUTS / "mesh16.json",
    "tiny_graph.json": EXAMPLES / "tiny_graph.json",
    "small_cnn.onnx": EXAMPLES / "small_cnn.onnx",
}


def lay_out(work: Path) -> None:
    """Copies of the assets in the run's directory, and a few odd paths beside them."""
    for name, source in ASSETS.items():
        shutil.copyfile(source, work / name)
    (work / "chips").mkdir()
    shutil.copyfile(INPUTS / "grid16.json", work / "chips" / "my-chip.v2.json")
    (work / "a directory").mkdir()
    rng = np.random.default_rng(0)
    np.savez(
        work / "inputs.npz",
        arg0=rng.standard_normal((8, 64), dtype=np.float32),
        arg1=rng.standard_normal((64, 256), dtype=np.float32),
        arg2=rng.standard_normal((256, 16), dtype=np.float32),
    )
    np.savez(work / "wrong.npz", arg0=np.zeros((8, 63)), arg1=np.zeros(3, np.int64))
    (work / "bad.npz").write_bytes(b"PK\x03\x04 not a zip")
    (work / "latin1.mlir").write_bytes(
        b"// caf\xe9\nfunc.func @f() {\n  func.return\n}\n"
    )


# ------------------------------------------------------------------- text mutations

INTERESTING_NUMBERS = (
    "0", "1", "-1", "2", "3", "7", "16", "17", "64", "1000", "65536", "2147483648",
    "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "99999999999", "1e308", "1e999", "-1e308", "0.5", "-0.0", "1.5", "0x10", "nan",
    "inf", "00", "1e-300",
)  # fmt: skip
TYPES = (
    "f16", "bf16", "f32", "f64", "f80", "i1", "i8", "i16", "i32", "i64", "si32", "ui8",
    "index", "none", "i0", "i618446744073709551616", "i99999999999", "i65536",
    "complex<f32>", "tensor<2xf32>", "tensor<?xf32>", "tensor<*xf32>", "vector<4xf32>",
    "memref<4xf32>", "tuple<>", "!rtensor.bogus", "f32 {top.weight}",
)  # fmt: skip
CHARS = "{}()<>[]:;,=%@#!^\"'\\ \n\t.-+*/x0123456789?$~é\u2028\udcff\udce9\x00"
_NUMBER = re.compile(
    r"(?<![\w.%#@^])-?\d+(\.\d+)?([eE][+-]?\d+)?|(?<=x)\d+|(?<=[fi])\d+\b"
)
_TYPE = re.compile(r"\b(f16|bf16|f32|f64|i1|i8|i16|i32|i64|index)\b")
_DOTTED = re.compile(r"\b[a-z_]+\.[a-z_][a-z_0-9.]*\b")
_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_SSA = re.compile(r"[%@^#][\w.$-]+")
_TOKEN = re.compile(r'%[\w.]+|@[\w.]+|"(?:[^"\\\n]|\\.)*"|\w+|\S')

DOTTED_WORDS = sorted(
    set(_DOTTED.findall(MLIR_CORPUS)) | {"top.bogus", "core.", "func.call"}
)
CORPUS_TOKENS = sorted(set(_TOKEN.findall(MLIR_CORPUS)))
CORPUS_LINES = sorted({line for line in MLIR_CORPUS.splitlines() if line.strip()})


def _replace_match(draw, text: str, pattern: re.Pattern, choices: Sequence[str]) -> str:
    matches = list(pattern.finditer(text))
    if not matches:
        return text
    match = draw(st.sampled_from(matches))
    new = draw(st.sampled_from(choices))
    return text[: match.start()] + new + text[match.end() :]


def m_char(draw, text: str) -> str:
    if not text:
        return draw(st.sampled_from(CHARS))
    at = draw(st.integers(0, len(text) - 1))
    action = draw(st.sampled_from(("replace", "insert", "delete")))
    char = draw(st.sampled_from(CHARS) | st.characters(codec="utf-8"))
    if action == "delete":
        return text[:at] + text[at + 1 :]
    if action == "insert":
        return text[:at] + char + text[at:]
    return text[:at] + char + text[at + 1 :]


def m_span(draw, text: str) -> str:
    """Delete, duplicate or move a span of characters."""
    if len(text) < 2:
        return text
    start = draw(st.integers(0, len(text) - 2))
    end = draw(st.integers(start + 1, min(len(text), start + 40)))
    span = text[start:end]
    action = draw(st.sampled_from(("delete", "duplicate", "move")))
    if action == "delete":
        return text[:start] + text[end:]
    if action == "duplicate":
        return text[:end] + span + text[end:]
    rest = text[:start] + text[end:]
    at = draw(st.integers(0, len(rest)))
    return rest[:at] + span + rest[at:]


def m_number(draw, text: str) -> str:
    return _replace_match(draw, text, _NUMBER, INTERESTING_NUMBERS)


def m_type(draw, text: str) -> str:
    return _replace_match(draw, text, _TYPE, TYPES)


def m_dotted(draw, text: str) -> str:
    return _replace_match(draw, text, _DOTTED, DOTTED_WORDS)


def m_ssa(draw, text: str) -> str:
    names = sorted(set(_SSA.findall(text))) or ["%0"]
    return _replace_match(draw, text, _SSA, [*names, "%undefined", "@nowhere", "%0#1"])


def m_string(draw, text: str) -> str:
    """Mutate inside a string literal (einstein expressions, layouts, targets)."""
    matches = list(_STRING.finditer(text))
    if not matches:
        return text
    match = draw(st.sampled_from(matches))
    inner = match.group()[1:-1]
    mutate = draw(st.sampled_from((m_char, m_number, m_token, m_span)))
    return text[: match.start()] + '"' + mutate(draw, inner) + '"' + text[match.end() :]


def m_token(draw, text: str) -> str:
    matches = list(_TOKEN.finditer(text))
    if not matches:
        return text
    match = draw(st.sampled_from(matches))
    local = sorted({m.group() for m in matches})
    new = draw(st.sampled_from(local) | st.sampled_from(CORPUS_TOKENS))
    action = draw(st.sampled_from(("replace", "insert", "delete")))
    if action == "delete":
        new = ""
    elif action == "insert":
        new = new + " " + match.group()
    return text[: match.start()] + new + text[match.end() :]


def m_line(draw, text: str) -> str:
    lines = text.splitlines(keepends=True)
    if not lines:
        return text
    at = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(("delete", "duplicate", "swap", "splice")))
    if action == "delete":
        del lines[at]
    elif action == "duplicate":
        lines.insert(at, lines[at])
    elif action == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[at], lines[other] = lines[other], lines[at]
    else:
        lines.insert(at, draw(st.sampled_from(CORPUS_LINES)) + "\n")
    return "".join(lines)


def m_number_all(draw, text: str) -> str:
    """Replace every occurrence of one number: shapes change consistently."""
    numbers = sorted({m.group() for m in _NUMBER.finditer(text)})
    if not numbers:
        return text
    old = draw(st.sampled_from(numbers))
    new = draw(
        st.sampled_from(
            ("1", "2", "3", "5", "7", "16", "17", "33", *INTERESTING_NUMBERS)
        )
    )
    pattern = re.compile(
        rf"(?<![\w.%#@^]){re.escape(old)}(?![\w.])|(?<=x){re.escape(old)}(?=x)"
    )
    return pattern.sub(new, text)


def m_type_all(draw, text: str) -> str:
    """Replace every occurrence of one element type: types change consistently."""
    types = sorted(set(_TYPE.findall(text)))
    if not types:
        return text
    old = draw(st.sampled_from(types))
    return re.sub(rf"\b{old}\b", draw(st.sampled_from(TYPES)), text)


# The semantic mutations are drawn more often: they keep more programs parseable.
TEXT_MUTATIONS = (
    m_char, m_span, m_number, m_number, m_number_all, m_number_all, m_number_all,
    m_type, m_type_all, m_type_all, m_dotted, m_dotted, m_ssa, m_string, m_string,
    m_token, m_line,
)  # fmt: skip


def mutate_text(
    draw, text: str, mutations: Sequence = TEXT_MUTATIONS, most: int = 3
) -> str:
    for _ in range(draw(st.sampled_from((1, 1, 1, 2, 3)[: most + 2]))):
        text = draw(st.sampled_from(mutations))(draw, text)
    return text


def write_text(path: Path, text: str) -> None:
    """`text` as bytes: lone surrogates stand for bytes that are not UTF-8."""
    path.write_bytes(text.encode("utf-8", "surrogateescape"))


def declared_result_shapes(text: str) -> list[tuple[int, ...]] | None:
    """The result shapes of the only function of a top-level module (None otherwise)."""
    from xdsl.dialects import func
    from xdsl.dialects.builtin import TensorType
    from xdsl.parser import Parser

    from t10ir.context import make_context

    try:
        module = Parser(make_context(), text).parse_module()
    except Exception:  # noqa: BLE001 the tool parsed it; this parser may not
        return None
    functions = [op for op in module.ops if isinstance(op, func.FuncOp)]
    if len(functions) != 1 or not top_level(text):
        return None
    types = functions[0].function_type.outputs.data
    if not all(isinstance(t, TensorType) for t in types):
        return None
    return [tuple(t.get_shape()) for t in types]


def check_output_file(kind: str, result: Result, text: str) -> None:
    """A run that wrote --output wrote each result with its declared shape."""
    if result.code != 0 or "--output" not in result.argv:
        return
    path = result.cwd / result.argv[result.argv.index("--output") + 1]
    declared = declared_result_shapes(text)
    if declared is None or not path.exists():
        return
    with np.load(path) as archive:
        written = [archive[f"out{i}"].shape for i in range(len(archive.files))]
    if written != declared:
        found = [f"wrong result: --output has shapes {written}, declared {declared}"]
        message = record_failure(kind, result, found, "")
        if KEEP_GOING is None:
            pytest.fail(message, pytrace=False)


def top_level(text: str) -> bool:
    return not re.search(r"\b(shift|core|rtensor)\.", text)


# ------------------------------------------------------------------------ (a) .mlir

GRID = "grid16.json"
GRID9K = "grid16-9k.json"
MESH = "mesh16.json"

OPT_COMMANDS: tuple[tuple[str, ...], ...] = (
    (),
    ("-p", "canonicalize"),
    ("-p", "canonicalize,cse"),
    ("--print-op-generic",),
    ("--split-input-file",),
    ("--split-input-file", "--verify-diagnostics"),
    (f'--pass-pipeline=builtin.module(t10-partition{{target="{GRID}"}})',),
    ("-p", f't10-partition{{target="{GRID}"}},t10-plan-report'),
    ("-p", f't10-compile{{target="{GRID9K}"}}'),
    ("-p", f't10-compile{{target="{GRID9K}" strategy=optimal time-limit=5}}'),
    ("-p", f't10-compile{{target="{MESH}" strategy=vgm}}'),
    ("-p", f't10-compile{{target="{GRID9K}" strategy=no-rotation}}'),
    (
        "-p",
        f't10-partition{{target="{GRID9K}"}},t10-select-plans,t10-lower-to-shift,'
        "t10-eliminate-redundant-shifts,t10-lower-to-core",
    ),
    ("-p", "t10-lower-to-core"),
    ("-p", "t10-eliminate-redundant-shifts,t10-lower-to-core"),
)
RUN_COMMANDS: tuple[tuple[str, ...], ...] = (
    (),
    ("--output", "out.npz"),
    ("--compute-dtype", "float64", "--seed", "3"),
    ("--target", GRID, "--check"),
    ("--inputs", "inputs.npz"),
    ("--target", GRID9K, "--check", "--inputs", "inputs.npz"),
    ("--target", GRID9K, "--check"),
    ("--target", GRID9K, "--check", "--strategy", "optimal"),
    ("--target", MESH, "--check", "--strategy", "vgm"),
    ("--target", GRID9K, "--timing-only", "--report", "report.json"),
    (
        "--target",
        GRID9K,
        "--output",
        "out.npz",
        "--trace",
        "trace.json",
        "--trace-cores",
        "2",
    ),
)


@st.composite
def mlir_cases(draw):
    seeds = VALID_MLIR_SEEDS if draw(st.integers(0, 4)) else MLIR_SEEDS
    name, text = draw(st.sampled_from(seeds))
    text = mutate_text(draw, text)
    tool = draw(st.sampled_from(("t10-opt", "t10-run")))
    options = draw(st.sampled_from(OPT_COMMANDS if tool == "t10-opt" else RUN_COMMANDS))
    return name, text, tool, options


def fuzz_mlir(work: Path, case) -> None:
    name, text, tool, options = case
    lay_out(work)
    write_text(work / "input.mlir", text)
    result = run_in_process(tool, ["input.mlir", *options], work)
    compiled = tool == "t10-run" and "--target" in options and top_level(text)
    check("mlir", result, compiled_here=compiled)
    check_output_file("mlir", result, text)


test_fuzz_mlir = fuzz_test("mlir", fuzz_mlir, mlir_cases(), 150)


# ------------------------------------------------------------ (a') whole programs

ZOO_SEEDS = (
    ("bert-base", "--layers", "1", "--seq", "8", "--set", "hidden=32", "--set", "heads=2", "--set", "ffn=64"),
    ("gpt2", "--layers", "1", "--seq", "8", "--set", "hidden=32", "--set", "heads=2", "--set", "ffn=64"),
    ("vit-b16", "--layers", "1", "--set", "image=32", "--set", "hidden=32", "--set", "heads=2", "--set", "ffn=64", "--set", "classes=10"),
    ("nerf", "--batch", "16", "--set", "width=16", "--layers", "2", "--set", "skip=0"),
)  # fmt: skip


def _split_functions(text: str) -> list[str]:
    """Each top-level function of a module of several as a module of its own."""
    functions = re.findall(r"^func\.func .*?^}\n", text, re.DOTALL | re.MULTILINE)
    return functions if len(functions) > 1 else [text]


def _program_seeds() -> list[tuple[str, str]]:
    seeds = [
        (f"{name}.{index}", function)
        for name, text in VALID_MLIR_SEEDS
        if top_level(text) and "func.func" in text
        for index, function in enumerate(_split_functions(text))
    ]
    with tempfile.TemporaryDirectory(prefix="t10ir-fuzz-seed-") as work:
        for argv in ZOO_SEEDS:
            result = run_in_process("t10-zoo", list(argv), Path(work))
            if result.code == 0:
                seeds.append((f"zoo.{argv[0]}", result.stdout))
        lay_out(Path(work))
        for argv in (
            ["tiny_graph.json", "--batch", "2", "--seq", "3"],
            ["small_cnn.onnx", "--batch", "2"],
        ):
            result = run_in_process("t10-import", argv, Path(work))
            if result.code == 0:
                seeds.append((f"import.{argv[0]}", result.stdout))
    return seeds


PROGRAM_SEEDS = _program_seeds()
PROGRAM_MUTATIONS = (
    m_number_all,
    m_number_all,
    m_number,
    m_type_all,
    m_dotted,
    m_string,
)
SMALL_NUMBERS = (
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "12",
    "16",
    "17",
    "24",
    "31",
    "32",
)


def m_small_number_all(draw, text: str) -> str:
    """A shape or attribute number changed everywhere to another small one."""
    numbers = sorted({m.group() for m in _NUMBER.finditer(text)})
    if not numbers:
        return text
    old = draw(st.sampled_from(numbers))
    new = draw(st.sampled_from(SMALL_NUMBERS))
    pattern = re.compile(
        rf"(?<![\w.%#@^]){re.escape(old)}(?![\w.])|(?<=x){re.escape(old)}(?=x)"
    )
    return pattern.sub(new, text)


@st.composite
def small_machines(draw) -> str:
    cores = draw(st.sampled_from((1, 2, 3, 4, 6, 8, 12, 16)))
    machine: dict = {
        "name": "fuzz",
        "cores": cores,
        "sram_bytes": draw(st.sampled_from((1024, 4096, 6144, 9216, 32768, 1 << 20))),
        "clock_hz": 1e9,
        "link_bytes_per_cycle": draw(st.sampled_from((1, 4, 32))),
        "sync_cycles": draw(st.sampled_from((0, 100))),
        "topology": "all-to-all",
    }
    shapes = [(r, cores // r) for r in range(1, cores + 1) if cores % r == 0]
    if draw(st.booleans()):
        machine.update(
            topology="mesh2d",
            mesh=list(draw(st.sampled_from(shapes))),
            hop_cycles=draw(st.sampled_from((0, 10))),
            torus=draw(st.booleans()),
        )
    divisors = [c for c in (1, 2, 4) if cores % c == 0]
    chips = draw(st.sampled_from(divisors))
    if chips > 1:
        machine.update(chips=chips, inter_chip_comm_factor=1.5)
    return json.dumps(machine)


@st.composite
def program_cases(draw):
    name, text = draw(st.sampled_from(PROGRAM_SEEDS))
    for _ in range(draw(st.sampled_from((0, 1, 1, 2)))):
        mutation = draw(
            st.sampled_from((*PROGRAM_MUTATIONS, *[m_small_number_all] * 5))
        )
        text = mutation(draw, text)
    entries = re.findall(r"^func\.func @([\w.$-]+)", text, re.MULTILINE)
    entry = ("--entry", draw(st.sampled_from(entries))) if len(entries) > 1 else ()
    strategy = draw(st.sampled_from(("greedy", "optimal", "no-rotation", "vgm")))
    extra = draw(
        st.sampled_from(((), ("--compute-dtype", "float64"), ("--output", "out.npz")))
    )
    return name, text, draw(small_machines()), (*entry, "--strategy", strategy, *extra)


def fuzz_programs(work: Path, case) -> None:
    name, text, machine, options = case
    lay_out(work)
    write_text(work / "input.mlir", text)
    (work / "machine.json").write_text(machine)
    argv = ["input.mlir", "--target", "machine.json", "--check", *options]
    result = run_in_process("t10-run", argv, work)
    check("programs", result, compiled_here=True)
    check_output_file("programs", result, text)


test_fuzz_programs = fuzz_test("programs", fuzz_programs, program_cases(), 50)


# ------------------------------------------------------------------ (a'') the zoo

ZOO_SMALL = {
    "bert-base": {"layers": "1", "seq": "8", "hidden": "32", "heads": "2", "ffn": "64"},
    "gpt2": {"layers": "1", "seq": "8", "hidden": "32", "heads": "2", "ffn": "64"},
    "vit-b16": {
        "layers": "1", "image": "32", "hidden": "32", "heads": "2", "ffn": "64",
        "classes": "10",
    },
    "resnet50": {"image": "32", "width": "4", "blocks": "1,1,1,1", "classes": "10"},
    "nerf": {"batch": "16", "width": "16", "layers": "2", "skip": "0"},
}  # fmt: skip
ZOO_VALUES = (
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "12", "16", "-1", "1.5", "x", "",
    "99999999999999999999", "1e-30", "nan", "inf", "-0.5", "0.5", "1,1", "1,2,1,1",
    "0,1,1,1", "2", "f16", "f32", "f64", "bf16", "expr", "add", "none", "true",
)  # fmt: skip
ZOO_TYPED = {
    bool: ("true", "false"),
    int: ("0", "1", "2", "3", "4", "5", "6", "7", "8", "12", "16", "-1"),
    float: ("0", "1e-5", "1e-30", "nan", "inf", "-0.5", "0.5", "1e30"),
    tuple: ("1,1", "1,2,1,1", "0,1,1,1", "1,1,1", "2,1,1,1", "1"),
    str: ("f16", "f32", "expr", "weight"),
}
"""Values of each option's type, drawn four times in five (bool before int: a bool
is an int)."""
_DEDICATED = ("batch", "seq", "dtype", "layers")


@st.composite
def zoo_cases(draw):
    from t10ir.models import options

    model = draw(st.sampled_from(sorted(ZOO_SMALL)))
    values = dict(ZOO_SMALL[model])
    names = sorted(options(model))
    defaults = options(model)
    for _ in range(draw(st.sampled_from((1, 1, 2, 3)))):
        name = draw(st.sampled_from(names))
        default = defaults[name]
        typed = next(
            (v for k, v in ZOO_TYPED.items() if isinstance(default, k)), ZOO_VALUES
        )
        choices = typed if draw(st.integers(0, 4)) else ZOO_VALUES
        values[name] = draw(st.sampled_from(choices))
    argv = [model]
    for name, value in values.items():
        argv += (
            [f"--{name}", value] if name in _DEDICATED else ["--set", f"{name}={value}"]
        )
    run = draw(
        st.sampled_from(
            (
                ("model.mlir", "--inputs", "args.npz"),
                ("model.mlir", "--inputs", "args.npz", "--target", GRID9K, "--check"),
                (
                    "model.mlir",
                    "--inputs",
                    "args.npz",
                    "--target",
                    "machine.json",
                    "--check",
                ),
                ("model.mlir", "--target", "ipu-mk2", "--check", "--strategy", "vgm"),
            )
        )
    )
    return argv, draw(small_machines()), run


def fuzz_zoo(work: Path, case) -> None:
    argv, machine, run_argv = case
    lay_out(work)
    (work / "machine.json").write_text(machine)
    built = run_in_process(
        "t10-zoo", [*argv, "-o", "model.mlir", "--arguments", "args.npz"], work
    )
    check("zoo", built)
    if built.code == 0:
        ran = run_in_process("t10-run", list(run_argv), work)
        check("zoo", ran, compiled_here="--target" in run_argv)


test_fuzz_zoo = fuzz_test("zoo", fuzz_zoo, zoo_cases(), 15)


# --------------------------------------------------------------------- (b) pipelines

PIPELINE_SEEDS = (
    f"t10-partition{{target={GRID}}}",
    f't10-partition{{target="{GRID9K}" min-core-fraction=0.5 max-padding=0.2 rotation-dims=2}}',
    f"t10-compile{{target={GRID9K} strategy=optimal time-limit=1e-1}}",
    f"t10-partition{{target={GRID9K}}},t10-select-plans{{strategy=vgm}},t10-lower-to-shift",
    f"t10-partition{{target={MESH}}},t10-plan-report{{file=report.txt}}",
    "t10-partition{target=chips/my-chip.v2.json},t10-select-plans{strategy=greedy time-limit=2}",
    "canonicalize,cse",
)
PASS_NAMES = (
    "t10-partition", "t10-select-plans", "t10-lower-to-shift", "t10-lower-to-core",
    "t10-eliminate-redundant-shifts", "t10-plan-report", "t10-compile", "canonicalize",
    "cse", "no-such-pass", "-x", "--help", "builtin.module", "",
)  # fmt: skip
OPTION_NAMES = (
    "target", "strategy", "time-limit", "time_limit", "min-core-fraction",
    "max-padding", "rotation-dims", "file", "bogus", "-", "",
)  # fmt: skip
OPTION_VALUES = (
    GRID, GRID9K, MESH, f'"{GRID}"', "chips/my-chip.v2.json", "../chips/a.json",
    "/nonexistent/a.json", "ipu-mk2", "wormhole-8x8", "ipu-pod4", "nope", "mlp.mlir",
    "small_cnn.onnx", '"a directory"', "latin1.mlir", "greedy", "optimal", "vgm",
    "no-rotation", "bogus", *INTERESTING_NUMBERS, "1e-1", "true", "false", '""', '"',
    "[1,2]", "{}", "report.txt", "-", "a directory/x.txt", "no/such/dir/x.txt",
)  # fmt: skip
_PASS_NAME = re.compile(r"(?<![\w-])[a-z][\w.-]*(?=\{|,|$)")
_OPTION = re.compile(r"(?<=[{ ])([\w-]+)=")
_VALUE = re.compile(r'(?<==)("[^"]*"|[^ {},]+)')


def p_pass(draw, text: str) -> str:
    return _replace_match(draw, text, _PASS_NAME, PASS_NAMES)


def p_option(draw, text: str) -> str:
    return _replace_match(draw, text, _OPTION, [f"{name}=" for name in OPTION_NAMES])


def p_value(draw, text: str) -> str:
    return _replace_match(draw, text, _VALUE, OPTION_VALUES)


def p_duplicate(draw, text: str) -> str:
    """Repeat an option (`target=a target=b`) or a pass."""
    options = list(re.finditer(r"(?<=[{ ])[\w-]+=(\"[^\"]*\"|[^ {},]+)", text))
    if options and draw(st.booleans()):
        match = draw(st.sampled_from(options))
        return text[: match.end()] + " " + match.group() + text[match.end() :]
    passes = text.split(",")
    return ",".join([*passes, draw(st.sampled_from(passes))])


PIPELINE_MUTATIONS = (
    p_pass,
    p_option,
    p_value,
    p_value,
    p_duplicate,
    m_char,
    m_span,
    m_token,
)


@st.composite
def pipeline_cases(draw):
    pipeline = mutate_text(
        draw, draw(st.sampled_from(PIPELINE_SEEDS)), PIPELINE_MUTATIONS
    )
    form = draw(st.sampled_from(("-p", "--pass-pipeline=", "--pass-pipeline")))
    source = draw(st.sampled_from(("ops.mlir", "mlp.mlir")))
    extra = draw(st.sampled_from(((), ("-o", "out.mlir"))))
    return pipeline, form, source, extra


def fuzz_pipelines(work: Path, case) -> None:
    pipeline, form, source, extra = case
    lay_out(work)
    if form == "-p":
        argv = [source, "-p", pipeline]
    elif form == "--pass-pipeline=":
        argv = [source, f"--pass-pipeline=builtin.module({pipeline})"]
    else:
        argv = [source, "--pass-pipeline", f"builtin.module({pipeline})"]
    check("pipelines", run_in_process("t10-opt", [*argv, *extra], work))


test_fuzz_pipelines = fuzz_test("pipelines", fuzz_pipelines, pipeline_cases(), 80)


# ---------------------------------------------------------------------- (c) machines

MACHINE_KEYS = (
    "name", "cores", "sram_bytes", "clock_hz", "link_bytes_per_cycle", "sync_cycles",
    "topology", "mesh", "torus", "hop_cycles", "chips", "inter_chip_comm_factor",
    "compute", "bogus",
)  # fmt: skip
COMPUTE_KEYS = (
    "matmul_m_block", "matmul_k_block_bytes", "matmul_n_block",
    "matmul_block_cycles_per_byte", "matmul_kn_block_cycles", "matmul_n_block_cycles",
    "matmul_fixed_cycles", "matmul_no_swap_max_m", "elementwise_cycles_per_element",
    "elementwise_fixed_cycles", "elementwise_small_cycles_per_element",
    "elementwise_small_fixed_cycles", "elementwise_small_max_elements",
    "unary_cycles_per_element", "unary_fixed_cycles", "reduction_cycles_per_element",
    "reduction_fixed_cycles", "copy_bytes_per_cycle", "copy_fixed_cycles", "bogus",
)  # fmt: skip
JSON_VALUES = (
    0, 1, -1, 2, 3, 4, 8, 16, 17, 64, 0.5, 1e-300, 1e-9, 1e308, -1e308,
    2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, math.inf, -math.inf, math.nan,
    True, False, None, "16", "", "x", "mesh2d", "all-to-all", "torus", [], [4, 4],
    [2, 8], [0, 16], [16, 1], [-4, -4], [4.5, 4], [2**63, 1], {}, {"bogus": 1},
)  # fmt: skip


MACHINE_NUMBERS = (
    0, 1, -1, 2, 3, 4, 8, 16, 17, 64, 4096, 65536, 10**6, 0.5, 1e-300, 1e-9, 1e308,
    -1e308, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, math.inf, -math.inf,
    math.nan,
)  # fmt: skip


def _set_number(draw, table: dict, keys: Sequence[str]) -> None:
    """Give a key (mostly one the table has) an interesting value of its kind."""
    numeric = [k for k, v in table.items() if isinstance(v, int | float) and k in keys]
    key = draw(
        st.sampled_from(numeric)
        if numeric and draw(st.integers(0, 3))
        else st.sampled_from(keys)
    )
    value = table.get(key)
    if (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and draw(st.booleans())
    ):
        factor = draw(st.sampled_from((0.5, 2, 3, 10, 1000, -1)))
        new = value * factor
        table[key] = int(new) if isinstance(value, int) and draw(st.booleans()) else new
    else:
        table[key] = draw(st.sampled_from(MACHINE_NUMBERS))


@st.composite
def machine_documents(draw):
    doc = copy.deepcopy(draw(st.sampled_from(MACHINE_SEEDS)))
    for _ in range(draw(st.sampled_from((1, 1, 2, 3)))):
        action = draw(
            st.sampled_from(
                ("number", "number", "number", "compute", "compute", "any", "delete", "rename", "whole")
            )
        )  # fmt: skip
        if not isinstance(doc, dict):
            break
        if action == "number":
            _set_number(draw, doc, MACHINE_KEYS)
        elif action == "compute":
            compute = doc.get("compute")
            if not isinstance(compute, dict):
                compute = doc["compute"] = {}
            _set_number(draw, compute, COMPUTE_KEYS)
        elif action == "any":
            doc[draw(st.sampled_from(MACHINE_KEYS))] = draw(
                st.sampled_from(JSON_VALUES)
            )
        elif action == "delete" and doc:
            del doc[draw(st.sampled_from(sorted(doc)))]
        elif action == "rename" and doc:
            key = draw(st.sampled_from(sorted(doc)))
            doc[key.upper() if draw(st.booleans()) else key + "s"] = doc.pop(key)
        elif action == "whole":
            doc = draw(st.sampled_from(([doc], 16, "grid16", None)))
    text = json.dumps(doc, indent=2)  # non-finite numbers as Infinity and NaN
    if draw(st.integers(0, 5)) == 0:
        text = mutate_text(draw, text, (m_char, m_span, m_number, m_token), most=2)
    return text


MACHINE_COMMANDS = (
    ("t10-run", ("mlp.mlir", "--target", "machine.json", "--check")),
    (
        "t10-run",
        ("mlp.mlir", "--target", "machine.json", "--check", "--strategy", "vgm"),
    ),
    ("t10-run", ("ops.mlir", "--target", "machine.json", "--check")),
    (
        "t10-run",
        ("ops.mlir", "--target", "machine.json", "--check", "--strategy", "optimal"),
    ),
    ("t10-run", ("mlp.mlir", "--target", "machine.json", "--timing-only")),
    ("t10-opt", ("mlp.mlir", "-p", 't10-compile{target="machine.json" strategy=vgm}')),
    (
        "t10-opt",
        ("ops.mlir", "-p", 't10-partition{target="machine.json"},t10-plan-report'),
    ),
)


@st.composite
def machine_cases(draw):
    return draw(machine_documents()), draw(st.sampled_from(MACHINE_COMMANDS))


def fuzz_machines(work: Path, case) -> None:
    text, (tool, argv) = case
    lay_out(work)
    write_text(work / "machine.json", text)
    check(
        "machines",
        run_in_process(tool, list(argv), work),
        compiled_here=tool == "t10-run",
    )


test_fuzz_machines = fuzz_test("machines", fuzz_machines, machine_cases(), 80)


# -------------------------------------------------------------------------- (d) ONNX

ONNX_SEEDS = {
    path.name: onnx.load(str(path)) for path in sorted(EXAMPLES.glob("*.onnx"))
}
ONNX_OPS = sorted(
    {node.op_type for model in ONNX_SEEDS.values() for node in model.graph.node}
    | {"Add", "Gemm", "BatchNormalization", "Conv", "Softmax", "Bogus", "Identity"}
)
ONNX_INTS = (0, 1, -1, 2, 3, -2, 7, 100, 2**31, 2**62, -(2**62))
ONNX_FLOATS = (0.0, -1.0, 0.5, 1e-12, 1e30, math.inf, -math.inf, math.nan)
ONNX_ELEM_TYPES = (0, 1, 2, 6, 7, 9, 10, 11, 16, 99)
ONNX_OPSETS = (1, 6, 7, 9, 11, 13, 17, 21, 99)


def _onnx_node_attribute(draw, model) -> None:
    nodes = [node for node in model.graph.node if node.attribute]
    if not nodes:
        return
    node = draw(st.sampled_from(nodes))
    attribute = draw(st.sampled_from(list(node.attribute)))
    action = draw(st.sampled_from(("value", "value", "delete", "legacy")))
    if action == "delete":
        node.attribute.remove(attribute)
    elif action == "legacy":
        name = draw(
            st.sampled_from(
                ("is_test", "broadcast", "spatial", "consumed_inputs", "bogus")
            )
        )
        node.attribute.append(
            onnx.helper.make_attribute(name, draw(st.sampled_from((0, 1, [1, 2]))))
        )
    elif attribute.type == onnx.AttributeProto.INT:
        attribute.i = draw(st.sampled_from(ONNX_INTS))
    elif attribute.type == onnx.AttributeProto.FLOAT:
        attribute.f = draw(st.sampled_from(ONNX_FLOATS))
    elif attribute.type == onnx.AttributeProto.INTS:
        values = list(attribute.ints)
        if values:
            values[draw(st.integers(0, len(values) - 1))] = draw(
                st.sampled_from(ONNX_INTS)
            )
        if draw(st.booleans()):
            values = values[:-1] if values and draw(st.booleans()) else [*values, 1]
        del attribute.ints[:]
        attribute.ints.extend(values)
    elif attribute.type == onnx.AttributeProto.STRING:
        attribute.s = draw(
            st.sampled_from((b"", b"NOTSET", b"SAME_UPPER", b"VALID", b"\xff"))
        )


def _onnx_shape(draw, model) -> None:
    values = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    typed = [v for v in values if v.type.tensor_type.shape.dim]
    if not typed:
        return
    value = draw(st.sampled_from(typed))
    tensor_type = value.type.tensor_type
    action = draw(st.sampled_from(("dim", "dim", "elem_type", "rank")))
    if action == "elem_type":
        tensor_type.elem_type = draw(st.sampled_from(ONNX_ELEM_TYPES))
    elif action == "rank":
        if draw(st.booleans()):
            del tensor_type.shape.dim[-1]
        else:
            tensor_type.shape.dim.add().dim_value = draw(st.sampled_from((1, 2, 3)))
    else:
        dim = draw(st.sampled_from(list(tensor_type.shape.dim)))
        choice = draw(st.sampled_from((0, 1, 2, 3, 5, 1000, 2**40, "N", "batch", "")))
        if isinstance(choice, str):
            dim.dim_param = choice
        else:
            dim.dim_value = choice


def _onnx_initializer(draw, model) -> None:
    if not model.graph.initializer:
        return
    tensor = draw(st.sampled_from(list(model.graph.initializer)))
    action = draw(st.sampled_from(("dims", "data_type", "truncate")))
    if action == "dims":
        dims = list(tensor.dims)
        if dims and draw(st.booleans()):
            dims[draw(st.integers(0, len(dims) - 1))] = draw(
                st.sampled_from((0, 1, 2, 7, -1))
            )
        else:
            dims = draw(st.sampled_from(([], [1], dims[::-1], [*dims, 1])))
        del tensor.dims[:]
        tensor.dims.extend(dims)
    elif action == "data_type":
        tensor.data_type = draw(st.sampled_from(ONNX_ELEM_TYPES))
    elif tensor.raw_data:
        tensor.raw_data = tensor.raw_data[
            : draw(st.integers(0, len(tensor.raw_data) - 1))
        ]


def _onnx_graph(draw, model) -> None:
    nodes = list(model.graph.node)
    if not nodes:
        return
    node = draw(st.sampled_from(nodes))
    action = draw(
        st.sampled_from(("op_type", "input", "delete", "output", "opset", "domain"))
    )
    names = sorted(
        {n for x in nodes for n in [*x.input, *x.output]}
        | {i.name for i in model.graph.input}
        | {"", "nowhere"}
    )
    if action == "op_type":
        node.op_type = draw(st.sampled_from(ONNX_OPS))
    elif action == "input":
        inputs = list(node.input)
        if inputs and draw(st.booleans()):
            inputs[draw(st.integers(0, len(inputs) - 1))] = draw(st.sampled_from(names))
        elif inputs and draw(st.booleans()):
            inputs.pop()
        else:
            inputs.append(draw(st.sampled_from(names)))
        del node.input[:]
        node.input.extend(inputs)
    elif action == "delete":
        model.graph.node.remove(node)
    elif action == "output":
        outputs = list(model.graph.output)
        if outputs and draw(st.booleans()):
            outputs[0].name = draw(st.sampled_from(names))
        elif outputs:
            model.graph.output.remove(outputs[-1])
    elif action == "opset":
        model.opset_import[0].version = draw(st.sampled_from(ONNX_OPSETS))
    else:
        node.domain = draw(st.sampled_from(("", "ai.onnx", "com.microsoft", "bogus")))


ONNX_MUTATIONS = (
    _onnx_node_attribute,
    _onnx_node_attribute,
    _onnx_shape,
    _onnx_initializer,
    _onnx_graph,
    _onnx_graph,
)


@st.composite
def onnx_cases(draw):
    name = draw(st.sampled_from(sorted(ONNX_SEEDS)))
    model = copy.deepcopy(ONNX_SEEDS[name])
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(ONNX_MUTATIONS))(draw, model)
    data = model.SerializeToString()
    if draw(st.integers(0, 4)) == 0:  # the bytes too
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(("flip", "truncate", "insert")))
        if action == "flip":
            data = (
                data[:at]
                + bytes([data[at] ^ draw(st.integers(1, 255))])
                + data[at + 1 :]
            )
        elif action == "truncate":
            data = data[:at]
        else:
            data = data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    batch = draw(st.sampled_from(("1", "2", "3")))
    return name, data, batch, draw(st.sampled_from(RUN_AFTER_IMPORT))


RUN_AFTER_IMPORT = (
    ("imported.mlir",),
    ("imported.mlir", "--target", GRID9K, "--check"),
    ("imported.mlir", "--target", "ipu-mk2", "--check"),
)


def _import_and_run(
    kind: str, work: Path, import_argv: list[str], run_argv: Sequence[str]
) -> None:
    imported = run_in_process("t10-import", [*import_argv, "-o", "imported.mlir"], work)
    check(kind, imported)
    if imported.code == 0:
        ran = run_in_process("t10-run", list(run_argv), work)
        check(kind, ran, compiled_here="--target" in run_argv)


def fuzz_onnx(work: Path, case) -> None:
    name, data, batch, run_argv = case
    lay_out(work)
    (work / name).write_bytes(data)
    _import_and_run("onnx", work, [name, "--batch", batch], run_argv)


test_fuzz_onnx = fuzz_test("onnx", fuzz_onnx, onnx_cases(), 80)


# ---------------------------------------------------------------------- (e) NNFusion

GRAPH_SEED = json.loads((EXAMPLES / "tiny_graph.json").read_text())
GRAPH_VALUES = (
    *JSON_VALUES,
    [[0, 0]],
    [[10, 0]],
    [[10, 5]],
    [[-1, 0]],
    [[0]],
    [0, 0],
    "Dot",
    "Result",
)
GRAPH_TYPES = sorted(
    {node[2] for node in GRAPH_SEED} | {"Result", "Reshape", "Bogus", ""}
)
_EINSTEIN_WORDS = (
    "float16",
    "float64",
    "int32",
    "int64",
    "bool",
    "dtype",
    "shape",
    "input9",
    "output1",
    "where",
    "in",
    "when",
)


def g_text(draw, text: str) -> str:
    mutation = draw(st.sampled_from((m_char, m_number, m_token, m_span, g_word)))
    return mutation(draw, text)


def g_word(draw, text: str) -> str:
    words = sorted(set(re.findall(r"[A-Za-z_]\w*", text))) or ["x"]
    return _replace_match(
        draw, text, re.compile(r"[A-Za-z_]\w*"), [*words, *_EINSTEIN_WORDS]
    )


@st.composite
def graph_documents(draw):
    graph = copy.deepcopy(GRAPH_SEED)
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(graph, list) or not graph:
            break
        index = draw(st.integers(0, len(graph) - 1))
        node = graph[index]
        action = draw(
            st.sampled_from(
                (
                    "expr",
                    "expr",
                    "field",
                    "type",
                    "inputs",
                    "delete",
                    "duplicate",
                    "shape",
                )
            )
        )
        if not isinstance(node, list) or len(node) < 4:
            action = "field" if isinstance(node, list) and node else "delete"
        if action == "expr" and isinstance(node[1], str):
            node[1] = g_text(draw, node[1])
        elif action == "field":
            slot = draw(st.integers(0, len(node)))
            value = draw(st.sampled_from(GRAPH_VALUES))
            if slot == len(node):
                node.append(value)
            elif draw(st.integers(0, 4)) == 0:
                del node[slot]
            else:
                node[slot] = value
        elif action == "type":
            node[2] = draw(st.sampled_from(GRAPH_TYPES))
        elif action == "inputs" and isinstance(node[3], list):
            ids = [n[0] for n in graph if isinstance(n, list) and n]
            new = [
                draw(st.sampled_from([*ids, 0, 1, 2, 99, -1])),
                draw(st.sampled_from((0, 1, -1))),
            ]
            if node[3] and draw(st.booleans()):
                node[3][draw(st.integers(0, len(node[3]) - 1))] = new
            elif node[3] and draw(st.booleans()):
                node[3].pop()
            else:
                node[3].append(new)
        elif action == "delete":
            del graph[index]
        elif action == "duplicate":
            graph.insert(index, copy.deepcopy(node))
        elif action == "shape" and isinstance(node[1], str):
            node[1] = _replace_match(
                draw, node[1], re.compile(r"\d+"), INTERESTING_NUMBERS[:16]
            )
    if draw(st.integers(0, 5)) == 0:
        graph = draw(st.sampled_from(({"nodes": graph}, [graph], 7, None, [])))
    text = json.dumps(graph, indent=2)
    if draw(st.integers(0, 4)) == 0:
        text = mutate_text(draw, text, (m_char, m_span, m_number), most=2)
    return text


@st.composite
def nnfusion_cases(draw):
    text = draw(graph_documents())
    options = draw(
        st.sampled_from(
            (
                ("--batch", "2", "--seq", "3"),
                ("--batch", "1", "--seq", "2", "--dtype", "f16"),
                ("--batch", "3", "--seq", "1", "--dtype", "f64"),
                ("--seq", "4"),
            )
        )
    )
    return text, options, draw(st.sampled_from(RUN_AFTER_IMPORT))


def fuzz_nnfusion(work: Path, case) -> None:
    text, options, run_argv = case
    lay_out(work)
    write_text(work / "graph.json", text)
    _import_and_run("nnfusion", work, ["graph.json", *options], run_argv)


test_fuzz_nnfusion = fuzz_test("nnfusion", fuzz_nnfusion, nnfusion_cases(), 80)


# ----------------------------------------------------------------- (f) command lines

FLAGS = {
    "t10-opt": (
        "-p", "--pass-pipeline", "--pass-pipeline=builtin.module(-x)",
        "--pass-pipeline=builtin.module(canonicalize)", "-o", "--output-file",
        "--split-input-file", "--verify-diagnostics", "--print-op-generic",
        "--disable-verify", "--allow-unregistered-dialect", "-t", "--target", "--help",
        "--version", "-x", "--bogus",
    ),
    "t10-run": (
        "--entry", "--inputs", "--seed", "--output", "--compute-dtype", "--target",
        "--strategy", "--check", "--reference", "--timing-only", "--report", "--trace",
        "--trace-cores", "--help", "--bogus", "-x",
    ),
    "t10-import": (
        "-o", "--output", "--batch", "--seq", "--dtype", "--weights", "--name", "--help",
        "--bogus", "-x",
    ),
    "t10-zoo": (
        "--list", "-o", "--output", "--batch", "--seq", "--dtype", "--layers", "--set",
        "--arguments", "--seed", "--help", "--bogus", "nerf", "gpt2", "bert-base",
        "resnet50", "vit-b16", "no-such-model",
    ),
}  # fmt: skip
CLI_VALUES = (
    "mlp.mlir", "ops.mlir", "-", "nothing.mlir", "a directory", "latin1.mlir",
    "tiny_graph.json", "small_cnn.onnx", GRID, "ipu-mk2", "out.mlir", "out.npz",
    "inputs.npz", "wrong.npz", "bad.npz",
    "no/such/dir/out.mlir", "a directory/out.npz", "0", "1", "2", "-1", "-3", "x", "",
    "1.5", "99999999999999999999", "float16", "float32", "float64", "f16", "f32", "bogus",
    "greedy", "optimal", "vgm", "mlp", "hidden=16", "layers=1", "width=8", "hidden=x",
    "=", "canonicalize", "t10-compile", "t10-compile{target=grid16.json}",
)  # fmt: skip


@st.composite
def command_lines(draw):
    tool = draw(st.sampled_from(sorted(FLAGS)))
    words = (
        st.sampled_from(FLAGS[tool]) | st.sampled_from(CLI_VALUES) | st.text(max_size=6)
    )
    argv = draw(st.lists(words, max_size=6))
    if draw(st.booleans()):  # keep a usable input in most command lines
        first = {
            "t10-opt": "mlp.mlir",
            "t10-run": "mlp.mlir",
            "t10-import": "tiny_graph.json",
            "t10-zoo": "nerf",
        }
        argv.insert(draw(st.integers(0, len(argv))), first[tool])
    return tool, argv


def fuzz_command_lines(work: Path, case) -> None:
    tool, argv = case
    lay_out(work)
    stdin = (EXAMPLES / "mlp.mlir").read_text()
    check("command_lines", run_in_process(tool, argv, work, stdin), stdin=stdin)


test_fuzz_command_lines = fuzz_test(
    "command_lines", fuzz_command_lines, command_lines(), 120
)


# --------------------------------------------------------------------- faithfulness

FAITHFUL_CASES = (
    ("t10-opt", ["mlp.mlir", "-p", "canonicalize"], ""),
    ("t10-opt", ["latin1.mlir"], ""),
    ("t10-opt", [], "func.func @f() {\n  func.return\n}\n"),
    ("t10-run", ["ops.mlir", "--target", GRID9K, "--check"], ""),
    ("t10-run", ["-"], "func.func @f(%a: tensor<2xf32>) -> tensor<2xf32> {\n"
     "  func.return %a : tensor<2xf32>\n}\n"),
    ("t10-run", ["--bogus"], ""),
    ("t10-import", ["tiny_graph.json", "--batch", "2", "--seq", "3"], ""),
    ("t10-zoo", ["nerf", "--batch", "x"], ""),
)  # fmt: skip


@pytest.mark.parametrize(
    ("tool", "argv", "stdin"), FAITHFUL_CASES, ids=lambda x: str(x)[:40]
)
def test_in_process_is_faithful(
    tmp_path: Path, tool: str, argv: list[str], stdin: str
) -> None:
    """What the harness sees in-process is what a shell sees from the console script."""
    lay_out(tmp_path)
    inside = run_in_process(tool, argv, tmp_path, stdin)
    outside = run_subprocess(tool, argv, tmp_path, stdin)
    assert (inside.code, inside.stdout, inside.stderr) == (
        outside.code,
        outside.stdout,
        outside.stderr,
    )


def test_harness_sees_broken_promises(tmp_path: Path) -> None:
    """The checker flags what it is there to flag."""
    ok = Result("t10-opt", [], 1, "", "x.mlir:1:1: error: bad\n", tmp_path)
    assert problems(ok) == []
    usage = Result("t", [], 2, "", "usage: t\nt: error: bad\n", tmp_path)
    assert problems(usage) == ["exit code 2"]
    internal = Result(
        "t", [], 2, "", "t: internal error: KeyError: 'x' (...)\n", tmp_path
    )
    assert "internal error" in problems(internal)
    wrong = Result(
        "t",
        [],
        1,
        "",
        "f:1:1: error: --check: out0[0] is 1 on the chip and 2 in the reference\n",
        tmp_path,
    )
    assert problems(wrong) == ["wrong result"]
    noisy = Result("t", [], 0, "", "RuntimeWarning: divide by zero\n", tmp_path)
    assert problems(noisy) == ["exit 0 with output on stderr"]
    (tmp_path / "x.mlir").write_text("func.func @f() {\n  func.return\n}\n")
    assert run_in_process("t10-opt", ["x.mlir"], tmp_path).code == 0
    raised = run_in_process("t10-zoo", ["--bogus"], tmp_path)
    assert raised.code == 1 and problems(raised) == []


# ---------------------------------------------------------------------- regressions

FUZZ_INPUTS = Path(__file__).parent / "fuzz_inputs"
"""Cases the fuzzer found, minimized: each directory holds the input files and
`case.json` (`tool`, `argv`, and what the run `found` before it was fixed)."""


@pytest.mark.parametrize(
    "case", sorted(p.name for p in FUZZ_INPUTS.iterdir() if p.is_dir())
)
def test_fuzz_regression(tmp_path: Path, case: str) -> None:
    spec = json.loads((FUZZ_INPUTS / case / "case.json").read_text())
    lay_out(tmp_path)
    for path in (FUZZ_INPUTS / case).iterdir():
        if path.name != "case.json":
            shutil.copyfile(path, tmp_path / path.name)
    timeout = spec.get("timeout", RUN_TIMEOUT_S)
    result = run_in_process(spec["tool"], spec["argv"], tmp_path, timeout=timeout)
    found = problems(result, compiled_here=spec.get("compiled_here", False))
    assert not found, (
        f"{case} ({spec['found']}): {', '.join(found)}\n  $ {result.command()}\n"
        f"{result.stderr}"
    )
