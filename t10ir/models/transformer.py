"""Transformer encoders and decoders: BERT (post-LN) and GPT-2 (pre-LN, causal).

The hidden state stays a [batch * seq, hidden] matrix between blocks, so every linear
layer is one 2-D `top.matmul` (as in T10's NNFusion graphs); attention reshapes it to
[batch, heads, seq, head_dim]. The 1/sqrt(head_dim) scale (and GPT-2's causal mask) is
one `top.expr` on the scores, so the module needs no constants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from xdsl.dialects.builtin import TensorType
from xdsl.ir import SSAValue

from t10ir.dialects.top import (
    AddOp,
    GeluOp,
    LayerNormOp,
    MatmulOp,
    ReshapeOp,
    SoftmaxOp,
    TransposeOp,
)
from t10ir.errors import T10Error
from t10ir.models.builder import (
    MASKED,
    ONES,
    ZEROS,
    FunctionBuilder,
    Init,
    Model,
    check_positive,
)

CAUSAL_MASKS = ("expr", "weight")
"""GPT-2's mask: computed in the scores' `top.expr` from the indices, or a [seq, seq]
weight argument `causal_mask` added to the scores (0 on and below the diagonal, -1e4
above: the runner must feed exactly that; `Model.arguments` does)."""


@dataclass(frozen=True)
class BlockShape:
    """One transformer block's shape: what BERT, GPT-2 and ViT layers share."""

    batch: int
    seq: int
    hidden: int
    heads: int
    ffn: int
    epsilon: float
    pre_ln: bool
    causal: bool = False
    residual_gain: float = 1.0
    """Gain of the weights that write into the residual stream (GPT-2: 1/sqrt(2L))."""


def layernorm(b: FunctionBuilder, x: SSAValue, name: str, epsilon: float) -> SSAValue:
    """ONNX LayerNormalization over the last dim; drawn as scale 1, bias 0."""
    assert isinstance(x.type, TensorType)
    hidden = x.type.get_shape()[-1]
    scale = b.weight(f"{name}_scale", (hidden,), ONES)
    bias = b.weight(f"{name}_bias", (hidden,), ZEROS)
    return b.op(LayerNormOp(x, scale, bias, axis=-1, epsilon=epsilon))


def scores_expr(head_dim: int, causal: bool) -> str:
    """Q K^T / sqrt(head_dim) on [B, H, I, J] scores; with `causal`, key J > query I
    scores MASKED (exp of it underflows to 0, also in f16)."""
    scaled = f"input0[B, H, I, J] * {1 / math.sqrt(head_dim)!r}"
    if causal:
        scaled = f"({scaled}).when(J <= I, const({MASKED!r}))"
    return f"output0[B, H, I, J] = {scaled}"


def attention(
    b: FunctionBuilder, x: SSAValue, block: BlockShape, name: str, mask: SSAValue | None
) -> SSAValue:
    """Multi-head self-attention on x [batch * seq, hidden], then its output projection.

    A `mask` ([seq, seq]) is added to the scores instead of masking in the expression."""
    n, s, h, heads = block.batch, block.seq, block.hidden, block.heads
    d = h // heads
    split = b.type((n, s, heads, d))

    def heads_of(value: SSAValue, perm: tuple[int, ...]) -> SSAValue:
        return b.op(TransposeOp(b.op(ReshapeOp(value, split)), None, perm))

    q = heads_of(b.linear(x, f"{name}_q", h), (0, 2, 1, 3))  # [n, heads, s, d]
    k = heads_of(b.linear(x, f"{name}_k", h), (0, 2, 3, 1))  # [n, heads, d, s]
    v = heads_of(b.linear(x, f"{name}_v", h), (0, 2, 1, 3))  # [n, heads, s, d]
    scores = b.op(MatmulOp(q, k))
    scores = b.expr(
        [scores], scores_expr(d, block.causal and mask is None), (n, heads, s, s)
    )
    if mask is not None:
        scores = b.op(AddOp(scores, mask))
    probs = b.op(SoftmaxOp(scores, axis=-1))
    context = b.op(TransposeOp(b.op(MatmulOp(probs, v)), None, (0, 2, 1, 3)))
    merged = b.op(ReshapeOp(context, b.type((n * s, h))))
    return b.linear(merged, f"{name}_o", h, block.residual_gain)


def mlp(b: FunctionBuilder, x: SSAValue, block: BlockShape, name: str) -> SSAValue:
    up = b.op(GeluOp(b.linear(x, f"{name}_fc1", block.ffn)))
    return b.linear(up, f"{name}_fc2", block.hidden, block.residual_gain)


def encoder_layer(
    b: FunctionBuilder,
    x: SSAValue,
    block: BlockShape,
    name: str,
    mask: SSAValue | None = None,
) -> SSAValue:
    """One block on x [batch * seq, hidden]: post-LN (BERT) `ln(x + f(x))` or pre-LN
    (GPT-2, ViT) `x + f(ln(x))`, for f attention then the gelu MLP."""
    eps = block.epsilon
    if block.pre_ln:
        normed = layernorm(b, x, f"{name}_ln1", eps)
        x = b.op(AddOp(x, attention(b, normed, block, f"{name}_attn", mask)))
        normed = layernorm(b, x, f"{name}_ln2", eps)
        return b.op(AddOp(x, mlp(b, normed, block, f"{name}_mlp")))
    x = b.op(AddOp(x, attention(b, x, block, f"{name}_attn", mask)))
    x = layernorm(b, x, f"{name}_ln1", eps)
    x = b.op(AddOp(x, mlp(b, x, block, f"{name}_mlp")))
    return layernorm(b, x, f"{name}_ln2", eps)


def check_heads(hidden: int, heads: int) -> None:
    check_positive(hidden=hidden, heads=heads)
    if hidden % heads:
        raise T10Error(f"hidden size {hidden} is not a multiple of {heads} heads")


@dataclass(frozen=True)
class BertConfig:
    """A BERT encoder stack over the embedding output [batch, seq, hidden]."""

    batch: int = 1
    seq: int = 128
    layers: int = 12
    hidden: int = 768
    heads: int = 12
    ffn: int = 3072
    epsilon: float = 1e-12
    dtype: str = "f32"


def build_bert(config: BertConfig, name: str) -> Model:
    c = config
    check_positive(batch=c.batch, seq=c.seq, layers=c.layers, ffn=c.ffn)
    check_heads(c.hidden, c.heads)
    block = BlockShape(
        c.batch, c.seq, c.hidden, c.heads, c.ffn, c.epsilon, pre_ln=False
    )
    b = FunctionBuilder(c.dtype)
    x = b.activation("hidden_states", (c.batch, c.seq, c.hidden))
    h = b.op(ReshapeOp(x, b.type((c.batch * c.seq, c.hidden))))
    for layer in range(c.layers):
        h = encoder_layer(b, h, block, f"l{layer}")
    out = b.op(ReshapeOp(h, b.type((c.batch, c.seq, c.hidden))))
    return b.finish(name, [out])


@dataclass(frozen=True)
class Gpt2Config:
    """GPT-2 prefill: pre-LN causal blocks and the final layernorm over the embedding
    output [batch, seq, hidden] (no LM head)."""

    batch: int = 1
    seq: int = 128
    layers: int = 12
    hidden: int = 768
    heads: int = 12
    ffn: int = 3072
    epsilon: float = 1e-5
    causal_mask: str = "expr"
    dtype: str = "f32"


def build_gpt2(config: Gpt2Config, name: str) -> Model:
    c = config
    check_positive(batch=c.batch, seq=c.seq, layers=c.layers, ffn=c.ffn)
    check_heads(c.hidden, c.heads)
    if c.causal_mask not in CAUSAL_MASKS:
        raise T10Error(
            f"causal_mask must be one of {', '.join(CAUSAL_MASKS)}, got '{c.causal_mask}'"
        )
    block = BlockShape(
        c.batch,
        c.seq,
        c.hidden,
        c.heads,
        c.ffn,
        c.epsilon,
        pre_ln=True,
        causal=True,
        residual_gain=1 / math.sqrt(2 * c.layers),
    )
    b = FunctionBuilder(c.dtype)
    x = b.activation("hidden_states", (c.batch, c.seq, c.hidden))
    mask = None
    if c.causal_mask == "weight":
        mask = b.weight("causal_mask", (c.seq, c.seq), Init("causal"))
    h = b.op(ReshapeOp(x, b.type((c.batch * c.seq, c.hidden))))
    for layer in range(c.layers):
        h = encoder_layer(b, h, block, f"l{layer}", mask)
    h = layernorm(b, h, "ln_f", c.epsilon)
    out = b.op(ReshapeOp(h, b.type((c.batch, c.seq, c.hidden))))
    return b.finish(name, [out])
