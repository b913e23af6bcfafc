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

from ordergate.backtest.result import BacktestResult
from ordergate.backtest.runner import BacktestConfig, BacktestRunner
from ordergate.backtest.strategy import StrategyContext, Targets, load_strategy
from ordergate.backtest.tca import tca_report

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "BacktestRunner",
    "StrategyContext",
    "Targets",
    "load_strategy",
    "tca_report",
]
