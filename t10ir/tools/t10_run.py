"""t10-run: run a module on the numpy reference interpreter or on a simulated chip.

A `top`-level module without `--target` runs on the reference interpreter. With
`--target` it is compiled in memory (`t10-compile`) and its per-core program runs on
the mesh interpreter, which accounts time, SRAM and traffic per op; a module already
at the `shift` level is lowered to `core` first, and a `core` module runs as it is.
`--check` compares the chip's outputs with the reference's on the same inputs, within a
tolerance that, for outputs narrower than the compute dtype (f16), follows from the
rounding steps and sums along each output's chain of ops (`TOLERANCES`, the --help
epilog).

Inputs come from an .npz (arg0, arg1, ...) or a seeded generator; outputs go to an .npz
(out0, out1, ...) and a summary table with checksums, so two runs (or two compilers) can be
compared byte for byte.
"""

from __future__ import annotations

import argparse
import zipfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from math import inf, log, log2, prod, sqrt
from pathlib import Path
from typing import Any, Literal

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ModuleOp, SymbolTable, TensorType
from xdsl.ir import SSAValue
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import DiagnosticException, VerifyException

from t10ir.context import make_context
from t10ir.dialects import core, shift
from t10ir.dialects.rtensor import get_machine
from t10ir.dialects.top import IterationDomainInterface
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
from t10ir.planning.search import SearchOptions
from t10ir.target import Machine, TargetError, load_machine
from t10ir.target.machine import DEFAULT_ACCUMULATOR
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


def _number(within: Callable[[float], bool], what: str) -> Callable[[str], float]:
    """An argparse type: a float that `within` accepts, else "expected `what`"."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'") from None
        if not within(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {value:g}")
        return value

    return parse


_fraction = _number(lambda v: 0 <= v <= 1, "a number in [0, 1]")
_non_negative = _number(lambda v: 0 <= v < float("inf"), "a finite number >= 0")


PARTITION_OPTIONS = ("min_core_fraction", "max_padding", "rotation_dims")
"""t10-compile's pruning options (t10-partition's), which t10-run forwards."""

Level = Literal["top", "shift", "core"]

RTOL = {
    np.dtype(np.float16): 1e-2,
    np.dtype(np.float32): 1e-4,
    np.dtype(np.float64): 1e-9,
}
"""--check's relative tolerance of a float output as wide as the compute dtype
(`TOLERANCES`)."""

ACCUMULATORS: dict[str, np.dtype] = {
    "f16": np.dtype(np.float16),
    "f32": np.dtype(np.float32),
    "f64": np.dtype(np.float64),
}
"""The numpy type of each `Machine.accumulator_type`."""

UNIT_ROUNDOFF = {
    np.dtype(np.float16): 2.0**-11,
    np.dtype(np.float32): 2.0**-24,
    np.dtype(np.float64): 2.0**-53,
}
"""Half an ulp of 1: the largest relative error of rounding to the type."""

ROUNDINGS_PER_OP = 3
"""Roundings to the storage type per op of a chain, the chip's and the reference's
together: the reference rounds each result once, the chip the result and, for a
reduction split over cores, each core's partial result before they are combined."""


@dataclass(frozen=True)
class RoundingChain:
    """The longest chains of ops from a function's arguments to one of its values:
    `steps`, the ops with a float result on it (each written rounded to its storage
    type), `terms`, the lengths of the sums along it (each op's reduction dims'
    extents multiplied, summed over the chain), and `scale`, the largest finite
    magnitude of a value on it: a rounding error is relative to the value rounded,
    and passes on absolute (a softmax turns an ulp of a logit of 30 into 30 ulps of
    a probability)."""

    steps: int = 0
    terms: int = 0
    scale: float = 0.0

    def then(self, other: RoundingChain) -> RoundingChain:
        return RoundingChain(
            self.steps + other.steps,
            self.terms + other.terms,
            max(self.scale, other.scale),
        )

    @staticmethod
    def longest(chains: Sequence[RoundingChain]) -> RoundingChain:
        return RoundingChain(
            max((c.steps for c in chains), default=0),
            max((c.terms for c in chains), default=0),
            max((c.scale for c in chains), default=0.0),
        )


def largest_magnitude(array: np.ndarray) -> float:
    """The largest finite |element| of a float array (0 for any other), leaving out
    elements at the type's limit: sentinels such as an attention mask's fill of the
    lowest float, exact, which no rounding error is relative to (a softmax makes
    them 0)."""
    if array.dtype.kind != "f":
        return 0.0
    magnitude = np.abs(array)
    return float(magnitude[magnitude < np.finfo(array.dtype).max].max(initial=0))


def _rounds(op: IterationDomainInterface) -> bool:
    """Whether `op` writes a float result (rounded to its storage type)."""
    return any(
        isinstance(r.type, TensorType)
        and numpy_dtype(r.type.get_element_type()).kind == "f"
        for r in op.results
    )


def rounding_chains(
    func_op: func.FuncOp, magnitudes: Mapping[SSAValue, float]
) -> list[RoundingChain]:
    """The `RoundingChain` of each result of a top-level function, calls followed,
    `magnitudes` the largest finite |element| of each value in a run of it."""
    chains: dict[SSAValue, RoundingChain] = {
        a: RoundingChain(scale=magnitudes.get(a, 0.0)) for a in func_op.args
    }
    for op in func_op.body.block.ops:
        before = RoundingChain.longest([chains[v] for v in op.operands])
        if isinstance(op, func.ReturnOp):
            return [chains[v] for v in op.operands]
        if isinstance(op, func.CallOp):
            callee = SymbolTable.lookup_symbol(op, op.callee)
            assert isinstance(callee, func.FuncOp), "the reference interpreter ran it"
            results = [before.then(c) for c in rounding_chains(callee, magnitudes)]
        elif isinstance(op, IterationDomainInterface):
            terms = prod(d.extent for d in op.iteration_domain().reduction_dims)
            own = RoundingChain(
                int(_rounds(op)),
                terms if terms > 1 else 0,
                magnitudes.get(op.results[0], 0.0),
            )
            results = [before.then(own)] * len(op.results)
        else:  # a constant: nothing computed
            results = [before] * len(op.results)
        chains.update(zip(op.results, results, strict=True))
    return []


FAILURE_PROBABILITY = 1e-6
"""How likely an output computed correctly may fail --check under the probabilistic
bound (`relative_tolerance`)."""


def relative_tolerance(
    dtype: np.dtype,
    compute_dtype: np.dtype,
    chain: RoundingChain,
    elements: int,
    accumulator: np.dtype = ACCUMULATORS[DEFAULT_ACCUMULATOR],
) -> tuple[float, str]:
    """The relative tolerance of a float output of `dtype` and `elements` elements at
    the end of `chain`, its sums accumulated in `accumulator` on the chip (or in its
    own type, if wider), and how it follows (`TOLERANCES`)."""
    if UNIT_ROUNDOFF[dtype] <= UNIT_ROUNDOFF[compute_dtype]:
        rtol = max(RTOL[dtype], RTOL[compute_dtype])
        return rtol, f"{rtol:g}"
    u = UNIT_ROUNDOFF[dtype]
    v = max(
        UNIT_ROUNDOFF[compute_dtype],
        UNIT_ROUNDOFF[np.promote_types(dtype, accumulator)],
    )
    roundings, terms = ROUNDINGS_PER_OP * max(chain.steps, 1), 2 * chain.terms
    worst = roundings * u + terms * v
    spread = sqrt(2 * log(2 * max(elements, 1) / FAILURE_PROBABILITY))
    likely = spread * (sqrt(roundings) * u + sqrt(terms) * v)
    rtol = min(worst, likely)
    return rtol, (
        f"min({roundings} u + {terms} v, {spread:.3g} (sqrt({roundings}) u + "
        f"sqrt({terms}) v)) = {rtol:.3g}, u = 2^{int(log2(u))}, v = 2^{int(log2(v))}"
    )


TOLERANCES = """\
--check tolerance: an element of a float output agrees with the reference when
|chip - reference| <= rtol * max(1, M). For an output as wide as --compute-dtype,
M is its largest finite |reference| and rtol f32 1e-4, f64 1e-9: the chip and the
reference round to the same type and differ in the order of their sums only. A
narrower output (f16 computed in f32) takes rtol from the arithmetic, along the
longest chain of ops from the inputs to it, and M is the largest |value| on that
chain in the reference (a rounding error is relative to the value rounded, and an
op such as softmax passes it on absolute):
  rtol = min(K u + T v, s (sqrt(K) u + sqrt(T) v))
u is the unit roundoff of its type (2^-11 for f16), v the accumulator's (2^-24 for
the f32 of every preset; the target's accumulator_type). Of the L ops on the chain
writing float results, the reference rounds each result once and the chip at most
twice (a core's partial result, before a reduction split over cores combines it,
then the result): K = 3 L roundings, each off by at most u. Summing n terms in two
orders in the accumulator differs by at most 2 n v (Higham, Accuracy and Stability
of Numerical Algorithms, 3.1): T = 2 N, N the terms the chain's sums add (each op's
reduction length). Each op passes an error on unamplified (normalised layers,
ReLU), so the errors add up: at worst K u + T v; independent and of mean zero,
their sum exceeds s times its root-mean-square bound with probability below
2 exp(-s^2/2) (Higham and Mary, SIAM J. Sci. Comput. 41(5), 2019), s chosen so
that an output of e elements fails with probability at most 1e-6,
s = sqrt(2 ln(2e/1e-6)). The zoo's ResNet-50: L = 168, N = 53133, rtol 0.072.
Integers must be equal; NaN agrees with NaN, inf with the same inf.
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
        "--compare",
        nargs="+",
        choices=STRATEGIES,
        metavar="STRATEGY",
        help="also compile the top-level module under these strategies, run each "
        "(timing only) and print their cycles beside this run's (choices: "
        f"{', '.join(STRATEGIES)})",
    )
    chip.add_argument(
        "--min-core-fraction",
        type=_fraction,
        metavar="F",
        help="t10-compile's plan search: only plans on at least this fraction of "
        f"the cores (default {SearchOptions.min_core_fraction:g}; the selection "
        "loosens it for the ops that hold the peak when the model does not fit)",
    )
    chip.add_argument(
        "--max-padding",
        type=_non_negative,
        metavar="P",
        help="t10-compile's plan search: at most this fraction of padded work "
        f"(default {SearchOptions.max_padding:g})",
    )
    chip.add_argument(
        "--rotation-dims",
        type=_natural,
        metavar="N",
        help="t10-compile's plan search: rings over at most N loop dims (default "
        f"{SearchOptions.rotation_dims})",
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
    chains: Sequence[RoundingChain] | None = None,
    accumulator: np.dtype = ACCUMULATORS[DEFAULT_ACCUMULATOR],
) -> str:
    """Fail on the first output whose worst element is off by more than the tolerance
    (`TOLERANCES`, each output at the end of its chain of `chains`, by default one op
    long, the chip accumulating in `accumulator`): relative to the output's largest magnitude, since a distributed reduction
    sums in another order than the reference, which moves every element by a few ulps
    of the magnitudes summed, not of the element itself. Returns the line saying how
    close the outputs came."""
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
            chain = chains[number] if chains is not None else RoundingChain(1)
            rtol, rule = relative_tolerance(
                got.dtype, compute_dtype, chain, got.size, accumulator
            )
            scale = largest_magnitude(reference)
            of = "max |reference|"
            narrow = UNIT_ROUNDOFF[got.dtype] > UNIT_ROUNDOFF[compute_dtype]
            if narrow and chain.scale > scale:
                scale, of = chain.scale, "the largest |value| on its chain"
            tolerance = rtol * max(1.0, scale)
            why = f"{rule} x max(1, {of} = {scale:.4g}), {got.dtype}"
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
    compiling = [("--strategy", args.strategy), ("--compare", args.compare)] + [
        (f"--{name.replace('_', '-')}", getattr(args, name))
        for name in PARTITION_OPTIONS
    ]
    for flag, given in compiling:
        if given is None:
            continue
        if level != "top":
            raise T10Error(f"{flag} compiles a top-level module; this one is {level}")
        if args.target is None:
            raise T10Error(
                f"{flag} needs --target: without it a top-level module runs on the "
                "reference interpreter"
            )
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
        options = {
            name: getattr(args, name)
            for name in PARTITION_OPTIONS
            if getattr(args, name) is not None
        }
        compile_pass = T10CompilePass(args.target, args.strategy or "greedy", **options)
        _apply([compile_pass], module)
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
        magnitudes: dict[SSAValue, float] = {}

        def observe(value: SSAValue, array: np.ndarray) -> None:
            magnitudes[value] = max(
                magnitudes.get(value, 0.0), largest_magnitude(array)
            )

        for arg, array in zip(reference.args, inputs, strict=True):
            observe(arg, array)
        expected = run_function(reference_module, name, inputs, compute_dtype, observe)
        returned = reference.body.block.last_op
        location = op_location(returned) if returned is not None else None
        checked = check_outputs(
            run.outputs,
            expected,
            compute_dtype,
            location,
            rounding_chains(reference, magnitudes),
            ACCUMULATORS[machine.accumulator_type],
        )
    return run.outputs, account(entry, run, machine), checked


def _compare(module: ModuleOp, name: str, cycles: int, args: argparse.Namespace) -> str:
    """The line of --compare: the top-level `module` compiled and run (timing only)
    under each strategy of `args.compare`, beside this run's `cycles`."""
    strategy = args.strategy or "greedy"
    parts = [f"{strategy} {cycles:,} cycles"]
    for other in args.compare:
        options = argparse.Namespace(
            **{**vars(args), "strategy": other, "timing_only": True, "check": False}
        )
        copy = module.clone()
        _, accounted, _ = _run_chip(copy, find_entry(copy, name), "top", options)
        ratio = accounted.cycles / cycles if cycles else inf
        parts.append(f"{other} {accounted.cycles:,} cycles ({ratio:.2f}x {strategy}'s)")
    return "--compare: " + "; ".join(parts)


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
    original = module.clone() if args.compare else None
    outputs, accounted, checked = _run_chip(module, func_op, level, args)
    compared = None
    if original is not None:
        compared = _compare(original, func_op.sym_name.data, accounted.cycles, args)
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
    if compared is not None:
        shown.append(compared)
    if shown:
        print("\n\n".join(shown))
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    run_tool("t10-run", lambda: run(argv))
