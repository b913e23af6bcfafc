"""A cheaper ``__init__`` for the frozen dataclasses every order makes.

A frozen dataclass's generated ``__init__`` sets each field with
``object.__setattr__(self, name, value)``. In CPython 3.11 that is a call of a slot
wrapper: two argument tuples built and freed, the name looked up in the type, about
1,300 instructions a field, where a plain attribute store is about 200. An order makes
a hundred and more such fields (its intent, request, the broker's answer, the fill, the
report ...): some 150,000 instructions of the engine's ~1,000,000 an order.

:func:`fast_init` gives a frozen, slotted dataclass an ``__init__`` that does what the
generated one does — the same parameters, defaults, default factories and
``__post_init__`` — but stores each field through its slot's member descriptor
(``Cls.field.__set__``), which skips the wrapper's argument tuple and the type look-up:
about half the cost. The instance is exactly as immutable as before: the class's own
``__setattr__`` and ``__delattr__`` (the dataclass's) still refuse every change. The
dataclass's own ``__init__`` stays reachable as ``__init__.generated`` (the tests
compare the two).
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_NO_DEFAULT = dataclasses.MISSING


class _Factory:
    """The default of a field with a default factory: replaced by a fresh value."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def fast_init(cls: type[T]) -> type[T]:
    """Give the frozen, slotted dataclass ``cls`` the cheaper ``__init__`` (see module)."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or not params.init or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__}: fast_init is for frozen, slotted dataclasses")
    every = list(getattr(cls, "__dataclass_fields__").values())  # noqa: B009
    # pseudo-fields (ClassVar, InitVar) and fields without init are not handled
    if any(f._field_type is not dataclasses._FIELD or not f.init for f in every):  # type: ignore[attr-defined]
        raise TypeError(f"{cls.__name__}: fast_init handles plain init fields only")
    names: dict[str, Any] = {"_FACTORY": _FACTORY}
    positional: list[str] = []
    keyword: list[str] = []
    body: list[str] = []
    for f in every:
        name = f.name
        names[f"_set_{name}"] = vars(cls)[name].__set__
        if f.default is not _NO_DEFAULT:
            names[f"_default_{name}"] = f.default
            param = f"{name}=_default_{name}"
        elif f.default_factory is not _NO_DEFAULT:
            names[f"_factory_{name}"] = f.default_factory
            param = f"{name}=_FACTORY"
        else:
            param = name
        (keyword if f.kw_only else positional).append(param)
        if f.default_factory is not _NO_DEFAULT:
            body.append(
                f"    _set_{name}(self, _factory_{name}() if {name} is _FACTORY else {name})"
            )
        else:
            body.append(f"    _set_{name}(self, {name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    signature = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    source = f"def __init__({signature}) -> None:\n" + "\n".join(body or ["    pass"]) + "\n"
    exec(source, names)
    init = names["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = vars(cls)["__init__"].__doc__
    init.generated = vars(cls)["__init__"]
    type.__setattr__(cls, "__init__", init)
    return cls
