"""Canonicalization patterns of the `top` ops, registered here for the ops'
`CanonicalizationTrait` (`t10ir.dialects.top.ops`) to find: the patterns match and
build the ops, so the ops cannot import them without an import cycle."""

from __future__ import annotations

from xdsl.pattern_rewriter import (
    PatternRewriter,
    RewritePattern,
    op_type_rewrite_pattern,
)

from t10ir.dialects.top.ops import (
    ConcatOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
    register_canonicalization_patterns,
)
from t10ir.dialects.top.shapes import tensor_shape


class FoldReshapeChain(RewritePattern):
    """reshape(reshape(x)) -> reshape(x): a reshape only depends on the element order."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReshapeOp, rewriter: PatternRewriter, /) -> None:
        inner = op.input.owner
        if isinstance(inner, ReshapeOp):
            rewriter.replace_matched_op(ReshapeOp(inner.input, op.result.type))


class RemoveIdentityReshape(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ReshapeOp, rewriter: PatternRewriter, /) -> None:
        if op.input.type == op.result.type:
            rewriter.replace_matched_op([], [op.input])


class FoldTransposeChain(RewritePattern):
    """transpose(transpose(x, p), q) -> transpose(x, p[q]), or x if that is the identity."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /) -> None:
        inner = op.input.owner
        if not isinstance(inner, TransposeOp):
            return
        inner_perm = inner.perm.get_values()
        perm = tuple(inner_perm[p] for p in op.perm.get_values())
        if perm == tuple(range(len(perm))):
            rewriter.replace_matched_op([], [inner.input])
        else:
            rewriter.replace_matched_op(TransposeOp(inner.input, op.result.type, perm))


class RemoveIdentityTranspose(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: TransposeOp, rewriter: PatternRewriter, /) -> None:
        perm = op.perm.get_values()
        if perm == tuple(range(len(perm))):
            rewriter.replace_matched_op([], [op.input])


class RemoveWholeSlice(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: SliceOp, rewriter: PatternRewriter, /) -> None:
        shape = tensor_shape(op.input)
        if all(r == range(n) for r, n in zip(op.ranges(), shape, strict=True)):
            rewriter.replace_matched_op([], [op.input])


class RemoveSingleConcat(RewritePattern):
    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: ConcatOp, rewriter: PatternRewriter, /) -> None:
        if len(op.inputs) == 1:
            rewriter.replace_matched_op([], [op.inputs[0]])


register_canonicalization_patterns(
    ReshapeOp, FoldReshapeChain(), RemoveIdentityReshape()
)
register_canonicalization_patterns(
    TransposeOp, FoldTransposeChain(), RemoveIdentityTranspose()
)
register_canonicalization_patterns(SliceOp, RemoveWholeSlice())
register_canonicalization_patterns(ConcatOp, RemoveSingleConcat())
