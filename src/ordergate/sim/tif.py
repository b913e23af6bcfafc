"""Time in force at the simulated venue: when a working order stops working.

- ``GTC``: never expires;
- ``DAY``: expires at the close of the session it arrived in (or the next session's
  close when it arrived after the close, skipping Saturdays and Sundays; holidays are
  not modelled). Without a :class:`Session` the venue has no close and DAY is GTC —
  the paper broker's behaviour, and right for 24/7 markets;
- ``GTD``: expires at the order's ``expire_at``;
- ``IOC``: trades what it can at its first chance, the rest is canceled;
- ``FOK``: trades all at its first chance or nothing, and is canceled.

An order is alive *through* its deadline: an event stamped exactly at the close (a
bar that closes at 16:00) may still fill it; the first event after it expires it,
before that event's prices are looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ordergate.domain.enums import TimeInForce
from ordergate.domain.wire import OrderRequest

SATURDAY = 5


@dataclass(frozen=True, slots=True)
class Session:
    """A daily session close in a time zone (default: US equities, 16:00 New York)."""

    close: time = time(16, 0)
    tz: str = "America/New_York"

    def close_after(self, when: datetime) -> datetime:
        """The first session close at or after ``when``."""
        zone = ZoneInfo(self.tz)
        local = when.astimezone(zone)
        day = local.date()
        close = datetime.combine(day, self.close, tzinfo=zone)
        if local > close:
            day += timedelta(days=1)
        while day.weekday() >= SATURDAY:
            day += timedelta(days=1)
        return datetime.combine(day, self.close, tzinfo=zone)


def deadline(request: OrderRequest, arrival: datetime, session: Session | None) -> datetime | None:
    """When an order that reached the venue at ``arrival`` stops working, if ever."""
    if request.time_in_force is TimeInForce.GTD:
        return request.expire_at
    if request.time_in_force is TimeInForce.DAY and session is not None:
        return session.close_after(arrival)
    return None


def is_immediate(tif: TimeInForce) -> bool:
    """IOC and FOK: one chance, then canceled."""
    return tif in (TimeInForce.IOC, TimeInForce.FOK)
