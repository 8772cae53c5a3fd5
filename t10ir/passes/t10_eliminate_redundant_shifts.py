"""`t10-eliminate-redundant-shifts`: drop the communication of the shift level that
changes nothing, and record on each function how many cycles that saves.

Rewrites, in value semantics (`t10ir.dialects.shift`), keeping what `t10-lower-to-core`
needs: it gives rotations, accumulations, loop-carried values and views the buffer of
their operand and updates it in place.

1. a rotation by a multiple of its ring size is its input (a core receives from itself);
2. a rotation of a rotation used nowhere else, on the same ring, at the same steps and
   with the same `when`, one that does not depend on the core (so that every core of a
   ring rotates or none does), is one rotation by the summed distance;
3. a relayout of a relayout is one relayout from the first's input, which holds all
   the first gives the second, when the second combines nothing and fusing does not
   cost more: the epilogue into the default layout and the next op's prologue out of it;
4. a relayout, without combining, into the layout its input already has is the input,
   unless rotations may have moved the input's pieces (a rotated value keeps its type),
   the two would share a buffer that something updates in place, or the relayout
   writes the padding of a layout running outside the tensor where kernels wrote
   their windows (`t10ir.lowering.hand_off.refills_padding`);
5. a rotation whose result nothing reads, of a value rotations moved (T10's "do not
   restore a rotated tensor whose consumer does not need it"): the restoring rotation
   after a step loop, dropped only when the buffer the loop rotates serves nothing
   else: not a function argument (hot weights stay restored for the next run), and
   used only on the way;
6. relayouts, views, fills and rotations of unmoved values that nothing reads.

Rule 5 runs after the others have reached their fixpoint: rule 4 may turn a loop's
private buffer into a shared one, which needs its restoration again. A fused relayout
or merged rotation keeps the attributes (`t10.op`) of the op it replaces.

Each function gets `shift.saved_cycles` (the cost model's cycles of the removed
communication, less that of what replaces it: `t10ir.cost.relayout`) and
`shift.removed` (rewrites applied, per rule); a second run adds to them. The ops'
predictions in the function's `t10.ops` are not patched here: `t10-lower-to-core`
costs the program as written, where a fused relayout belongs to the op it feeds and
the epilogue it absorbed to no one any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.context import Context
from xdsl.dialects import func, scf
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import BlockArgument, Operation, OpResult, SSAValue
from xdsl.ir.affine import AffineBinaryOpExpr, AffineDimExpr, AffineExpr
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)

from t10ir.cost.relayout import relayout_cycles, rotation_cycles
from t10ir.dialects.core import RingAttr
from t10ir.dialects.rtensor import ShiftSavings, get_savings, set_savings
from t10ir.dialects.shift import (
    ComputeOp,
    DTensorType,
    FillOp,
    RelayoutOp,
    RotateOp,
    ViewOp,
)
from t10ir.lowering.hand_off import written_by_kernels
from t10ir.lowering.op_spec import element_bytes
from t10ir.passes.compile_state import module_machine
from t10ir.target import Machine

RULES = (
    "zero_rotations",
    "merged_rotations",
    "fused_relayouts",
    "identity_relayouts",
    "unrestored_rotations",
    "dead_ops",
)
"""The names `shift.removed` counts the rewrites under, rules 1 to 6."""


def _dtensor(value: SSAValue) -> DTensorType:
    assert isinstance(value.type, DTensorType)
    return value.type


@dataclass
class _Ledger:
    """The cycles saved and rewrites applied in one function."""

    machine: Machine
    cycles: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RULES, 0))
    relayouts: dict[tuple[DTensorType, DTensorType, bool], float] = field(
        default_factory=dict
    )

    def record(self, rule: str, *savings: float) -> None:
        """One rewrite, saving the sum of `savings` (the cycles of each op it
        removed or replaced)."""
        self.counts[rule] += 1
        for cycles in savings:
            self.cycles += cycles

    def relayout(self, src: DTensorType, dst: DTensorType, combine: bool) -> float:
        """Memoized: counting the traffic is the pass's main work, and a walk asks
        again about every fusion it turned down."""
        key = (src, dst, combine)
        if key not in self.relayouts:
            self.relayouts[key] = relayout_cycles(
                self.machine,
                src.layout.layout,
                dst.layout.layout,
                element_bytes(src.tensor),
                combine,
            )
        return self.relayouts[key]

    def rotation(self, value: DTensorType, ring: RingAttr, distance: int) -> float:
        return rotation_cycles(
            self.machine,
            ring.ring,
            distance,
            value.layout.layout.piece_elements,
            element_bytes(value.tensor),
        )

    def cost(self, op: Operation) -> float:
        """The communication cycles of a shift op (none for a fill or a view)."""
        if isinstance(op, RelayoutOp):
            return self.relayout(
                _dtensor(op.input), _dtensor(op.output), op.combine is not None
            )
        if isinstance(op, RotateOp):
            return self.rotation(_dtensor(op.input), op.ring, op.distance.value.data)
        return 0.0


def _placed(value: SSAValue, assumed: frozenset[tuple[Operation, int]]) -> bool:
    """Whether every core holds the pieces `value`'s layout gives it, rather than pieces
    rotations moved there (loop-carried values in `assumed` taken as placed)."""
    if isinstance(value, BlockArgument):
        loop = value.block.parent_op()
        if isinstance(loop, scf.ForOp):
            return _placed_carried(loop, value.index - 1, assumed)
        return True
    op = value.owner
    if isinstance(op, RotateOp):
        return False
    if isinstance(op, scf.ForOp):
        assert isinstance(value, OpResult)  # a value an op owns is one of its results
        return _placed_carried(op, value.index, assumed)
    if isinstance(op, ComputeOp):
        return _placed(op.acc, assumed)
    if isinstance(op, ViewOp):
        return _placed(op.input, assumed)
    return True


def _placed_carried(
    loop: scf.ForOp, index: int, assumed: frozenset[tuple[Operation, int]]
) -> bool:
    """Whether loop-carried value `index` is placed at every iteration."""
    if (loop, index) in assumed:
        return True
    yielded = loop.body.block.last_op
    assert isinstance(yielded, scf.YieldOp)
    return _placed(loop.iter_args[index], assumed) and _placed(
        yielded.arguments[index], assumed | {(loop, index)}
    )


def _private(value: SSAValue) -> bool:
    """Whether the buffer `value` occupies (`t10-lower-to-core` gives a rotation, a
    loop result, an accumulation and a view the buffer of their operand) was made for
    it: back through those, every value has one user and the first is a relayout's or
    fill's result, not an argument. Leaving such a buffer rotated harms no one."""
    while not isinstance(value, BlockArgument):
        op = value.owner
        if isinstance(op, RotateOp | ViewOp):
            value = op.input
        elif isinstance(op, scf.ForOp):
            assert isinstance(value, OpResult)  # a value an op owns is its result
            value = op.iter_args[value.index]
        elif isinstance(op, ComputeOp):
            value = op.acc
        else:
            return True
        if not value.has_one_use():
            return False
    return False


def _updated_in_place(value: SSAValue) -> bool:
    """Whether an op may update `value`'s buffer in place: a rotation, an accumulation,
    or a step loop carrying it (through views too)."""
    for use in value.uses:
        user = use.operation
        if (
            isinstance(user, RotateOp | scf.ForOp)
            or (isinstance(user, ComputeOp) and use.index == len(user.inputs))
            or (isinstance(user, ViewOp) and _updated_in_place(user.output))
        ):
            return True
    return False


def _uses_dims(expr: AffineExpr) -> bool:
    """Whether `expr` depends on the core's grid digits."""
    if isinstance(expr, AffineDimExpr):
        return True
    if isinstance(expr, AffineBinaryOpExpr):
        return _uses_dims(expr.lhs) or _uses_dims(expr.rhs)
    return False


@dataclass
class _ZeroRotation(RewritePattern):
    """Rule 1."""

    ledger: _Ledger

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: RotateOp, rewriter: PatternRewriter) -> None:
        if op.distance.value.data % op.ring.size.data:
            return
        self.ledger.record("zero_rotations", self.ledger.cost(op))
        rewriter.replace(op, [], [op.input])


@dataclass
class _MergeRotations(RewritePattern):
    """Rule 2."""

    ledger: _Ledger

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: RotateOp, rewriter: PatternRewriter) -> None:
        inner = op.input.owner
        if (
            not isinstance(inner, RotateOp)
            or not inner.output.has_one_use()
            or inner.ring != op.ring
            or inner.when != op.when
            or list(inner.steps) != list(op.steps)
            or (op.when is not None and any(map(_uses_dims, op.when.data.results)))
        ):
            return
        distance = (inner.distance.value.data + op.distance.value.data) % (
            op.ring.size.data
        )
        merged = RotateOp(inner.input, op.ring, distance, op.when, list(op.steps))
        merged.attributes.update(op.attributes)
        self.ledger.record(
            "merged_rotations",
            self.ledger.cost(inner),
            self.ledger.cost(op) - self.ledger.cost(merged),
        )
        rewriter.replace(op, merged)
        rewriter.erase(inner)


@dataclass
class _FuseRelayouts(RewritePattern):
    """Rule 3."""

    ledger: _Ledger

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: RelayoutOp, rewriter: PatternRewriter) -> None:
        first = op.input.owner
        if op.combine is not None or not isinstance(first, RelayoutOp):
            return
        combine = first.combine.data if first.combine is not None else None
        fused = RelayoutOp(first.input, _dtensor(op.output).layout, combine)
        fused.attributes.update(op.attributes)
        alone = first.output.has_one_use()
        savings = [self.ledger.cost(op) - self.ledger.cost(fused)]
        if alone:
            savings.append(self.ledger.cost(first))
        if sum(savings) < 0:
            return
        self.ledger.record("fused_relayouts", *savings)
        rewriter.replace(op, fused)
        if alone:
            rewriter.erase(first)


@dataclass
class _IdentityRelayout(RewritePattern):
    """Rule 4."""

    ledger: _Ledger

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: RelayoutOp, rewriter: PatternRewriter) -> None:
        if (
            op.combine is not None
            or op.input.type != op.output.type
            or not _placed(op.input, frozenset())
            or (
                written_by_kernels(op.input)
                and _dtensor(op.output).layout.layout.runs_outside()
            )
        ):
            return
        exclusive = op.input.has_one_use() and _private(op.input)
        if not exclusive and (
            _updated_in_place(op.input) or _updated_in_place(op.output)
        ):
            return
        self.ledger.record("identity_relayouts", self.ledger.cost(op))
        rewriter.replace(op, [], [op.input])


@dataclass
class _DeadOp(RewritePattern):
    """Rule 6, and with `unrestore` rule 5."""

    ledger: _Ledger
    unrestore: bool

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter) -> None:
        if (
            not isinstance(op, RelayoutOp | ViewOp | FillOp | RotateOp)
            or op.results[0].first_use is not None
        ):
            return
        rule = "dead_ops"
        if isinstance(op, RotateOp) and not _placed(op.input, frozenset()):
            if not self.unrestore or not _private(op.input):
                return
            rule = "unrestored_rotations"
        self.ledger.record(rule, self.ledger.cost(op))
        rewriter.erase(op)


def eliminate_redundant_shifts(function: func.FuncOp, machine: Machine) -> None:
    """Applies the rewrites to `function` and adds what they saved to its attributes."""
    ledger = _Ledger(machine)
    rewrites: list[RewritePattern] = [
        _ZeroRotation(ledger),
        _MergeRotations(ledger),
        _FuseRelayouts(ledger),
        _IdentityRelayout(ledger),
        _DeadOp(ledger, unrestore=False),
    ]
    unrestores: list[RewritePattern] = [_DeadOp(ledger, unrestore=True)]
    for patterns in (rewrites, unrestores):
        PatternRewriteWalker(
            GreedyRewritePatternApplier(patterns, dce_enabled=False)
        ).rewrite_region(function.body)
    earlier = get_savings(function) or ShiftSavings(0, {})
    set_savings(
        function,
        ShiftSavings(
            round(ledger.cycles) + earlier.saved_cycles,
            {
                rule: count + earlier.removed.get(rule, 0)
                for rule, count in ledger.counts.items()
            },
        ),
    )


@dataclass(frozen=True)
class T10EliminateRedundantShiftsPass(ModulePass):
    """Removes shift-level communication that changes nothing (see the module doc)."""

    name = "t10-eliminate-redundant-shifts"

    def apply(self, ctx: Context, op: ModuleOp) -> None:
        machine = module_machine(op)
        for function in list(op.walk()):
            if isinstance(function, func.FuncOp) and not function.is_declaration:
                eliminate_redundant_shifts(function, machine)
