"""Transaction cost analysis: what execution cost, per order and in aggregate.

For each order that reached the broker, against its *decision price* (``arrival_price``:
the engine's mark when the order was created, what the strategy saw):

- ``slippage_bps``: ``(avg_fill − decision) / decision × 10⁴``, signed so that positive
  is worse for us (paid more on a buy, got less on a sell);
- ``slippage``: the same in money, ``(avg_fill − decision) × filled × side``;
- and, where the venue says what it was (a backtest does), against the *first price*
  the order met once it reached the venue (the next open, the next quote's mid, the
  path's price at its arrival): ``slippage_vs_first`` (and ``_bps``) is the cost of
  trading itself, and ``delay`` (and ``_bps``), ``(first − decision) × filled × side``,
  the move between the decision and the arrival that no execution could have saved.
  The two add up to ``slippage``;
- ``fees``: the commissions of its fills;
- ``opportunity``: what the unfilled rest cost, ``(end − arrival) × unfilled × side``,
  with ``end`` the last price of the run;
- ``shortfall``: implementation shortfall (Perold 1988) = slippage + fees +
  opportunity, in money and in bps of the order's value at arrival.

Aggregates (per strategy, per symbol, overall) add money up and divide by the matching
notional, so their bps are value-weighted. Money is Decimal; the histogram of
slippage for the report is the only float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from ordergate.domain.enums import OrderStatus
from ordergate.domain.money import BPS, ZERO, fmt
from ordergate.domain.order import Order

CENT_BPS = Decimal("0.01")
MONEY = Decimal("0.000001")
NOT_SENT = frozenset({OrderStatus.PENDING, OrderStatus.REJECTED, OrderStatus.FAILED})


@dataclass(frozen=True, slots=True)
class OrderCost:
    order_id: str
    strategy_id: str
    symbol: str
    side: str
    qty: Decimal
    filled_qty: Decimal
    arrival_price: Decimal
    avg_price: Decimal | None
    slippage: Decimal
    fees: Decimal
    opportunity: Decimal
    first_price: Decimal | None = None

    @property
    def delay(self) -> Decimal | None:
        if self.first_price is None:
            return None
        return (self.first_price - self.arrival_price) * self.filled_qty * _sign(self.side)

    @property
    def slippage_vs_first(self) -> Decimal | None:
        delay = self.delay
        return None if delay is None else self.slippage - delay

    @property
    def slippage_vs_first_bps(self) -> Decimal | None:
        cost = self.slippage_vs_first
        if cost is None or self.first_price is None or not self.filled_qty:
            return None
        return _bps(cost, self.first_price * self.filled_qty)

    @property
    def shortfall(self) -> Decimal:
        return self.slippage + self.fees + self.opportunity

    @property
    def slippage_bps(self) -> Decimal | None:
        if not self.filled_qty:
            return None
        return _bps(self.slippage, self.arrival_price * self.filled_qty)

    def bps(self) -> tuple[Decimal | None, Decimal | None]:
        """(:attr:`slippage_bps`, :attr:`slippage_vs_first_bps`), the delay worked out
        once: what a run asks of every order."""
        filled = self.filled_qty
        if not filled:
            return None, None
        arrival, first, slippage = self.arrival_price, self.first_price, self.slippage
        versus_arrival = _bps(slippage, arrival * filled)
        if first is None:
            return versus_arrival, None
        delay = (first - arrival) * filled * (1 if self.side == "BUY" else -1)
        return versus_arrival, _bps(slippage - delay, first * filled)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "strategy_id": self.strategy_id,
            "symbol": self.symbol,
            "side": self.side,
            "qty": fmt(self.qty),
            "filled_qty": fmt(self.filled_qty),
            "arrival_price": fmt(self.arrival_price),
            "avg_price": fmt(self.avg_price),
            "slippage_bps": fmt(self.slippage_bps),
            "slippage": fmt(_money(self.slippage)),
            "first_price": fmt(self.first_price),
            "slippage_vs_first": _opt_money(self.slippage_vs_first),
            "slippage_vs_first_bps": fmt(self.slippage_vs_first_bps),
            "delay": _opt_money(self.delay),
            "delay_bps": fmt(
                None
                if self.delay is None or not self.filled_qty
                else _bps(self.delay, self.arrival_price * self.filled_qty)
            ),
            "fees": fmt(_money(self.fees)),
            "opportunity": fmt(_money(self.opportunity)),
            "shortfall": fmt(_money(self.shortfall)),
            "shortfall_bps": fmt(_bps(self.shortfall, self.arrival_price * self.qty)),
        }


def _money(value: Decimal) -> Decimal:
    return value.quantize(MONEY)


def _opt_money(value: Decimal | None) -> str | None:
    return None if value is None else fmt(_money(value))


def _sign(side: str) -> int:
    return 1 if side == "BUY" else -1


def _bps(amount: Decimal, notional: Decimal) -> Decimal | None:
    if not notional:
        return None
    return (amount / notional * BPS).quantize(CENT_BPS)


def order_costs(
    orders: Iterable[Order],
    end_prices: Mapping[str, Decimal],
    first_prices: Mapping[str, Decimal] | None = None,
) -> list[OrderCost]:
    """The cost of every order that was sent and has an arrival price, by order id;
    ``first_prices`` by client order id (what the venue saw first, when known)."""
    firsts = first_prices or {}
    costs = []
    for order in sorted(orders, key=lambda o: o.order_id):
        cost = order_cost(order, end_prices, firsts.get(order.client_order_id))
        if cost is not None:
            costs.append(cost)
    return costs


def order_cost(
    order: Order, end_prices: Mapping[str, Decimal], first_price: Decimal | None
) -> OrderCost | None:
    """One order's cost; ``None`` for an order never sent or without an arrival price."""
    if order.status in NOT_SENT or not order.arrival_price:
        return None
    sign = order.side.sign
    arrival = order.arrival_price
    slippage = ZERO
    if order.filled_qty and order.avg_fill_price is not None:
        slippage = (order.avg_fill_price - arrival) * order.filled_qty * sign
    end = end_prices.get(order.symbol, arrival)
    unfilled = order.qty - order.filled_qty
    return OrderCost(
        order_id=order.order_id,
        strategy_id=order.strategy_id,
        symbol=order.symbol,
        side=order.side.value,
        qty=order.qty,
        filled_qty=order.filled_qty,
        arrival_price=arrival,
        avg_price=order.avg_fill_price,
        slippage=slippage,
        fees=order.fees,
        opportunity=(end - arrival) * unfilled * sign,
        first_price=first_price,
    )


@dataclass(slots=True)
class CostSums:
    """The running totals of a group of orders (:meth:`add` one cost at a time)."""

    orders: int = 0
    known: int = 0
    filled: Decimal = ZERO
    slippage: Decimal = ZERO
    fees: Decimal = ZERO
    shortfall: Decimal = ZERO
    filled_value: Decimal = ZERO
    order_value: Decimal = ZERO
    delay: Decimal = ZERO
    versus_first: Decimal = ZERO
    first_value: Decimal = ZERO
    known_value: Decimal = ZERO

    def add(self, cost: OrderCost) -> None:
        # OrderCost's delay and shortfall, written out: this runs once an order
        filled, arrival, first = cost.filled_qty, cost.arrival_price, cost.first_price
        slippage, fees = cost.slippage, cost.fees
        filled_value = arrival * filled
        if first is not None:
            delay = (first - arrival) * filled * (1 if cost.side == "BUY" else -1)
            self.known += 1
            self.delay += delay
            self.versus_first += slippage - delay
            self.first_value += first * filled
            self.known_value += filled_value
        self.orders += 1
        self.filled += filled
        self.slippage += slippage
        self.fees += fees
        self.shortfall += slippage + fees + cost.opportunity
        self.filled_value += filled_value
        self.order_value += arrival * cost.qty

    def view(self) -> dict[str, Any]:
        """Totals of the group, bps weighted by value at arrival."""
        return {
            "orders": self.orders,
            "filled_qty": fmt(self.filled),
            "filled_value": fmt(_money(self.filled_value)),
            "slippage": fmt(_money(self.slippage)),
            "slippage_bps": fmt(_bps(self.slippage, self.filled_value)),
            "fees": fmt(_money(self.fees)),
            "fees_bps": fmt(_bps(self.fees, self.filled_value)),
            "shortfall": fmt(_money(self.shortfall)),
            "shortfall_bps": fmt(_bps(self.shortfall, self.order_value)),
            **(
                {
                    "slippage_vs_first": fmt(_money(self.versus_first)),
                    "slippage_vs_first_bps": fmt(_bps(self.versus_first, self.first_value)),
                    "delay": fmt(_money(self.delay)),
                    "delay_bps": fmt(_bps(self.delay, self.known_value)),
                }
                if self.known
                else {}
            ),
        }


def aggregate(costs: Iterable[OrderCost]) -> dict[str, Any]:
    """Totals of a group of orders, bps weighted by value at arrival."""
    sums = CostSums()
    for cost in costs:
        sums.add(cost)
    return sums.view()


class TcaTotals:
    """:func:`tca_of_costs` one cost at a time: overall, per strategy, per symbol, and
    (``per_order``) each order's row, without keeping the costs."""

    def __init__(self, *, per_order: bool = True) -> None:
        self.overall = CostSums()
        self.by_strategy: dict[str, CostSums] = {}
        self.by_symbol: dict[str, CostSums] = {}
        self.rows: list[dict[str, Any]] | None = [] if per_order else None
        #: while every cost so far had this strategy and symbol (a run's usual case),
        #: its groups are ``overall`` itself, copied out when another one comes
        self._only: tuple[str, str] | None = None
        self._grouped = False

    def add(self, cost: OrderCost) -> None:
        if not self._grouped:
            only = self._only
            if only is None:
                self._only = (cost.strategy_id, cost.symbol)
            elif cost.strategy_id != only[0] or cost.symbol != only[1]:
                self._group()
        if self._grouped:
            self._add_grouped(cost)
        else:
            self.overall.add(cost)
        if self.rows is not None:
            self.rows.append(cost.to_dict())

    def _group(self) -> None:
        """The groups of the costs so far, each the same sums as ``overall``."""
        if self._only is not None:
            strategy, symbol = self._only
            self.by_strategy[strategy] = replace(self.overall)
            self.by_symbol[symbol] = replace(self.overall)
        self._grouped = True

    def _add_grouped(self, cost: OrderCost) -> None:
        self.overall.add(cost)
        group = self.by_strategy.get(cost.strategy_id)
        if group is None:
            group = self.by_strategy[cost.strategy_id] = CostSums()
        group.add(cost)
        group = self.by_symbol.get(cost.symbol)
        if group is None:
            group = self.by_symbol[cost.symbol] = CostSums()
        group.add(cost)

    def report(self) -> dict[str, Any]:
        if not self._grouped:
            self._group()
        report: dict[str, Any] = {
            "overall": self.overall.view(),
            "by_strategy": {k: v.view() for k, v in sorted(self.by_strategy.items())},
            "by_symbol": {k: v.view() for k, v in sorted(self.by_symbol.items())},
        }
        if self.rows is not None:
            report["orders"] = self.rows
        return report


def tca_report(
    orders: Iterable[Order],
    end_prices: Mapping[str, Decimal],
    *,
    per_order: bool = True,
    first_prices: Mapping[str, Decimal] | None = None,
) -> dict[str, Any]:
    """Per order (optional), per strategy, per symbol and overall."""
    return tca_of_costs(order_costs(orders, end_prices, first_prices), per_order=per_order)


def tca_of_costs(costs: list[OrderCost], *, per_order: bool = True) -> dict[str, Any]:
    """:func:`tca_report` from costs already worked out (:func:`order_costs`)."""
    totals = TcaTotals(per_order=per_order)
    for cost in costs:
        totals.add(cost)
    return totals.report()


def slippage_values(costs: Iterable[OrderCost]) -> list[Decimal]:
    return [c.slippage_bps for c in costs if c.slippage_bps is not None]


def first_slippage_values(costs: Iterable[OrderCost]) -> list[Decimal]:
    """Per-order slippage against the first price at arrival, in bps."""
    return [v for c in costs if (v := c.slippage_vs_first_bps) is not None]


def slippage_histogram(
    bps: Iterable[Decimal | float], bins: int = 20
) -> list[tuple[float, float, int]]:
    """(low, high, count) bins of per-order slippage in bps: for a picture, so floats."""
    values = [float(v) for v in bps]
    if not values:
        return []
    low, high = min(values), max(values)
    if low == high:
        return [(low - 0.5, high + 0.5, len(values))]
    width = (high - low) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    return [(low + i * width, low + (i + 1) * width, counts[i]) for i in range(bins)]
