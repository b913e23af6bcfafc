"""structlog without the integrations ordergate does not use.

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
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importlib.abc alone costs ~10 ms (importlib.resources): duck-typed here
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec
    from types import ModuleType

#: what structlog imports only to offer it, and ordergate never asks for
SKIPPED = ("structlog.twisted", "rich.console", "rich.pretty", "rich.traceback")


class _LeanLoader:
    """structlog's own loader, run with :data:`SKIPPED` marked absent."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        marked = [name for name in SKIPPED if name not in sys.modules]
        for name in marked:
            sys.modules[name] = None  # type: ignore[assignment]  # "not installed", for now
        try:
            self._loader.exec_module(module)
        finally:
            for name in marked:
                if name in sys.modules and sys.modules[name] is None:
                    del sys.modules[name]

    def __getattr__(self, name: str) -> Any:  # resource readers and the like
        return getattr(self._loader, name)


class _LeanFinder:
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "structlog":
            return None
        sys.meta_path.remove(self)  # once: the real finders answer from here on
        spec = find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _LeanLoader(spec.loader)  # type: ignore[assignment]
        return spec


def install() -> None:
    if "structlog" not in sys.modules and not any(
        isinstance(f, _LeanFinder) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _LeanFinder())
