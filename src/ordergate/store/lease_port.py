"""The lease port: what ownership of open orders needs from a store, whichever it is
(see ``store/leases.py`` for why leases exist and the SQLite and memory backends, and
``store/pg_leases.py`` for PostgreSQL's)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

OPEN_STATUSES = ("PENDING", "SUBMITTED", "ACCEPTED", "PARTIALLY_FILLED", "PENDING_CANCEL")
#: an order in one of these has not been answered by a broker: it may still be sent
UNSENT_STATUSES = ("PENDING", "SUBMITTED")


@dataclass(frozen=True, slots=True)
class Lease:
    order_id: str
    owner: str
    expires_at: datetime
    #: the fencing token: a new number each time the order changes hands (PostgreSQL)
    token: int = 0


class OrderLeases(Protocol):
    """Leases on orders, held by one ``owner`` (a process: host, pid, start time)."""

    owner: str

    def claim(self, order_ids: Sequence[str], ttl: timedelta) -> list[str]:
        """Take each order whose lease is free, expired or already ours, for ``ttl``.

        Returns the ids now held by this owner; an order live-leased by another owner
        is left out.
        """
        ...

    def claim_orphans(self, ttl: timedelta, limit: int = 100) -> list[str]:
        """Take open orders that nobody holds (never leased, or lease expired).

        An order never leased and changed less than ``ttl`` ago is left alone: its
        creator may be between committing it and claiming it, still sending it. On
        PostgreSQL "ago" is the database's clock (the order's ``db_touched_at``), so a
        host whose clock is off cannot make a live order look old.
        """
        ...

    def renew(self, ttl: timedelta) -> list[str]:
        """Extend every lease this owner still holds; return their ids.

        A lease that expired and was taken over is gone from the answer: stop
        tracking that order.
        """
        ...

    def release(self, order_ids: Sequence[str]) -> None:
        """Give up these orders (they ended, or the process is stopping)."""
        ...

    def release_all(self) -> None:
        """Give up every lease of this owner: a clean stop hands work over at once."""
        ...

    def lease(self, order_id: str) -> Lease | None:
        """The order's lease row, live or expired, or None."""
        ...

    def held(self) -> list[str]:
        """The ids this owner holds a live lease on, sorted."""
        ...

    def prune(self) -> int:
        """Drop the leases of orders that are no longer open; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class SendGrant:
    """The right to send one order now: its lease's fencing token, and who held the
    lease before this claim (None: nobody). An order that was someone else's — or this
    owner's name in an earlier life of the process — may have been sent already."""

    token: int
    previous_owner: str | None
    #: how long ago (seconds, by a monotonic clock) the claim was asked, when it was made
    #: before the call (it rode in the order's accept transaction); None: by the call
    claimed_s_ago: float | None = None


@runtime_checkable
class SendFence(Protocol):
    """Leases that mark a send in flight, so replays of the order can wait for it."""

    def begin_send(self, order_id: str, ttl: timedelta) -> SendGrant | None:
        """Claim the order for ``ttl`` now, if it is still unsent here (``PENDING`` or
        ``SUBMITTED``), and mark it in flight. None when another owner holds a live
        lease or the order has moved on (another process's answer is recorded)."""
        ...

    def end_send(self, order_id: str) -> None:
        """The send's answer is recorded: drop the in-flight mark."""
        ...


@runtime_checkable
class SharedRoles(Protocol):
    """Leases on a database several hosts share, where a role can be held exclusively."""

    def hold_exclusive(self, role: str) -> bool:
        """Take ``role`` for this process's life; False when another process has it."""
        ...
