"""``glowline run``: the whole pipeline on one laptop, started and stopped together.

Migrates the database, starts a private Redis (unless REDIS_URL names one),
then the web app and one RQ worker with the scheduler as child processes, and
on Ctrl-C stops all of them, Redis last so nothing in flight is lost.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import replace

import click
from redis import Redis
from redis.exceptions import RedisError

from glowline.config import LOCAL_BASE_URL, Config
from glowline.exceptions import ConfigError
from glowline.redis_server import EmbeddedRedis, risky_settings
from glowline.runtime import Runtime

log = logging.getLogger(__name__)


def _child(args: list[str], env_overrides: dict[str, str]) -> subprocess.Popen:
    import os

    env = dict(os.environ, **env_overrides)
    return subprocess.Popen([sys.executable, "-m", "cli", *args], env=env, start_new_session=True)


def _stop(process: subprocess.Popen | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def check_redis(url: str) -> None:
    """Raise ConfigError when REDIS_URL does not answer PING."""
    client = Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
        for warning in risky_settings(client):
            click.echo(f"warning: {warning}", err=True)
    except RedisError as exc:
        raise ConfigError(f"REDIS_URL: cannot reach {url} ({exc.__class__.__name__})") from None
    finally:
        client.close()


def wait_healthy(url: str, timeout: float = 60) -> bool:
    """Poll /healthz until it says ok or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def local_base_url(config: Config, host: str, port: int) -> dict[str, str]:
    """PUBLIC_BASE_URL for the children when it was left at the default: links in texts follow ``--port``."""
    if config.public_base_url != LOCAL_BASE_URL or config.twilio_enabled:
        return {}
    return {"PUBLIC_BASE_URL": f"http://{host}:{port}"}


def run_all(config: Config, host: str, port: int) -> int:
    """Run web, worker and (if needed) Redis until Ctrl-C or until a child dies; return an exit code."""
    import migrations

    Runtime(config).check()  # a broken protocols.json or schema stops us before anything starts
    migrations.upgrade(config.database_url)
    redis_server = None
    env: dict[str, str] = {}
    if config.embedded_redis:
        redis_server = EmbeddedRedis(config.var_dir / "redis").start()
        env["REDIS_URL"] = redis_server.url
        config = replace(config, redis_url=redis_server.url)
        click.echo(f"embedded Redis (Valkey) on {redis_server.url}, data in {config.var_dir / 'redis'}")
    else:
        check_redis(config.redis_url)
    env.update(local_base_url(config, host, port))
    web = worker = None
    stopping = False

    def _interrupt(_signum, _frame):
        nonlocal stopping
        stopping = True

    previous = signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        web = _child(["serve", "--host", host, "--port", str(port)], env)
        worker = _child(["worker"], env)
        url = f"http://{host}:{port}"
        transport = "Twilio" if config.twilio_enabled else "local (messages are recorded, not sent)"
        click.echo(f"web app on {url}  (staff pages: {url}/staff, health: {url}/healthz)")
        click.echo(f"transport: {transport}. Press Ctrl-C to stop.")
        if wait_healthy(url):
            click.echo("healthz: all up")
        else:
            click.echo("healthz: not all up yet, see the output above", err=True)
        while not stopping:
            if web.poll() is not None or worker.poll() is not None:
                click.echo("a child process exited; stopping everything", err=True)
                return 1
            time.sleep(0.3)
        return 0
    finally:
        click.echo("stopping web, worker and Redis ...")
        _stop(web)
        _stop(worker, timeout=30)
        if redis_server is not None:
            redis_server.stop()
        signal.signal(signal.SIGINT, previous)
