"""Our client order ids as Kite tags, and back: a bijection, so no two ids share a tag.

Kite has no client order id and dedupes nothing; its only free field is ``tag``, at most
20 alphanumeric characters. The engine's ids are ``og`` + 24 lowercase hex digits
(96 bits). 96 bits fit in 19 base-36 digits (36**19 > 2**98), so a tag is ``o`` and the
id's 96 bits written in base 36, zero-padded to 19 digits: exactly 20 characters,
lowercase letters and digits only (so it survives a broker that upper-cases it).

The map is one-to-one on the engine's ids: two different ids never give one tag, and a
tag read from the order book gives back the one id it came from. Collisions are thus
only those of the ids themselves (96 bits of sha256 over account and idempotency key).
Orders without such a tag (placed on Kite's own screens, its RMS square-off, other
software) are the broker's, named ``kite-<order_id>``.
"""

from __future__ import annotations

import re

__all__ = [
    "CLIENT_ID_ALPHABET",
    "FOREIGN_PREFIX",
    "TAG_MAX",
    "client_id_for_tag",
    "foreign_client_id",
    "foreign_order_id",
    "tag_for",
]

#: the ids the adapter takes: the engine's shape exactly
CLIENT_ID_ALPHABET = r"og[0-9a-f]{24}"
#: Kite's limit on ``tag``
TAG_MAX = 20
#: the client order id we report for an order that carries none of our tags
FOREIGN_PREFIX = "kite-"

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_WIDTH = 19
_ID = re.compile(CLIENT_ID_ALPHABET)
_TAG = re.compile(r"o[0-9a-z]{19}")
_LIMIT = 1 << 96


def tag_for(client_order_id: str) -> str:
    """The tag that carries ``client_order_id`` (``ValueError`` for an id not ours)."""
    if _ID.fullmatch(client_order_id) is None:
        raise ValueError(f"{client_order_id!r} is not an engine client order id (og + 24 hex)")
    value = int(client_order_id[2:], 16)
    digits = []
    for _ in range(_WIDTH):
        value, digit = divmod(value, 36)
        digits.append(_DIGITS[digit])
    return "o" + "".join(reversed(digits))


def client_id_for_tag(tag: str | None) -> str | None:
    """The client order id a tag carries, or ``None`` when the tag is not one of ours."""
    if not tag:
        return None
    text = tag.lower()
    if _TAG.fullmatch(text) is None:
        return None
    value = int(text[1:], 36)
    if value >= _LIMIT:
        return None  # 20 base-36 characters, but no id of ours
    return "og" + f"{value:024x}"


def foreign_client_id(order_id: str) -> str:
    """The client order id reported for an order placed outside ordergate."""
    return FOREIGN_PREFIX + order_id


def foreign_order_id(client_order_id: str) -> str | None:
    """Kite's order id inside a :func:`foreign_client_id`, else ``None``."""
    if client_order_id.startswith(FOREIGN_PREFIX):
        return client_order_id[len(FOREIGN_PREFIX) :] or None
    return None
