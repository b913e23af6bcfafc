"""A one-file HTML report, drawn with plotly, that works offline.

plotly.js is inlined once (nothing is fetched), each chart is a plotly figure with a
fixed element id (so the same result gives the same page), and a section is written
only when it has something to show: no empty box and no heading without content.
The charts: equity and drawdown, the distribution of period returns, per-order
slippage against the decision price and against the first price at arrival, and the
fills on the price. The tables: the summary, rejections by code, warnings, the costs
that applied, TCA and the round trips. Floats are used here and only here, for pixels.

plotly comes with the ``backtest`` extra and is imported only when a report is drawn.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ordergate.backtest.tca import slippage_histogram
from ordergate.domain.errors import ConfigError

MAX_TRIP_ROWS = 500
MAX_FILL_MARKERS = 5_000
_CONFIG = {"displaylogo": False, "responsive": True}


@dataclass(slots=True)
class ReportData:
    """What a report may show; every part is optional."""

    summary: Mapping[str, Any] = field(default_factory=dict)
    curve: Sequence[Mapping[str, Any]] = ()
    tca: Mapping[str, Any] = field(default_factory=dict)
    slippage_bps: Sequence[Decimal | float] = ()
    first_slippage_bps: Sequence[Decimal | float] = ()
    returns: Sequence[float] = ()
    prices: Mapping[str, Sequence[tuple[str, Decimal]]] = field(default_factory=dict)
    fills: Sequence[Mapping[str, Any]] = ()
    round_trips: Sequence[Mapping[str, Any]] = ()


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:
        raise ConfigError(
            "the HTML report needs plotly: pip install 'ordergate[backtest]'"
        ) from exc
    return go


def _figure_html(fig: Any, div_id: str, height: int = 360) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
        template="plotly_white",
        showlegend=True,
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=_CONFIG))


def equity_chart(curve: Sequence[Mapping[str, Any]]) -> str:
    """Equity on top, drawdown from the running peak (in %) under it."""
    from plotly.subplots import make_subplots  # type: ignore[import-untyped, unused-ignore]

    go = _plotly()
    times = [p["ts"] for p in curve]
    equity = [float(Decimal(p["equity"])) for p in curve]
    peak, drawdown = float("-inf"), []
    for value in equity:
        peak = max(peak, value)
        drawdown.append((value / peak - 1.0) * 100 if peak > 0 else 0.0)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3])
    fig.add_trace(go.Scatter(x=times, y=equity, name="equity", mode="lines"), row=1, col=1)
    fig.add_trace(
        go.Scatter(x=times, y=drawdown, name="drawdown %", mode="lines", fill="tozeroy"),
        row=2,
        col=1,
    )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown %", row=2, col=1)
    return _figure_html(fig, "equity", 460)


def histogram_chart(series: Mapping[str, Sequence[Any]], div_id: str, unit: str) -> str:
    """Pre-binned histograms (the page carries the bins, not every value)."""
    go = _plotly()
    fig = go.Figure()
    for name, values in series.items():
        bins = slippage_histogram(values, 40)
        fig.add_trace(
            go.Bar(
                x=[(low + high) / 2 for low, high, _ in bins],
                y=[count for _, _, count in bins],
                width=[max(high - low, 1e-12) for low, high, _ in bins],
                name=name,
                opacity=0.7,
            )
        )
    fig.update_layout(barmode="overlay", xaxis_title=unit, yaxis_title="count")
    return _figure_html(fig, div_id)


def fills_chart(
    symbol: str, prices: Sequence[tuple[str, Decimal]], fills: Sequence[Mapping[str, Any]]
) -> str:
    go = _plotly()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[t for t, _ in prices], y=[float(p) for _, p in prices], name=symbol, mode="lines"
        )
    )
    for side, symbol_marker, color in (
        ("BUY", "triangle-up", "#1a7f37"),
        ("SELL", "triangle-down", "#cf222e"),
    ):
        chosen = [f for f in fills if f["side"] == side]
        step = max(1, len(chosen) // MAX_FILL_MARKERS)
        chosen = chosen[::step]
        if chosen:
            fig.add_trace(
                go.Scatter(
                    x=[f["ts"] for f in chosen],
                    y=[float(Decimal(f["last_px"])) for f in chosen],
                    name=side.lower(),
                    mode="markers",
                    marker={"symbol": symbol_marker, "color": color, "size": 9},
                )
            )
    fig.update_layout(yaxis_title="price")
    return _figure_html(fig, f"fills-{symbol}")


def _cell(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _facts(facts: Mapping[str, Any]) -> str:
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{_cell(v)}</td></tr>" for k, v in facts.items()
    )
    return f"<table>{body}</table>"


def _section(title: str, content: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{content}</section>" if content else ""


def _named(rows: Mapping[str, Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    return [{key: name, **row} for name, row in rows.items()]


def _columns(rows: Iterable[Mapping[str, Any]], first: str) -> list[str]:
    seen: dict[str, None] = {first: None}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def render_html(title: str, data: ReportData) -> str:
    """The whole report as one HTML document."""
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped, unused-ignore]

    summary = data.summary
    parts: list[str] = []
    warnings = summary.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
        parts.append(_section("Warnings", f"<ul class='warn'>{items}</ul>"))
    facts = {k: v for k, v in summary.items() if not isinstance(v, dict | list)}
    if isinstance(summary.get("annualisation"), dict):
        facts.update({f"annualisation.{k}": v for k, v in summary["annualisation"].items()})
    if facts:
        parts.append(_section("Summary", _facts(facts)))
    if len(data.curve) >= 2:
        parts.append(_section("Equity and drawdown", equity_chart(data.curve)))
    if len(data.returns) >= 2:
        parts.append(
            _section(
                "Returns per period",
                histogram_chart({"returns %": [r * 100 for r in data.returns]}, "returns", "%"),
            )
        )
    rejections = summary.get("rejections") or {}
    if rejections:
        rows = _named(rejections, "code")
        parts.append(
            _section(
                "Rejections by code", _table(rows, ["code", "count", "first_message", "first_at"])
            )
        )
    slips = {
        name: values
        for name, values in (
            ("vs decision price", data.slippage_bps),
            ("vs first price at arrival", data.first_slippage_bps),
        )
        if values
    }
    if slips:
        parts.append(
            _section("Slippage per order (bps)", histogram_chart(slips, "slippage", "bps"))
        )
    fills_by_symbol: dict[str, list[Mapping[str, Any]]] = {}
    for fill in data.fills:
        fills_by_symbol.setdefault(fill["symbol"], []).append(fill)
    for symbol, series in data.prices.items():
        if len(series) >= 2 and fills_by_symbol.get(symbol):
            chart = fills_chart(symbol, series, fills_by_symbol[symbol])
            parts.append(_section(f"Fills on the price: {symbol}", chart))
    overall = data.tca.get("overall") or {}
    if overall.get("orders"):
        parts.append(_section("Costs overall", _facts(overall)))
        for key, label in (("by_symbol", "symbol"), ("by_strategy", "strategy")):
            groups = data.tca.get(key) or {}
            if len(groups) > 1:
                rows = _named(groups, label)
                parts.append(_section(f"Costs by {label}", _table(rows, _columns(rows, label))))
    trips = data.round_trips
    if trips:
        shown = trips[:MAX_TRIP_ROWS]
        note = (
            f"<p>The first {MAX_TRIP_ROWS:,} of {len(trips):,}.</p>"
            if len(trips) > MAX_TRIP_ROWS
            else ""
        )
        parts.append(_section("Round trips", note + _table(shown, _columns(shown, "symbol"))))
    config = summary.get("config") or {}
    if config:
        parts.append(_section("Costs that applied", _facts(config)))
    if not parts:
        parts.append("<p>Nothing to report: no orders and no market data.</p>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>"
        "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;"
        "padding:4px 8px;text-align:right}.warn{color:#9a3412;font-weight:600}"
        "</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script>"
        "</head><body>"
        f"<h1>{html.escape(title)}</h1>" + "".join(parts) + "</body></html>"
    )
