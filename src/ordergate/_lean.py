"""structlog and pydantic-settings without the parts ordergate does not use.

``import structlog`` imports ``structlog.twisted`` (all of Twisted, when the kite extra
has installed it) and rich's console, pretty-printer and traceback renderer (for
``structlog.dev``'s console and ``structlog.tracebacks``' locals): ~60 ms of every
start, a fifth of a one-shot ``ordergate submit`` (issue 21). ordergate renders its
lines as JSON (:mod:`ordergate.obs.logging`) and runs no Twisted reactor, so none of
it is needed.

:func:`install` (called by ``ordergate/__init__.py``) puts a finder on
``sys.meta_path`` that waits for the first ``import structlog`` — ``ordergate --help``
never imports it — and runs that import with :data:`SKIPPED` marked absent:
structlog's own ``ImportError`` fallbacks then apply (``structlog.twisted`` is
``None``; ``structlog.dev`` formats tracebacks as plain text, ``structlog.tracebacks``
uses ``repr``). The marks go as soon as structlog is loaded, so rich (and
``structlog.twisted``) still import normally for whoever asks later; the finder
removes itself on first use. A process that imported structlog before ordergate keeps
structlog as it is.

The same finder waits for ``pydantic_settings.main``, which imports :mod:`asyncio`
(with :mod:`ssl`, :mod:`socket`, :mod:`concurrent.futures`: ~12 ms of a one-shot
``submit``) only for ``CliApp.run`` of an ``async`` command, which ordergate never
calls. While that module runs, ``asyncio`` is a :class:`Deferred` stand-in; the
stand-in leaves ``sys.modules`` as soon as the module is loaded, so every other
``import asyncio`` gets the real one, and pydantic-settings' own copy imports it the
first time one of its names is read.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from importlib.util import find_spec
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.abc alone costs ~10 ms (importlib.resources): duck-typed here
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

#: what structlog imports only to offer it, and ordergate never asks for
SKIPPED = ("structlog.twisted", "rich.console", "rich.pretty", "rich.traceback")
#: modules a library imports at its top for a path ordergate never takes: deferred
DEFERRED = {
    "pydantic_settings.main": ("asyncio",),  # for `CliApp.run` of an async command
    "structlog._native": ("asyncio",),  # for the `await log.ainfo(...)` methods
    "structlog.stdlib": ("asyncio",),  # for its AsyncBoundLogger
}


class Deferred(ModuleType):
    """Stands in for module ``name`` until one of its attributes is read, then imports
    the real module (once) and answers from it."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__spec__ = None  # what ``import`` reads of a loaded module: no load here

    def __getattr__(self, attr: str) -> Any:
        if sys.modules.get(self.__name__) is self:  # read before the stand-in left
            del sys.modules[self.__name__]
        module = import_module(self.__name__)
        self.__dict__[attr] = value = getattr(module, attr)  # AttributeError as the real one
        return value


class _LeanLoader:
    """A module's own loader, run with ``absent`` marked not installed and ``deferred``
    as :class:`Deferred` stand-ins (each only if not imported already)."""

    def __init__(
        self, loader: Loader, absent: Sequence[str] = (), deferred: Sequence[str] = ()
    ) -> None:
        self._loader = loader
        self._absent = absent
        self._deferred = deferred

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        marks: dict[str, ModuleType | None] = {
            name: None for name in self._absent if name not in sys.modules
        }
        marks.update({n: Deferred(n) for n in self._deferred if n not in sys.modules})
        sys.modules.update(marks)  # type: ignore[arg-type]  # None: "not installed", for now
        try:
            self._loader.exec_module(module)
        finally:
            for name, mark in marks.items():
                if name in sys.modules and sys.modules[name] is mark:
                    del sys.modules[name]

    def __getattr__(self, name: str) -> Any:  # resource readers and the like
        return getattr(self._loader, name)


class _LeanFinder:
    """Waits for the modules of ``pending`` (each name mapped to what its import
    marks); it removes itself once it has seen them all."""

    def __init__(self, pending: dict[str, tuple[Sequence[str], Sequence[str]]]) -> None:
        self.pending = pending

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        marks = self.pending.pop(fullname, None)
        if marks is None:
            return None
        sys.meta_path.remove(self)  # not for the look-up below
        try:
            spec = find_spec(fullname)
        finally:
            if self.pending:  # once all are seen, the real finders answer alone
                sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            spec.loader = _LeanLoader(spec.loader, *marks)  # type: ignore[assignment]
        return spec


def install() -> None:
    if any(isinstance(f, _LeanFinder) for f in sys.meta_path):
        return
    pending: dict[str, tuple[Sequence[str], Sequence[str]]] = {}
    if "structlog" not in sys.modules:
        pending["structlog"] = (SKIPPED, ())
    for name, deferred in DEFERRED.items():
        if name not in sys.modules:
            pending[name] = ((), deferred)
    if pending:
        sys.meta_path.insert(0, _LeanFinder(pending))
