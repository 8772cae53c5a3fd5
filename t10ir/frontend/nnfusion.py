"""Import NNFusion `einstein_v2` graphs (T10's evaluation inputs) as `top` functions.

A graph is a JSON list of nodes `[id, " - einstein_v2(\"<expr>\", input_dict={...})", op_type,
[[producer_id, output_index], ...]]`. Producers that are not nodes are the graph's
parameters; `Result` nodes name the outputs. As in T10's model parser, extent 99 stands for
the batch size and 66 for the sequence length (99 x 66 = 6534 for their product, other
multiples for multiples of them).

Every node becomes a `top.expr` op holding its (substituted) expression, except the pure
data movement T10 drops from its plans: a copy that reads its input in row-major order
(NNFusion's `## @: memcpy` reshapes) becomes `top.reshape` and a plain permutation becomes
`top.transpose`, so that later passes see them
as layout changes rather than computations. Either way the function computes what the graph
computes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    Float16Type,
    Float32Type,
    Float64Type,
    IntegerType,
    ModuleOp,
    TensorType,
    UnitAttr,
)
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue

from t10ir.dialects.top import WEIGHT_ATTR, ExprOp, ReshapeOp, TransposeOp
from t10ir.errors import T10Error
from t10ir.expr import ExprError, parse_expression
from t10ir.planning.domain import IterationDomain, LinearIndex

BATCH_PLACEHOLDER = 99
SEQUENCE_PLACEHOLDER = 66

_DTYPES: dict[str, Attribute] = {
    "float16": Float16Type(),
    "float32": Float32Type(),
    "float64": Float64Type(),
    "int32": IntegerType(32),
    "int64": IntegerType(64),
}


_CALL = re.compile(
    r'einstein_v2\(\s*"(?P<expr>(?:[^"\\]|\\.)*)"\s*,\s*input_dict\s*=\s*(?P<dict>\{.*\})\s*\)',
    re.DOTALL,
)


def split_nnfusion_node(text: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """(expression, input_dict) of a node text like
    ` - einstein_v2("output0[N] = input0[N];", input_dict={"input0": {"dtype": "float32",
    "shape": [4]}})  ## @: memcpy`; input_dict maps `inputK` to its dtype and shape."""
    match = _CALL.search(text.split("##", 1)[0])
    if match is None:
        raise ExprError(f"not an einstein_v2 node: {text.strip()[:80]!r}")
    try:
        inputs = json.loads(match.group("dict"))
    except json.JSONDecodeError as error:
        raise ExprError(
            f"bad input_dict: {error}", match.start("dict") + error.pos
        ) from None
    return match.group("expr"), inputs


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class GraphNode:
    id: int
    op_type: str
    expr: str | None
    inputs: tuple[TensorSpec, ...]
    producers: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Placeholders:
    """The batch size and sequence length the graph's placeholder extents stand for."""

    batch: int = 1
    seq: int = 128

    def extent(self, value: int) -> int:
        both = BATCH_PLACEHOLDER * SEQUENCE_PLACEHOLDER
        if value % both == 0:
            return value // both * self.batch * self.seq
        if value % BATCH_PLACEHOLDER == 0:
            return value // BATCH_PLACEHOLDER * self.batch
        if value % SEQUENCE_PLACEHOLDER == 0:
            return value // SEQUENCE_PLACEHOLDER * self.seq
        return value

    def shape(self, shape: Sequence[int]) -> tuple[int, ...]:
        return tuple(self.extent(v) for v in shape)

    def expression(self, expr: str) -> str:
        """Substitute the extents of `where D in N` clauses."""
        return re.sub(
            r"(\bin\s+)(\d+)",
            lambda m: f"{m.group(1)}{self.extent(int(m.group(2)))}",
            expr,
        )


def load_graph(path: str) -> list[GraphNode]:
    """The nodes of an NNFusion JSON graph file, each checked for the shape of a node.

    A mistake is reported naming the node (by id, or by position when its id is bad),
    so that no malformed entry reaches the importer as a Python error.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise T10Error(f"cannot read '{path}': {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise T10Error(f"'{path}' is not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise T10Error(
            f"not a JSON graph: {error.msg}", f"{path}:{error.lineno}:{error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:
        # An integer of more digits than Python converts, or nesting deeper than its
        # parser recurses.
        raise T10Error(
            f"not a JSON graph: '{path}': {str(error).split(';')[0]}"
        ) from None
    if not isinstance(raw, list):
        raise T10Error(
            f"'{path}' is not an NNFusion graph: expected a JSON list of nodes"
        )
    if not raw:
        raise T10Error(f"'{path}' is not an NNFusion graph: it has no nodes")
    nodes: list[GraphNode] = []
    seen: set[int] = set()
    for position, entry in enumerate(raw):
        node = _node(path, position, entry)
        if node.id in seen:
            raise T10Error(f"'{path}': node {node.id}: id used by an earlier node")
        seen.add(node.id)
        nodes.append(node)
    return nodes


def _node(path: str, position: int, entry: Any) -> GraphNode:
    """One `[id, text, type, [[producer, output], ...]]` entry, checked field by field."""
    if not (isinstance(entry, list) and len(entry) == 4):
        raise T10Error(
            f"'{path}': entry {position}: expected a node [id, text, type, inputs], "
            f"got {_shown(entry)}"
        )
    node_id, text, op_type, producers = entry
    if not _is_count(node_id):
        raise T10Error(
            f"'{path}': entry {position}: expected a node id (a non-negative "
            f"integer), got {_shown(node_id)}"
        )
    if not (isinstance(op_type, str) and op_type.isprintable()):
        raise T10Error(
            f"'{path}': node {node_id}: expected an op type (a one-line string), got "
            f"{_shown(op_type)}"
        )
    name = f"'{path}': node {node_id} ({op_type})"
    if not isinstance(text, str):
        raise T10Error(f"{name}: expected a text string, got {_shown(text)}")
    if not (
        isinstance(producers, list)
        and all(
            isinstance(p, list) and len(p) == 2 and all(map(_is_count, p))
            for p in producers
        )
    ):
        raise T10Error(
            f"{name}: expected inputs [[node id, output index], ...], got "
            f"{_shown(producers)}"
        )
    expr: str | None = None
    inputs: tuple[TensorSpec, ...] = ()
    if text.strip():
        try:
            expr, input_dict = split_nnfusion_node(text)
        except ExprError as error:
            raise T10Error(f"{name}: {error.message}") from None
        inputs = _input_specs(name, input_dict)
        if not inputs:
            # The result's dtype is its first input's: a node computes from one at least.
            raise T10Error(f"{name}: has an expression but no inputs")
        if len(inputs) != len(producers):
            raise T10Error(
                f"{name}: lists {len(producers)} producers but its input_dict "
                f"declares {len(inputs)} inputs"
            )
    return GraphNode(
        id=node_id,
        op_type=op_type,
        expr=expr,
        inputs=inputs,
        producers=tuple((p, i) for p, i in producers),
    )


def _input_specs(name: str, input_dict: Any) -> tuple[TensorSpec, ...]:
    """`input0`, `input1`, ... of an input_dict, in order: each a dtype and a shape."""
    if not isinstance(input_dict, dict):
        raise T10Error(f"{name}: input_dict is not an object")
    expected = [f"input{k}" for k in range(len(input_dict))]
    if sorted(input_dict, key=_input_order) != expected:
        raise T10Error(
            f"{name}: input_dict keys must be {', '.join(expected) or 'none'}, "
            f"got {', '.join(input_dict)}"
        )
    specs: list[TensorSpec] = []
    for key in expected:
        spec = input_dict[key]
        if not isinstance(spec, dict):
            raise T10Error(
                f"{name}: {key}: expected {{dtype, shape}}, got {_shown(spec)}"
            )
        for field_name in ("dtype", "shape"):
            if field_name not in spec:
                raise T10Error(f"{name}: {key} has no {field_name}")
        dtype, shape = spec["dtype"], spec["shape"]
        if not (isinstance(dtype, str) and dtype in _DTYPES):
            raise T10Error(
                f"{name}: {key}: unsupported dtype {_shown(dtype)} (expected one of "
                f"{', '.join(_DTYPES)})"
            )
        if not (
            isinstance(shape, list)
            and all(_is_count(v) and 0 < v <= MAX_EXTENT for v in shape)
        ):
            raise T10Error(
                f"{name}: {key}: expected a shape of extents from 1 to {MAX_EXTENT}, "
                f"got {_shown(shape)}"
            )
        specs.append(TensorSpec(dtype, tuple(shape)))
    return tuple(specs)


MAX_EXTENT = 2**31
"""The largest extent a graph may declare: ample for any model, far below int64."""

MAX_ELEMENTS = 2**31
"""The most elements a node's tensor may have once the placeholders are substituted:
8 GiB of float32, which the reference interpreter and the simulated chip hold whole."""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _input_order(key: Any) -> tuple[int, str]:
    """`inputK` keys by K, others after them (and so out of place)."""
    match = re.fullmatch(r"input(\d+)", str(key))
    return (int(match.group(1)), "") if match else (-1, str(key))


def _shown(value: Any) -> str:
    """A JSON value in a diagnostic: as JSON, cut to 80 characters."""
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


FLOAT_TYPES: dict[str, Attribute] = {
    "f16": Float16Type(),
    "f32": Float32Type(),
    "f64": Float64Type(),
}
"""`float_type` values: the element type to store a graph's floating-point tensors in."""


def _tensor_type(
    spec: TensorSpec, placeholders: Placeholders, float_type: str | None
) -> TensorType:
    element = _DTYPES[spec.dtype]  # load_graph checked every dtype
    if float_type is not None and spec.dtype.startswith("float"):
        element = FLOAT_TYPES[float_type]
    return TensorType(element, placeholders.shape(spec.shape))


def _has_placeholder(spec: TensorSpec) -> bool:
    return any(
        v % BATCH_PLACEHOLDER == 0 or v % SEQUENCE_PLACEHOLDER == 0 for v in spec.shape
    )


def _activations(parameters: dict[int, TensorSpec]) -> set[int]:
    """The parameters that are inputs rather than weights.

    Those whose shape holds a batch or sequence placeholder, and integer ones (token ids);
    in a graph without placeholders (NeRF), the largest parameter (the batch of rays).
    """
    found = {
        p
        for p, spec in parameters.items()
        if _has_placeholder(spec) or spec.dtype.startswith("int")
    }
    if not found and parameters:
        found.add(
            max(parameters, key=lambda p: (int(np.prod(parameters[p].shape)), -p))
        )
    return found


def _operand_type(value: SSAValue) -> TensorType:
    """The type of an operand of a converted node: every value the importer makes,
    argument or result, is a tensor."""
    assert isinstance(value.type, TensorType)
    return value.type


def _result_points(
    domain: IterationDomain, shape: Sequence[int], first_row: int = 0
) -> dict[str, np.ndarray]:
    """Each loop dim's value at every result element (as a broadcastable grid) of the
    block of `shape` whose leading index starts at `first_row`."""
    grids = list(np.indices(shape, sparse=True))
    if grids:
        grids[0] = grids[0] + first_row
    points: dict[str, np.ndarray] = {}
    for index, grid in zip(domain.results[0].indices, grids, strict=True):
        assert isinstance(index, LinearIndex) and len(index.terms) == 1
        points[index.terms[0][0]] = grid
    return points


_VIEW_BLOCK = 1 << 22
"""Result elements whose input offsets `_is_view` holds at once (32 MiB of int64)."""


def _is_view(
    domain: IterationDomain, in_shape: Sequence[int], out_shape: Sequence[int]
) -> bool:
    """Whether a copy reads its input in row-major order, i.e. is a reshape.

    Checked block by block of leading rows, so that memory stays bounded on any size.
    """
    if int(np.prod(in_shape)) != int(np.prod(out_shape)) or domain.operands[0].guarded:
        return False
    strides = np.cumprod((1, *in_shape[::-1]))[::-1][1:]
    leading, rest = (out_shape[0], tuple(out_shape[1:])) if out_shape else (1, ())
    row = int(np.prod(rest))
    rows = max(1, _VIEW_BLOCK // max(row, 1))
    for first in range(0, leading, rows):
        block = (min(rows, leading - first), *rest) if out_shape else ()
        points = _result_points(domain, block, first)
        offset = np.zeros(block, dtype=np.int64)
        for index, stride in zip(domain.operands[0].indices, strides, strict=True):
            offset += index.evaluate(points) * int(stride)  # type: ignore[union-attr]
        expected = np.arange(first * row, first * row + offset.size)
        if not np.array_equal(offset.ravel(), expected):
            return False
    return True


def _permutation(
    domain: IterationDomain, in_shape: Sequence[int], out_shape: Sequence[int]
) -> tuple[int, ...] | None:
    """`perm` such that the copy is `np.transpose(input, perm)`, if it is one."""
    result_dims = [index.terms[0][0] for index in domain.results[0].indices]  # type: ignore[union-attr]
    input_dims: list[str] = []
    for index in domain.operands[0].indices:
        if not (
            isinstance(index, LinearIndex)
            and index.offset == 0
            and index.terms
            and len(index.terms) == 1
            and index.terms[0][1] == 1
        ):
            return None
        input_dims.append(index.terms[0][0])
    if sorted(input_dims) != sorted(result_dims) or len(set(input_dims)) != len(
        input_dims
    ):
        return None
    perm = tuple(input_dims.index(d) for d in result_dims)
    return perm if tuple(in_shape[p] for p in perm) == tuple(out_shape) else None


def _node_lines(path: str) -> dict[int, int]:
    """Line of each node's expression text, for diagnostics (pretty-printed files)."""
    lines = Path(path).read_text().splitlines()
    found: dict[int, int] = {}
    for number, line in enumerate(lines[:-1], start=1):
        if re.fullmatch(r"\s*\d+,", line) and "einstein_v2" in lines[number]:
            found[int(line.strip().rstrip(","))] = number + 1
    return found


class GraphImporter:
    """Builds one `func.func` from the nodes of a graph."""

    def __init__(
        self, path: str, placeholders: Placeholders, float_type: str | None = None
    ) -> None:
        self.path = path
        self.placeholders = placeholders
        self.float_type = float_type
        self.nodes = load_graph(path)
        self.lines = _node_lines(path)

    def error(
        self, node: GraphNode, message: str, column: int | None = None
    ) -> T10Error:
        line = self.lines.get(node.id)
        where = f"{self.path}:{line}:{column or 1}" if line else self.path
        return T10Error(f"node {node.id} ({node.op_type}): {message}", where)

    def build(self, name: str) -> ModuleOp:
        defined = {node.id for node in self.nodes}
        parameters: dict[int, TensorSpec] = {}
        declared: dict[int, TensorSpec] = {}
        for node in self.nodes:
            for number, (producer, output) in enumerate(node.producers):
                if output != 0:
                    raise self.error(node, f"uses output {output} of node {producer}")
                if not node.inputs:
                    continue
                target = declared if producer in defined else parameters
                target.setdefault(producer, node.inputs[number])
        parameter_ids = sorted(parameters)
        arg_types = [
            _tensor_type(parameters[p], self.placeholders, self.float_type)
            for p in parameter_ids
        ]
        block = Block(arg_types=arg_types)
        values: dict[int, SSAValue] = dict(zip(parameter_ids, block.args, strict=True))
        outputs: list[SSAValue] = []
        for node in self.nodes:
            operands = []
            for producer, _ in node.producers:
                if producer not in values:
                    raise self.error(
                        node,
                        f"uses node {producer} before it is defined"
                        if producer in defined
                        else f"uses node {producer}, which is neither a node of the "
                        "graph nor a parameter an input_dict declares",
                    )
                operands.append(values[producer])
            if node.op_type == "Result":
                outputs.extend(operands)
                continue
            op = self.convert(node, operands, declared.get(node.id))
            block.add_op(op)
            values[node.id] = op.results[0]
        block.add_op(ReturnOp(*outputs))
        activations = _activations(parameters)
        arg_attrs = ArrayAttr(
            DictionaryAttr({} if p in activations else {WEIGHT_ATTR: UnitAttr()})
            for p in parameter_ids
        )
        func = FuncOp(
            name,
            (arg_types, [v.type for v in outputs]),
            Region(block),
            arg_attrs=arg_attrs,
        )
        return ModuleOp([func])

    def convert(
        self, node: GraphNode, operands: list[SSAValue], declared: TensorSpec | None
    ) -> Operation:
        """The `top` op of one node: a layout change when it is one, else `top.expr`."""
        if node.expr is None:
            raise self.error(node, "has no einstein_v2 expression")
        text = self.placeholders.expression(node.expr)
        types = [_operand_type(operand) for operand in operands]
        shapes = [t.get_shape() for t in types]
        try:
            expr = parse_expression(text)
            shape = expr.output_shape(shapes)
            domain = expr.iteration_domain(shapes)
        except ExprError as error:
            raise self.error(node, f"invalid expression: {error.message}") from None
        elements = max(int(np.prod(s, dtype=object)) for s in [*shapes, shape])
        if elements > MAX_ELEMENTS:
            raise self.error(
                node,
                f"has a tensor of {elements} elements, more than the {MAX_ELEMENTS} "
                "the interpreters hold (smaller --batch or --seq?)",
            )
        dtype = declared.dtype if declared else node.inputs[0].dtype
        if declared and self.placeholders.shape(declared.shape) != shape:
            raise self.error(
                node,
                f"computes shape {list(shape)} but its consumer expects "
                f"{list(self.placeholders.shape(declared.shape))}",
            )
        result_type = _tensor_type(
            TensorSpec(dtype, shape), self.placeholders, self.float_type
        )
        element_type = types[0].get_element_type()
        if expr.is_copy and element_type == result_type.element_type:
            if _is_view(domain, shapes[0], shape):
                return ReshapeOp(operands[0], result_type)
            if (perm := _permutation(domain, shapes[0], shape)) is not None:
                return TransposeOp(operands[0], result_type, perm)
        return ExprOp(operands, text, result_type)


def import_nnfusion(
    path: str,
    batch: int = 1,
    seq: int = 128,
    name: str | None = None,
    float_type: str | None = None,
) -> ModuleOp:
    """Import the NNFusion graph at `path` as a module with one function; its
    floating-point tensors in `float_type` (a `FLOAT_TYPES` key) when given, as
    declared otherwise (T10's graphs declare float32, but T10's published figures run
    them in fp16)."""
    if float_type is not None and float_type not in FLOAT_TYPES:
        raise T10Error(
            f"unknown float type '{float_type}' (expected {', '.join(FLOAT_TYPES)})"
        )
    function = name or re.sub(r"\W", "_", Path(path).stem)
    return GraphImporter(path, Placeholders(batch, seq), float_type).build(function)
