"""``ordergate events tail`` with no NATS server there: it says so and exits, in bounded time."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nats", reason="the nats extra is not installed")
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tail_against_no_server_says_so_and_exits() -> None:
    """nats-py's first connect, with reconnects unbounded, kept trying forever (and the
    command, with its signal handlers set, did not even end on SIGTERM)."""
    url = f"nats://127.0.0.1:{_free_port()}"
    code = (
        "import sys\nfrom ordergate.cli import main\n"
        f"sys.argv = ['ordergate', 'events', 'tail', '--nats', {url!r}, '--count', '1']\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,  # the previous code never returned: this timeout failed it
        check=False,
    )
    assert out.returncode == 3, out.stderr
    assert f"cannot reach NATS at {url}" in out.stderr
