"""ViT (Dosovitskiy et al.): patch embedding, class token, pre-LN encoder, linear head."""

from __future__ import annotations

import math
from dataclasses import dataclass

from t10ir.dialects.top import (
    AddOp,
    ConcatOp,
    Conv2dOp,
    ReshapeOp,
    SliceOp,
    TransposeOp,
)
from t10ir.errors import T10Error
from t10ir.models.builder import SMALL, FunctionBuilder, Model, check_positive, fan_in
from t10ir.models.transformer import BlockShape, check_heads, encoder_layer, layernorm


@dataclass(frozen=True)
class VitConfig:
    """ViT-B/16 by default; the logits of the class token come out as [batch, classes]."""

    batch: int = 1
    image: int = 224
    patch: int = 16
    channels: int = 3
    layers: int = 12
    hidden: int = 768
    heads: int = 12
    ffn: int = 3072
    classes: int = 1000
    epsilon: float = 1e-6
    dtype: str = "f32"


def build_vit(config: VitConfig, name: str) -> Model:
    c = config
    check_positive(
        batch=c.batch,
        image=c.image,
        patch=c.patch,
        channels=c.channels,
        layers=c.layers,
        ffn=c.ffn,
        classes=c.classes,
    )
    check_heads(c.hidden, c.heads)
    if c.image % c.patch:
        raise T10Error(f"image size {c.image} is not a multiple of patch {c.patch}")
    n, h, grid = c.batch, c.hidden, c.image // c.patch
    tokens = grid * grid + 1
    b = FunctionBuilder(c.dtype)
    pixels = b.activation("pixels", (n, c.channels, c.image, c.image))
    fan = c.channels * c.patch * c.patch
    kernel = b.weight("patch_w", (h, c.channels, c.patch, c.patch), fan_in(fan))
    bias = b.weight("patch_b", (h,), SMALL)
    patches = b.op(Conv2dOp(pixels, kernel, bias, strides=(c.patch, c.patch)))
    patches = b.op(ReshapeOp(patches, b.type((n, h, grid * grid))))
    patches = b.op(TransposeOp(patches, None, (0, 2, 1)))  # [n, patches, hidden]
    cls = b.weight("cls_token", (1, h), SMALL)
    cls = b.expr([cls], f"output0[N, T, C] = input0[T, C] where N in {n}", (n, 1, h))
    x = b.op(ConcatOp([cls, patches], None, axis=1))
    x = b.op(AddOp(x, b.weight("pos_embed", (tokens, h), SMALL)))
    x = b.op(ReshapeOp(x, b.type((n * tokens, h))))
    block = BlockShape(
        n,
        tokens,
        h,
        c.heads,
        c.ffn,
        c.epsilon,
        pre_ln=True,
        residual_gain=1 / math.sqrt(2 * c.layers),
    )
    for layer in range(c.layers):
        x = encoder_layer(b, x, block, f"l{layer}")
    x = layernorm(b, x, "ln_f", c.epsilon)
    x = b.op(ReshapeOp(x, b.type((n, tokens, h))))
    x = b.op(SliceOp(x, None, (0, 0, 0), (n, 1, h)))
    x = b.op(ReshapeOp(x, b.type((n, h))))
    return b.finish(name, [b.linear(x, "head", c.classes)])
