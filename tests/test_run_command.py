"""`glowline run` brings the whole pipeline up on its embedded defaults and Ctrl-C stops all of it."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from glowline.redis_server import free_port


def _descendants(pid: int) -> set[int]:
    """Every live process whose ancestry leads to ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {p for p, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


@pytest.mark.slow
def test_run_starts_web_worker_and_redis_then_stops_them_all(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "DATABASE_", "TEST_"))}
    env.update(GLOWLINE_VAR_DIR=str(tmp_path / "var"), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    proc = subprocess.Popen([sys.executable, "-m", "cli", "run", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    health = json.load(response)
                    if response.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.5)
        assert health is not None and health["status"] == "ok", health
        assert health["database"] == health["redis"] == health["scheduler"] == "up"
        assert health["workers"] >= 1
        assert (tmp_path / "var" / "glowline.sqlite3").exists()
        children = _descendants(proc.pid)
        assert len(children) >= 3  # web, worker, redis
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output
    assert not [p for p in children if Path(f"/proc/{p}").exists()
                and "Z" not in Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0]], output
    assert (tmp_path / "var" / "redis").is_dir()


def test_bad_protocols_file_stops_start_up_with_one_line(tmp_path):
    document = json.loads((Path(__file__).parent.parent / "protocols.json").read_text())
    document["protocols"][0]["sessions"]["min"] = -1
    broken = tmp_path / "protocols.json"
    broken.write_text(json.dumps(document))
    env = dict(os.environ, GLOWLINE_VAR_DIR=str(tmp_path / "var"), PROTOCOLS_PATH=str(broken))
    result = subprocess.run([sys.executable, "-m", "cli", "run", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "protocols.json" in lines[0] and "protocols[0].sessions.min" in lines[0]


@pytest.mark.parametrize("env, named", [
    ({"DATABASE_URL": "::nonsense::"}, "DATABASE_URL"),
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, "REDIS_URL"),
])
def test_bad_settings_stop_start_up_with_one_line(tmp_path, env, named):
    full = dict(os.environ, GLOWLINE_VAR_DIR=str(tmp_path / "var"), **env)
    result = subprocess.run([sys.executable, "-m", "cli", "run", "--port", str(free_port())], env=full,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_run_on_another_port_makes_the_links_in_texts_follow_it():
    from dataclasses import replace

    from cli.devrun import local_base_url
    from glowline.config import Config

    assert local_base_url(Config(), "127.0.0.1", 7901) == {"PUBLIC_BASE_URL": "http://127.0.0.1:7901"}
    assert local_base_url(replace(Config(), public_base_url="https://glow.example.com"), "127.0.0.1", 7901) == {}
