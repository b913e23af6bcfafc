"""What a broker can and cannot do, as its adapter declares it.

The engine reads these and never branches on an adapter's name. They sit in the
domain (no I/O) so that ``engine/`` reads them without importing ``brokers/``.

The two that decide whether a submit whose outcome is unknown may be sent again
(DESIGN.md, "the resend rule"):

- :attr:`BrokerCapabilities.dedupe` — does the broker answer a repeated
  ``client_order_id`` with the existing order, and for how long;
- :attr:`BrokerCapabilities.lookup_miss_conclusive` — does "no such order" from a
  look-up prove that the broker never received it (rather than "not visible yet").

Every field has a *safe* default: a broker that declares nothing dedupes nothing, its
misses prove nothing, it has no native modify, OCO or brackets, and it is not a
simulator (so it needs ``MODE=LIVE``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache

from ordergate.domain.enums import OrderType, TimeInForce
from ordergate.domain.errors import ConfigError
from ordergate.domain.wire import OrderRequest

__all__ = [
    "BrokerCapabilities",
    "ClientIdDedupe",
    "Lookup",
    "Modify",
    "check_client_order_id",
    "client_order_id_problem",
    "request_problems",
]


class ClientIdDedupe(StrEnum):
    """How a broker answers a ``client_order_id`` it has seen before."""

    #: the existing order, whatever its state (Alpaca; FIX venues that keep ClOrdIDs)
    ALWAYS = "ALWAYS"
    #: the existing order only while it is open; a final order's id may open a new one
    #: (Binance, reportedly): unsafe for a resend, since a market order fills at once
    WHILE_OPEN = "WHILE_OPEN"
    #: a second order (IB's orderRef, Kite's tag are labels only)
    NEVER = "NEVER"


class Lookup(StrEnum):
    """How an order can be found at the broker by our id."""

    BY_CLIENT_ID = "BY_CLIENT_ID"  # a query keyed by client_order_id
    BY_TAG = "BY_TAG"  # a free label we set, matched by scanning (Kite's tag)
    SCAN = "SCAN"  # only by listing orders and executions (IB's orderRef)


class Modify(StrEnum):
    """How the broker changes a working order's quantity or prices."""

    REPLACE = "REPLACE"  # in place, the same order (IB, FIX 35=G on most venues)
    CANCEL_REPLACE = "CANCEL_REPLACE"  # a new order replaces the old (Alpaca's PATCH)
    NONE = "NONE"  # not at all: the engine cancels and submits anew


#: our ids are ``og`` + 24 lowercase hex digits; the widest alphabet we assume nothing about
_ANY_PRINTABLE = r"[\x21-\x7e]+"


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerCapabilities:
    """One adapter's declaration; the broker contract suite checks it against the broker."""

    #: a repeated client_order_id: the same order (ALWAYS, WHILE_OPEN) or a second one
    dedupe: ClientIdDedupe = ClientIdDedupe.NEVER
    #: how long the broker remembers ids for ``dedupe`` (None: as long as it keeps the order)
    dedupe_window: timedelta | None = None
    lookup: Lookup = Lookup.SCAN
    #: a look-up miss proves the broker never received the order
    lookup_miss_conclusive: bool = False
    client_id_max_length: int = 128
    #: a regular expression the whole client_order_id must match
    client_id_alphabet: str = _ANY_PRINTABLE
    order_types: frozenset[OrderType] = field(
        default_factory=lambda: frozenset({OrderType.MARKET, OrderType.LIMIT})
    )
    time_in_force: frozenset[TimeInForce] = field(
        default_factory=lambda: frozenset({TimeInForce.DAY})
    )
    modify: Modify = Modify.NONE
    native_oco: bool = False
    native_bracket: bool = False
    #: one-cancels-all groups of any size (IB's OCA)
    native_oca: bool = False
    #: a working order holds its quantity: a second full-size exit is refused
    reserves_quantity: bool = False
    #: after a reconnect the stream delivers what changed while it was down
    stream_replays: bool = False
    #: the broker supplies quotes the engine can use as marks
    market_data: bool = False
    #: a limit order may show only part of its quantity (IB's displaySize, FIX's
    #: MaxFloor 111): an iceberg is one native order rather than refilled children
    display_qty: bool = False
    #: a simulator with no real account behind it (paper, the simulated exchange);
    #: anything else trades real money or a broker's own paper account: MODE=LIVE
    simulated: bool = False

    def __post_init__(self) -> None:
        if self.client_id_max_length < 1:
            raise ConfigError("client_id_max_length must be at least 1")
        try:
            _compiled(self.client_id_alphabet)
        except re.error as exc:
            raise ConfigError(
                f"client_id_alphabet {self.client_id_alphabet!r} is not a regex: {exc}"
            ) from None

    @property
    def dedupes_client_order_id(self) -> bool:
        """A repeated id is answered with the existing order whatever has happened to it
        since: only then is a blind resend safe (WHILE_OPEN is not: the first may have
        filled)."""
        return self.dedupe is ClientIdDedupe.ALWAYS

    @property
    def may_resend_unknown(self) -> bool:
        """The resend rule: a submit with an unknown outcome may be sent again only
        where the broker dedupes or a look-up miss proves it never arrived."""
        # the dedupe rule spelled out, not through the property: asked on every receipt
        return self.dedupe is ClientIdDedupe.ALWAYS or self.lookup_miss_conclusive


@lru_cache(maxsize=64)
def _compiled(alphabet: str) -> re.Pattern[str]:
    return re.compile(alphabet)


def client_order_id_problem(caps: BrokerCapabilities, client_order_id: str) -> str | None:
    """Why ``client_order_id`` cannot be sent to this broker, or ``None`` when it can."""
    if not client_order_id:
        return "the client order id is empty"
    if len(client_order_id) > caps.client_id_max_length:
        return (
            f"client order id {client_order_id!r} has {len(client_order_id)} characters; "
            f"the broker takes at most {caps.client_id_max_length}"
        )
    if _compiled(caps.client_id_alphabet).fullmatch(client_order_id) is None:
        return (
            f"client order id {client_order_id!r} has characters the broker does not take "
            f"(allowed: {caps.client_id_alphabet})"
        )
    return None


def check_client_order_id(caps: BrokerCapabilities, client_order_id: str) -> None:
    """Raise :class:`ConfigError` when the broker cannot take ``client_order_id``.

    A client id is derived from the idempotency key, never typed by a trader, so a
    misfit is the adapter's configuration (it must map our ids), not the intent."""
    problem = client_order_id_problem(caps, client_order_id)
    if problem is not None:
        raise ConfigError(problem, context={"client_order_id": client_order_id})


def request_problems(caps: BrokerCapabilities, request: OrderRequest) -> list[str]:
    """Everything in ``request`` this broker cannot take (empty when it can take it)."""
    problems: list[str] = []
    problem = client_order_id_problem(caps, request.client_order_id)
    if problem is not None:
        problems.append(problem)
    if request.order_type not in caps.order_types:
        problems.append(f"the broker takes no {request.order_type} orders")
    if request.time_in_force not in caps.time_in_force:
        problems.append(f"the broker takes no time in force {request.time_in_force}")
    if request.oco_group is not None and not (caps.native_oco or caps.native_oca):
        problems.append("the broker has no native OCO group")
    if request.display_qty is not None and not caps.display_qty:
        problems.append("the broker has no display quantity")
    return problems
