"""Group commit: the units of work of concurrent submitters share one durable commit.

A store with one connection (SQLite) writes one unit of work at a time, and with
``synchronous=FULL`` the commit's fsync costs more than the unit itself. Here a unit
is a ``SAVEPOINT`` inside a transaction that stays open across units (a *group*);
the group is committed by one of its members (the *leader*), and every member is
released only once that commit is durable (leader / follower):

- a unit that ends while other writers wait for the connection hands the group on to
  them and waits (it is a follower);
- the unit that ends with nobody waiting — or the one that fills the group to
  ``max_group`` — commits the group (it is the leader), then wakes the followers;
- a unit that fails rolls back to its own savepoint: the rest of the group stands;
- a commit that fails fails every unit of the group: each member's ``transaction``
  raises (nothing of it was durable, nothing of it is told) — and when the group held
  deferred units, whose answers were told, the store refuses every later unit and read
  until a restart (fail closed; recovery looks those orders up).

A unit may be *deferred* (:meth:`GroupCommit.defer`): it returns once it is in the
group, before the group is durable, and rides the next commit. The engine defers only
a receipt whose broker answer can be had again by a look-up (DESIGN.md, "Commits may be
shared"); such a group is committed by the next durable unit, a read, or — when none
comes — by the flusher within two ``linger_s``.

The module holds the bookkeeping (groups, tickets, waiting); the store runs the SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Protocol, runtime_checkable

from ordergate.domain.errors import PersistenceError

#: A group is committed once it holds this many units, whoever waits.
DEFAULT_MAX_GROUP = 64
#: How often the flusher looks for a group of deferred units nobody commits; such a
#: group is committed within two of these.
DEFAULT_LINGER_S = 0.005


@runtime_checkable
class Deferrable(Protocol):
    """A unit of work that can return before its commit is durable."""

    def defer(self) -> None: ...


def defer_commit(tx: object) -> None:
    """Let ``tx`` ride a later group commit where its store has them; elsewhere (one
    commit per unit: memory, PostgreSQL) it commits as always."""
    if isinstance(tx, Deferrable):
        tx.defer()


class GroupCommit:
    """Leader / follower bookkeeping over one connection's lock (see the module).

    ``commit`` commits the open transaction (called with the lock held) and raises
    :class:`PersistenceError` when it cannot; the store rolls back itself then.
    """

    def __init__(
        self,
        lock: threading.RLock,
        commit: Callable[[], None],
        *,
        max_group: int = DEFAULT_MAX_GROUP,
        linger_s: float = DEFAULT_LINGER_S,
    ) -> None:
        self._cond = threading.Condition(lock)
        self._commit = commit
        self._max = max(1, max_group)
        self._linger = linger_s
        self._count_lock = threading.Lock()
        #: writers waiting for the connection (they will join or commit the group)
        self._arriving = 0
        #: the open group's number (0: no group open), its units, the last one durable
        self.open = 0
        self.members = 0
        #: units of the open group whose callers wait for it (not deferred)
        self.awaited = 0
        self._next = 1
        self.durable = 0
        #: set once a group with deferred units failed: the store writes nothing more
        self.broken: PersistenceError | None = None
        #: group number -> why its commit failed (for its members still waiting)
        self._failed: dict[int, PersistenceError] = {}
        #: groups committed and units they held (the bench reports units per commit)
        self.commits = 0
        self.units = 0
        self._flusher: threading.Thread | None = None
        self._stop = threading.Event()

    # ------------------------------------------------------------ arriving

    def arrive(self) -> None:
        """A writer is about to take the connection's lock."""
        with self._count_lock:
            self._arriving += 1

    def arrived(self) -> None:
        """The writer has the lock."""
        with self._count_lock:
            self._arriving -= 1

    # -------------------------------------------------------------- groups

    def opened(self) -> None:
        """A transaction was begun for a new group (lock held)."""
        self.open = self._next
        self._next += 1
        self.members = self.awaited = 0

    def join(self, *, deferred: bool = False) -> int:
        """A unit ended well inside the open group (lock held): its ticket."""
        self.members += 1
        if not deferred:
            self.awaited += 1
        return self.open

    def finish(self, ticket: int, *, wait: bool) -> None:
        """Commit the group or hand it on; with ``wait``, return once ``ticket`` is
        durable (lock held; raises the group's :class:`PersistenceError`)."""
        if self.open == ticket:
            if self.members >= self._max or (wait and not self._others_coming()):
                self.commit_open()
            elif not wait and not self._others_coming():
                self._schedule_flush()
        if not wait:
            return
        while self.durable < ticket and ticket not in self._failed:
            self._cond.wait()
        failure = self._failed.get(ticket)
        if failure is not None:
            if len(self._failed) > 256:  # bounded: members read theirs at once
                self._failed.pop(next(iter(self._failed)))
            raise PersistenceError(f"the group commit failed: {failure.message}")

    def abandon(self) -> None:
        """A unit failed and rolled back to its savepoint (lock held): the group goes on
        for the others; with nobody coming, its leader is the one who failed."""
        # an empty group is left open: the next unit or read commits it (cheap)
        if self.open and self.members and not self._others_coming():
            with suppress(PersistenceError):  # told to the members; this unit raises its own
                self.commit_open()

    def commit_open(self) -> None:
        """Commit the open group now (lock held), whatever its size; wake its members."""
        number = self.open
        if not number:
            return
        self.open = 0
        try:
            self._commit()
        except PersistenceError as exc:
            self._failed[number] = exc
            self._break_if_told(exc)
            raise
        else:
            self.durable = number
            self.commits += 1
            self.units += self.members
        finally:
            self.members = self.awaited = 0
            self._cond.notify_all()

    def discard_empty(self) -> None:
        """The open group, with no unit in it, was rolled back (lock held)."""
        self.open = self.members = self.awaited = 0

    def fail_open(self, error: PersistenceError) -> None:
        """The open group was rolled back whole (lock held): its members raise ``error``."""
        self._break_if_told(error)
        number, self.open, self.members, self.awaited = self.open, 0, 0, 0
        self._failed[number] = error
        self._cond.notify_all()

    def _break_if_told(self, error: PersistenceError) -> None:
        """A group with deferred units failed: their callers were told answers the disk
        does not have, and the engine's memory (cash, positions, leases) is ahead of
        it. Nothing more is written until a restart, whose recovery looks the orders
        up (fail closed)."""
        if self.members > self.awaited and self.broken is None:
            self.broken = PersistenceError(
                "a group commit failed after answers riding in it were told "
                f"({error.message}); restart the engine: recovery looks the orders up"
            )

    def check(self) -> None:
        """Raise when the store is broken (see :meth:`_break_if_told`)."""
        broken = self.broken
        if broken is not None:
            raise PersistenceError(broken.message)

    def _others_coming(self) -> bool:
        return self._arriving > 0

    # ------------------------------------------------------------- flusher

    def _schedule_flush(self) -> None:
        """A group of deferred units is open with nobody to commit it: make sure the
        flusher runs. It looks every ``linger_s`` (no signal per unit: waking a thread
        per order costs the submitter the GIL) and commits a group it finds open twice."""
        if self._flusher is None:
            self._flusher = threading.Thread(
                target=self._flush_loop, name="sqlite-group-commit", daemon=True
            )
            self._flusher.start()

    def _flush_loop(self) -> None:
        seen = 0
        while not self._stop.wait(self._linger):
            number = self.open  # read without the lock: a stale value only waits a round
            if not number or number != seen:
                seen = number
                continue
            self.arrive()  # counted as coming: a unit may hand its group on to us now
            with self._cond:
                self.arrived()
                if self.open:  # whichever group: one may wait for us to commit it
                    # a failure is told to the waiting members; deferred ones learn
                    # nothing, and a look-up gives their answer back
                    with suppress(PersistenceError):
                        self.commit_open()
            seen = 0

    def close(self) -> None:
        """Stop the flusher (the store commits what is open itself)."""
        self._stop.set()
        if self._flusher is not None:
            self._flusher.join(5)
