"""Start-up (issue 21): what a one-shot ``ordergate submit`` does not load or do."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from ordergate.store.migrate import MIGRATION_TABLE, at_head, migration_ids

SRC = str(Path(__file__).resolve().parents[1] / "src")


def loaded_after(code: str, cwd: Path) -> set[str]:
    """The modules in ``sys.modules`` after ``code`` runs in a fresh interpreter."""
    script = code + "\nimport sys\nprint(','.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    return set(out.splitlines()[-1].split(","))


SUBMIT = (
    "from ordergate.cli import main\n"
    "sys.argv = ['ordergate', 'submit', '--symbol', 'AAPL', '--side', 'buy', '--qty', '1',"
    " '--key', 'k', '--db', 'og.db']\n"
    "try:\n    main()\nexcept SystemExit:\n    pass\n"
)


def test_a_submit_on_a_migrated_store_loads_no_yoyo_twisted_or_rich_tracebacks(
    tmp_path: Path,
) -> None:
    first = loaded_after("import sys\n" + SUBMIT, tmp_path)  # creates and migrates og.db
    assert "yoyo" in first
    again = loaded_after("import sys\n" + SUBMIT, tmp_path)
    assert "ordergate.engine.engine" in again  # it did submit
    assert "structlog" in again
    unneeded = {"yoyo", "twisted", "structlog.twisted", "rich.console", "yaml"}
    assert not unneeded & again
    assert "ordergate.brokers.exchange" not in again  # the paper broker does not need it
    assert "ordergate.engine.algos" not in again  # no parent order: no algorithms
    # asyncio (and ssl with it) is imported by pydantic-settings and structlog only for
    # paths ordergate never takes; the leases and the order tracker are serve's
    serve_only = {"asyncio", "ssl", "ordergate.engine.ownership", "ordergate.engine.tracking"}
    assert not serve_only & again


def test_structlog_keeps_what_it_skipped_importable(tmp_path: Path) -> None:
    code = (
        "import ordergate.obs.logging, structlog\n"
        "assert structlog.twisted is None and structlog.dev.rich is None\n"
        "import rich.traceback\n"  # still there for whoever asks
    )
    assert "rich.traceback" in loaded_after(code, tmp_path)


def test_what_was_deferred_is_the_real_module_on_first_use(tmp_path: Path) -> None:
    code = (
        "import ordergate, pydantic_settings.main as m, structlog, structlog.stdlib as s\n"
        "assert 'asyncio' not in sys.modules and type(m.asyncio).__name__ == 'Deferred'\n"
        "run = m.asyncio.run\n"  # a name read: the real module is imported, once
        "import asyncio\n"
        "assert run is asyncio.run and s.asyncio.run is asyncio.run\n"
        "assert type(sys.modules['asyncio']).__name__ == 'module'\n"
        "async def main() -> str:\n"
        "    await structlog.get_logger().ainfo('an async line')\n"
        "    return 'ok'\n"
        "assert asyncio.run(main()) == 'ok'\n"
        "try:\n    m.asyncio.no_such_name\nexcept AttributeError:\n    pass\n"
        "else:\n    raise AssertionError('a missing name must raise')\n"
    )
    assert "asyncio.base_events" in loaded_after("import sys\n" + code, tmp_path)


def test_a_module_imported_before_ordergate_is_left_as_it_is(tmp_path: Path) -> None:
    code = "import asyncio, pydantic_settings.main as m, ordergate\nassert m.asyncio is asyncio\n"
    loaded_after(code, tmp_path)


def test_at_head_only_when_every_migration_file_is_applied(tmp_path: Path) -> None:
    from ordergate.store.sqlite import SqliteStore

    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    assert not at_head(conn, "sqlite")  # no yoyo table yet: the locked path decides
    conn.close()
    store = SqliteStore(str(path))
    store.migrate()
    store.close()
    conn = sqlite3.connect(path)
    assert at_head(conn, "sqlite")
    newest = max(migration_ids("sqlite"))
    conn.execute(f"DELETE FROM {MIGRATION_TABLE} WHERE migration_id = ?", (newest,))
    conn.commit()
    assert not at_head(conn, "sqlite")  # one file not applied: yoyo runs it
    conn.close()


def test_a_top_level_command_alone_answers_as_the_whole_tree_does() -> None:
    """``main`` runs a top-level command without building its siblings; its help, its
    usage errors and its exit codes are the ones the whole tree gives."""
    import typer
    from typer.testing import CliRunner

    from ordergate.cli import _alone, app

    runner = CliRunner()
    names = [
        info.name or typer.main.get_command_name(info.callback.__name__)
        for info in app.registered_commands
        if info.callback is not None
    ]
    assert "submit" in names
    for name in names:
        for args in (["--help"], ["--no-such-option"]):
            one = _alone([name, *args])
            assert one is not None, name
            whole = runner.invoke(app, [name, *args], prog_name="ordergate")
            alone = runner.invoke(one, args, prog_name=f"ordergate {name}")
            assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output), name
    assert _alone(["events", "tail"]) is None  # a group: the whole tree
    assert _alone(["--help"]) is None
    assert _alone(["no-such-command"]) is None


def test_the_collector_is_held_at_start_up_and_comes_back() -> None:
    """A long command (``serve``, a backtest) collects as usual once started."""
    import gc
    import time

    from ordergate.cli import _hold_collector

    assert gc.isenabled()
    _hold_collector(0.05)
    try:
        assert not gc.isenabled()
        deadline = time.monotonic() + 5
        while not gc.isenabled() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize(("command", "held"), [("submit", True), ("backtest", False)])
def test_the_collector_is_held_for_one_shot_commands_only(
    command: str, held: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backtest freezes what it builds (``ordergate.heap``) only with the collector on."""
    import gc

    from ordergate import cli

    monkeypatch.setattr(sys, "argv", ["ordergate", command, "--help"])
    try:
        with pytest.raises(SystemExit):
            cli.main()
        assert gc.isenabled() is not held
    finally:
        gc.enable()


def test_the_algo_desk_is_built_once_on_first_use_with_the_gates_the_engine_started_with() -> None:
    """``engine.algos`` is built lazily (issue 21): one desk however many threads ask
    first, and its slices see the gates of the engine's construction, as before."""
    import threading

    from ordergate.clock import SimulatedClock
    from ordergate.engine.algo_gates import SliceGates
    from ordergate.engine.engine import ExecutionEngine
    from ordergate.store.memory import MemoryStore
    from tests.fakes import ScriptedBroker

    class Gates:
        def check(self, intent: object, context: object) -> None:
            return None

    first, later = Gates(), Gates()
    clock = SimulatedClock()
    engine = ExecutionEngine(MemoryStore(), ScriptedBroker(clock), clock=clock, gates=first)
    assert engine._algos is None
    engine.gates = later  # a test swaps the engine's gates after it was built
    seen: list[object] = []
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        seen.append(engine.algos)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(desk) for desk in seen}) == 1
    desk = engine.algos
    assert desk is seen[0]
    assert desk.core is engine
    assert isinstance(desk.gates, SliceGates)
    assert desk.gates._gates is first
