"""A one-file HTML report: the equity curve and the slippage distribution, as inline SVG.

No plotting library and nothing fetched: the file opens anywhere, offline. Floats are
used here and only here, for pixel coordinates.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ordergate.backtest.tca import slippage_histogram

W, H, PAD = 760, 260, 40


def _polyline(values: Sequence[float]) -> str:
    if not values:
        return ""
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = (W - 2 * PAD) / max(1, len(values) - 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{H - PAD - (v - low) / span * (H - 2 * PAD):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<polyline fill="none" stroke="#1f6feb" stroke-width="1.5" points="{points}"/>'
        f'<text x="{PAD}" y="{PAD - 10}" class="axis">max {high:,.2f}</text>'
        f'<text x="{PAD}" y="{H - 10}" class="axis">min {low:,.2f}</text>'
    )


def equity_svg(curve: Sequence[dict[str, Any]]) -> str:
    values = [float(Decimal(point["equity"])) for point in curve]
    first = html.escape(curve[0]["ts"]) if curve else ""
    last = html.escape(curve[-1]["ts"]) if curve else ""
    return (
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="equity curve">'
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#ddd"/>'
        f"{_polyline(values)}"
        f'<text x="{PAD + 150}" y="{H - 10}" class="axis">{first}</text>'
        f'<text x="{W - PAD}" y="{H - 10}" class="axis" text-anchor="end">{last}</text></svg>'
    )


def histogram_svg(slippage_bps: Sequence[Decimal], bins: int = 20) -> str:
    hist = slippage_histogram(slippage_bps, bins)
    if not hist:
        return "<p>No filled orders.</p>"
    top = max(count for _, _, count in hist) or 1
    width = (W - 2 * PAD) / len(hist)
    bars = []
    for i, (low, high, count) in enumerate(hist):
        height = count / top * (H - 2 * PAD)
        x, y = PAD + i * width, H - PAD - height
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width - 2, 1):.1f}" '
            f'height="{height:.1f}" fill="#d29922"><title>{low:.2f} to {high:.2f} bps: '
            f"{count}</title></rect>"
        )
    low, high = hist[0][0], hist[-1][1]
    return (
        f'<svg viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" '
        f'aria-label="slippage histogram">'
        f'<rect x="0" y="0" width="{W}" height="{H}" fill="#fff" stroke="#ddd"/>'
        + "".join(bars)
        + f'<text x="{PAD}" y="{H - 10}" class="axis">{low:.2f} bps</text>'
        f'<text x="{W - PAD}" y="{H - 10}" class="axis" text-anchor="end">{high:.2f} bps</text>'
        f'<text x="{PAD}" y="{PAD - 10}" class="axis">orders per bin (max {top})</text></svg>'
    )


def _table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    if not rows:
        return ""
    columns = list(next(iter(rows.values())))
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        f"<tr><th>{html.escape(name)}</th>"
        + "".join(f"<td>{html.escape(str(row.get(c)))}</td>" for c in columns)
        + "</tr>"
        for name, row in rows.items()
    )
    return f"<h2>{html.escape(title)}</h2><table><tr><th></th>{head}</tr>{body}</table>"


def render_html(
    title: str,
    summary: dict[str, Any],
    curve: Sequence[dict[str, Any]],
    tca: dict[str, Any],
    slippage_bps: Sequence[Decimal],
) -> str:
    """The whole report as one HTML document."""
    facts = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in summary.items()
        if not isinstance(v, dict)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;"
        "padding:4px 8px;text-align:right}.axis{font:11px sans-serif;fill:#555}"
        "</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<h2>Equity</h2>{equity_svg(curve)}"
        f"<h2>Slippage vs arrival price (bps, per order)</h2>{histogram_svg(slippage_bps)}"
        f"<h2>Summary</h2><table>{facts}</table>"
        + _table("Costs overall", {"all": tca.get("overall", {})})
        + _table("Costs by strategy", tca.get("by_strategy", {}))
        + _table("Costs by symbol", tca.get("by_symbol", {}))
        + "</body></html>"
    )
