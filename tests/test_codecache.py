"""The generated-code table (issue 21): what it keeps, what it refuses, what it runs."""

from __future__ import annotations

import dataclasses
import marshal
import subprocess
import sys
import typing
from pathlib import Path

import pytest

from ordergate import _codecache
from ordergate._codecache import HEADER, CodeCache

SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(autouse=True)
def bytecode_may_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)  # PYTHONDONTWRITEBYTECODE aside


def make_point(cache: CodeCache) -> type:
    """A frozen dataclass whose generated methods are compiled through ``cache``."""
    namespace: dict[str, typing.Any] = {"__name__": "points", "dataclasses": dataclasses}
    source = (
        "@dataclasses.dataclass(frozen=True, order=True)\n"
        "class Point:\n    x: int\n    y: int = 0\n"
    )
    saved = vars(dataclasses).get("exec")
    dataclasses.exec = cache.exec  # type: ignore[attr-defined]
    try:
        exec(compile(source, "<points>", "exec", dont_inherit=True), namespace)
    finally:
        if saved is None:
            del dataclasses.exec  # type: ignore[attr-defined]
        else:
            dataclasses.exec = saved  # type: ignore[attr-defined]
    point: type = namespace["Point"]
    return point


def check_point(point: type) -> None:
    a, b = point(1, 2), point(x=1, y=2)
    assert a == b
    assert hash(a) == hash(b)
    assert repr(a) == "Point(x=1, y=2)"
    assert point(0) < a
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.x = 3  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        point()


def test_a_table_written_and_read_back_runs_the_same_methods(tmp_path: Path) -> None:
    path = str(tmp_path / "cache" / "generated.marshal")
    first = CodeCache(path)
    check_point(make_point(first))
    assert first.added >= 6  # __init__, __repr__, __eq__, the order, __hash__, frozen
    assert first.save()
    assert Path(path).read_bytes().startswith(HEADER)
    assert not first.save()  # nothing new since

    second = CodeCache(path)
    check_point(make_point(second))
    assert second.added == 0  # every text was in the table


@pytest.mark.parametrize(
    "content", [b"", b"not ours", HEADER + b"\x00garbage", HEADER[:-1] + b"\x07" + b"{}"]
)
def test_a_damaged_or_foreign_file_is_ignored_and_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "generated.marshal"
    path.write_bytes(content)
    cache = CodeCache(str(path))
    check_point(make_point(cache))
    assert cache.added >= 6
    assert cache.save()
    assert CodeCache(str(path))._table()  # readable now


def test_a_damaged_entry_is_compiled_afresh(tmp_path: Path) -> None:
    path = tmp_path / "generated.marshal"
    first = CodeCache(str(path))
    make_point(first)
    assert first.save()
    table = marshal.loads(path.read_bytes()[len(HEADER) :])
    assert all(type(entry) is bytes for entry in table.values())  # read back one by one
    path.write_bytes(HEADER + marshal.dumps(dict.fromkeys(table, b"\xffnot code")))
    second = CodeCache(str(path))
    check_point(make_point(second))
    assert second.added == len(table)


def test_nothing_is_written_where_bytecode_may_not_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = CodeCache(str(tmp_path / "generated.marshal"))
    make_point(cache)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    assert not cache.save()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    blocked = tmp_path / "file"
    blocked.write_text("a file, not a directory")
    cache.path = str(blocked / "generated.marshal")
    assert not cache.save()  # no error: compiled again next time
    assert list(tmp_path.iterdir()) == [blocked]


def test_forward_references_compile_through_the_table_and_keep_their_errors() -> None:
    cache = CodeCache(None)
    code = cache.compile("list[int]", "<string>", "eval")
    assert eval(code) == list[int]
    assert cache.compile("list[int]", "<string>", "eval") is code
    with pytest.raises(SyntaxError):
        cache.compile("list[", "<string>", "eval")
    other = cache.compile("1 + 2", "<elsewhere>", "exec")  # not a forward reference
    assert ("exec", "1 + 2") not in cache._table()
    assert other.co_filename == "<elsewhere>"


def test_annotations_evaluate_through_the_table_in_the_namespaces_given() -> None:
    cache = CodeCache(None)
    assert cache.eval("  x + 1", {"x": 1}) == 2  # eval's own leading-space rule
    assert cache.eval("x + y", {"x": 1}, {"y": 2}) == 3
    assert ("eval", "x + 1") in cache._table()
    x = 40  # noqa: F841 - read by the evaluated text, from this frame
    assert cache.eval("x + 2") == 42
    with pytest.raises(NameError):
        cache.eval("no_such_name", {})


def test_a_library_import_installs_nothing() -> None:
    code = (
        "import dataclasses, typing, inspect, collections, ordergate, ordergate.engine.engine\n"
        "print(any(n in vars(m) for m, n in ((dataclasses, 'exec'), (typing, 'compile'),"
        " (inspect, 'eval'), (collections, 'eval'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_installed_for_dataclasses_typing_and_inspect() -> None:
    import collections
    import inspect

    _codecache.install()  # as the CLI's main does

    assert vars(dataclasses)["exec"] == _codecache.CACHE.exec
    assert vars(typing)["compile"] == _codecache.CACHE.compile
    assert vars(inspect)["eval"] == _codecache.CACHE.eval
    assert vars(collections)["eval"] == _codecache.CACHE.eval
    assert collections.namedtuple("Pair", "a b")(1, b=2) == (1, 2)

    def f(a: list[int]) -> dict[str, int]:
        return {}

    assert inspect.signature(f, eval_str=True).parameters["a"].annotation == list[int]
    assert typing.get_type_hints(make_point(_codecache.CACHE)) == {"x": int, "y": int}


def test_a_command_leaves_the_table_and_the_next_start_compiles_nothing(tmp_path: Path) -> None:
    path = tmp_path / "generated.marshal"
    code = (
        "import sys\n"
        f"import ordergate._codecache as c\nc.CACHE.path = {str(path)!r}\n"
        "from ordergate.cli import main\n"
        "sys.argv = ['ordergate', 'mark', 'AAPL', '--last', '150', '--db', 'og.db']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(c.CACHE.added, len(c.CACHE._table()))\n"
    )
    env = {"PYTHONPATH": SRC, "PATH": "/usr/bin:/bin"}  # bytecode may be written

    def run() -> list[int]:
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return [int(n) for n in out.stdout.split()[-2:]]

    added, held = run()
    assert added == 0  # saved when the command ended
    assert held > 500
    assert path.exists()
    assert run() == [0, held]  # all of it read back, nothing compiled anew
