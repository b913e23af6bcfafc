"""``OrderIntent``: what a strategy wants traded, validated before anything is recorded.

An intent is immutable. :meth:`OrderIntent.parse` takes loose input (a dict from JSON,
the CLI or a strategy) and either returns an intent or raises :class:`InvalidIntent`
naming the field. The payload hash is what idempotency compares: the same key with the
same hash returns the existing order, a different hash is a conflict.

Text is held to what a person can read back unchanged: no C0, DEL or C1 control
characters, no lone surrogates and no bidirectional overrides in any text field or
metadata string; symbols and enum words in ASCII only (``"ſell".upper()`` is ``SELL``).
Metadata is a JSON object at most :data:`MAX_METADATA_DEPTH` levels deep and
:data:`MAX_METADATA_BYTES` encoded; values under credential-named keys
(:mod:`ordergate.domain.credentials`) are masked before the intent exists, so no store,
event or answer can hold them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import orjson

from ordergate.domain.algo_terms import AlgoKind, AlgoTerms
from ordergate.domain.credentials import MASK, is_credential_key
from ordergate.domain.enums import OrderType, OrderVariety, Product, Side, TimeInForce
from ordergate.domain.errors import ErrorCode, InvalidIntent
from ordergate.domain.frozen import fast_init
from ordergate.domain.money import fmt, parse_decimal
from ordergate.domain.timestamps import parse_time

_TEXT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@#+=-]{0,127}$")
_SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/^$&-]{0,63}$")
#: C0, DEL, C1, lone surrogates, line/paragraph separators and bidirectional controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACE = " \t\r\n"
#: The most bytes metadata may take, encoded as canonical JSON.
MAX_METADATA_BYTES = 16_384
#: The deepest metadata may nest (``{"a": {"b": 1}}`` is 2 levels).
MAX_METADATA_DEPTH = 8

_ALIASES = {
    "quantity": "qty",
    "size": "qty",
    "type": "order_type",
    "price": "limit_price",
    "trigger_price": "stop_price",
    "validity": "time_in_force",
    "tif": "time_in_force",
    "strategy_code": "strategy_id",
    "key": "idempotency_key",
    "expires_at": "expire_at",
}

E = TypeVar("E", bound=StrEnum)


@fast_init
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderIntent:
    """An order a strategy wants, with seed 003's fields and seed 002's attribution ids."""

    idempotency_key: str
    symbol: str
    side: Side
    qty: Decimal
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.DAY
    expire_at: datetime | None = None
    account_id: str = "default"
    strategy_id: str = "default"
    #: the broker's product (``CNC``/``MIS``/``NRML``/``MTF``, any case; empty: the
    #: broker's configured default)
    product: str = ""
    #: the broker's order variety (``regular``/``amo``/``co``/``iceberg``/``auction``;
    #: empty: the broker's configured default)
    variety: str = ""
    tag: str = ""
    reason: str = ""
    confidence: Decimal | None = None
    sl_offset_pct: Decimal | None = None
    tp_offset_pct: Decimal | None = None
    decision_id: str = ""
    profile_version_id: str = ""
    regime_id: str = ""
    universe_id: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: an execution algorithm: the intent is a parent order, worked through children
    algo: AlgoTerms | None = None
    #: a LIMIT order that shows only this much at a time (a native iceberg; the engine
    #: refuses it unless the broker declares ``display_qty``); None: all of it
    display_qty: Decimal | None = None

    def __post_init__(self) -> None:
        # attributes read directly and empty optional fields skipped: every order pays
        # for this, and most name only a few of the fields (the decisions are the same)
        _check_id("idempotency_key", self.idempotency_key)
        _check_id("account_id", self.account_id)
        _check_id("strategy_id", self.strategy_id)
        if not _SYMBOL.fullmatch(self.symbol):
            raise InvalidIntent("symbol", f"is not a valid symbol: {self.symbol!r}")
        if self.qty <= 0:
            raise InvalidIntent("qty", f"must be greater than zero, got {fmt(self.qty)}")
        limit_price, stop_price = self.limit_price, self.stop_price
        if limit_price is not None and limit_price <= 0:
            raise InvalidIntent("limit_price", f"must be greater than zero, got {fmt(limit_price)}")
        if stop_price is not None and stop_price <= 0:
            raise InvalidIntent("stop_price", f"must be greater than zero, got {fmt(stop_price)}")
        priced = limit_price is not None or stop_price is not None
        if priced or self.order_type is not OrderType.MARKET:
            self._check_prices_for_type()
        expire_at = self.expire_at
        if expire_at is None:
            if self.time_in_force is TimeInForce.GTD:
                raise InvalidIntent("expire_at", "is required when time_in_force is GTD")
        elif expire_at.tzinfo is None:
            raise InvalidIntent("expire_at", "must carry a time zone (e.g. ...Z or +00:00)")
        if self.sl_offset_pct is not None or self.tp_offset_pct is not None:
            self._check_bracket()
        if self.algo is not None:
            self._check_algo(self.algo)
        if self.display_qty is not None:
            self._check_display()
        if self.confidence is not None and not (0 <= self.confidence <= 1):
            raise InvalidIntent("confidence", "must be between 0 and 1")
        for name, text in (("product", self.product), ("tag", self.tag), ("reason", self.reason)):
            if text:  # the empty text has neither length nor characters to refuse
                if len(text) > 256:
                    raise InvalidIntent(name, "is longer than 256 characters")
                _check_chars(name, text)
        if self.product and self.product.upper() not in _PRODUCTS:
            raise InvalidIntent("product", f"must be one of {', '.join(Product)}")
        if self.variety and self.variety.lower() not in _VARIETIES:
            raise InvalidIntent("variety", f"must be one of {', '.join(OrderVariety)}")
        if self.decision_id or self.profile_version_id or self.regime_id or self.universe_id:
            for name in ("decision_id", "profile_version_id", "regime_id", "universe_id"):
                value = getattr(self, name)
                if value:
                    _check_id(name, value)
        if self.metadata:
            object.__setattr__(self, "metadata", clean_metadata(self.metadata))
            try:
                encoded = _encode(dict(self.metadata))
            except (TypeError, ValueError) as exc:
                raise InvalidIntent("metadata", f"must be a JSON object: {exc}") from None
            if len(encoded) > MAX_METADATA_BYTES:
                raise InvalidIntent("metadata", f"is larger than {MAX_METADATA_BYTES} bytes")

    def _check_prices_for_type(self) -> None:
        kind = self.order_type
        if kind.needs_limit_price and self.limit_price is None:
            raise InvalidIntent("limit_price", f"is required for a {kind} order")
        if not kind.needs_limit_price and self.limit_price is not None:
            raise InvalidIntent("limit_price", f"must not be given for a {kind} order")
        if kind.needs_stop_price and self.stop_price is None:
            raise InvalidIntent("stop_price", f"is required for a {kind} order")
        if not kind.needs_stop_price and self.stop_price is not None:
            raise InvalidIntent("stop_price", f"must not be given for a {kind} order")

    def _check_bracket(self) -> None:
        """SL below and TP above the fill for a buy; the other way round for a sell."""
        sign = self.side.sign
        if self.sl_offset_pct is not None and not (self.sl_offset_pct * sign < 0):
            where = "below (negative)" if sign > 0 else "above (positive)"
            raise InvalidIntent("sl_offset_pct", f"must put the stop loss {where} the fill")
        if self.tp_offset_pct is not None and not (self.tp_offset_pct * sign > 0):
            where = "above (positive)" if sign > 0 else "below (negative)"
            raise InvalidIntent("tp_offset_pct", f"must put the take profit {where} the fill")
        for name in ("sl_offset_pct", "tp_offset_pct"):
            value = getattr(self, name)
            if value is not None and abs(value) >= 1:
                raise InvalidIntent(name, "must be a fraction between -1 and 1")

    def _check_algo(self, algo: AlgoTerms) -> None:
        """A parent order: a market or limit order whose children each carry its terms."""
        if self.order_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise InvalidIntent("order_type", "an algorithm works MARKET or LIMIT children")
        if self.sl_offset_pct is not None or self.tp_offset_pct is not None:
            raise InvalidIntent("algo", "an algorithm's parent takes no stop loss or take profit")
        if self.expire_at is not None:
            raise InvalidIntent("expire_at", "a parent ends with its algorithm: use algo.end_at")
        if len(self.idempotency_key) > 112:
            raise InvalidIntent("idempotency_key", "of a parent is at most 112 characters")
        if algo.kind is AlgoKind.ICEBERG:
            if self.order_type is not OrderType.LIMIT:
                raise InvalidIntent("order_type", "an iceberg rests at a limit: give limit_price")
            if algo.display_qty is not None and algo.display_qty > self.qty:
                raise InvalidIntent("algo.display_qty", "is larger than the order's qty")

    def _check_display(self) -> None:
        if self.algo is not None:
            raise InvalidIntent("display_qty", "a parent's display quantity is algo.display_qty")
        if self.order_type is not OrderType.LIMIT:
            raise InvalidIntent("display_qty", "only a LIMIT order shows part of its quantity")
        if self.display_qty is not None and self.display_qty <= 0:
            raise InvalidIntent("display_qty", "must be greater than zero")

    # ----------------------------------------------------------------- parsing

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> OrderIntent:
        """Build an intent from loose input; raise :class:`InvalidIntent` naming the field."""
        if type(data) is not dict and not isinstance(data, Mapping):  # an ABC check is slow
            raise InvalidIntent("intent", "must be an object of fields")
        raw: dict[str, Any] = {}
        for key, value in data.items():
            lowered = str(key).lower()
            name = _ALIASES.get(lowered, lowered)
            if name not in _FIELDS:
                raise InvalidIntent(str(key) or "(empty name)", "is not a field of an order intent")
            if name in raw:
                raise InvalidIntent(str(key), f"is given twice (as {name})")
            raw[name] = value
        for required in _REQUIRED:
            if raw.get(required) in (None, ""):
                raise InvalidIntent(required, "is required")
        values: dict[str, Any] = {
            "idempotency_key": _text(raw, "idempotency_key"),
            "symbol": _symbol(raw),
            "side": _enum(Side, raw, "side"),
            "qty": parse_decimal(raw["qty"], "qty", positive=True),
        }
        if len(raw) > len(_REQUIRED):  # an intent that names more than the four
            _parse_optional(raw, values)
        return cls(**values)

    # ------------------------------------------------------------- canonical

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, Decimals as canonical strings. ``variety`` and
        ``display_qty`` only when given, so an intent without them keeps the payload hash
        it had before the fields."""
        expire_at = self.expire_at
        body: dict[str, Any] = {
            "idempotency_key": self.idempotency_key,
            "symbol": self.symbol,
            "side": str(self.side),
            "qty": fmt(self.qty),
            "order_type": str(self.order_type),
            "limit_price": fmt(self.limit_price),
            "stop_price": fmt(self.stop_price),
            "time_in_force": str(self.time_in_force),
            "expire_at": None if expire_at is None else expire_at.isoformat(),
            "account_id": self.account_id,
            "strategy_id": self.strategy_id,
            "product": self.product,
            "tag": self.tag,
            "reason": self.reason,
            "confidence": fmt(self.confidence),
            "sl_offset_pct": fmt(self.sl_offset_pct),
            "tp_offset_pct": fmt(self.tp_offset_pct),
            "decision_id": self.decision_id,
            "profile_version_id": self.profile_version_id,
            "regime_id": self.regime_id,
            "universe_id": self.universe_id,
            "metadata": dict(self.metadata),
        }
        if self.algo is not None:  # only then: a plain intent hashes as it always did
            body["algo"] = self.algo.to_dict()
        if self.variety:
            body["variety"] = self.variety
        if self.display_qty is not None:  # only then, like variety
            body["display_qty"] = fmt(self.display_qty)
        return body

    def canonical_json(self) -> str:
        return self.canonical()[0]

    def payload_hash(self) -> str:
        """sha256 of everything but the idempotency key: what a replay must match."""
        return self.canonical()[1]

    def canonical(self) -> tuple[str, str]:
        """(canonical JSON of every field, sha256 of the JSON of all but the key)."""
        body = self.to_dict()
        full = _encode(body)
        del body["idempotency_key"]
        terms = _encode(body)
        return full.decode(), hashlib.sha256(terms).hexdigest()

    @property
    def signed_qty(self) -> Decimal:
        return self.qty * self.side.sign

    @property
    def wire_product(self) -> Product | None:
        """``product`` as the wire's enum (None: the broker's default)."""
        return Product(self.product.upper()) if self.product else None

    @property
    def wire_variety(self) -> OrderVariety | None:
        """``variety`` as the wire's enum (None: the broker's default)."""
        return OrderVariety(self.variety.lower()) if self.variety else None


_FIELDS = frozenset(f.name for f in fields(OrderIntent))
_REQUIRED = ("idempotency_key", "symbol", "side", "qty")
_REQUIRED_SET = frozenset(_REQUIRED)
_PRODUCTS = frozenset(Product)
_VARIETIES = frozenset(OrderVariety)


def _parse_optional(raw: Mapping[str, Any], values: dict[str, Any]) -> None:
    """The fields beyond the four required ones that the intent names, in a fixed order
    (the first bad one is the one named)."""
    for name in sorted(raw.keys() - _REQUIRED_SET, key=_RANK.__getitem__):
        if raw[name] is not None:
            values[name] = _PARSERS[name](raw, name)


def _positive(raw: Mapping[str, Any], name: str) -> Decimal:
    return parse_decimal(raw[name], name, positive=True)


def _signed(raw: Mapping[str, Any], name: str) -> Decimal:
    return parse_decimal(raw[name], name)


def _encode(value: dict[str, Any]) -> bytes:
    """Canonical JSON: sorted keys, compact, UTF-8; unknown types as their text."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)


def _check_id(name: str, value: object) -> None:
    if not isinstance(value, str) or not _TEXT_ID.fullmatch(value):
        raise InvalidIntent(
            name, "must be 1-128 letters, digits or ._:/@#+=- and start with a letter or digit"
        )


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidIntent(name, f"must be text, got {type(value).__name__}")
    text = str(value).strip(_SPACE)  # str.strip() would also eat NEL (U+0085), a C1 control
    _check_chars(name, text)
    return text


def _check_chars(name: str, text: str) -> None:
    if text.isprintable():  # every character _CONTROL names is unprintable: none here
        return
    found = _CONTROL.search(text)
    if found:
        raise InvalidIntent(
            name,
            f"must not contain control characters (U+{ord(found.group()):04X} at {found.start()})",
        )


def _symbol(raw: Mapping[str, Any]) -> str:
    """The symbol in upper case, checked *before* upper-casing (``ſ`` would become ``S``)."""
    text = _text(raw, "symbol")
    if not _SYMBOL.fullmatch(text):
        raise InvalidIntent("symbol", f"is not a valid symbol: {text!r}")
    return text.upper()


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``metadata`` with credential-named values masked, or :class:`InvalidIntent`.

    Walks without recursion (a body nested 10,000 deep is a clear 422, never a
    ``RecursionError``): keys must be text, strings free of control characters, and no
    deeper than :data:`MAX_METADATA_DEPTH`. Each error names the path
    (``metadata.a.b[2]``).
    """
    if not isinstance(metadata, Mapping):
        raise InvalidIntent("metadata", "must be an object")
    root: dict[str, Any] = {}
    stack: list[tuple[Any, Any, int, str]] = [(metadata, root, 1, "metadata")]
    while stack:
        source, target, depth, path = stack.pop()
        if depth > MAX_METADATA_DEPTH:
            raise InvalidIntent(path, f"nests deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(source, Mapping):
            entries: list[tuple[Any, str, Any]] = []
            for key, value in source.items():
                if not isinstance(key, str):
                    raise InvalidIntent(path, f"keys must be text, got {type(key).__name__}")
                where = f"{path}.{key}"
                _check_chars(where, key)
                entries.append((key, where, MASK if is_credential_key(key) else value))
        else:
            entries = [(i, f"{path}[{i}]", v) for i, v in enumerate(source)]
        for slot, where, value in entries:
            if isinstance(value, Mapping):
                child: Any = {}
                stack.append((value, child, depth + 1, where))
            elif isinstance(value, Sequence) and not isinstance(value, str | bytes):
                child = [None] * len(value)
                stack.append((value, child, depth + 1, where))
            else:
                if isinstance(value, str):
                    _check_chars(where, value)
                child = value
            target[slot] = child
    return root


def _enum(kind: type[E], raw: Mapping[str, Any], name: str) -> E:
    value = raw[name]
    text: Any = value
    if isinstance(value, str):
        if not value.isascii():
            choices = ", ".join(member.value for member in kind)
            raise InvalidIntent(name, f"must be one of {choices} (ASCII); got {value!r}")
        text = value.strip().upper().replace("-", "_")
        member: Any = kind._value2member_map_.get(text)  # the member, without the enum's call
        if member is not None:
            return member  # type: ignore[no-any-return]
    try:
        return kind(text)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise InvalidIntent(name, f"must be one of {choices}; got {value!r}") from None


#: How each optional field is read, in the order they are checked.
_PARSERS: dict[str, Any] = {
    "order_type": lambda raw, name: _enum(OrderType, raw, name),
    "time_in_force": lambda raw, name: _enum(TimeInForce, raw, name),
    "limit_price": _positive,
    "stop_price": _positive,
    "display_qty": _positive,
    "confidence": _signed,
    "sl_offset_pct": _signed,
    "tp_offset_pct": _signed,
    "expire_at": lambda raw, name: parse_time(raw[name], name),
    **dict.fromkeys(
        (
            "account_id",
            "strategy_id",
            "product",
            "variety",
            "tag",
            "reason",
            "decision_id",
            "profile_version_id",
            "regime_id",
            "universe_id",
        ),
        _text,
    ),
    "metadata": lambda raw, name: clean_metadata(raw[name]),
    "algo": lambda raw, name: AlgoTerms.parse(raw[name]),
}
_RANK = {name: rank for rank, name in enumerate(_PARSERS)}


def check_not_expired(intent: OrderIntent, now: datetime) -> None:
    """Raise ``E_INTENT_EXPIRED`` when the intent's expiry has passed at ``now``."""
    if intent.expire_at is not None and now >= intent.expire_at:
        raise InvalidIntent(
            "expire_at",
            f"expired at {intent.expire_at.isoformat()} (now {now.isoformat()})",
            code=ErrorCode.E_INTENT_EXPIRED,
        )
