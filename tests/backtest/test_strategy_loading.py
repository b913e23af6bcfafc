"""``--strategy module:object`` accepts a class, a factory or a ready callable."""

from __future__ import annotations

import pytest

from ordergate.backtest.strategy import load_strategy
from ordergate.domain.errors import ConfigError


@pytest.mark.parametrize(
    "spec",
    [
        "ordergate.backtest.examples:alternate",  # a factory taking no arguments
        "ordergate.backtest.examples:SmaCross",  # a class
        "ordergate.backtest.examples:buy_and_hold",
    ],
)
def test_each_form_loads_to_a_strategy(spec: str) -> None:
    name, strategy = load_strategy(spec)
    assert name == spec.rpartition(":")[2]
    assert callable(strategy)


@pytest.mark.parametrize("spec", ["nope", "ordergate.backtest.examples:missing", "no_such_mod:x"])
def test_bad_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        load_strategy(spec)
