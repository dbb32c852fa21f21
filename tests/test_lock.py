"""The lock files: pinned, hashed, in step with pyproject.toml, and refused once they fall behind it."""

import importlib.util
import re

import pytest

from glowline.config import ROOT

_spec = importlib.util.spec_from_file_location("lock_inputs", ROOT / "scripts" / "lock_inputs.py")
lock_inputs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock_inputs)

PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)")


def _pins(name: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each locked package's version and hashes."""
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        if match := PIN.match(line):
            current = match.group(1).lower()
            pins[current] = (match.group(2), frozenset())
        elif current and (found := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            version, hashes = pins[current]
            pins[current] = (version, hashes | {found.group(1)})
    return pins


@pytest.mark.parametrize("name", lock_inputs.LOCKS)
def test_committed_lock_matches_pyproject_and_hashes_every_pin(name):
    assert lock_inputs.stale(ROOT / name) is None
    pins = _pins(name)
    assert {"flask", "twilio", "rq", "setuptools", "wheel"} <= pins.keys()
    assert all(hashes for _version, hashes in pins.values()), "a pin without a hash breaks --require-hashes"


def test_app_lock_agrees_with_test_lock_on_every_shared_package():
    app, test = _pins("requirements.txt"), _pins("requirements-test.txt")
    assert app.keys() <= test.keys()
    assert {name: app[name] for name in app} == {name: test[name] for name in app}
    assert {"pytest", "mypy", "ruff"} <= test.keys() - app.keys()


def _pyproject_copy(tmp_path, old: str, new: str):
    text = (ROOT / "pyproject.toml").read_text()
    assert old in text
    path = tmp_path / "pyproject.toml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(("old", "new"), [
    ('dependencies = [\n', 'dependencies = [\n    "babel>=2.16",\n'),
    ('test = [\n', 'test = [\n    "pytest-timeout>=2",\n'),
    ('requires = ["setuptools>=68", "wheel"]', 'requires = ["setuptools>=70", "wheel"]'),
])
def test_a_dependency_change_makes_the_lock_stale(tmp_path, old, new):
    problem = lock_inputs.stale(ROOT / "requirements-test.txt", _pyproject_copy(tmp_path, old, new))
    assert problem == "requirements-test.txt is stale: the dependencies in pyproject.toml changed since it was generated"
    assert "bash scripts/lock" in lock_inputs.FIX_HINT


def test_other_pyproject_changes_leave_the_lock_current(tmp_path):
    edited = _pyproject_copy(tmp_path, "line-length = 130", "line-length = 120")
    assert lock_inputs.stale(ROOT / "requirements.txt", edited) is None


def test_check_names_the_command_that_fixes_a_stale_lock(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(lock_inputs, "digest", lambda pyproject=None: "0" * 64)
    assert lock_inputs.main(["lock_inputs.py", "check"]) == 1
    err = capsys.readouterr().err
    assert "requirements.txt is stale" in err and "run `bash scripts/lock`" in err
