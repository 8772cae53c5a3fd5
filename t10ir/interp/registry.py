"""Op implementations registered once, by op class, in the shape of `xdsl.interpreters`.

A class of implementations subclasses `Implementations` and is decorated with
`@register_impls`; each of its methods marked `@impl(OpClass)` implements that op class
and every subclass of it without an implementation of its own. The lookup follows the
op class's MRO, so an abstract base (`top.ElementwiseBinaryOperation`) registers once
for all its ops, and a new op needs no table edited by hand. An op without an
implementation is a located `OpError` naming it, never a KeyError; the unit tests ask
`lookup` for every op of a dialect, so a new op without kernels fails a test, not a user.

xDSL's own `Interpreter` is not used: it finds implementations by exact class only (no
base registers for its subclasses), keeps every value of a function in scoped dicts
(the reference interpreter drops each one after its last use, so whole models fit) and
turns every error into a generic "Error while interpreting op".
"""

from __future__ import annotations

from collections.abc import Callable
from types import MethodType
from typing import Any, ClassVar, TypeVar

from xdsl.ir import Operation

from t10ir.errors import OpError

Impl = TypeVar("Impl", bound=Callable[..., Any])
ImplsT = TypeVar("ImplsT", bound="Implementations")

_OP_TYPES = "_t10_impl_op_types"


def impl(op_type: type[Operation]) -> Callable[[Impl], Impl]:
    """Marks a method of an `Implementations` class as the implementation of `op_type`
    (and of its subclasses without one); marks stack, for a method serving several."""

    def mark(method: Impl) -> Impl:
        setattr(method, _OP_TYPES, (*getattr(method, _OP_TYPES, ()), op_type))
        return method

    return mark


def register_impls(cls: type[ImplsT]) -> type[ImplsT]:
    """Collects the `@impl` methods of `cls` and of its bases, a class's own replacing
    its bases' for the same op class, as `xdsl.interpreter.register_impls` does."""
    registered: dict[type[Operation], Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        own: set[type[Operation]] = set()
        for value in vars(klass).values():
            for op_type in getattr(value, _OP_TYPES, ()):
                if op_type in own:
                    raise ValueError(
                        f"{klass.__name__} implements {op_type.__name__} twice"
                    )
                own.add(op_type)
                registered[op_type] = value
    cls._registered = registered
    return cls


class Implementations:
    """The base of a class of `@impl` methods. `missing` ends the error message for an
    op without one (`'top.foo' op has no implementation`)."""

    missing: ClassVar[str] = "has no implementation"
    _registered: ClassVar[dict[type[Operation], Callable[..., Any]] | None] = None
    _found: ClassVar[dict[type[Operation], Callable[..., Any] | None]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every class its own registry, empty until `@register_impls` fills it: a
        subclass must not answer from its base's cache."""
        super().__init_subclass__(**kwargs)
        cls._registered = None
        cls._found = {}

    @classmethod
    def lookup(cls, op_type: type[Operation]) -> Callable[..., Any] | None:
        """The implementation (an unbound method) of `op_type` or of its closest base
        that has one, or None; cached per op class, so dispatch is one dict lookup."""
        try:
            return cls._found[op_type]
        except KeyError:
            pass
        if cls._registered is None:
            raise TypeError(f"{cls.__name__} needs @register_impls")
        registered = cls._registered
        found = next((registered[k] for k in op_type.__mro__ if k in registered), None)
        cls._found[op_type] = found
        return found

    def implementation(self, op: Operation) -> Callable[..., Any]:
        """`op`'s implementation, bound to this object; a located OpError if none."""
        method = self.lookup(type(op))
        if method is None:
            raise OpError(op, self.missing)
        return MethodType(method, self)
