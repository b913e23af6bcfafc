"""IB's errors onto ours: the table, most specific first; warnings apart."""

from __future__ import annotations

import pytest
from ib_async import RequestError

from ordergate.brokers.ibkr.errors import is_warning, order_error, sdk_error
from ordergate.domain.errors import BrokerRejected, BrokerTimeout, BrokerUnavailable, ErrorCode


def redact(text: str) -> str:
    return text.replace("DU7654321", "***")


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (201, BrokerRejected),
        (200, BrokerRejected),
        (103, BrokerRejected),
        (10147, BrokerRejected),
        (502, BrokerUnavailable),
        (504, BrokerUnavailable),
        (1100, BrokerUnavailable),
        (100, BrokerUnavailable),
        (9999, BrokerRejected),  # an unknown error on an order ended it
    ],
)
def test_order_errors(code: int, kind: type[Exception]) -> None:
    error = order_error(code, "text")
    assert type(error) is kind
    assert f"IB error {code}: text" == error.message


def test_warnings_leave_the_order_live() -> None:
    assert all(is_warning(c) for c in (2104, 2158, 399, 404, 110, 10167))
    assert not any(is_warning(c) for c in (201, 202, 1100, 326))


def test_sdk_exceptions_never_leave_the_adapter() -> None:
    rejected = sdk_error(RequestError(4, 201, "Order rejected: account DU7654321"), redact)
    assert rejected.code is ErrorCode.E_EXEC_BROKER_REJECTED
    assert "DU7654321" not in rejected.message
    assert type(sdk_error(ConnectionError("Not connected"), redact)) is BrokerUnavailable
    assert type(sdk_error(TimeoutError(), redact)) is BrokerTimeout
    assert type(sdk_error(ValueError("odd"), redact)) is BrokerTimeout  # unknown: never a no
