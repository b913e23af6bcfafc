"""What this process believes the head of the event chain is, so a unit of work can hash
its events without reading the head first (one round trip fewer, and the event log's lock
held only for the last one: see ``pg_uow``).

The belief is never trusted: a step that hashed after it sends ``og_chain_expect`` (see
migration 0013) ahead of its events, which takes the event log's lock and refuses when the
head is another; the step then reads the head under that lock and hashes again. So the
belief only decides how fast a step is, never what it writes.

Threads of one process chain one after another: each takes the head under :attr:`lock`,
hashes after it and moves the belief on to its own last row before it commits, so the next
thread hashes after that one (if the first fails, the next is refused and hashes again).
Once a check was refused (another process or retention wrote), the belief is dropped and
steps read the head under the lock until one finds the head this process wrote last: the
chain is this process's alone again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

#: ``(seq, hash)`` of the chain's newest row (hash None: a row from before the chain)
Head = tuple[int, str | None]


@dataclass(slots=True)
class _Belief:
    head: Head | None  # None: the chain is empty


class ChainHead:
    """This process's belief about the chain's head, shared by its units of work."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._belief: _Belief | None = None  # None: not known, read it under the lock
        self._last_written: Head | None = None
        #: steps whose check was refused (a measure of contention; the bench reports it)
        self.refused = 0

    def take(self) -> _Belief | None:
        """The belief (with :attr:`lock` held), or None when the head must be read."""
        return self._belief

    def advance(self, head: Head) -> None:
        """A step chained up to ``head`` and is about to commit (with :attr:`lock` held)."""
        self._belief = _Belief(head)
        self._last_written = head

    def committed(self, read: Head | None, written: Head) -> None:
        """A step that read the head (``read``) under the lock committed up to ``written``:
        believe again if the head it read was this process's own last one."""
        with self.lock:
            if self._belief is None and read == self._last_written:
                self._belief = _Belief(written)
            self._last_written = written

    def refuse(self) -> None:
        """A step's check was refused, or a step that moved the belief failed."""
        with self.lock:
            self._belief = None
            self.refused += 1

    def forget(self) -> None:
        """A step that moved the belief did not commit: read the head next time."""
        with self.lock:
            self._belief = None
