"""How long `scripts/run` takes until /healthz answers: a first start in a fresh clone, then later starts.

Run: .venv/bin/python -m bench.bench_start            (later starts, in this checkout)
     .venv/bin/python -m bench.bench_start --fresh    (first start too: clones HEAD into a temporary folder)
Each start runs the real command (scripts/setup, migrate, embedded Redis, web app, worker) and is
stopped with Ctrl-C once healthy; var/ goes to a temporary folder so local data is not touched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cli.devrun import wait_healthy
from glowline.config import ROOT
from glowline.redis_server import free_port


def time_start(checkout: Path, var_dir: Path) -> float:
    """Seconds from starting `scripts/run` in ``checkout`` to /healthz answering 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "REDIS_", "DATABASE_", "TEST_"))}
    env.update(GLOWLINE_VAR_DIR=str(var_dir), PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    started = time.perf_counter()
    proc = subprocess.Popen(["bash", "scripts/run", "--port", str(port)], cwd=checkout, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        healthy = wait_healthy(f"http://127.0.0.1:{port}", timeout=600)
        elapsed = time.perf_counter() - started
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    if not healthy:
        raise SystemExit("scripts/run did not come up healthy")
    return elapsed


def main(fresh: bool, later: int = 3) -> None:
    """Print the first start (with --fresh) and ``later`` later starts."""
    with tempfile.TemporaryDirectory() as tmp:
        checkout = ROOT
        if fresh:
            checkout = Path(tmp) / "clone"
            subprocess.run(["git", "clone", "--quiet", str(ROOT), str(checkout)], check=True)
            print(f"first start (creates .venv, installs the lock): {time_start(checkout, Path(tmp) / 'var'):.1f} s")
        for n in range(later):
            print(f"later start {n + 1} (nothing to install): {time_start(checkout, Path(tmp) / 'var'):.1f} s")
        print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main(fresh="--fresh" in sys.argv[1:])
