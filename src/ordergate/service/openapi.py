"""The OpenAPI document: what the service accepts, as tightly as its validation does.

Routes read money-bearing bodies by hand (:mod:`ordergate.service.body`), so FastAPI
cannot infer their schemas; this module writes them. An intent is described as one of
16 shapes — side (BUY / SELL: where stop loss and take profit go) × order type
(MARKET / LIMIT / STOP / STOP_LIMIT: which prices it needs) × GTD or not (GTD needs
``expire_at``) — so a client, or a schema-driven fuzzer, that follows the document
sends intents the engine takes. Numbers are ASCII decimal text (or JSON integers);
text fields refuse control characters; every limit of the validation is stated.

Every operation also says whether it needs the token (``security`` and
``x-ordergate-auth``: ``token`` for mutating routes, ``open-on-loopback`` for reads) and
lists the status of every outcome, a rejected order (``201``, ``status: REJECTED``)
included.
"""

from __future__ import annotations

import copy
from typing import Any

from ordergate.domain.enums import OrderStatus
from ordergate.domain.intent import MAX_METADATA_BYTES, MAX_METADATA_DEPTH
from ordergate.service.schemas import BasketIn, MarkIn, ModifyIn

ID = r"^[A-Za-z0-9][A-Za-z0-9._:/@#+=-]{0,127}$"
SYMBOL = r"^[A-Za-z0-9][A-Za-z0-9._:/^$&-]{0,63}$"
#: Text without C0/DEL/C1 controls, line separators or bidirectional overrides.
TEXT = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"
#: A positive decimal below 1e15 with at most 10 places, in ASCII digits.
POSITIVE = r"^(?:[1-9][0-9]{0,14}(?:\.[0-9]{1,10})?|0?\.[0-9]{0,9}[1-9])$"
#: A fraction strictly between 0 and 1 (the size of a bracket offset), at most 10 places.
FRACTION = r"0?\.[0-9]{0,9}[1-9]"
TIME = (
    r"^20[3-9][0-9]-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9])$"
)


def positive_number(description: str) -> dict[str, Any]:
    return {
        "description": description + " (ASCII decimal text keeps it exact; no exponent)",
        "anyOf": [
            {"type": "string", "pattern": POSITIVE, "maxLength": 26},
            {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999},
        ],
    }


def _text(description: str, max_length: int = 256) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": TEXT, "description": description}


def _common() -> dict[str, Any]:
    """The fields every intent shape has."""
    ids = {"type": "string", "pattern": ID, "maxLength": 128}
    scalar = {
        "anyOf": [
            {"type": "string", "pattern": TEXT, "maxLength": 100},
            {"type": "integer", "minimum": -(10**15), "maximum": 10**15},
            {"type": "boolean"},
            {"type": "null"},
        ]
    }
    return {
        "idempotency_key": {**ids, "description": "Unique per intent; a replay returns the order"},
        "symbol": {"type": "string", "pattern": SYMBOL, "examples": ["AAPL"]},
        "qty": positive_number("Quantity, greater than zero, below 1e15, at most 10 places"),
        "account_id": ids,
        "strategy_id": ids,
        "product": _text("Broker product: CNC, MIS, NRML, MTF (Kite)"),
        "variety": _text("Broker order variety: regular, amo, co, iceberg, auction (Kite)"),
        "tag": _text("Free tag"),
        "reason": _text("Why the strategy wants this order"),
        "confidence": {
            "type": "string",
            "pattern": r"^(?:0(?:\.[0-9]{1,10})?|1(?:\.0{1,10})?)$",
            "description": "0 to 1",
        },
        "decision_id": ids,
        "profile_version_id": ids,
        "regime_id": ids,
        "universe_id": ids,
        "metadata": {
            "type": "object",
            "maxProperties": 16,
            "propertyNames": {"pattern": TEXT, "maxLength": 32},
            "additionalProperties": scalar,
            "description": (
                f"Free JSON object, at most {MAX_METADATA_DEPTH} levels deep and"
                f" {MAX_METADATA_BYTES} bytes encoded (nested objects and lists are accepted"
                " too); values under credential-named keys (password, secret, token,"
                " api_key, …) are stored masked"
            ),
        },
    }


_ORDER_TYPES = {
    "MARKET": ((), ("limit_price", "stop_price")),
    "LIMIT": (("limit_price",), ("stop_price",)),
    "STOP": (("stop_price",), ("limit_price",)),
    "STOP_LIMIT": (("limit_price", "stop_price"), ()),
}


def intent_schema() -> dict[str, Any]:
    """``IntentIn``: one of 16 closed shapes (side × order type × GTD)."""
    shapes = []
    for side in ("BUY", "SELL"):
        loss, profit = ("-", "") if side == "BUY" else ("", "-")
        for kind, (needed, _absent) in _ORDER_TYPES.items():
            for gtd in (False, True):
                properties = _common()
                properties["side"] = {"type": "string", "enum": [side, side.lower()]}
                properties["order_type"] = {"type": "string", "enum": [kind, kind.lower()]}
                for price in needed:
                    properties[price] = positive_number(price.replace("_", " "))
                properties["sl_offset_pct"] = {
                    "type": "string",
                    "pattern": f"^{loss}{FRACTION}$",
                    "description": "Stop loss as a fraction of the fill, "
                    + ("below (negative)" if side == "BUY" else "above (positive)"),
                }
                properties["tp_offset_pct"] = {
                    "type": "string",
                    "pattern": f"^{profit}{FRACTION}$",
                    "description": "Take profit as a fraction of the fill, "
                    + ("above (positive)" if side == "BUY" else "below (negative)"),
                }
                required = ["idempotency_key", "symbol", "side", "qty", *needed]
                if kind != "MARKET":
                    required.append("order_type")
                properties["expire_at"] = {
                    "type": "string",
                    "pattern": TIME,
                    "description": "ISO 8601 with offset, in the future (the pattern asks"
                    " for 2030 or later; an earlier future time is accepted too)",
                }
                if gtd:
                    properties["time_in_force"] = {"type": "string", "enum": ["GTD", "gtd"]}
                    required += ["time_in_force", "expire_at"]
                else:
                    tifs = ["DAY", "GTC", "IOC", "FOK"]
                    properties["time_in_force"] = {
                        "type": "string",
                        "enum": tifs + [t.lower() for t in tifs],
                    }
                shapes.append(
                    {
                        "title": f"{side} {kind}{' GTD' if gtd else ''}",
                        "type": "object",
                        "properties": properties,
                        "required": required,
                        "additionalProperties": False,
                    }
                )
    return {
        "title": "IntentIn",
        "description": (
            "An order intent. The idempotency key may come from the Idempotency-Key"
            " header instead (the two must agree). Unknown fields are refused."
        ),
        "oneOf": shapes,
    }


def mark_schema() -> dict[str, Any]:
    body = MarkIn.model_json_schema()
    body["properties"] = {
        "symbol": {"type": "string", "pattern": SYMBOL},
        "last": positive_number("Last traded price"),
        "bid": positive_number("Best bid, not above ask"),
        "ask": positive_number("Best ask, not below bid"),
        "volume": positive_number("Volume"),
    }
    body["required"] = ["symbol", "last"]
    body["additionalProperties"] = False
    return body


def kill_switch_schema(generated: dict[str, Any]) -> dict[str, Any]:
    """A SYMBOL or STRATEGY switch needs a target other than ``*``; GLOBAL has none."""
    body = copy.deepcopy(generated)
    targeted = {"type": "string", "pattern": r"^\s*[^\s*\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"}
    body["oneOf"] = [
        {"properties": {"kind": {"enum": ["GLOBAL"]}, "target": {"enum": ["*", ""]}}},
        {"properties": {"kind": {"enum": ["RISK_LIMIT", "MANUAL"]}}},
        {
            "properties": {"kind": {"enum": ["SYMBOL", "STRATEGY"]}, "target": targeted},
            "required": ["target"],
        },
    ]
    return body


def trading_schema(generated: dict[str, Any]) -> dict[str, Any]:
    """A state, a posture or both."""
    body = copy.deepcopy(generated)
    body["anyOf"] = [{"required": ["state"]}, {"required": ["posture"]}]
    for name in ("state", "posture"):  # null is the same as leaving it out: say "leave it out"
        body["properties"][name] = next(
            choice for choice in body["properties"][name]["anyOf"] if choice.get("type") != "null"
        ) | {"description": body["properties"][name].get("description", "")}
    return body


def _key_header_in_prose(operation: dict[str, Any]) -> None:
    """The ``Idempotency-Key`` header must equal the body's key when both are sent, a
    relation JSON Schema cannot state: the document asks for the key in the body and
    describes the header in words (it is still accepted)."""
    kept = [p for p in operation.get("parameters", ()) if p.get("name") != "Idempotency-Key"]
    operation["parameters"] = kept
    operation["description"] = (
        operation.get("description", "")
        + "\n\nThe key may also come from an Idempotency-Key header (1-128 characters);"
        " sent with a body key, the two must be equal."
    ).strip()


def _order_filters(operation: dict[str, Any]) -> None:
    statuses = [s.value for s in OrderStatus]
    for parameter in operation.get("parameters", ()):
        if parameter.get("name") == "status":
            parameter["schema"] = {
                "anyOf": [
                    {"type": "array", "items": {"enum": statuses}, "maxItems": 16},
                    {"type": "null"},
                ]
            }


def modify_schema() -> dict[str, Any]:
    """``POST /v1/orders/{id}/modify``'s body: at least one of the terms."""
    body = ModifyIn.model_json_schema(ref_template="#/components/schemas/{model}")
    body.pop("$defs", None)
    body["anyOf"] = [{"required": [name]} for name in ("qty", "limit_price", "stop_price")]
    return body


def basket_schema() -> dict[str, Any]:
    body = BasketIn.model_json_schema(ref_template="#/components/schemas/{model}")
    body.pop("$defs", None)
    return body


#: Why each status is answered (every route's error shape is ``ErrorOut``).
WHY = {
    400: "The body is not JSON, not UTF-8 or empty (E_INTENT_INVALID)",
    401: "No valid bearer token (E_API_UNAUTHORIZED)",
    404: "No such order or route (E_ORDER_NOT_FOUND, E_API_NOT_FOUND)",
    405: "The method is not served on this path (E_API_NOT_FOUND); Allow lists those that are",
    409: "The idempotency key was used for another intent (E_EXEC_IDEMPOTENCY_CONFLICT), or"
    " the order cannot change now (E_ORDER_NOT_CANCELABLE, E_ORDER_ILLEGAL_TRANSITION)",
    413: "The body is larger than the limit (E_API_TOO_LARGE); the connection is closed",
    422: "A field is invalid (E_INTENT_INVALID, context.field names it; E_CONFIG_INVALID),"
    " or the request carries the service's token outside Authorization"
    " (E_INTENT_CONTAINS_SECRET); nothing was recorded",
    500: "A bug (E_API_INTERNAL, logged); resend with the same idempotency key",
    502: "The broker refused the call (E_EXEC_BROKER_REJECTED)",
    503: "Retry later: the store cannot record (E_EXEC_PERSISTENCE, nothing was sent), the"
    " broker is unreachable or its circuit open, or the service is not ready (E_API_NOT_READY)",
}
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}
#: The statuses each kind of route can answer besides its success.
_WRITE = (400, 401, 413, 422, 500)
_READ = (401, 413, 422, 500)
_EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("post", "/v1/intents"): (409, 503),
    ("post", "/v1/baskets"): (409, 503),
    ("post", "/v1/orders/{order_id}/cancel"): (404, 409, 502, 503),
    ("post", "/v1/orders/{order_id}/modify"): (404, 409, 502, 503),
    ("get", "/v1/orders/{order_id}"): (404, 503),
    ("get", "/v1/orders"): (503,),
    ("post", "/v1/marks"): (503,),
    ("post", "/v1/reconcile"): (502, 503),
    ("put", "/v1/kill-switches"): (503,),
    ("get", "/v1/kill-switches"): (503,),
    ("put", "/v1/trading"): (503,),
    ("get", "/healthz"): (503,),
    ("get", "/readyz"): (503,),
}
_SUCCESS = {
    ("post", "/v1/intents"): (
        "The intent's outcome, new or replayed (Idempotent-Replayed: true): FILLED, ACCEPTED,"
        " … and also REJECTED by a gate or the broker (status REJECTED, error_code says why)"
        " or FAILED — a rejection is an outcome, not an error"
    ),
    ("post", "/v1/baskets"): (
        "One report per intent, in order; each may be REJECTED by a gate (an outcome)"
    ),
    ("post", "/v1/orders/{order_id}/cancel"): "The order after the cancel (CANCELED, or filled)",
    ("post", "/v1/orders/{order_id}/modify"): (
        "The order after the modify, new or replayed (Idempotent-Replayed: true), with its"
        " replace: replaced (the new terms hold), rejected (the order keeps its terms; the"
        " error says why) or pending (unconfirmed: send the same request again)"
    ),
}


def document(generated: dict[str, Any], *, protect_reads: bool) -> dict[str, Any]:
    """FastAPI's ``generated`` document with the hand-written bodies, auth and outcomes."""
    schema = copy.deepcopy(generated)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["IntentIn"] = intent_schema()
    components["MarkIn"] = mark_schema()
    components["BasketIn"] = basket_schema()
    components["ModifyIn"] = modify_schema()
    for name, tighten in (("KillSwitchIn", kill_switch_schema), ("TradingIn", trading_schema)):
        if name in components:  # mounted only with a kill-switch board / a risk desk
            components[name] = tighten(components[name])
    _order_filters(schema.get("paths", {}).get("/v1/orders", {}).get("get", {}))
    _key_header_in_prose(schema.get("paths", {}).get("/v1/intents", {}).get("post", {}))
    schemes = schema["components"].setdefault("securitySchemes", {})
    schemes.pop("bearer_read", None)  # reads use the same token: one scheme in the document
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            key = (method, path)
            write = any("bearer" in each for each in operation.get("security", ()))
            needs_token = write or protect_reads
            operation["x-ordergate-auth"] = "token" if needs_token else "open-on-loopback"
            operation["security"] = [{"bearer": []}] if needs_token else [{}, {"bearer": []}]
            if not write and not protect_reads:
                operation["description"] = (
                    operation.get("description", "")
                    + "\n\nOpen on loopback; needs the token when the service listens beyond it."
                ).strip()
            responses = operation.setdefault("responses", {})
            for status in responses:
                if status.startswith("2") and key in _SUCCESS:
                    responses[status]["description"] = _SUCCESS[key]
            wanted = {str(s) for s in (*(_WRITE if write else _READ), *_EXTRA.get(key, ()))}
            for status in list(responses):
                if not status.startswith("2") and status not in wanted:
                    del responses[status]  # FastAPI's defaults, or a status it cannot give
            for status in sorted(wanted):
                responses[status] = {"description": WHY[int(status)], "content": _ERROR}
    return schema
