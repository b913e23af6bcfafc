"""``ordergate shadow report``: the twin's fills beside the real ones, and the fits.

Reads only: the real store (its orders and fills, by the real order id) and the twin's
store and link tables (:mod:`.links`). The figures are :mod:`.figures`', the fitted
settings :mod:`.fit`'s; this module loads the pairs and renders JSON, text or HTML.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from ordergate.domain.market import Mark
from ordergate.domain.order import Order
from ordergate.shadow.figures import GROUPS, Outcome, Pair, grouped, order_row
from ordergate.shadow.fit import fit_participation, fit_slippage
from ordergate.shadow.links import DROPPED, ShadowLinks
from ordergate.store.base import Store


def _outcome(store: Store, order: Order) -> Outcome:
    fills = tuple(store.fills_for(order.order_id))
    return Outcome(
        order_id=order.order_id,
        status=order.status.value,
        qty=order.qty,
        submitted_at=order.created_at,
        fills=fills,
        fees=order.fees,
    )


def load_pairs(real: Store, twin: Store, links: ShadowLinks) -> tuple[list[Pair], int]:
    """Every linked order as a pair, and how many links have no real order left (purged)."""
    pairs: list[Pair] = []
    missing = 0
    for link in links.links():
        real_order = real.get_order(link.real_order_id)
        if real_order is None:
            missing += 1
            continue
        real_side = _outcome(real, real_order)
        # the real order's clock starts when it went out, as the twin's does
        real_side = Outcome(
            order_id=real_side.order_id,
            status=real_side.status,
            qty=real_side.qty,
            submitted_at=link.submitted_at,
            fills=real_side.fills,
            fees=real_side.fees,
        )
        sim_order = twin.get_order(link.shadow_order_id)
        pairs.append(
            Pair(
                link=link,
                real=real_side,
                sim=None if sim_order is None else _outcome(twin, sim_order),
                arrival_price=real_order.arrival_price,
            )
        )
    return pairs, missing


def build_report(
    pairs: list[Pair],
    marks_of: Callable[[str], list[Mark]],
    *,
    configured_slippage_bps: Decimal,
    timezone: str = "UTC",
    dropped: int = 0,
    missing: int = 0,
) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    return {
        "schema_version": 1,
        "definitions": {
            "price_diff_bps": "side sign x (simulated avg - real avg) / real avg x 10000; "
            "positive: the simulation was more pessimistic than the real fill",
            "time_to_fill_s": "last fill - submit time (the real order's SUBMITTED event)",
            "fill_ratio": "filled qty / order qty",
            "hour": f"hour of day of the real submit in {timezone}",
        },
        "coverage": {
            "linked": len(pairs) + missing,
            "real_order_purged": missing,
            "dropped_by_full_queue": dropped,
        },
        "orders": [order_row(p, zone) for p in pairs],
        "groups": grouped(pairs, zone),
        "fit": {
            "slippage": fit_slippage(pairs, configured_slippage_bps),
            "participation": fit_participation(pairs, marks_of),
        },
    }


def report_for(
    real: Store,
    twin: Store,
    links: ShadowLinks,
    *,
    configured_slippage_bps: Decimal,
    timezone: str = "UTC",
) -> dict[str, Any]:
    """The whole report from the stores."""
    pairs, missing = load_pairs(real, twin, links)
    cache: dict[str, list[Mark]] = {}

    def marks_of(symbol: str) -> list[Mark]:
        if symbol not in cache:
            cache[symbol] = links.marks(symbol)
        return cache[symbol]

    return build_report(
        pairs,
        marks_of,
        configured_slippage_bps=configured_slippage_bps,
        timezone=timezone,
        dropped=links.counter(DROPPED),
        missing=missing,
    )


# ------------------------------------------------------------------ render

ORDER_COLUMNS = (
    "real_order_id",
    "symbol",
    "side",
    "order_type",
    "hour",
    "real_status",
    "sim_status",
    "real_avg_price",
    "sim_avg_price",
    "price_diff_bps",
    "real_time_to_fill_s",
    "sim_time_to_fill_s",
    "real_fill_ratio",
    "sim_fill_ratio",
    "real_fees",
    "sim_fees",
)
GROUP_COLUMNS = (
    "orders",
    "compared",
    "mean_price_diff_bps",
    "mean_real_time_to_fill_s",
    "mean_sim_time_to_fill_s",
    "mean_real_fill_ratio",
    "mean_sim_fill_ratio",
    "real_fees",
    "sim_fees",
)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _fit_lines(report: dict[str, Any]) -> list[str]:
    slip, part = report["fit"]["slippage"], report["fit"]["participation"]
    return [
        f"slippage: best {slip['best_bps']} bps (rms error {slip['rms_error_bps']} bps; "
        f"configured {slip['configured_bps']} bps: {slip['configured_rms_error_bps']} bps) "
        f"over {slip['samples']} market orders — {slip['method']}",
        f"participation: best {part['best']} (rms error {part['rms_error_share']} of the order) "
        f"over {part['samples']} market orders — {part['method']}",
    ]


def render_text(report: dict[str, Any]) -> str:
    lines: list[str] = []
    cov = report["coverage"]
    lines.append(
        f"shadow orders: {cov['linked']} (real order purged: {cov['real_order_purged']}; "
        f"dropped by a full queue: {cov['dropped_by_full_queue']})"
    )
    for name in ("all", *GROUPS):
        lines.append(f"\nby {name}:")
        header = ([] if name == "all" else [name]) + list(GROUP_COLUMNS)
        lines.append("  " + " | ".join(header))
        for group in report["groups"][name]:
            lines.append("  " + " | ".join(_cell(group.get(col)) for col in header))
    lines.append("\nfit:")
    lines.extend("  " + line for line in _fit_lines(report))
    return "\n".join(lines)


def _html_table(columns: tuple[str, ...] | list[str], rows: list[dict[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: dict[str, Any]) -> str:
    """One self-contained page: coverage, groups, fits, then every order."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ordergate shadow report"
        "</title><style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:"
        "collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}th{background:#f3f3f3}</style></head><body>",
        "<h1>Shadow report: simulated against real fills</h1>",
    ]
    cov = report["coverage"]
    parts.append(
        f"<p>{cov['linked']} orders simulated; real order purged: {cov['real_order_purged']}; "
        f"dropped by a full queue: {cov['dropped_by_full_queue']}.</p>"
    )
    parts.append("<h2>Definitions</h2><ul>")
    parts.extend(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
        for k, v in report["definitions"].items()
    )
    parts.append("</ul><h2>Fitted settings</h2><ul>")
    parts.extend(f"<li>{html.escape(line)}</li>" for line in _fit_lines(report))
    parts.append("</ul>")
    for name in ("all", *GROUPS):
        columns = ([] if name == "all" else [name]) + list(GROUP_COLUMNS)
        parts.append(f"<h2>By {html.escape(name)}</h2>")
        parts.append(_html_table(columns, report["groups"][name]))
    parts.append("<h2>Orders</h2>")
    parts.append(_html_table(ORDER_COLUMNS, report["orders"]))
    parts.append("</body></html>")
    return "".join(parts)
