"""Kite's daily access token: a kill switch when it expires, a new one without a restart.

Kite's access token expires every day (``TokenException``, HTTP 403). Retrying cannot
help, so the first refusal trips the session: the kill switch ``RISK_LIMIT:kite_session``
goes ACTIVE on the risk desk's board (every new intent is then refused by the gate with
``E_RISK_KILL_SWITCH``, saying why), and the adapter itself sends nothing more to Kite
— it refuses locally, without a request — until a new token is installed.

A new token arrives by :meth:`KiteSession.install` (the API route
``POST /v1/brokers/kite/token``) or through the token file, which ``ordergate kite
token set`` writes (mode 0600) and the running adapter reads again whenever it changes.
An installed token that Kite accepts clears the switch. The token is never logged,
never put into an error, an event or a receipt.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog

from ordergate.risk.killswitch import KillSwitchBoard, KillSwitchKind, KillSwitchState

from .errors import SessionExpired

log = structlog.get_logger("ordergate.brokers.kite")

SWITCH_KIND = KillSwitchKind.RISK_LIMIT
SWITCH_TARGET = "kite_session"
ACTOR = "kite adapter"


def write_token_file(path: Path, token: str) -> None:
    """Write ``token`` to ``path`` atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token.strip() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class KiteSession:
    """The token in use, whether Kite refused it, and the kill switch that says so."""

    def __init__(
        self,
        token: str | None,
        *,
        apply: Callable[[str], None],
        token_file: Path | None = None,
        board: KillSwitchBoard | None = None,
    ) -> None:
        self._apply = apply
        self._token = token or ""
        self._file = token_file
        self._file_stamp: tuple[int, int] | None = None
        self.board = board
        self._lock = threading.Lock()
        self.expired_reason: str | None = None
        if self._file is not None:
            self._read_file()
        if not self._token:
            self.expired_reason = "no access token configured"
        self._apply(self._token)

    # ------------------------------------------------------------- state

    @property
    def token(self) -> str:
        return self._token

    @property
    def expired(self) -> bool:
        return self.expired_reason is not None

    def secrets(self) -> list[str]:
        return [self._token] if self._token else []

    def check(self) -> None:
        """Before each request: pick up a token the CLI installed; refuse (no request)
        while the session is expired."""
        if self._file is not None:
            self._read_file()
        reason = self.expired_reason
        if reason is not None:
            raise SessionExpired(
                f"Kite session expired ({reason}); nothing sent. Install a new access token: "
                "ordergate kite token set TOKEN, or POST /v1/brokers/kite/token",
                context={"kill_switch": f"{SWITCH_KIND.value}:{SWITCH_TARGET}"},
            )

    def trip(self, message: str) -> None:
        """Kite refused the token: stop sending, and set the kill switch (once)."""
        with self._lock:
            first = self.expired_reason is None
            self.expired_reason = "Kite refused the access token"
        if not first:
            return
        log.error("kite access token refused; kill switch set, nothing more is sent", error=message)
        if self.board is not None:
            self.board.set(
                SWITCH_KIND,
                SWITCH_TARGET,
                KillSwitchState.ACTIVE,
                reason="Kite access token expired or revoked: install a new one "
                "(ordergate kite token set, POST /v1/brokers/kite/token)",
                actor=ACTOR,
            )

    def install(self, token: str, *, persist: bool = True) -> None:
        """Use ``token`` from now on (the caller has had Kite accept it) and clear the
        switch; with ``persist`` also write the token file, for the next start."""
        token = token.strip()
        with self._lock:
            self._token = token
            self._apply(token)
            self.expired_reason = None
        if persist and self._file is not None:
            write_token_file(self._file, token)
            self._stamp_now()
        if self.board is not None and self.board.is_active():
            for switch in self.board.list():
                if switch.key == (SWITCH_KIND, SWITCH_TARGET):
                    self.board.clear(
                        SWITCH_KIND, SWITCH_TARGET, reason="new Kite access token", actor=ACTOR
                    )
        log.info("kite access token installed; sending resumes")

    # ------------------------------------------------------------- file

    def _stamp_now(self) -> None:
        if self._file is None:
            return
        try:
            st = self._file.stat()
        except OSError:
            return
        self._file_stamp = (st.st_mtime_ns, st.st_size)

    def _read_file(self) -> None:
        if self._file is None:
            return
        try:
            st = self._file.stat()
        except OSError:
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._file_stamp:
            return
        self._file_stamp = stamp
        try:
            token = self._file.read_text().strip()
        except OSError:
            return
        if token and token != self._token:
            with self._lock:
                self._token = token
                self._apply(token)
                was_expired = self.expired_reason is not None
                self.expired_reason = None
            if was_expired:
                log.info("kite access token picked up from the token file")
                self.pending_verify = True
                return
        self.pending_verify = False

    #: a token read from the file is verified by the adapter before the switch clears
    pending_verify: bool = False
