"""Backtests through the live engine path, and transaction cost analysis.

- :mod:`~ordergate.backtest.data` — CSV/Parquet market data (pyarrow, imported lazily);
- :mod:`~ordergate.backtest.strategy` — the strategy callback, intents and targets;
- :mod:`~ordergate.backtest.runner` — :class:`BacktestRunner` and :class:`BacktestConfig`;
- :mod:`~ordergate.backtest.tca` — slippage, fees and implementation shortfall;
- :mod:`~ordergate.backtest.performance` — returns, Sharpe, drawdown, exposure, turnover;
- :mod:`~ordergate.backtest.roundtrips` — round trips, win rate, profit factor;
- :mod:`~ordergate.backtest.export` — tables to CSV or Parquet;
- :mod:`~ordergate.backtest.report` — the HTML report (plotly, offline);
- :mod:`~ordergate.backtest.cli` — ``register(app)`` adds ``backtest`` and ``tca``.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ordergate.backtest.result import BacktestResult
    from ordergate.backtest.runner import BacktestConfig, BacktestRunner
    from ordergate.backtest.strategy import StrategyContext, Targets, load_strategy
    from ordergate.backtest.tca import tca_report

#: Imported on first use, so that ``ordergate --help`` does not load the runner.
_EXPORTS = {
    "BacktestResult": "ordergate.backtest.result",
    "BacktestConfig": "ordergate.backtest.runner",
    "BacktestRunner": "ordergate.backtest.runner",
    "StrategyContext": "ordergate.backtest.strategy",
    "Targets": "ordergate.backtest.strategy",
    "load_strategy": "ordergate.backtest.strategy",
    "tca_report": "ordergate.backtest.tca",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ordergate.backtest' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "BacktestRunner",
    "StrategyContext",
    "Targets",
    "load_strategy",
    "tca_report",
]
