"""What this process believes the head of the event chain is, so a unit of work can hash
its events without reading the head first (one round trip fewer, and the event log's lock
held only for the last one: see ``pg_uow``).

The belief is never trusted: a step that hashed after it sends ``og_chain_expect`` (see
migration 0013) ahead of its events, which takes the event log's lock and refuses when the
head is another; the step then reads the head under that lock and hashes again. So the
belief only decides how fast a step is, never what it writes.

A unit of work holds :attr:`ChainHead.lock` from hashing its events until its commit has
ended: the threads of one process chain one after another, as the event log's lock on the
server makes them anyway (it is held through the commit's flush), and never refuse each
other. After a refusal (another process or retention wrote) the next few steps read the
head under the lock instead (two round trips for the commit instead of one) before this
process believes again: with several writers on one chain, reading costs less than being
refused.
"""

from __future__ import annotations

import threading

#: ``(seq, hash)`` of the chain's newest row (hash None: a row from before the chain)
Head = tuple[int, str | None]

#: steps that read the head after a refusal before the belief is tried again
READ_AFTER_REFUSAL = 8


class ChainHead:
    """This process's belief about the chain's head, shared by its units of work; every
    method but :meth:`__init__` is called with :attr:`lock` held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._known = False
        self._head: Head | None = None  # None: the chain is empty
        self._reads_left = 0
        #: steps whose check was refused (a measure of contention; the bench reports it)
        self.refused = 0

    def believed(self) -> tuple[bool, Head | None]:
        """(True, the head) to hash after without reading; (False, None): read it."""
        if self._reads_left > 0:
            self._reads_left -= 1
            return False, None
        return self._known, self._head

    def committed(self, head: Head) -> None:
        """A step committed up to ``head``: the next one follows it."""
        self._known, self._head = True, head

    def refuse(self) -> None:
        """A step's check was refused: another writer moved the head."""
        self.refused += 1
        self._reads_left = READ_AFTER_REFUSAL

    def forget(self) -> None:
        """A step that had hashed did not commit: read the head next time."""
        self._known, self._head = False, None
