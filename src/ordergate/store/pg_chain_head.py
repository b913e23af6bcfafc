"""What this process believes the head of the event chain is, so a unit of work can hash
its events without reading the head first (one round trip fewer, and the event log's lock
held only for the last one: see ``pg_uow``).

The belief is never trusted: a step that hashed after it sends ``og_chain_expect`` (see
migration 0013) ahead of its events, which takes the event log's lock and refuses when the
head is another; the step then reads the head under that lock and hashes again. So the
belief only decides how fast a step is, never what it writes.

Threads of one process chain one after another: each takes the belief under
:attr:`ChainHead.lock` (CPU only: no I/O is ever done under it), hashes after it and moves
it on to its own last row before it commits, so the next thread hashes after that one. On
the server the next thread's check waits (briefly, holding none of the chain's locks) for
the first one's commit; if the first fails, the next is refused and hashes again. After
a refusal (another process or retention wrote) the next few steps read the head under
the event log's lock instead (two round trips for the commit instead of one) before this
process believes again: with several writers on one chain, reading costs less than being
refused.

A partitioned chain (see ``store.chain``) has one belief per partition
(:class:`ChainHeads`): a refusal in one partition says nothing of the others, so two
processes that serve accounts of different partitions never refuse each other.
"""

from __future__ import annotations

import threading

#: ``(seq, hash)`` of the chain's newest row (hash None: a row from before the chain)
Head = tuple[int, str | None]

#: steps that read the head after a refusal before the belief is tried again
READ_AFTER_REFUSAL = 8


class ChainHead:
    """This process's belief about the chain's head, shared by its units of work; every
    method but :meth:`__init__` is called with :attr:`lock` held (briefly: no I/O)."""

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

    def advance(self, head: Head) -> None:
        """A step hashed up to ``head`` and is about to commit: the next one follows it."""
        self._known, self._head = True, head

    def committed(self, head: Head) -> None:
        """A step that read the head committed up to ``head``: believe it, unless a later
        step has moved the belief on already."""
        if not self._known or self._head is None or head[0] > self._head[0]:
            self._known, self._head = True, head

    def refuse(self) -> None:
        """A step's check was refused: another writer moved the head."""
        self.refused += 1
        self._reads_left = READ_AFTER_REFUSAL
        self._known, self._head = False, None

    def forget(self) -> None:
        """A step that had moved the belief did not commit: read the head next time."""
        self._known, self._head = False, None


class ChainHeads:
    """One :class:`ChainHead` for each partition of the chain, made on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heads: dict[int, ChainHead] = {}

    def of(self, partition: int) -> ChainHead:
        head = self._heads.get(partition)
        if head is None:
            with self._lock:
                head = self._heads.setdefault(partition, ChainHead())
        return head

    @property
    def refused(self) -> int:
        """Refused steps, all partitions together."""
        return sum(h.refused for h in list(self._heads.values()))
