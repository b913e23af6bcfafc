"""The error table's ``keeps_key`` column (issue 21), and the README shows the table."""

from __future__ import annotations

from pathlib import Path

from ordergate.domain.errors import ErrorCode

README = Path(__file__).resolve().parents[1] / "README.md"

#: DESIGN.md, submit path step 2: these leave the key free for the same request again.
FREES_THE_KEY = {
    ErrorCode.E_INTENT_INVALID,  # validation
    ErrorCode.E_INTENT_EXPIRED,  # validation (expiry is step 1)
    ErrorCode.E_RISK_TICK_SIZE,  # validation (tick and lot size are step 1)
    ErrorCode.E_RISK_LOT_SIZE,
    ErrorCode.E_EXEC_NO_MARKET_DATA,  # curable before anything was sent
    ErrorCode.E_EXEC_QUEUE_FULL,
    ErrorCode.E_EXEC_CIRCUIT_OPEN,
    ErrorCode.E_EXEC_PERSISTENCE,  # nothing was recorded
}


def test_which_rejections_keep_their_key() -> None:
    for code in FREES_THE_KEY:
        assert code.keeps_key is False, code
    for kept in (
        ErrorCode.E_EXEC_IDEMPOTENCY_CONFLICT,
        ErrorCode.E_EXEC_BROKER_REJECTED,
        ErrorCode.E_EXEC_BROKER_TIMEOUT,
        ErrorCode.E_RISK_KILL_SWITCH,
        ErrorCode.E_RISK_DAILY_LOSS,
        ErrorCode.E_RISK_DUPLICATE_ORDER,
        ErrorCode.E_API_INTERNAL,  # resend with the same key to learn the outcome
    ):
        assert kept.keeps_key is True, kept


def test_the_readme_error_table_shows_every_code_with_both_flags() -> None:
    text = README.read_text()
    assert "| code | meaning | retryable | keeps the key |" in text
    for code in ErrorCode:
        row = (
            f"| `{code.name}` | {code.meaning} | {'yes' if code.retryable else 'no'} "
            f"| {'yes' if code.keeps_key else 'no'} |"
        )
        assert row in text, row


def test_the_readme_lists_every_gate_on_by_default_with_its_default() -> None:
    """The defaults the README states are the code's (issue 21: the duplicate guard was
    not mentioned at all)."""
    from ordergate.config import Settings
    from ordergate.risk.account import DuplicateGuardConfig
    from ordergate.risk.breakers import BreakerConfig

    text = README.read_text()
    section = text[text.index("**What is on by default") : text.index("Off by default")]
    breakers = BreakerConfig()
    settings = Settings()
    expected = {
        "duplicate-order guard": f"within {DuplicateGuardConfig().window.seconds} s",
        "daily loss breaker": f"{breakers.max_daily_loss:,} realized net loss a day",
        "drawdown breaker": f"{float(breakers.max_daily_drawdown_pct or 0) * 100:g} %",
        "loss streak": f"{breakers.max_loss_streak} losing closes",
        "trades per day": f"{breakers.max_trades_per_day} a day, "
        f"{breakers.max_trades_per_strategy_per_day} per strategy",
        "throttle": f"{settings.exec_max_orders_per_min} orders in any 60 s",
        "broker rate limit": f"{settings.exec_requests_per_second} requests in any second",
        "circuit breaker": f"after {settings.exec_breaker_failures} failures in a row, "
        f"for {settings.exec_breaker_reset_s:g} s",
        "hard timeout": f"after {settings.exec_hard_timeout_s:g} s",
    }
    for gate, default in expected.items():
        [row] = [line for line in section.splitlines() if line.startswith(f"| {gate} |")]
        assert default in row, (gate, default, row)
