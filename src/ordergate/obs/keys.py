"""Where the audit key comes from, and where a database's key and checkpoint files live.

The key is ``audit_key`` from the settings (``ORDERGATE_AUDIT_KEY``, a secret) or, when
that is unset, a random 32-byte key generated on first use into a 0600 file in
``audit_dir`` — by default ``$XDG_STATE_HOME/ordergate/audit`` or
``~/.local/state/ordergate/audit``, outside the database's directory, so someone who
can write the database file is not handed the key with it. Each database has its own
pair of files there, named after the database: ``<name>-<id>.key`` and
``<name>-<id>.head`` (the checkpoint, :mod:`ordergate.store.checkpoint`).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from pathlib import Path

from ordergate.config import Settings
from ordergate.domain.errors import ConfigError
from ordergate.store.checkpoint import AuditTrail, Checkpoint

_HEX_KEY = re.compile(r"[0-9a-fA-F]{64}")
MIN_KEY_CHARS = 16


def audit_dir(settings: Settings) -> Path:
    if settings.audit_dir:
        return Path(settings.audit_dir).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "ordergate" / "audit"


def database_label(settings: Settings) -> str | None:
    """A file name for the configured database (None for an in-memory one)."""
    path = settings.sqlite_path
    if path == ":memory:":
        return None
    if path is not None:
        real = os.path.realpath(path)
        return f"{Path(real).name}-{hashlib.sha256(real.encode()).hexdigest()[:16]}"
    url = settings.database_url
    if "@" in url:  # the password is no part of the identity
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        url = f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return f"postgresql-{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def _parse(text: str, origin: str) -> bytes:
    text = text.strip()
    if _HEX_KEY.fullmatch(text):
        return bytes.fromhex(text)
    if len(text) < MIN_KEY_CHARS:
        raise ConfigError(
            f"the audit key from {origin} is too short: give 64 hex digits "
            f"or at least {MIN_KEY_CHARS} characters"
        )
    return text.encode()


def load_key(settings: Settings, *, create: bool) -> bytes | None:
    """The audit key of the configured database; generated when ``create`` and missing.

    None: no key is configured or stored yet (and ``create`` was false), or the
    database lives in memory.
    """
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        return _parse(settings.audit_key.get_secret_value(), "ORDERGATE_AUDIT_KEY")
    label = database_label(settings)
    if label is None:
        return None
    path = audit_dir(settings) / f"{label}.key"
    try:
        return _parse(path.read_text(), str(path))
    except FileNotFoundError:
        if not create:
            return None
    except OSError as exc:
        raise ConfigError(f"cannot read the audit key {path}: {exc}") from exc
    return _generate(path)


def _generate(path: Path) -> bytes:
    key = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return _parse(path.read_text(), str(path))
    except OSError as exc:
        raise ConfigError(
            f"cannot create the audit key {path}: {exc} (set ORDERGATE_AUDIT_KEY or audit_dir)"
        ) from exc
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
        out.flush()
        os.fsync(out.fileno())
    return bytes.fromhex(key)


def checkpoint_for(settings: Settings, key: bytes) -> Checkpoint | None:
    label = database_label(settings)
    if label is None:
        return None
    return Checkpoint(audit_dir(settings) / f"{label}.head", key, label)


def audit_trail(settings: Settings, *, create: bool = True) -> AuditTrail | None:
    """The key and checkpoint a store of ``settings`` writes with (None: in memory)."""
    key = load_key(settings, create=create)
    if key is None:
        return None
    return AuditTrail(key, checkpoint_for(settings, key))
