"""The QuickFIX session settings file, read by QuickFIX and checked by us.

What an order session must have, refused otherwise (fail closed, saying why):

- one FIX.4.4 initiator session;
- ``PersistMessages=N``: QuickFIX stores an order sent while the session is down and
  replays it at the next logon, where the counterparty fills it (the stale-order
  hazard, BROKERS.md A3); without stored messages it answers a resend with a gap fill.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import quickfix as fix

from ordergate.domain.errors import ConfigError


@dataclass(frozen=True, slots=True)
class SessionFile:
    path: Path
    settings: fix.SessionSettings
    session_id: fix.SessionID
    #: FileStorePath, where QuickFIX keeps sequence numbers (None: in memory)
    store: Path | None

    @property
    def name(self) -> str:
        return str(self.session_id.toString())


def _get(values: fix.Dictionary, key: str) -> str | None:
    return str(values.getString(key)) if values.has(key) else None


def shipped_dictionary(version: str = "FIX44") -> Path | None:
    """QuickFIX's own data dictionary, as the wheel installs it (``share/quickfix``)."""
    for base in (Path(sys.prefix), Path(sys.base_prefix)):
        candidate = base / "share" / "quickfix" / f"{version}.xml"
        if candidate.exists():
            return candidate
    return None


def persist_problem(persist: str | None) -> str | None:
    """Why an order session's ``PersistMessages`` is unsafe (QuickFIX's default is Y)."""
    if (persist or "Y").upper() in ("N", "NO"):
        return None
    return (
        "set PersistMessages=N. With stored messages QuickFIX replays an order sent while "
        "the session was down at the next logon, and the counterparty fills it stale; "
        "without them it answers the resend with a gap fill instead"
    )


def read_session_file(path: Path) -> SessionFile:
    if not path.exists():
        raise ConfigError(f"ORDERGATE_FIX_CONFIG: {path} does not exist")
    try:
        settings = fix.SessionSettings(str(path))
    except fix.ConfigError as exc:
        raise ConfigError(f"ORDERGATE_FIX_CONFIG: {path}: {exc}") from exc
    sessions = list(settings.getSessions())
    if len(sessions) != 1:
        raise ConfigError(
            f"ORDERGATE_FIX_CONFIG: {path} has {len(sessions)} sessions; the fix adapter "
            "runs exactly one order session"
        )
    [session_id] = sessions
    values = settings.get(session_id)
    where = f"ORDERGATE_FIX_CONFIG: {path}, session {session_id.toString()}"
    if str(session_id.getBeginString().getValue()) != "FIX.4.4":
        raise ConfigError(f"{where}: BeginString must be FIX.4.4")
    if (_get(values, "ConnectionType") or "").lower() != "initiator":
        raise ConfigError(f"{where}: ConnectionType must be initiator")
    problem = persist_problem(_get(values, "PersistMessages"))
    if problem is not None:
        raise ConfigError(f"{where}: {problem}")
    store = _get(values, "FileStorePath")
    return SessionFile(path, settings, session_id, Path(store) if store else None)
