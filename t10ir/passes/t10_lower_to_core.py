"""`t10-lower-to-core`: the compute-shift schedule as a per-core SPMD program.

Every distributed tensor of the `shift` level becomes a per-core buffer of its layout's
piece (`!core.buffer`), and every op the per-core steps that implement it:

- `shift.relayout` allocates the destination, `core.redistribute`s into it (the source
  and destination layouts, hence the core-to-core mapping, are explicit);
- `shift.fill` allocates and `core.fill`s; a `shift.view` is its operand's buffer;
- `scf.for` step loops become `core.steps`, whose step-carried values are updated in
  place: `shift.compute` becomes a `core.kernel` accumulating into its output buffer,
  and `shift.rotate` a `core.shift` of the buffer through a scratch receive buffer;
- every exchange ends in a `core.sync` (a bulk-synchronous superstep), and
  each buffer is freed after its last use (after the sync ending its exchange), the
  activation arguments' too: as `t10-select-plans` counts them, activations live from
  their producer to their last user, and only weights stay for the whole run.

The pass then predicts each `top` op's cycles from the program it wrote: the ops tagged
with the op's index (`t10.op`) charged once, statically, as the interpreter's
accountant charges a run (`t10ir.lowering.program_cost.predict`), written as
`predicted` in the function's records (`t10.ops`). Predicting here rather than at the
`shift` level reuses the accountant's costing of `core` ops as it is, and predicts the
program every pipeline ends in, whether or not it eliminated redundant shifts. It
also replays the program's allocations as the chip takes them
(`t10ir.lowering.program_memory.program_peak`) and refuses, with one diagnostic, a
program some core of the module's machine cannot hold.

A float sum narrower than the machine's accumulator type (`Machine.accumulator_type`:
an f16 contraction on the IPU's f32) whose reduction is cut in time, or whose output
rotates, keeps its partial sums in an accumulator buffer of that type: its step loop's
kernel adds each step's tile to it unrounded, a rotation moves it (through a receive
buffer of that type), and one more kernel after the loop, a `top.cast` into a buffer
of the result's type, rounds it once; then it is freed. Both buffers take SRAM, which
the replayed memory counts, as the plan cost model does for an op whose `OpSpec`
says its result is a float (`float_result`). A reduction split over cores
has each core's partial result rounded once as its kernel writes it (or as the
rounding kernel does), and its combining `core.redistribute` sums those in the compute
type and rounds once more, as it writes the result: partial results cross the chip in
the result's type, as the plan search and the selection cost their exchange.

Function arguments and results become buffers carrying their layout as the
`core.layout` argument/result attribute, which is how a runner scatters inputs and
gathers outputs. Updating a value in place is only right if nothing reads the value
afterwards; the pass checks that, and that a rotated function argument (a hot weight)
is rotated back to where the caller keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from xdsl.context import Context
from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    ArrayAttr,
    DictionaryAttr,
    IntegerAttr,
    ModuleOp,
    TensorType,
)
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue
from xdsl.ir.affine import AffineExpr, AffineMap
from xdsl.passes import ModulePass

from t10ir.dialects import core, shift, top
from t10ir.dialects.rtensor import (
    copy_op_index,
    get_machine,
    get_op_index,
    get_records,
    set_records,
    with_layout,
)
from t10ir.dialects.top import is_weight
from t10ir.errors import DoesNotFitError, OpError
from t10ir.lowering.program_cost import predict
from t10ir.lowering.program_memory import program_peak
from t10ir.passes.compile_state import module_machine
from t10ir.planning.layout import Grid
from t10ir.target.machine import DEFAULT_ACCUMULATOR


def buffer_type(type: Attribute) -> core.BufferType:
    """The per-core buffer holding a distributed tensor's piece."""
    assert isinstance(type, shift.DTensorType)
    layout = type.layout.layout
    return core.BufferType(type.tensor.get_element_type(), layout.piece)


def _layout_attr(value: SSAValue) -> core.LayoutAttr:
    assert isinstance(value.type, shift.DTensorType)
    return value.type.layout


def _top_level(op: Operation, block: Block) -> Operation:
    """The ancestor of `op` (or `op`) that sits directly in `block`."""
    while op.parent_block() is not block:
        parent = op.parent_op()
        assert parent is not None, "op is not inside the block"
        op = parent
    return op


def _check_last_use(value: SSAValue, updater: Operation) -> None:
    """`updater` overwrites `value`'s buffer: no op may read `value` after it."""
    block = updater.parent_block()
    assert block is not None
    position = block.get_operation_index(updater)
    for use in value.uses:
        user = _top_level(use.operation, block)
        if block.get_operation_index(user) > position:
            raise OpError(
                updater,
                f"updates a buffer in place that '{use.operation.name}' reads "
                "afterwards: the value must not be used after it",
            )


def _is_restored(loop: scf.ForOp, index: int) -> bool:
    """The loop's `index`-th result is rotated back once the loop ends (the closing
    rotation `t10-lower-to-shift` writes)."""
    uses = list(loop.results[index].uses)
    return (
        len(uses) == 1
        and isinstance(uses[0].operation, shift.RotateOp)
        and not uses[0].operation.steps
    )


def _passes_through(loop: scf.ForOp, index: int) -> bool:
    """The loop yields its `index`-th carried value unchanged (no op updates it)."""
    terminator = loop.body.block.last_op
    assert isinstance(terminator, scf.YieldOp)
    value, arg = terminator.arguments[index], loop.body.block.args[index + 1]
    while value is not arg:
        inner = value.owner
        if not isinstance(inner, scf.ForOp):
            return False
        position = loop_result_index(inner, value)
        if not _passes_through(inner, position):
            return False
        value = inner.iter_args[position]
    return True


def loop_result_index(loop: scf.ForOp, value: SSAValue) -> int:
    results: list[SSAValue] = list(loop.results)
    return results.index(value)


def _constant(loop: scf.ForOp, value: SSAValue) -> int:
    owner = value.owner
    if not isinstance(owner, arith.ConstantOp) or not isinstance(
        owner.value, IntegerAttr
    ):
        raise OpError(loop, "step loop bounds must be constants")
    return owner.value.value.data


@dataclass
class _FunctionLowering:
    """Lowers one function body; `buffers` maps each shift value to its buffer."""

    block: Block
    buffers: dict[SSAValue, SSAValue] = field(default_factory=dict)
    scratch: dict[SSAValue, SSAValue] = field(default_factory=dict)
    steps: dict[SSAValue, SSAValue] = field(default_factory=dict)
    outermost: Operation | None = None

    def lower_block(self, source: Block, target: Block) -> None:
        for op in source.ops:
            if isinstance(op, func.ReturnOp):
                target.add_op(func.ReturnOp(*(self.buffers[v] for v in op.arguments)))
            elif isinstance(op, arith.ConstantOp):
                continue
            elif isinstance(op, scf.YieldOp):
                self._check_yield(op)
            else:
                before = target.last_op
                self.lower_op(op, target)
                new = before.next_op if before is not None else target.first_op
                while new is not None:
                    copy_op_index(new, op)
                    new = new.next_op

    def lower_op(self, op: Operation, target: Block) -> None:
        if isinstance(op, shift.RelayoutOp):
            dst_type = buffer_type(op.output.type)
            grid = _layout_attr(op.output).layout.grid
            alloc = core.AllocOp(grid, dst_type)
            target.add_ops(
                [
                    alloc,
                    core.RedistributeOp(
                        self.buffers[op.input],
                        alloc,
                        _layout_attr(op.input).layout,
                        _layout_attr(op.output).layout,
                        op.combine.data if op.combine else None,
                    ),
                ]
            )
            self.buffers[op.output] = alloc.buffer
        elif isinstance(op, shift.ViewOp):
            self.buffers[op.output] = self.buffers[op.input]
        elif isinstance(op, shift.FillOp):
            alloc = core.AllocOp(
                _layout_attr(op.output).layout.grid, buffer_type(op.output.type)
            )
            target.add_ops([alloc, core.FillOp(alloc, op.value.value.data)])
            self.buffers[op.output] = alloc.buffer
        elif isinstance(op, shift.RotateOp):
            _check_last_use(op.input, _top_level(op, op.parent_block() or self.block))
            buffer = self.buffers[op.input]
            target.add_op(
                core.ShiftOp(
                    buffer,
                    self._scratch(buffer, _layout_attr(op.input).layout.grid, target),
                    op.ring.ring,
                    op.distance.value.data,
                    op.when.data if op.when else None,
                    [self.steps[s] for s in op.steps],
                )
            )
            self.buffers[op.output] = buffer
        elif isinstance(op, shift.ComputeOp):
            _check_last_use(op.acc, op)
            target.add_op(self._kernel(op))
            self.buffers[op.result] = self.buffers[op.acc]
        elif isinstance(op, scf.ForOp):
            self._loop(op, target)
        else:
            raise OpError(op, "cannot be lowered to core: not a shift-level op")

    def _scratch(self, buffer: SSAValue, grid: Grid, target: Block) -> SSAValue:
        """The receive buffer of `buffer`'s rotations, allocated before the outermost
        loop that rotates it."""
        if buffer not in self.scratch:
            assert isinstance(buffer.type, core.BufferType)
            alloc = core.AllocOp(grid, buffer.type)
            if self.outermost is not None:
                self.block.insert_op_before(alloc, self.outermost)
            else:
                target.add_op(alloc)
            self.scratch[buffer] = alloc.buffer
        return self.scratch[buffer]

    def _kernel(self, op: shift.ComputeOp) -> core.KernelOp:
        body = op.body.clone()
        terminator = body.block.last_op
        assert isinstance(terminator, shift.YieldOp)
        body.block.insert_op_before(core.YieldOp(*terminator.values), terminator)
        body.block.erase_op(terminator)
        return core.KernelOp(
            _layout_attr(op.acc).layout.grid,
            [self.buffers[v] for v in op.inputs],
            self.buffers[op.acc],
            [w.data for w in op.windows],
            op.output_window.data,
            [self.steps[s] for s in op.steps],
            body,
            op.combine.data if op.combine else None,
        )

    def _loop(self, loop: scf.ForOp, target: Block) -> None:
        if _constant(loop, loop.lb) != 0 or _constant(loop, loop.step) != 1:
            raise OpError(loop, "step loops must count from 0 by 1")
        count = _constant(loop, loop.ub)
        for index, init in enumerate(loop.iter_args):
            if _passes_through(loop, index):
                continue
            _check_last_use(init, loop)
            if (
                isinstance(init, BlockArgument)
                and isinstance(init.block.parent_op(), func.FuncOp)
                and not _is_restored(loop, index)
            ):
                raise OpError(
                    loop,
                    f"rotates function argument #{init.index} in place without "
                    "rotating it back",
                )
        steps = core.StepsOp(count)
        target.add_op(steps)
        if self.outermost is None:
            self.outermost = steps
        body = loop.body.block
        self.steps[body.args[0]] = steps.index
        for arg, init in zip(body.args[1:], loop.iter_args, strict=True):
            self.buffers[arg] = self.buffers[init]
        self.lower_block(body, steps.body.block)
        steps.body.block.add_op(core.YieldOp())
        for result, init in zip(loop.results, loop.iter_args, strict=True):
            self.buffers[result] = self.buffers[init]
        if self.outermost is steps:
            self.outermost = None

    def _check_yield(self, op: scf.YieldOp) -> None:
        loop = op.parent_op()
        assert isinstance(loop, scf.ForOp)
        for value, arg in zip(op.arguments, loop.body.block.args[1:], strict=True):
            if self.buffers[value] is not self.buffers[arg]:
                raise OpError(
                    op,
                    "yields a value that is not the carried buffer updated in place",
                )


def _round_once(
    grid: Grid, accumulator: SSAValue, out: SSAValue, wide: Attribute
) -> core.KernelOp:
    """A kernel on `grid` writing the accumulator buffer (of `wide` elements) into
    `out`, a buffer of its shape and the result's type, whole: rounded once."""
    out_type = out.type
    assert isinstance(out_type, core.BufferType)
    shape = out_type.get_shape()
    body = Block(arg_types=[TensorType(wide, shape)])
    cast = top.CastOp(body.args[0], TensorType(out_type.element_type, shape))
    body.add_ops([cast, core.YieldOp(cast)])
    whole = AffineMap(len(grid.shape), 0, tuple(AffineExpr.constant(0) for _ in shape))
    return core.KernelOp(grid, [accumulator], out, [whole], whole, [], Region(body))


def _widen_accumulators(block: Block, accumulator: str) -> None:
    """Gives every float sum over steps (a kernel combining with "sum") an accumulator
    buffer of the `accumulator` type where its result's type is narrower (see the
    module doc): its fill, its kernel and its rotations use the accumulator; every
    other reader reads the result buffer, which a kernel after the loop writes,
    rounded (`_round_once`)."""
    wide = next(t for t, name in core.FLOAT_TYPES.items() if name == accumulator)
    for kernel in [op for op in block.walk() if isinstance(op, core.KernelOp)]:
        out, alloc = kernel.out, kernel.out.owner
        narrow = out.type
        assert isinstance(narrow, core.BufferType)
        if (
            not isinstance(alloc, core.AllocOp)
            or kernel.combine is None
            or kernel.combine.data != "sum"
            or not core.is_accumulator(wide, narrow.element_type)
        ):
            continue
        grid = alloc.grid.grid
        acc = core.AllocOp(grid, core.BufferType(wide, narrow.get_shape()))
        block.insert_op_before(_tagged(acc, alloc), alloc)
        wide_scratch: dict[SSAValue, SSAValue] = {}
        for use in list(out.uses):
            user = use.operation
            if isinstance(user, core.ShiftOp):
                user.operands = [
                    acc.buffer,
                    _wide_scratch(block, user.scratch, wide, wide_scratch),
                    *user.at,
                ]
            elif user is kernel or isinstance(user, core.FillOp):
                user.operands = [
                    acc.buffer if n == use.index else v
                    for n, v in enumerate(user.operands)
                ]
        for scratch in wide_scratch:
            if not scratch.uses and isinstance(scratch.owner, core.AllocOp):
                block.erase_op(scratch.owner)
        if not out.uses:
            block.erase_op(alloc)
            continue
        after = _top_level(kernel, block)
        block.detach_op(alloc)
        rounding = _tagged(_round_once(grid, acc.buffer, out, wide), after)
        block.insert_ops_after([alloc, rounding], after)


def _wide_scratch(
    block: Block, scratch: SSAValue, wide: Attribute, made: dict[SSAValue, SSAValue]
) -> SSAValue:
    """The receive buffer of a rotated accumulator (an output cut in time), of the
    accumulator's `wide` type in place of the narrow `scratch` (dropped once nothing
    else uses it), made once per narrow one (`made`)."""
    if scratch not in made:
        narrow, alloc = scratch.type, scratch.owner
        assert isinstance(narrow, core.BufferType) and isinstance(alloc, core.AllocOp)
        new = core.AllocOp(alloc.grid.grid, core.BufferType(wide, narrow.get_shape()))
        block.insert_op_before(_tagged(new, alloc), alloc)
        made[scratch] = new.buffer
    return made[scratch]


def _tagged(op: Operation, like: Operation) -> Operation:
    """`op`, attributed to the same `top` op as `like` (for reports)."""
    copy_op_index(op, like)
    return op


def _insert_syncs(block: Block) -> None:
    """A `core.sync` ends every exchange: each is its own bulk-synchronous superstep,
    as the cost model charges it, and a later exchange may read what it wrote."""
    for op in list(block.ops):
        if isinstance(op, core.StepsOp):
            _insert_syncs(op.body.block)
        elif isinstance(op, core.ShiftOp | core.RedistributeOp):
            block.insert_op_after(_tagged(core.SyncOp(), op), op)


def _insert_frees(
    block: Block, keep: Sequence[SSAValue], arguments: Sequence[SSAValue]
) -> None:
    """Frees every buffer allocated in `block`, and each of `arguments`, after its
    last use (after the sync that ends the superstep of that use), except those in
    `keep`. An argument nothing reads is freed first thing."""
    ops = list(block.ops)
    last: dict[SSAValue, int] = {}
    for index, op in enumerate(ops):
        for inner in op.walk():
            for value in inner.operands:
                last[value] = index
    born = {
        op.buffer: index for index, op in enumerate(ops) if isinstance(op, core.AllocOp)
    }
    for value, start in [*born.items(), *((a, -1) for a in arguments)]:
        if value in keep:
            continue
        index = last.get(value, start)
        while index + 1 < len(ops) and isinstance(ops[index + 1], core.SyncOp):
            index += 1
        free = core.FreeOp(value)
        if index < 0:
            block.insert_op_before(free, ops[0])
        else:
            block.insert_op_after(_tagged(free, ops[index]), ops[index])


def _with_layouts(
    attrs: ArrayAttr[DictionaryAttr] | None, values: Sequence[SSAValue]
) -> ArrayAttr[DictionaryAttr]:
    old = attrs.data if attrs is not None else [DictionaryAttr({})] * len(values)
    return ArrayAttr(
        with_layout(a, _layout_attr(v)) for a, v in zip(old, values, strict=True)
    )


def lower_function(
    function: func.FuncOp, accumulator: str = DEFAULT_ACCUMULATOR
) -> None:
    """Rewrites `function` from the shift level to the core level, float sums
    accumulating in the `accumulator` type (`Machine.accumulator_type`)."""
    old = function.body.block
    block = Block(arg_types=[buffer_type(a.type) for a in old.args])
    lowering = _FunctionLowering(block)
    for arg, new in zip(old.args, block.args, strict=True):
        lowering.buffers[arg] = new
    returned = old.last_op
    if not isinstance(returned, func.ReturnOp):
        raise OpError(function, "must end in func.return")
    for value in returned.arguments:
        if not isinstance(value.type, shift.DTensorType):
            raise OpError(returned, f"returns {value.type}, not a distributed tensor")
    arg_attrs = _with_layouts(function.arg_attrs, old.args)
    res_attrs = _with_layouts(function.res_attrs, returned.arguments)
    lowering.lower_block(old, block)
    _widen_accumulators(block, accumulator)
    _insert_syncs(block)
    new_return = block.last_op
    assert isinstance(new_return, func.ReturnOp)
    activations = [
        new for arg, new in zip(old.args, block.args, strict=True) if not is_weight(arg)
    ]
    _insert_frees(block, new_return.arguments, activations)
    function.body.detach_block(old)
    old.erase(safe_erase=False)
    function.body.add_block(block)
    function.arg_attrs = arg_attrs
    function.res_attrs = res_attrs
    function.update_function_type()


@dataclass(frozen=True)
class T10LowerToCorePass(ModulePass):
    """The `shift` level becomes the per-core SPMD program of dialect `core`."""

    name = "t10-lower-to-core"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        for function in list(op.walk()):
            if isinstance(function, func.FuncOp) and not function.is_declaration:
                for arg in function.args:
                    if not isinstance(arg.type, shift.DTensorType):
                        raise OpError(
                            function,
                            f"takes {arg.type}, not a distributed tensor: run "
                            "t10-lower-to-shift first",
                        )
                machine = get_machine(op)
                lower_function(
                    function,
                    machine.accumulator_type if machine else DEFAULT_ACCUMULATOR,
                )
                _check_memory(function, op)
                _predict(function, op)


def _check_memory(function: func.FuncOp, module: ModuleOp) -> None:
    """Refuses a program some core of the module's machine cannot hold (replayed as
    the chip allocates it, `program_peak`): better at compile time than in a run."""
    machine = get_machine(module)
    if machine is None:
        return
    peak = program_peak(function, machine.cores)
    if peak.bytes <= machine.sram_bytes:
        return
    where = "at entry, for the arguments"
    records = get_records(function)
    index = get_op_index(peak.at) if peak.at is not None else None
    if peak.at is not None:
        where = "in a buffer it allocates"
        if records is not None and index is not None and index < len(records):
            record = records[index]
            at = f" at {record.loc}" if record.loc else ""
            where = f"in a buffer of op #{index} ({record.kind}{at})"
    raise DoesNotFitError(
        function,
        f"the program does not fit in SRAM: core {peak.core} needs {peak.bytes} "
        f"bytes {where}, and '{machine.name}' has {machine.sram_bytes}",
    )


def _predict(function: func.FuncOp, module: ModuleOp) -> None:
    """Each recorded `top` op's `predicted` cycles, from the core program written for
    it (see the module doc). A function without records (hand-written) has none, nor
    one the chip would refuse to run (a redistribution whose destination holds an
    element its source does not): `t10-run` reports that at the op."""
    records = get_records(function)
    if records is None:
        return
    try:
        cycles = predict(module_machine(module), function, len(records))
    except ValueError:
        return
    set_records(
        function,
        [
            replace(record, predicted=predicted)
            for record, predicted in zip(records, cycles, strict=True)
        ],
    )
