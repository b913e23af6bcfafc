"""The code Python generates from text at start-up, compiled once and kept like a ``.pyc``.

A class decorated with ``@dataclass`` gets its ``__init__``, ``__repr__``, ``__eq__``,
``__hash__`` (and, frozen, ``__setattr__`` / ``__delattr__``) written as source text
and compiled by ``exec`` while the class is created; ``typing.ForwardRef`` compiles
every annotation written as a string (pydantic-core's ~90 ``TypedDict`` schemas are).
``inspect.signature(..., eval_str=True)`` evaluates each string annotation of a
function (typer asks it of every command: ~1,000 for ``ordergate --help``). A one-shot
``ordergate submit`` creates ~150 dataclasses: ~700 compilations, ~900 forward
references, about a third of its instructions (issue 21). The text is all a
compilation depends on (besides the interpreter), so its code object can be kept.

:func:`install` (called by the CLI's ``main`` as it starts, for that process only; a
library ``import ordergate`` installs nothing) gives :mod:`dataclasses` an ``exec``,
:mod:`typing` a ``compile``, :mod:`inspect` and :mod:`collections` (``namedtuple``)
an ``eval`` of their own (module
globals, which shadow the builtins for that module only) that look the text up in a
table first. The table is read on
first use from ``ordergate/__pycache__`` (where ``.pyc`` files go, ``sys.pycache_prefix``
honoured); a file written by another interpreter, or damaged, is ignored. A hit runs
the very code ``compile`` would have produced for that text; anything the table does
not hold is compiled as before. :func:`save` — called when a command of the
``ordergate`` CLI ends — writes the table back when something was added and bytecode
may be written (atomically: another process reads the old file or the new one).
"""

from __future__ import annotations

import builtins
import marshal
import os
import sys
from contextlib import suppress
from importlib.util import MAGIC_NUMBER, cache_from_source
from types import CodeType
from typing import Any

#: the table stops growing here (about 1 KB an entry; a submit needs ~1,600)
MAX_ENTRIES = 4_000
#: what a file must start with: this interpreter's bytecode and optimisation level
HEADER = MAGIC_NUMBER + bytes([min(sys.flags.optimize, 255)])


def default_path() -> str:
    """``__pycache__/generated-code.<tag>.marshal`` beside this module's ``.pyc``."""
    pyc = cache_from_source(__file__)
    tag = sys.implementation.cache_tag or "python"
    return os.path.join(os.path.dirname(pyc), f"generated-code.{tag}.marshal")


class CodeCache:
    """Code objects of compiled texts, keyed by ``(mode, text)``. The file holds each
    code object marshalled on its own; it is read back (a copy of bytes) only when its
    text is asked for, so a command pays for the code it uses, not for the table."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._codes: dict[tuple[str, str], CodeType | bytes] | None = None
        self.added = 0

    def _table(self) -> dict[tuple[str, str], CodeType | bytes]:
        if self._codes is None:
            self._codes = self._load()
        return self._codes

    def _load(self) -> dict[tuple[str, str], CodeType | bytes]:
        if self.path is None:
            return {}
        try:
            with open(self.path, "rb") as file:
                data = file.read()
        except OSError:
            return {}
        if not data.startswith(HEADER):
            return {}  # another interpreter's (or none of ours)
        try:
            table = marshal.loads(data[len(HEADER) :])
        except (EOFError, ValueError, TypeError):
            return {}  # damaged: compiled afresh, written again
        return table if isinstance(table, dict) else {}

    def compiled(self, source: str, mode: str) -> CodeType:
        """The code of ``compile(source, "<string>", mode)``, from the table if there."""
        table = self._table()
        key = (mode, source)
        code = table.get(key)
        if type(code) is bytes:
            try:
                code = marshal.loads(code)
            except (EOFError, ValueError, TypeError):
                code = None
            if type(code) is CodeType:
                table[key] = code
            else:  # damaged entry
                del table[key]
                code = None
        if type(code) is not CodeType:
            # the callers' modules (dataclasses, typing, inspect) have no __future__ flags
            code = builtins.compile(source, "<string>", mode, dont_inherit=True)
            if len(table) < MAX_ENTRIES:
                table[key] = code
                self.added += 1
        return code

    def exec(self, source: Any, globals: Any = None, locals: Any = None, /) -> None:
        """``exec`` for :mod:`dataclasses`: a text is compiled through the table."""
        if globals is None:  # exec's own default: the calling frame's namespaces
            frame = sys._getframe(1)
            globals = frame.f_globals
            locals = frame.f_locals if locals is None else locals
        if type(source) is str:
            source = self.compiled(source, "exec")
        builtins.exec(source, globals, locals)

    def eval(self, source: Any, globals: Any = None, locals: Any = None, /) -> Any:
        """``eval`` for :mod:`inspect` (``signature(..., eval_str=True)``, as typer asks
        for every command's parameters): an annotation's text goes through the table."""
        if globals is None:
            frame = sys._getframe(1)
            globals = frame.f_globals
            locals = frame.f_locals if locals is None else locals
        if type(source) is str:
            source = self.compiled(source.lstrip(" \t"), "eval")  # as eval strips them
        return builtins.eval(source, globals, locals)

    def compile(self, source: Any, filename: Any, mode: Any, *args: Any, **kwargs: Any) -> Any:
        """``compile`` for :mod:`typing`: a forward reference's text goes through the table."""
        if args or kwargs or type(source) is not str or filename != "<string>" or mode != "eval":
            return builtins.compile(source, filename, mode, *args, **kwargs)
        return self.compiled(source, "eval")

    def save(self) -> bool:
        """Write the table when something was added and bytecode may be written."""
        if not self.added or self.path is None or sys.dont_write_bytecode:
            return False
        temporary = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            with open(temporary, "wb") as file:
                entries = {
                    key: code if type(code) is bytes else marshal.dumps(code)
                    for key, code in self._table().items()
                }
                file.write(HEADER + marshal.dumps(entries))
            os.replace(temporary, self.path)
        except (OSError, ValueError):  # read-only install, full disk: compile next time too
            with suppress(OSError):
                os.unlink(temporary)
            return False
        self.added = 0
        return True


CACHE = CodeCache(None)


def install(path: str | None = None) -> None:
    """Route :mod:`dataclasses`' ``exec``, :mod:`typing`'s ``compile`` and the ``eval``
    of :mod:`inspect` and :mod:`collections` through :data:`CACHE` (once; a module
    that already has its own is left alone)."""
    import collections
    import dataclasses
    import inspect
    import typing

    if CACHE.path is None:
        CACHE.path = path or default_path()
    routes = (
        (dataclasses, "exec", CACHE.exec),
        (typing, "compile", CACHE.compile),
        (inspect, "eval", CACHE.eval),
        (collections, "eval", CACHE.eval),  # namedtuple's __new__
    )
    for module, name, ours in routes:
        if name not in vars(module):
            setattr(module, name, ours)


def save() -> bool:
    return CACHE.save()
