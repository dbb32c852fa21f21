"""The wheel works outside the checkout: data files, migrations and the run command come from the package.

The project is built into a wheel from a copy of its source (nothing lands in the checkout), installed
without its dependencies into a fresh virtual environment in a temporary folder, and run from another
folder. The new environment sees this environment's dependencies through a ``.pth`` line, which adds the
folder to ``sys.path`` without running the ``.pth`` files inside it, so the checkout's own editable
install stays invisible: whatever the command finds, it finds in the installed wheel.
"""

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from cli.devrun import wait_healthy
from glowline.config import ROOT
from glowline.redis_server import free_port

SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "protocols.json", "schemas",
           "glowline", "cli", "webhooks", "workers", "migrations")


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment minus anything that would point the command back at the checkout or a test service."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PROTOCOLS_PATH", "SCHEMAS_DIR", "GLOWLINE_VAR_DIR")
    env = {k: v for k, v in os.environ.items()
           if k not in dropped and not k.startswith(("TWILIO_", "REDIS_", "DATABASE_", "TEST_"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment holding the project installed from its wheel; returns its bin folder."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    wheels = base / "wheels"
    # No build isolation: setuptools and wheel come from the lock, so the build needs no network.
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(wheels), str(source)], check=True, capture_output=True, timeout=120)
    (wheel,) = wheels.glob("glowline-*.whl")

    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    target = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                  "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 check=True, capture_output=True, text=True).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (target / "glowline-dependencies.pth").write_text("".join(f"{path}\n" for path in sorted(ours)))
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--quiet",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=120)
    shutil.rmtree(source)  # the installed copy must not lean on the source it was built from
    return venv / "bin"


def _glowline(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_dir / "glowline"), *args], cwd=cwd, env=_clean_env(), capture_output=True,
                          text=True, timeout=60)


def test_installed_package_reads_its_own_data_files(installed, tmp_path):
    probe = ("import glowline, migrations; from glowline.config import Config; c = Config.from_env({}); "
             "print(glowline.__file__, migrations.__file__, c.protocols_path, c.schemas_dir, c.var_dir, sep='\\n')")
    result = subprocess.run([str(installed / "python"), "-c", probe], cwd=tmp_path, env=_clean_env(),
                            capture_output=True, text=True, timeout=60, check=True)
    package, migrations, protocols, schemas, var_dir = (Path(line) for line in result.stdout.splitlines())
    venv = installed.parent
    for path in (package, migrations, protocols, schemas):
        assert path.is_relative_to(venv), f"{path} is not inside the installed environment"
    assert protocols.name == "protocols.json" and protocols.is_file()
    assert (schemas / "intake.schema.json").is_file()
    assert var_dir == tmp_path / "var"  # state goes beside the caller, never into site-packages


def test_installed_glowline_migrates_and_previews_from_another_directory(installed, tmp_path):
    upgraded = _glowline(installed, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert (tmp_path / "var" / "glowline.sqlite3").is_file()

    added = _glowline(installed, tmp_path, "clinic", "add", "--name", "Glow Clinic", "--number", "+12125550100",
                      "--staff", "+12125550199", "--timezone", "America/New_York")
    assert added.returncode == 0, added.stderr
    listed = _glowline(installed, tmp_path, "clinic", "list")
    assert "Glow Clinic" in listed.stdout, listed.stderr

    preview = _glowline(installed, tmp_path, "preview", "--protocol", "skin-rejuvenation",
                        "--first", "2026-12-03 10:00", "--timezone", "America/New_York")
    assert preview.returncode == 0, preview.stderr
    assert "Skin rejuvenation" in preview.stdout
    assert "Session 4: Thu Apr 8 2027, 10:00 AM" in preview.stdout


@pytest.mark.slow
def test_installed_glowline_run_comes_up_healthy(installed, tmp_path):
    port = free_port()
    env = _clean_env(PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([str(installed / "glowline"), "run", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        healthy = wait_healthy(f"http://127.0.0.1:{port}", timeout=60)
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert healthy, output
    assert proc.returncode == 0, output
    assert (tmp_path / "var" / "redis").is_dir()
