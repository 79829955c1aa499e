"""The lock files pin every dependency pyproject.toml names (run `make lock` after adding one)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]


def pinned(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)", text, re.MULTILINE)
    }


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


def test_the_image_lock_pins_every_runtime_dependency_within_its_bounds() -> None:
    lock = pinned("requirements.lock")
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(lock[name]), (name, lock[name])


def test_the_ci_lock_pins_runtime_and_test_dependencies_with_hashes() -> None:
    lock = pinned("requirements-dev.lock")
    for requirement in declared("test"):
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{name} is not in requirements-dev.lock: run `make lock`"
        assert requirement.specifier.contains(lock[name]), (name, lock[name])
    text = (ROOT / "requirements-dev.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9._-]+==)", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in entry for entry in entries if "==" in entry)
