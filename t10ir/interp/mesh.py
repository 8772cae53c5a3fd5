"""The mesh interpreter: runs a `core`-level function on a simulated chip with numpy.

A core-level function takes and returns `!core.buffer` values; the `core.layout`
attribute of each argument and result says how the full tensor is cut into the
buffer's per-core pieces. The interpreter keeps every buffer as ONE array of shape
`[cores of its grid, *buffer shape]` (logical core order) and a mask of the elements
written so far, so that every op runs on all cores at once:

- `core.kernel` gathers every core's windows with one (advanced) index, runs each `top`
  op of its body once on `[cores, ...]` arrays (`t10ir.interp.batched`) and scatters the
  tiles back;
- `core.shift` is a gather along the core axis; `core.redistribute` assembles the
  tensor elements the source pieces hold and hands every destination core its own.

Kernels compute in the compute dtype and store in their output buffer's type: a
buffer of a wider float type than the tile (an accumulator, `core.is_accumulator`)
takes the body's float values unrounded, so partial sums over steps round once,
when the accumulator is written to a buffer of the result's type.

Reading an element never written (a kernel window, a redistributed or returned piece)
is a located error, as is an allocation that does not fit in a core's SRAM. Alongside
the numbers, the run records SRAM use per physical core and every executed op in order,
with the elements each core sends and receives in an exchange, and to whom: what time accounting
needs. With `numerics=False` no tensor data is touched, and the same memory figures and
events come out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import prod

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, DictionaryAttr, TensorType
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.ir.affine import AffineMap

from t10ir.cost.relayout import Transfers, relayout_transfers, rotation_transfers
from t10ir.dialects import core, rtensor
from t10ir.errors import T10Error, op_location
from t10ir.interp import batched, kernels
from t10ir.interp.reference import format_shape, numpy_dtype, tensor_spec
from t10ir.interp.registry import Implementations, impl, register_impls
from t10ir.planning.domain import COMBINER_IDENTITY
from t10ir.planning.layout import Grid, Layout, evaluate_map
from t10ir.target.machine import Machine

LAYOUT_ATTR = rtensor.LAYOUT_ATTR
"""The argument and result attribute giving the layout of a core-level function's
tensors."""

_COMBINE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


@dataclass(frozen=True, eq=False)
class Event:
    """One executed op, in program order. `steps` are the indices of the enclosing
    `core.steps`, outermost first. For exchanges (`core.shift`, `core.redistribute`),
    `sent` and `received` are the elements each physical core sends and receives
    (length `machine.cores`): an element a core already holds is not sent; `transfers`
    says who sends how many to whom, which routing on a mesh needs (`sent` and
    `received` are its sums). Compare events field by field (arrays have no single
    truth value)."""

    op: Operation
    steps: tuple[int, ...]
    sent: np.ndarray | None = None
    received: np.ndarray | None = None
    transfers: Transfers | None = None


@dataclass(frozen=True, eq=False)
class MeshRun:
    """What a run gives: the result tensors (none without numerics), the peak SRAM
    bytes of every physical core, and the executed ops."""

    outputs: list[np.ndarray]
    sram_peak_bytes: np.ndarray
    events: list[Event]

    @property
    def supersteps(self) -> int:
        """The barriers passed: `core.sync`s executed."""
        return sum(isinstance(event.op, core.SyncOp) for event in self.events)


# --- the function's layouts and inputs --------------------------------------------------


def _layouts(
    func_op: func.FuncOp,
    attrs: ArrayAttr[DictionaryAttr] | None,
    types: Sequence[Attribute],
    what: str,
) -> list[Layout]:
    layouts: list[Layout] = []
    for number, type_ in enumerate(types):
        attr = rtensor.get_layout(attrs.data[number]) if attrs is not None else None
        if attr is None or not isinstance(type_, core.BufferType):
            raise T10Error(
                f"{what} #{number} of @{func_op.sym_name.data} must be a !core.buffer "
                f"with a `{LAYOUT_ATTR}` attribute to run on the mesh",
                op_location(func_op),
            )
        layout = attr.layout
        if type_.get_shape() != layout.piece:
            raise T10Error(
                f"{what} #{number} is a {type_} but its layout's piece is "
                f"{list(layout.piece)}",
                op_location(func_op),
            )
        layouts.append(layout)
    return layouts


def function_layouts(func_op: func.FuncOp) -> tuple[list[Layout], list[Layout]]:
    """The layouts of a core-level function's arguments and of its results."""
    kind = func_op.function_type
    return (
        _layouts(func_op, func_op.arg_attrs, kind.inputs.data, "argument"),
        _layouts(func_op, func_op.res_attrs, kind.outputs.data, "result"),
    )


def _element_dtype(type_: Attribute) -> np.dtype:
    assert isinstance(type_, core.BufferType), "checked by function_layouts"
    return numpy_dtype(type_.element_type)


def scatter_inputs(
    func_op: func.FuncOp, inputs: Sequence[np.ndarray]
) -> list[np.ndarray]:
    """Every argument's pieces, `[cores, *piece]`, from the full input tensors (which
    must have the layouts' shapes and the buffers' element types exactly)."""
    layouts, _ = function_layouts(func_op)
    types = func_op.function_type.inputs.data
    if len(inputs) != len(layouts):
        raise T10Error(
            f"@{func_op.sym_name.data} takes {len(layouts)} inputs, got {len(inputs)}"
        )
    pieces: list[np.ndarray] = []
    for number, (value, layout, type_) in enumerate(
        zip(inputs, layouts, types, strict=True)
    ):
        dtype = _element_dtype(type_)
        if value.shape != layout.shape or value.dtype != dtype:
            raise T10Error(
                f"input arg{number} is {format_shape(value.shape)} {value.dtype}, "
                f"expected {format_shape(layout.shape)} {dtype}"
            )
        pieces.append(layout.scatter(value))
    return pieces


# --- per-core geometry ------------------------------------------------------------------


@dataclass(frozen=True)
class _Window:
    """Every core's box of one shape in a `[cores, *buffer]` array: the origins, and
    the index that reads or writes all boxes at once (basic slices when every core's
    box starts at the same place, else advanced indices)."""

    origins: np.ndarray
    index: tuple[slice | np.ndarray, ...]

    @staticmethod
    def of(origins: np.ndarray, shape: Sequence[int]) -> _Window:
        if (origins == origins[:1]).all():
            index: tuple[slice | np.ndarray, ...] = (
                slice(None),
                *(
                    slice(int(o), int(o) + n)
                    for o, n in zip(origins[0], shape, strict=True)
                ),
            )
            return _Window(origins, index)
        cores, rank = origins.shape
        column = (cores,) + (1,) * rank
        arrays = [np.arange(cores).reshape(column)]
        for axis, extent in enumerate(shape):
            along = [1] * (rank + 1)
            along[axis + 1] = extent
            arrays.append(
                origins[:, axis].reshape(column) + np.arange(extent).reshape(along)
            )
        return _Window(origins, tuple(arrays))


def _describe(grid: Grid) -> str:
    return str(core.GridAttr.of(grid))


@dataclass(eq=False)
class _Buffer:
    """A buffer value: its grid, its type, every core's piece stacked in logical core
    order and which elements are written (None when numerics are off), and whether it
    is still allocated."""

    grid: Grid
    type: core.BufferType
    data: np.ndarray | None
    written: np.ndarray | None
    live: bool = True


# --- the interpreter --------------------------------------------------------------------


@register_impls
class MeshInterpreter(Implementations):
    """One run: the buffers of the SSA values, the step indices in scope, SRAM in
    use per physical core, and the events so far. Each `core` op is run by its `@impl`
    method."""

    missing = "cannot run on the mesh"

    def __init__(self, machine: Machine, numerics: bool, compute_dtype: np.dtype):
        self.machine = machine
        self.numerics = numerics
        self.compute_dtype = compute_dtype
        self.used = np.zeros(machine.cores, dtype=np.int64)
        self.peak = np.zeros(machine.cores, dtype=np.int64)
        self.events: list[Event] = []
        self.buffers: dict[SSAValue, _Buffer] = {}
        self.step_values: dict[SSAValue, int] = {}
        self.steps: list[int] = []
        # The transfers of every redistribution, and the sources and transfers of
        # every shift per value of its predicate's step indices: a loop repeats them.
        self.exchanges: dict[Operation, Transfers] = {}
        self.shifts: dict[
            tuple[Operation, tuple[int, ...]], tuple[np.ndarray, Transfers]
        ] = {}

    # ---- helpers

    def _error(self, op: Operation, message: str) -> T10Error:
        when = f" (steps {self.steps})" if self.steps else ""
        return T10Error(f"'{op.name}' op {message}{when}", op_location(op))

    def _event(self, op: Operation, transfers: Transfers | None = None) -> None:
        """Records `op`; an exchange with its transfers (read-only, shared by the
        events of one op)."""
        steps = tuple(self.steps)
        if transfers is None:
            self.events.append(Event(op, steps))
        else:
            sent, received = transfers.sent, transfers.received
            self.events.append(Event(op, steps, sent, received, transfers))

    def _held(self, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
        """Per core and piece element: the row-major number of the tensor element it
        holds, and whether it holds one (not padding)."""
        return layout.indices()

    def _live(self, op: Operation, value: SSAValue, what: str) -> _Buffer:
        buffer = self.buffers[value]
        if not buffer.live:
            raise self._error(op, f"uses {what} after its core.free")
        return buffer

    def _buffer(self, op: Operation, value: SSAValue, what: str, grid: Grid) -> _Buffer:
        """The live buffer of `value`, which must be on the same cores as `grid`."""
        buffer = self._live(op, value, what)
        if buffer.grid.size != grid.size or not np.array_equal(
            buffer.grid.physical(), grid.physical()
        ):
            raise self._error(
                op,
                f"runs on {_describe(grid)} but {what} is on {_describe(buffer.grid)}",
            )
        return buffer

    def _allocate(
        self, op: Operation, grid: Grid, type_: core.BufferType, what: str
    ) -> _Buffer:
        """A new buffer whose bytes are taken on every core of `grid`."""
        problems = grid.check(self.machine.cores)
        if problems:
            raise self._error(op, f"{what}: {'; '.join(problems)}")
        cores, need = grid.physical(), type_.bytes_per_core
        free = self.machine.sram_bytes - self.used[cores]
        short = np.flatnonzero(free < need)
        if short.size:
            first = short[0]
            raise self._error(
                op,
                f"{what}: out of SRAM on core {cores[first]}: needs {need} bytes, "
                f"{free[first]} of {self.machine.sram_bytes} bytes free",
            )
        self.used[cores] += need
        np.maximum(self.peak, self.used, out=self.peak)
        data = written = None
        if self.numerics:
            shape = (grid.size, *type_.get_shape())
            data = np.zeros(shape, dtype=_element_dtype(type_))
            written = np.zeros(shape, dtype=bool)
        return _Buffer(grid, type_, data, written)

    def _window(
        self,
        op: Operation,
        amap: AffineMap,
        grid: Grid,
        symbols: Sequence[int],
        shape: Sequence[int],
        buffer: _Buffer,
        what: str,
    ) -> _Window:
        origins = evaluate_map(amap, grid.digits(), symbols, grid.size)
        room = np.array(buffer.type.get_shape(), dtype=np.int64)
        outside = ((origins < 0) | (origins + np.array(shape) > room)).any(axis=1)
        if outside.any():
            first = int(np.argmax(outside))
            raise self._error(
                op,
                f"{what} window {list(shape)} at {origins[first].tolist()} leaves its "
                f"buffer {room.tolist()} on core {grid.physical()[first]}",
            )
        return _Window.of(origins, shape)

    def _check_window_written(
        self, op: Operation, buffer: _Buffer, window: _Window, what: str
    ) -> None:
        assert buffer.written is not None
        unwritten = ~buffer.written[window.index]
        if unwritten.any():
            first, *offset = np.argwhere(unwritten)[0]
            element = (window.origins[first] + offset).tolist()
            raise self._error(
                op,
                f"{what} reads element {element} of its buffer on core "
                f"{buffer.grid.physical()[first]}, which was never written",
            )

    def _check_held_written(
        self, op: Operation, buffer: _Buffer, layout: Layout, what: str
    ) -> None:
        """Every element of the tensor a core holds (not padding) must be written."""
        assert buffer.written is not None
        numbers, inside = self._held(layout)
        unwritten = inside & ~buffer.written
        if unwritten.any():
            first = np.argwhere(unwritten)[0]
            element = [
                int(i) for i in np.unravel_index(numbers[tuple(first)], layout.shape)
            ]
            raise self._error(
                op,
                f"{what} element {element} of the tensor on core "
                f"{buffer.grid.physical()[first[0]]}, which was never written",
            )

    def _widen(self, x: np.ndarray) -> np.ndarray:
        return kernels.widen(x, self.compute_dtype)

    # ---- the function

    def run(
        self, func_op: func.FuncOp, inputs: Sequence[np.ndarray]
    ) -> list[np.ndarray]:
        if len(func_op.body.blocks) != 1:
            raise T10Error(
                f"@{func_op.sym_name.data} must have exactly one block to be run",
                op_location(func_op),
            )
        arg_layouts, result_layouts = function_layouts(func_op)
        pieces = scatter_inputs(func_op, inputs) if self.numerics else None
        for number, (arg, layout) in enumerate(
            zip(func_op.args, arg_layouts, strict=True)
        ):
            assert isinstance(arg.type, core.BufferType)
            buffer = self._allocate(
                func_op, layout.grid, arg.type, f"argument #{number}"
            )
            if pieces is not None:
                buffer.data = pieces[number]
                buffer.written = np.ones(pieces[number].shape, dtype=bool)
            self.buffers[arg] = buffer
        terminator = self._run_block(func_op.body.block)
        if not isinstance(terminator, func.ReturnOp):
            raise T10Error(
                f"@{func_op.sym_name.data} does not end in 'func.return'",
                op_location(func_op),
            )
        return self._return(terminator, result_layouts)

    def _run_block(self, block: Block) -> Operation | None:
        """Runs the ops of `block` up to its terminator, which it returns."""
        lookup = self.lookup
        for op in block.ops:
            run = lookup(type(op))
            if run is not None:
                run(self, op)
            elif isinstance(op, core.YieldOp | func.ReturnOp):
                return op
            else:
                raise self._error(op, self.missing)
        return None

    def _return(self, op: func.ReturnOp, layouts: Sequence[Layout]) -> list[np.ndarray]:
        buffers = [
            self._buffer(op, value, f"output #{number}", layout.grid)
            for number, (value, layout) in enumerate(
                zip(op.arguments, layouts, strict=True)
            )
        ]
        if not self.numerics:
            return []
        outputs: list[np.ndarray] = []
        for number, (buffer, layout) in enumerate(zip(buffers, layouts, strict=True)):
            assert buffer.data is not None
            self._check_held_written(op, buffer, layout, f"output #{number}:")
            try:
                outputs.append(layout.gather(buffer.data))
            except ValueError as error:
                raise self._error(op, f"output #{number}: {error}") from None
        return outputs

    # ---- ops

    @impl(core.AllocOp)
    def _alloc(self, op: core.AllocOp) -> None:
        type_ = op.buffer.type
        assert isinstance(type_, core.BufferType)
        self.buffers[op.buffer] = self._allocate(op, op.grid.grid, type_, "allocation")
        self._event(op)

    @impl(core.SyncOp)
    def _sync(self, op: core.SyncOp) -> None:
        self._event(op)

    @impl(core.FreeOp)
    def _free(self, op: core.FreeOp) -> None:
        buffer = self._live(op, op.buffer, "the buffer")
        self.used[buffer.grid.physical()] -= buffer.type.bytes_per_core
        buffer.live, buffer.data, buffer.written = False, None, None
        self._event(op)

    @impl(core.FillOp)
    def _fill(self, op: core.FillOp) -> None:
        buffer = self._live(op, op.buffer, "the buffer")
        if buffer.data is not None and buffer.written is not None:
            buffer.data[...] = op.value.value.data
            buffer.written[...] = True
        self._event(op)

    @impl(core.StepsOp)
    def _steps(self, op: core.StepsOp) -> None:
        for step in range(op.count.value.data):
            self.step_values[op.index] = step
            self.steps.append(step)
            self._run_block(op.body.block)
            self.steps.pop()
        del self.step_values[op.index]

    @impl(core.KernelOp)
    def _kernel(self, op: core.KernelOp) -> None:
        grid = op.grid.grid
        args = op.body.block.args
        terminator = op.body.block.last_op
        assert isinstance(terminator, core.YieldOp), "checked by the verifier"
        (tile,) = terminator.values
        ins = [
            self._buffer(op, value, f"input #{number}", grid)
            for number, value in enumerate(op.ins)
        ]
        out = self._buffer(op, op.out, "the output", grid)
        symbols = [self.step_values[v] for v in op.at]
        windows = [
            self._window(
                op,
                amap.data,
                grid,
                symbols,
                _shape(arg.type),
                buffer,
                f"input #{number}",
            )
            for number, (amap, arg, buffer) in enumerate(
                zip(op.windows, args, ins, strict=True)
            )
        ]
        target = self._window(
            op, op.out_window.data, grid, symbols, _shape(tile.type), out, "the output"
        )
        self._event(op)
        if not self.numerics:
            return
        assert out.data is not None and out.written is not None
        values: dict[SSAValue, np.ndarray] = {}
        for number, (arg, buffer, window) in enumerate(
            zip(args, ins, windows, strict=True)
        ):
            assert buffer.data is not None
            self._check_window_written(op, buffer, window, f"input #{number}")
            values[arg] = buffer.data[window.index]
        accumulator = (
            out.data.dtype
            if core.is_accumulator(out.type.element_type, _element_type(tile.type))
            else None
        )
        for inner in op.body.block.ops:
            if inner is terminator:
                break
            operands = [values[v] for v in inner.operands]
            values[inner.results[0]] = batched.run_op(
                inner, operands, self.compute_dtype, accumulator
            )
        result = values[tile]
        if op.combine is not None:
            self._check_window_written(op, out, target, "the combining output")
            combine = _COMBINE[op.combine.data]
            result = combine(self._widen(out.data[target.index]), self._widen(result))
        out.data[target.index] = result
        out.written[target.index] = True

    @impl(core.ShiftOp)
    def _shift(self, op: core.ShiftOp) -> None:
        ring = op.ring.ring
        grid = ring.grid
        buffer = self._buffer(op, op.buf, "the shifted buffer", grid)
        self._buffer(op, op.scratch, "the scratch buffer", grid)
        symbols = (
            tuple(self.step_values[v] for v in op.at) if op.when is not None else ()
        )
        if (op, symbols) not in self.shifts:
            sources = ring.sources(op.by.value.data)
            moving = None
            if op.when is not None:
                when = evaluate_map(op.when.data, grid.digits(), symbols, grid.size)
                moving = (when == 0).all(axis=1)
            moves = sources != np.arange(grid.size)
            if moving is not None:
                moves &= moving
            self.shifts[op, symbols] = (
                np.where(moves, sources, np.arange(grid.size)),
                rotation_transfers(
                    ring,
                    op.by.value.data,
                    prod(buffer.type.get_shape()),
                    moving,
                    self.machine.cores,
                ),
            )
        source, transfers = self.shifts[op, symbols]
        self._event(op, transfers)
        if buffer.data is not None and buffer.written is not None:
            buffer.data = buffer.data[source]
            buffer.written = buffer.written[source]

    @impl(core.RedistributeOp)
    def _redistribute(self, op: core.RedistributeOp) -> None:
        """Every element a destination core holds becomes the source's copy (or the
        combination of all copies); padding becomes the destination's padding. Works
        element by element rather than through the whole tensor, since either layout
        may hold only part of it."""
        src_layout, dst_layout = op.src_layout.layout, op.dst_layout.layout
        src = self._buffer(op, op.src, "the source", src_layout.grid)
        dst = self._buffer(op, op.dst, "the destination", dst_layout.grid)
        combine = op.combine.data if op.combine is not None else None
        if op not in self.exchanges:
            try:
                self.exchanges[op] = relayout_transfers(
                    src_layout, dst_layout, combine is not None, self.machine.cores
                )
            except ValueError as error:
                raise self._error(op, str(error)) from None
        self._event(op, self.exchanges[op])
        if src.data is None or dst.data is None:
            return
        self._check_held_written(op, src, src_layout, "reads")
        numbers, inside = self._held(src_layout)
        index, values = numbers[inside], self._widen(src.data)[inside]
        size = prod(src_layout.shape)
        if combine is None:
            tensor = np.zeros(size, dtype=values.dtype)
            tensor[index] = values
            if not np.array_equal(tensor[index], values, equal_nan=True):
                raise self._error(op, "reads replicas of an element that disagree")
        else:
            tensor = np.full(size, COMBINER_IDENTITY[combine], dtype=values.dtype)
            _COMBINE[combine].at(tensor, index, values)
        numbers, inside = self._held(dst_layout)
        padding = np.asarray(dst_layout.padding, dtype=dst.data.dtype)
        dst.data = np.where(inside, tensor[numbers].astype(dst.data.dtype), padding)
        dst.written = np.ones(dst.data.shape, dtype=bool)


def _element_type(type_: Attribute) -> Attribute:
    assert isinstance(type_, TensorType), "checked by the kernel's verifier"
    return type_.get_element_type()


def _shape(type_: Attribute) -> tuple[int, ...]:
    shape, _ = tensor_spec(type_)
    return shape


def run_core_function(
    func_op: func.FuncOp,
    inputs: Sequence[np.ndarray],
    machine: Machine,
    *,
    numerics: bool = True,
    compute_dtype: type[np.floating] | np.dtype = np.float32,
) -> MeshRun:
    """Run a core-level function on `machine`: `inputs` are the full tensors of its
    arguments (unused, and may be empty, when `numerics` is False); kernels compute in
    `compute_dtype` and store in their buffers' element types, as the reference
    interpreter does. Raises T10Error, located at the op, on any error."""
    mesh = MeshInterpreter(machine, numerics, np.dtype(compute_dtype))
    # NaN/inf from log, sqrt, div of random data are results, not warnings to print.
    with np.errstate(all="ignore"):
        outputs = mesh.run(func_op, inputs)
    return MeshRun(outputs, mesh.peak.copy(), mesh.events)
