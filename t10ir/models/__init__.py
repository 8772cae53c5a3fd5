"""The model zoo: well-known networks built as `top` modules of one function.

`build_model("bert-base", batch=8, seq=128, dtype="f16", layers=1)` gives a `Model`: its
module, whose activations and `{top.weight}` weights are the function's arguments, and
`Model.arguments(seed)`, seeded arguments scaled so deep models stay finite. Any field of
a model's config (`options(name)`) can be overridden, so tests build tiny versions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.exceptions import VerifyException

from t10ir.errors import T10Error
from t10ir.models.builder import Init, Model, parameter_count
from t10ir.models.nerf import NerfConfig, build_nerf
from t10ir.models.resnet import ResNetConfig, build_resnet
from t10ir.models.transformer import BertConfig, Gpt2Config, build_bert, build_gpt2
from t10ir.models.vit import VitConfig, build_vit

__all__ = [
    "MODELS",
    "Init",
    "Model",
    "ZooModel",
    "build",
    "build_model",
    "options",
    "parameter_count",
]


@dataclass(frozen=True)
class ZooModel:
    name: str
    summary: str
    config: Any
    """The default config, a frozen dataclass whose fields are the model's options."""
    builder: Callable[[Any, str], Model]


MODELS: dict[str, ZooModel] = {
    m.name: m
    for m in (
        ZooModel(
            "bert-base",
            "BERT-base encoder (post-LN) on embeddings [batch, seq, 768]",
            BertConfig(),
            build_bert,
        ),
        ZooModel(
            "bert-large",
            "BERT-large encoder (post-LN) on embeddings [batch, seq, 1024]",
            BertConfig(layers=24, hidden=1024, heads=16, ffn=4096),
            build_bert,
        ),
        ZooModel(
            "gpt2",
            "GPT-2 small prefill (pre-LN, causal) on embeddings [batch, seq, 768]",
            Gpt2Config(),
            build_gpt2,
        ),
        ZooModel(
            "vit-b16",
            "ViT-B/16 classifier on images [batch, 3, 224, 224]",
            VitConfig(),
            build_vit,
        ),
        ZooModel(
            "resnet50",
            "ResNet-50 v1.5 classifier on images [batch, 3, 224, 224]",
            ResNetConfig(),
            build_resnet,
        ),
        ZooModel(
            "nerf",
            "NeRF MLP (8x256, skip, density and rgb heads) on [batch] points",
            NerfConfig(),
            build_nerf,
        ),
    )
}


def _lookup(name: str) -> ZooModel:
    if name not in MODELS:
        raise T10Error(f"unknown model '{name}' (models: {', '.join(sorted(MODELS))})")
    return MODELS[name]


def options(name: str) -> dict[str, Any]:
    """The options of model `name` and their defaults."""
    return dataclasses.asdict(_lookup(name).config)


def build_model(name: str, **overrides: Any) -> Model:
    """Model `name` with some config fields overridden (e.g. batch, seq, dtype, layers)."""
    model = _lookup(name)
    unknown = sorted(set(overrides) - set(options(name)))
    if unknown:
        raise T10Error(
            f"model '{name}' has no option '{unknown[0]}' "
            f"(options: {', '.join(options(name))})"
        )
    config = dataclasses.replace(model.config, **overrides)
    check_bounds(config)
    try:
        return model.builder(config, name.replace("-", "_"))
    except VerifyException as error:  # an op built from these options is invalid
        message = str(error.args[0]) if error.args else str(error)
        raise T10Error(f"model '{name}': {message.splitlines()[0]}") from None


MAX_REPEATS = 1024
"""The most layers (or blocks of a ResNet stage) a model may have: building is linear
in them, and 2^64 layers would never finish."""

MAX_SIZE = 2**24
"""The largest size option (batch, seq, hidden, ...): tensors past it are past what a
top op may hold anyway."""

_REPEATS = frozenset(("layers", "blocks"))


def check_bounds(config: Any) -> None:
    """Every integer option at most its bound, named in the error."""
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        bound = MAX_REPEATS if f.name in _REPEATS else MAX_SIZE
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, int) and not isinstance(item, bool) and item > bound:
                shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
                raise T10Error(f"{f.name} must be at most {bound}, got {shown}")


def build(name: str, **overrides: Any) -> ModuleOp:
    """The module of `build_model(name, **overrides)`."""
    return build_model(name, **overrides).module
