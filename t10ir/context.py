"""The xDSL context every T10ir tool parses with: xDSL's dialects and T10ir's."""

from xdsl.context import Context
from xdsl.universe import Universe


def make_context() -> Context:
    """A context with every dialect of the installed xDSL universes, loaded lazily."""
    ctx = Context()
    for name, factory in Universe.get_multiverse().all_dialects.items():
        ctx.register_dialect(name, factory)
    return ctx
