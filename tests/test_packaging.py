"""The wheel holds every package of the source tree (setuptools' explicit list must not fall behind)."""

from __future__ import annotations

from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_in_the_wheel():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "auditor").rglob("__init__.py")}
    assert packages <= set(settings["packages"]), sorted(packages - set(settings["packages"]))
