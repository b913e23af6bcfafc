"""The broker registry: adapters found through the ``ordergate.brokers`` entry points.

An adapter is one package plus one line in its ``pyproject.toml``::

    [project.entry-points."ordergate.brokers"]
    ibkr = "ordergate_ibkr.plugin:PLUGIN"

naming a :class:`BrokerPlugin`: the adapter's settings block and a factory. Nothing in
``bootstrap.py`` or ``config.py`` names an adapter; ``exec_broker_adapter`` picks one
by its entry point name. See ``docs/adapters.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from ordergate.brokers.base import BrokerAdapter
from ordergate.brokers.live import check_live_account, check_mode
from ordergate.brokers.settings import AdapterSettings
from ordergate.clock import Clock
from ordergate.config import BROKER_GROUP, Settings
from ordergate.domain.errors import ConfigError

__all__ = [
    "BROKER_GROUP",
    "BrokerPlugin",
    "adapter_secret_values",
    "available",
    "build_broker_from_registry",
    "check_live_account",
    "load",
]

S = TypeVar("S", bound=AdapterSettings)


@dataclass(frozen=True, slots=True, kw_only=True)
class BrokerPlugin(Generic[S]):
    """What an ``ordergate.brokers`` entry point names.

    Called as ``plugin(settings, clock)`` it is the factory of the adapter: it reads
    the adapter's own block (:attr:`settings`, from ``ORDERGATE_<NAME>_*`` and the
    settings file) and hands it to :attr:`make` with the main settings (the shared
    keys: timeouts, the database, the mode) and the clock.

    ``simulated`` says the adapter is a simulator, with no real account behind it: it
    may run outside LIVE. Any other adapter is refused outside LIVE before its factory
    is called (a factory may connect, log on, even trade).
    """

    settings: type[S]
    make: Callable[[S, Settings, Clock], BrokerAdapter]
    description: str = ""
    simulated: bool = False

    def block(self, **overrides: Any) -> S:
        return self.settings.load(**overrides)

    def __call__(self, settings: Settings, clock: Clock) -> BrokerAdapter:
        return self.make(self.block(), settings, clock)


def _entry_points() -> list[EntryPoint]:
    return list(entry_points(group=BROKER_GROUP))


def available() -> list[str]:
    """The registered adapter names, sorted."""
    return sorted({ep.name.lower() for ep in _entry_points()})


def _unknown(name: str) -> ConfigError:
    names = ", ".join(available()) or "none (is ordergate installed? pip install -e .)"
    return ConfigError(f"unknown broker adapter {name!r}; available: {names}")


def load(name: str) -> BrokerPlugin[Any]:
    """The plugin registered as ``name`` (case-insensitive); :class:`ConfigError`
    when no package registers it, two do, or it cannot be imported."""
    found = [ep for ep in _entry_points() if ep.name.lower() == name.lower()]
    if not found:
        raise _unknown(name)
    if len({ep.value for ep in found}) > 1:
        where = ", ".join(sorted(ep.value for ep in found))
        raise ConfigError(f"broker adapter {name!r} is registered twice ({where}); uninstall one")
    entry = found[0]
    try:
        plugin = entry.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"broker adapter {name!r} ({entry.value}) cannot be loaded: {exc}; "
            "is its package (and its SDK) installed?"
        ) from exc
    if not isinstance(plugin, BrokerPlugin):
        raise ConfigError(
            f"broker adapter {name!r}: {entry.value} is a {type(plugin).__name__}, "
            "not an ordergate.brokers.registry.BrokerPlugin"
        )
    return plugin


def build_broker_from_registry(settings: Settings, clock: Clock) -> BrokerAdapter:
    """The adapter ``settings.exec_broker_adapter`` names, built and, where it trades
    a real account, checked against ``mode`` and ``account_id``
    (:func:`~ordergate.brokers.live.check_live_account`). The mode is checked first,
    from the plugin alone: outside LIVE the factory of a real broker never runs."""
    plugin = load(settings.exec_broker_adapter)
    check_mode(settings, settings.exec_broker_adapter, plugin.simulated)
    adapter = plugin(settings, clock)
    check_live_account(settings, adapter)
    return adapter


def adapter_secret_values(settings: Settings) -> list[str]:
    """The configured adapter's credentials, for the log redactor (beside
    :meth:`Settings.secret_values`)."""
    block: AdapterSettings = load(settings.exec_broker_adapter).block()
    return block.secret_values()
