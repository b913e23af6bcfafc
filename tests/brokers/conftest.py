"""Installed metadata for the registry's tests: real ``*.dist-info`` directories.

An entry point lives in a distribution's installed metadata, not in the source tree;
a test that needs one writes that metadata (the ``pyproject.toml``'s entry points) to
a temporary directory and puts it first on ``sys.path``, where ``importlib.metadata``
finds it like any installed package.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = ROOT / "tests" / "plugins"

Install = Callable[[Path], None]


def write_dist_info(site: Path, pyproject: Path) -> None:
    """``<name>-<version>.dist-info`` with METADATA and entry_points.txt from ``pyproject``."""
    project = tomllib.loads(pyproject.read_text())["project"]
    name, version = project["name"], project["version"]
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines: list[str] = []
    for group, entries in project.get("entry-points", {}).items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in entries.items())
        lines.append("")
    (info / "entry_points.txt").write_text("\n".join(lines))


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Install:
    """Install a project's metadata (not its code) on a temporary ``sys.path`` entry.

    ``ordergate``'s own is written first, from this tree's ``pyproject.toml``: it
    shadows whatever an editable install recorded when it was made, so the registry
    sees the entry points this tree declares."""
    site = tmp_path / "site"
    site.mkdir()
    write_dist_info(site, ROOT / "pyproject.toml")
    monkeypatch.syspath_prepend(str(site))

    def add(project_dir: Path) -> None:
        write_dist_info(site, project_dir / "pyproject.toml")
        monkeypatch.syspath_prepend(str(project_dir))  # its code, as an editable install

    return add
