"""t10-run: run a module on the numpy reference interpreter or on a simulated chip.

A `top`-level module without `--target` runs on the reference interpreter. With
`--target` it is compiled in memory (`t10-compile`) and its per-core program runs on
the mesh interpreter, which accounts time, SRAM and traffic per op; a module already
at the `shift` level is lowered to `core` first, and a `core` module runs as it is.
`--check` compares the chip's outputs with the reference's on the same inputs.

Inputs come from an .npz (arg0, arg1, ...) or a seeded generator; outputs go to an .npz
(out0, out1, ...) and a summary table with checksums, so two runs (or two compilers) can be
compared byte for byte.
"""

from __future__ import annotations

import argparse
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from t10ir.context import make_context
from t10ir.dialects import core, shift
from t10ir.dialects.rtensor import get_machine
from t10ir.errors import T10Error, op_location
from t10ir.interp.accounting import (
    Account,
    account,
    report_json,
    table,
    trace_json,
)
from t10ir.interp.mesh import function_layouts, run_core_function
from t10ir.interp.reference import (
    DEFAULT_INDEX_BOUND,
    check_tensor_size,
    find_entry,
    format_shape,
    numpy_dtype,
    random_inputs,
    run_function,
    tensor_spec,
)
from t10ir.module_io import parse_module, read_file, read_stdin, verify_module
from t10ir.passes.t10_compile import T10CompilePass
from t10ir.passes.t10_lower_to_core import T10LowerToCorePass
from t10ir.passes.t10_select_plans import STRATEGIES
from t10ir.target import Machine, TargetError, load_machine
from t10ir.tools.diagnostics import ToolArgumentParser, run_tool, write_file, write_npz
from t10ir.tools.t10_import import default_weights_path

COMPUTE_DTYPES: dict[str, type[np.floating[Any]]] = {
    "float32": np.float32,
    "float64": np.float64,
}

# A fixed timestamp: np.savez stamps the current time, which breaks byte-identical output.


def _natural(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an integer >= 0, got '{text}'"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


Level = Literal["top", "shift", "core"]

RTOL = {
    np.dtype(np.float16): 1e-2,
    np.dtype(np.float32): 1e-4,
    np.dtype(np.float64): 1e-9,
}
"""--check's relative tolerance per float type (`TOLERANCES`)."""

TOLERANCES = """\
--check tolerance: an element of a float output agrees with the reference when
|chip - reference| <= rtol * max(1, M), M the largest finite |reference| of that
output, rtol by the coarser of the output's type and --compute-dtype: f16 1e-2,
f32 1e-4, f64 1e-9. Integers must be equal; NaN agrees with NaN, inf with the same inf.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = ToolArgumentParser(
        prog="t10-run",
        description=(
            "Run a module: a top-level one on the numpy reference interpreter or,\n"
            "with --target, compiled (t10-compile) and run on a simulated chip that\n"
            "accounts time, SRAM and traffic per op (a table, slowest op first, or\n"
            "--report). Shift- and core-level modules run on the chip (lowered to\n"
            "core first)."
        ),
        epilog=TOLERANCES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", help="input .mlir file (- for standard input)")
    parser.add_argument(
        "--entry", help="function to run (default: the only uncalled one)"
    )
    parser.add_argument(
        "--inputs",
        help=".npz with arrays arg0, arg1, ... (with --weights, the arguments it "
        "does not hold)",
    )
    parser.add_argument(
        "--weights",
        help=".npz with the weight arguments (argK) t10-import wrote (default: "
        "MODEL.weights.npz beside MODEL.mlir, or beside --reference, when it "
        "exists); merged with --inputs, or with the seeded inputs without it",
    )
    parser.add_argument(
        "--seed",
        type=_natural,
        default=0,
        help="seed of the random inputs when --inputs is not given (the arguments "
        "no --weights holds)",
    )
    parser.add_argument("--output", help=".npz to write out0, out1, ... to")
    parser.add_argument(
        "--compute-dtype",
        choices=sorted(COMPUTE_DTYPES),
        default="float32",
        help="precision kernels compute in (results keep their types)",
    )
    chip = parser.add_argument_group("simulated chip")
    chip.add_argument(
        "--target",
        help="machine to compile for and run on: a preset (ipu-mk2, ipu-pod4, "
        "wormhole-8x8) or a JSON file; a shift- or core-level module runs on the "
        "machine it embeds (rtensor.machine), which --target must then be",
    )
    chip.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="plan selection of t10-compile for a top-level module (default greedy)",
    )
    chip.add_argument(
        "--check",
        action="store_true",
        help="compare the outputs with the reference interpreter's on the same "
        "inputs; fail on the worst element off by more than the tolerance (below)",
    )
    chip.add_argument(
        "--reference",
        help="the top-level module a shift- or core-level module was compiled "
        "from, for --check (its entry function of the same name)",
    )
    chip.add_argument(
        "--timing-only",
        action="store_true",
        help="account time, SRAM and traffic without computing any number",
    )
    chip.add_argument(
        "--report",
        help="write the report (totals and per op) as JSON to this file instead of "
        "printing its table",
    )
    chip.add_argument(
        "--trace", help="write a Chrome trace-event file (Perfetto) of the run"
    )
    chip.add_argument(
        "--trace-cores",
        type=_natural,
        default=0,
        metavar="N",
        help="add to the trace one track per core for the first N physical cores: "
        "the kernels they run and the exchanges they take part in",
    )
    return parser


def read_archive(path: str, what: str) -> dict[str, np.ndarray]:
    """Every array of an .npz, by name."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise T10Error(f"cannot read {what} '{path}': {error}") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise T10Error(f"{what} '{path}' is not an .npz archive")
    with archive:
        try:
            return {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile) as error:
            raise T10Error(f"cannot read {what} '{path}': {error}") from None


def load_inputs(
    inputs: str | None,
    weights: str | None,
    func_op: func.FuncOp,
    seeded: Callable[[], list[np.ndarray]],
) -> list[np.ndarray]:
    """Arrays arg0..argN-1, exactly the entry function's argument types (for a
    core-level function, its arguments' full tensors): from --inputs and --weights
    merged (a name in both is an error), or, without --inputs, `seeded` for the
    arguments the weights do not hold."""
    if inputs is None and weights is None:
        return seeded()
    arrays: dict[str, np.ndarray] = {}
    origin: dict[str, str] = {}
    for path, what in ((inputs, "inputs"), (weights, "weights")):
        if path is None:
            continue
        for name, array in read_archive(path, what).items():
            if name in origin:
                raise T10Error(
                    f"weights hold {name}, which inputs '{origin[name]}' also hold: "
                    "give each argument once",
                    path,
                )
            arrays[name], origin[name] = array, path
    location = inputs or weights
    label = " and ".join(w for p, w in ((inputs, "inputs"), (weights, "weights")) if p)
    expected = [f"arg{i}" for i in range(len(func_op.args))]
    missing = [name for name in expected if name not in arrays]
    extra = sorted(set(arrays) - set(expected))
    if (missing and inputs is not None) or extra:
        lack = "lack" if inputs and weights else "lacks"
        have = "have" if inputs and weights else "has"
        problem = (
            f"{lack} {', '.join(missing)}"
            if missing and inputs is not None
            else f"{have} unexpected {', '.join(extra)}"
        )
        hint = "; --weights gives the weights t10-import wrote" if not weights else ""
        raise T10Error(
            f"{label} {problem}; @{func_op.sym_name.data} takes {len(expected)} "
            f"(arg0..arg{len(expected) - 1}){hint if missing else ''}",
            location,
        )
    if missing:
        defaults = seeded()
        arrays |= {name: defaults[int(name[3:])] for name in missing}
    values = [arrays[name] for name in expected]
    for index, (value, (shape, dtype, shown)) in enumerate(
        zip(values, _argument_specs(func_op), strict=True)
    ):
        if value.shape != shape or value.dtype != dtype:
            raise T10Error(
                f"input arg{index} is {format_shape(value.shape)} {value.dtype}, "
                f"expected {shown}",
                origin.get(f"arg{index}", location),
            )
    return values


def _argument_specs(
    func_op: func.FuncOp,
) -> list[tuple[tuple[int, ...], np.dtype, str]]:
    """Shape, dtype and how to show them of each argument of `func_op`: its full
    tensor for a core-level function."""
    if module_level(func_op) == "core":
        return [
            (shape, dtype, f"{format_shape(shape)} {dtype}")
            for shape, dtype in _core_specs(func_op)
        ]
    specs = []
    for type_ in func_op.function_type.inputs.data:
        shape, dtype = tensor_spec(type_)
        specs.append((shape, dtype, f"{type_} ({format_shape(shape)} {dtype})"))
    return specs


def weights_file(args: argparse.Namespace) -> str | None:
    """--weights, or else the archive t10-import writes beside the module (or beside
    --reference, the module a compiled one came from), when there is one."""
    if args.weights is not None:
        return args.weights
    for module in (args.file, args.reference):
        if module is not None and module != "-":
            sidecar = default_weights_path(module)
            if Path(sidecar).is_file():
                return sidecar
    return None


def summary(outputs: Sequence[np.ndarray]) -> str:
    """An aligned table of each output's shape, dtype, mean, sum and crc32 of its bytes."""
    rows = [["name", "shape", "dtype", "mean", "sum", "crc32"]]
    for index, array in enumerate(outputs):
        wide = array.astype(np.float64)
        with np.errstate(all="ignore"):  # inf + -inf is nan, as IEEE defines it
            mean = float(np.mean(wide)) if array.size else float("nan")
            total = float(np.sum(wide))
        rows.append(
            [
                f"out{index}",
                "x".join(map(str, array.shape)) or "scalar",
                str(array.dtype),
                f"{mean:.6e}",
                f"{total:.9e}",
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


def module_level(func_op: func.FuncOp) -> Level:
    """The level of a function: `core` or `shift` when it holds (or takes or returns)
    anything of those dialects, else `top`."""
    kind = func_op.function_type
    types = [*kind.inputs.data, *kind.outputs.data]
    dialects = {op.name.partition(".")[0] for op in func_op.walk()}
    if "core" in dialects or any(isinstance(t, core.BufferType) for t in types):
        return "core"
    if "shift" in dialects or any(isinstance(t, shift.DTensorType) for t in types):
        return "shift"
    return "top"


def _core_specs(func_op: func.FuncOp) -> list[tuple[tuple[int, ...], np.dtype]]:
    """Shape and dtype of the full tensor of each argument of a core-level function."""
    layouts, _ = function_layouts(func_op)
    specs = []
    for arg, layout in zip(func_op.args, layouts, strict=True):
        assert isinstance(arg.type, core.BufferType), "checked by function_layouts"
        dtype = numpy_dtype(arg.type.element_type)
        check_tensor_size(layout.shape, dtype, f"the tensor of arg{arg.index}")
        specs.append((layout.shape, dtype))
    return specs


def random_core_inputs(func_op: func.FuncOp, seed: int) -> list[np.ndarray]:
    """Seeded inputs of a core-level function with no top-level reference: floats
    drawn as `random_inputs` draws them (the same seed gives the same numbers as for
    the module it was compiled from), integers in [0, DEFAULT_INDEX_BOUND)."""
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal(shape).astype(dtype)
        if dtype.kind == "f"
        else rng.integers(0, DEFAULT_INDEX_BOUND, shape).astype(dtype)
        for shape, dtype in _core_specs(func_op)
    ]


def check_outputs(
    outputs: Sequence[np.ndarray],
    expected: Sequence[np.ndarray],
    compute_dtype: np.dtype,
    location: str | None,
) -> str:
    """Fail on the first output whose worst element is off by more than the tolerance
    (`TOLERANCES`): relative to the output's largest magnitude, since a distributed
    reduction sums in another order than the reference, which moves every element by
    a few ulps of the magnitudes summed, not of the element itself. Returns the line
    saying how close the outputs came."""
    margins: list[str] = []
    if len(outputs) != len(expected):
        raise T10Error(
            f"--check: the chip gives {len(outputs)} outputs, the reference "
            f"{len(expected)}",
            location,
        )
    for number, (got, want) in enumerate(zip(outputs, expected, strict=True)):
        if got.shape != want.shape or got.dtype != want.dtype:
            raise T10Error(
                f"--check: out{number} is {format_shape(got.shape)} {got.dtype} on "
                f"the chip, {format_shape(want.shape)} {want.dtype} in the reference",
                location,
            )
        wide, reference = got.astype(np.float64), want.astype(np.float64)
        if want.dtype.kind == "f" and want.size and not np.isfinite(reference).any():
            raise T10Error(
                f"--check: out{number} cannot be checked: the reference gives no "
                "finite element on these inputs (give --inputs the model is defined "
                "on)",
                location,
            )
        with np.errstate(invalid="ignore"):
            off = np.abs(wide - reference)
        if got.dtype.kind != "f":
            bad = got != want
            tolerance, why = 0.0, "integers must be equal"
        else:
            rtol = max(RTOL[got.dtype], RTOL[compute_dtype])
            scale = float(np.abs(reference[np.isfinite(reference)]).max(initial=0))
            tolerance = rtol * max(1.0, scale)
            why = f"{rtol:g} x max(1, max |reference| = {scale:.4g}), {got.dtype}"
            same = (wide == reference) | (np.isnan(wide) & np.isnan(reference))
            bad = ~same & ~(off <= tolerance)
        if not bad.any():
            finite = np.where(np.isfinite(off), off, 0.0)
            margins.append(
                f"out{number} off by at most {float(finite.max(initial=0)):.3g} "
                f"(tolerance {tolerance:.3g})"
            )
            continue
        worst_off = np.where(bad, np.where(np.isnan(off), np.inf, off), -1.0)
        worst = np.unravel_index(int(np.argmax(worst_off)), got.shape)
        index = ", ".join(str(int(i)) for i in worst)
        raise T10Error(
            f"--check: out{number}[{index}] is {got[worst]:.7g} on the chip and "
            f"{want[worst]:.7g} in the reference, off by {worst_off[worst]:.3g}: more "
            f"than the tolerance {tolerance:.3g} ({why})",
            location,
        )
    return f"--check: every output agrees with the reference: {'; '.join(margins)}"


def _apply(passes: Sequence[ModulePass], module: ModuleOp) -> None:
    """Run `passes` on `module`, their errors reported as t10-opt reports them."""
    ctx = make_context()
    try:
        for step in passes:
            step.apply(ctx, module)
    except T10Error:
        raise
    except (VerifyException, DiagnosticException) as error:
        message = str(error.args[0]) if error.args else str(error)
        raise T10Error(message.splitlines()[0], op_location(module)) from None


def _load_machine(target: str) -> Machine:
    try:
        return load_machine(target)
    except TargetError as error:
        raise T10Error(error.message) from None


def _machine(module: ModuleOp, level: Level, target: str | None) -> Machine:
    """The machine to run on: `target`'s for a top-level module (compiled for it),
    else the one the module embeds (`target` must agree) or, for a hand-written one
    that embeds none, `target`'s."""
    recorded = get_machine(module) if level != "top" else None
    if target is None:
        if recorded is None:
            raise T10Error(
                f"a {level}-level module runs on a target: give --target (the module "
                "embeds no rtensor.machine)"
            )
        return recorded
    machine = _load_machine(target)
    if recorded is not None and recorded != machine:
        given = (
            f"'{machine.name}'"
            if machine.name != recorded.name
            else "this one, whose figures differ"
        )
        raise T10Error(
            f"--target {target}: the module was compiled for '{recorded.name}', not "
            f"{given} (drop --target to run on the machine it embeds)"
        )
    return machine


def _read_module(path: str) -> ModuleOp:
    text = read_stdin() if path == "-" else read_file(path)
    module = parse_module(make_context(), text, "<stdin>" if path == "-" else path)
    verify_module(module)
    return module


def _check_options(args: argparse.Namespace, level: Level) -> None:
    """Options that cannot go together, or not with this module, as one diagnostic."""
    if level == "top" and args.target is None:
        chip = (
            ("--check", args.check),
            ("--reference", args.reference),
            ("--timing-only", args.timing_only),
            ("--report", args.report),
            ("--trace", args.trace),
        )
        for flag, given in chip:
            if given:
                raise T10Error(
                    f"{flag} needs --target: without it a top-level module runs on "
                    "the reference interpreter"
                )
    if level != "top" and args.strategy is not None:
        raise T10Error(f"--strategy compiles a top-level module; this one is {level}")
    if args.timing_only:
        for flag, given in (("--check", args.check), ("--output", args.output)):
            if given:
                raise T10Error(f"{flag} needs the numbers: drop --timing-only")
    if args.trace_cores and not args.trace:
        raise T10Error("--trace-cores needs --trace")
    if args.reference and not args.check:
        raise T10Error("--reference is read by --check only")
    if args.reference and level == "top":
        raise T10Error(
            "--reference is for shift- and core-level modules: a top-level module is "
            "its own reference"
        )


def _run_reference(
    module: ModuleOp, func_op: func.FuncOp, args: argparse.Namespace
) -> list[np.ndarray]:
    inputs = load_inputs(
        args.inputs,
        weights_file(args),
        func_op,
        lambda: random_inputs(func_op, args.seed),
    )
    return run_function(
        module, func_op.sym_name.data, inputs, COMPUTE_DTYPES[args.compute_dtype]
    )


def _run_chip(
    module: ModuleOp, func_op: func.FuncOp, level: Level, args: argparse.Namespace
) -> tuple[list[np.ndarray], Account, str | None]:
    """Compile (as needed) and run on the chip: the outputs (none without numbers),
    the run accounted, and with --check how close the outputs came."""
    machine = _machine(module, level, args.target)
    name = func_op.sym_name.data
    reference: func.FuncOp | None = None
    if level == "top":
        if not args.timing_only:  # the module as it is, before compiling it
            reference = find_entry(module.clone(), name)
        assert args.target is not None  # else it ran on the reference interpreter
        _apply([T10CompilePass(args.target, args.strategy or "greedy")], module)
    else:
        if args.reference is not None:
            reference = find_entry(_read_module(args.reference), name)
        if level == "shift":
            _apply([T10LowerToCorePass()], module)
    if args.check and reference is None:
        raise T10Error(
            f"--check of a {level}-level module needs --reference: the top-level "
            "module it was compiled from"
        )
    entry = find_entry(module, name)
    inputs: list[np.ndarray] = []
    if not args.timing_only:
        inputs = load_inputs(
            args.inputs,
            weights_file(args),
            reference or entry,
            lambda: (
                random_inputs(reference, args.seed)
                if reference is not None
                else random_core_inputs(entry, args.seed)
            ),
        )
    compute_dtype = np.dtype(COMPUTE_DTYPES[args.compute_dtype])
    run = run_core_function(
        entry,
        inputs,
        machine,
        numerics=not args.timing_only,
        compute_dtype=compute_dtype,
    )
    checked = None
    if args.check:
        assert reference is not None
        reference_module = reference.parent_op()
        assert isinstance(reference_module, ModuleOp)
        expected = run_function(reference_module, name, inputs, compute_dtype)
        returned = reference.body.block.last_op
        location = op_location(returned) if returned is not None else None
        checked = check_outputs(run.outputs, expected, compute_dtype, location)
    return run.outputs, account(entry, run, machine), checked


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module = _read_module(args.file)
    func_op = find_entry(module, args.entry)
    level = module_level(func_op)
    _check_options(args, level)
    if level == "top" and args.target is None:
        outputs = _run_reference(module, func_op, args)
        if args.output is not None:
            write_npz(args.output, {f"out{i}": a for i, a in enumerate(outputs)})
        print(summary(outputs))
        return 0
    outputs, accounted, checked = _run_chip(module, func_op, level, args)
    if args.output is not None:
        write_npz(args.output, {f"out{i}": a for i, a in enumerate(outputs)})
    if args.report is not None:
        write_file(args.report, report_json(accounted))
    if args.trace is not None:
        write_file(args.trace, trace_json(accounted, args.trace_cores))
    shown = [] if args.timing_only else [summary(outputs)]
    if args.report is None:
        shown.append(table(accounted))
    if checked is not None:
        shown.append(checked)
    if shown:
        print("\n\n".join(shown))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-run", lambda: run(argv))
