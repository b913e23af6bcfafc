"""Settings: defaults, then a YAML file, then ``ORDERGATE_*`` environment variables.

Keys keep the seeds' names (``EXEC_BROKER_ADAPTER`` is ``exec_broker_adapter`` here and
``ORDERGATE_EXEC_BROKER_ADAPTER`` in the environment). The YAML file may use seed
003's shape — an ``execution:`` block — or flat keys. Unknown keys are rejected, except
a top-level mapping named after a registered broker adapter (``paper:``, ``ibkr:`` …):
that is the adapter's own settings block, read by the adapter
(:class:`ordergate.brokers.settings.AdapterSettings`), not by :class:`Settings`.
"""

from __future__ import annotations

import logging
import os
from datetime import time
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from ordergate.domain.enums import TradingMode
from ordergate.domain.errors import ConfigError

CONFIG_ENV = "ORDERGATE_CONFIG"
#: The entry point group broker adapters register under (``ordergate.brokers.registry``).
BROKER_GROUP = "ordergate.brokers"

log = logging.getLogger("ordergate.config")

#: Seed 002's mode names, as the modes ordergate knows them.
MODE_ALIASES = {"PRODUCTION": TradingMode.LIVE, "TRAINING": TradingMode.BACKTEST}


class Settings(BaseSettings):
    """Every setting of ordergate, each with its default documented here."""

    model_config = SettingsConfigDict(
        env_prefix="ORDERGATE_", extra="forbid", frozen=True, case_sensitive=False
    )

    #: Where the store lives: a SQLite path/URL (default) or ``postgresql://…``.
    database_url: str = "sqlite:///ordergate.db"
    #: SQLite ``synchronous``: FULL survives power loss, NORMAL only a process crash.
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"
    #: BACKTEST, PAPER or LIVE (seed 002's PRODUCTION and TRAINING are LIVE and BACKTEST).
    mode: TradingMode = TradingMode.PAPER
    #: Seed 003's dry run: every order is gated and recorded, then filled on the paper
    #: venue (the paper fill and fee models) against the live marks; no broker is called
    #: and the real store is not touched — a dry run keeps its own.
    dry_run: bool = False
    #: The dry run's store; default: the SQLite file beside ``database_url`` with
    #: ``.dryrun`` in its name (required on PostgreSQL).
    dry_run_database_url: str | None = None
    account_id: str = "default"
    #: Daily P&L and daily limits roll over at midnight here.
    trading_timezone: str = "UTC"
    #: Prefix of every event topic (seed 000 used ``ordinis.``).
    topic_prefix: str = "ordergate."

    # --- seed 000's EXEC_* keys ---
    exec_broker_adapter: str = "paper"
    exec_timeout_ms: int = Field(2000, gt=0)
    exec_max_retries: int = Field(0, ge=0)
    exec_max_orders_per_min: int = Field(120, gt=0)
    exec_slippage_model: Literal["fixed_bps", "bid_ask"] = "fixed_bps"

    # --- resilience around every broker call (seeds 001, 003, 004) ---
    #: Broker rate limit: callers queue, they never see an error (seed 001: 20/s).
    exec_requests_per_second: int = Field(20, gt=0)
    #: A full submit queue answers E_EXEC_QUEUE_FULL.
    exec_max_queue: int = Field(1000, gt=0)
    #: Consecutive failures that open the circuit, and how long it stays open.
    exec_breaker_failures: int = Field(5, gt=0)
    exec_breaker_reset_s: float = Field(30.0, gt=0)
    #: A breaker that has not closed for this long since it opened trips a RISK_LIMIT
    #: kill switch at its next failed probe (seed 000); 0 turns that off.
    exec_breaker_kill_after_s: float = Field(120.0, ge=0)
    #: First retry delay; doubles per attempt (seed 001: 1 s, 2 s, 4 s).
    exec_retry_base_delay_s: float = Field(1.0, ge=0)
    #: Seed 004's hard timeout: an unfilled order (not GTC/GTD) is canceled after it.
    exec_hard_timeout_s: float = Field(30.0, gt=0)
    #: How often open orders are polled when the broker's stream is down.
    exec_poll_interval_ms: int = Field(100, gt=0)
    #: Several engines on one database: a process owns an open order for this long
    #: after its last heartbeat; then another takes it over (tracking and recovery).
    lease_ttl_s: float = Field(10.0, gt=0)
    #: This process's stable name among the engines on one database. Set, a restarted
    #: process takes its own in-flight orders back at once (not after ``lease_ttl_s``),
    #: and a second live process with the same id refuses to start. Unset: host, pid
    #: and start time, new at every start.
    engine_id: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    #: A mark older than this is stale: where the broker supplies quotes (the
    #: market-data port), a fresh one is asked for before an order is gated.
    mark_max_age_s: float | None = Field(5.0, gt=0)
    #: The simulated exchange process (``ordergate exchange``) for ``exchange``.
    exchange_url: str = "http://127.0.0.1:8700"

    # --- the paper broker (seed 003's execution block) ---
    slippage_bps: Decimal = Field(Decimal(5), ge=0, le=1000)
    use_bid_ask_spread: bool = False
    fee_model: Literal["per_share", "bps", "flat", "maker_taker", "tiered", "none"] = "per_share"
    fee_per_share: Decimal = Field(Decimal("0.005"), ge=0)
    fee_minimum: Decimal = Field(Decimal("1.00"), ge=0)
    fee_bps: Decimal = Field(Decimal(1), ge=0)
    paper_starting_cash: Decimal = Field(Decimal(1_000_000), gt=0)
    #: The paper venue's daily close ("16:00"): DAY orders expire there. None: a 24/7
    #: market, where DAY behaves as GTC.
    paper_session_close: time | None = None
    paper_session_tz: str = "America/New_York"

    # --- pre-trade risk (seed 003's circuit_breakers and ordergate's risk block) ---
    #: Run the gate chain before every order (kill switches, loss breakers, limits).
    risk_enabled: bool = True
    #: ``risk:`` block: breakers, limits, buying_power, duplicate_window_ms, emergency.
    risk: dict[str, Any] = Field(default_factory=dict)
    #: Seed 003's ``circuit_breakers:`` block (loss breakers); merged into ``risk.breakers``.
    circuit_breakers: dict[str, Any] = Field(default_factory=dict)
    #: Account equity at the start of the day, for the drawdown breaker's percentage.
    account_equity: Decimal = Field(Decimal(1_000_000), gt=0)

    #: Bearer token for mutating HTTP routes (never logged).
    api_token: SecretStr | None = None

    # --- the HTTP service (``ordergate serve``) ---
    #: Where the API and dashboard listen. Beyond loopback every route needs the token.
    api_host: str = "127.0.0.1"
    api_port: int = Field(8080, ge=0, le=65535)
    #: Largest request body accepted, in bytes.
    api_max_body_bytes: int = Field(65_536, ge=1024)
    #: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``; lines are JSON on stdout.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- the audit trail (``ordergate audit verify``; README "The audit trail") ---
    #: The audit key (HMAC-SHA256 over the event chain): 64 hex digits, or any text of
    #: 16+ characters. Unset: a random key is generated on first use into a 0600 file
    #: in ``audit_dir``. Every process writing one database needs the same key.
    audit_key: SecretStr | None = None
    #: Where the generated key and the chain's head checkpoint live, one pair of files
    #: per database. Default ``$XDG_STATE_HOME/ordergate/audit`` (else
    #: ``~/.local/state/ordergate/audit``): outside the database's directory.
    audit_dir: str | None = None

    # --- retention (seed 000; ``ordergate purge``) ---
    #: Final orders, their fills and events are kept this many days after their last change.
    retention_orders_days: int = Field(365, ge=1)
    #: Raw broker receipts and relayed outbox messages are kept this many days.
    retention_receipts_days: int = Field(30, ge=1)
    #: ``ordergate serve`` applies retention at start and then every this many hours
    #: (0: never; ``ordergate purge`` by hand or from cron instead).
    retention_interval_h: float = Field(24.0, ge=0)

    #: Seed 003's switch between its old and new engine. ordergate always behaves as
    #: ExecutionEngine v2; ``false`` is accepted so the seed's block loads verbatim, and
    #: logs a notice saying it changes nothing.
    use_execution_engine_v2: bool = True

    # --- shadow mode (``ordergate.shadow``; README "Shadow mode") ---
    #: Simulate every order that really goes out (and every child order) on the paper
    #: venue beside it, against the same marks, sending nothing: the simulated fills
    #: are kept in a store of their own, for ``ordergate shadow report``. LIVE (and
    #: PAPER, to try it); refused with ``dry_run`` and in BACKTEST, already simulated.
    shadow: bool = False
    #: The shadow twin's store; default: the SQLite file beside ``database_url`` with
    #: ``.shadow`` in its name (required on PostgreSQL).
    shadow_database_url: str | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            name = value.strip().upper()
            return MODE_ALIASES.get(name, name)
        return value

    @model_validator(mode="after")
    def _engine_v2_notice(self) -> Settings:
        if not self.use_execution_engine_v2:
            log.warning(
                "use_execution_engine_v2 is false: ordergate has one engine and always "
                "behaves as ExecutionEngine v2; the setting changes nothing"
            )
        return self

    # --- fills, fees and latency of the simulated venue: paper and backtests alike ---
    #: ``fixed_bps``, ``bid_ask``, ``participation``, ``sqrt_impact`` or ``none``; unset:
    #: ``exec_slippage_model`` (``bid_ask`` with ``use_bid_ask_spread``).
    fill_model: Literal["fixed_bps", "bid_ask", "participation", "sqrt_impact", "none"] | None = (
        None
    )
    #: Share of each event's volume an order may take (0.1 = 10 %). Unset: no limit,
    #: except ``participation`` and ``sqrt_impact``, which default to 10 %.
    fill_participation: Decimal | None = Field(None, gt=0, le=1)
    #: Fills are rounded down to this quantity step.
    fill_lot: Decimal = Field(Decimal(1), gt=0)
    #: ``maker_taker`` fees in bps of notional; a negative maker rate is a rebate.
    fee_maker_bps: Decimal = Field(Decimal(1), ge=-100, le=1000)
    fee_taker_bps: Decimal = Field(Decimal(5), ge=0, le=1000)
    #: ``flat`` fee per fill.
    fee_flat: Decimal = Field(Decimal(1), ge=0)
    #: Delay of an order or a cancel to the simulated venue, plus up to ``jitter`` drawn
    #: from a generator seeded with ``latency_seed``.
    latency_ms: int = Field(0, ge=0)
    latency_jitter_ms: int = Field(0, ge=0)
    latency_seed: int = 0

    @field_validator("trading_timezone", "paper_session_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite file of ``database_url``, or None when it names another database."""
        url = self.database_url
        if url.startswith("sqlite:///"):
            return url[len("sqlite:///") :] or ":memory:"
        if url.startswith(("postgresql://", "postgres://", "postgresql+")):
            return None
        return url  # a bare path

    def risk_mapping(self) -> dict[str, Any]:
        """The ``risk`` block with seed 003's ``circuit_breakers`` folded into it."""
        data = dict(self.risk)
        if self.circuit_breakers:
            renames = {"max_daily_loss_rupees": "max_daily_loss"}
            breakers = {renames.get(k, k): v for k, v in self.circuit_breakers.items()}
            data["breakers"] = {**breakers, **dict(data.get("breakers") or {})}
        return data

    def secret_values(self) -> list[str]:
        """Every secret value in the settings (the API token, broker credentials …)."""
        return [
            value.get_secret_value()
            for value in (getattr(self, name) for name in type(self).model_fields)
            if isinstance(value, SecretStr) and value.get_secret_value()
        ]

    def shown(self) -> dict[str, Any]:
        """Effective values, secrets masked: what ``ordergate config show`` prints."""
        out: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                out[name] = "***" if value.get_secret_value() else None
            elif isinstance(value, Decimal | TradingMode | time):
                out[name] = str(value)
            else:
                out[name] = value
        return out


class _YamlSource(PydanticBaseSettingsSource):
    """The file named by ``ORDERGATE_CONFIG`` (or ``./ordergate.yaml`` when present)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path = settings_file()
        return {} if path is None else load_yaml(path)


def settings_file() -> Path | None:
    """The settings file: ``ORDERGATE_CONFIG``, else ``./ordergate.yaml`` when present."""
    path = os.environ.get(CONFIG_ENV) or (
        "ordergate.yaml" if Path("ordergate.yaml").exists() else None
    )
    return Path(path) if path else None


def read_settings_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping, as written."""
    import yaml  # only where there is a file: most starts have none

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"settings file {path} must hold a mapping")
    return data


def adapter_block(name: str) -> dict[str, Any]:
    """Broker adapter ``name``'s block of the settings file (``{}`` when it has none)."""
    path = settings_file()
    if path is None:
        return {}
    block = read_settings_file(path).get(name)
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise ConfigError(f"settings file {path}: {name!r} must hold a mapping of settings")
    return {str(k).lower(): v for k, v in block.items()}


def adapter_names() -> frozenset[str]:
    """The names broker adapters are registered under (from the installed metadata)."""
    return frozenset(ep.name.lower() for ep in entry_points(group=BROKER_GROUP))


def load_yaml(path: Path) -> dict[str, Any]:
    data = read_settings_file(path)
    adapters = adapter_names()
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if str(key).lower() in adapters and isinstance(value, dict):
            continue  # an adapter's own block: the adapter reads it
        if key == "execution" and isinstance(value, dict):
            flat.update({str(k).lower(): v for k, v in value.items()})
        else:
            flat[str(key).lower()] = value
    return flat


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning a bad value into :class:`ConfigError`."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"bad settings: {problems}") from None
