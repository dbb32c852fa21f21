"""The worker process's runtime: bound once by the entry point, or built from the environment.

RQ's own ``rq worker`` / ``rq worker-pool`` never call our entry point, so the
first job in such a process builds the runtime from the environment once.
"""

from __future__ import annotations

import threading

from glowline.config import Config
from glowline.runtime import Runtime

_lock = threading.Lock()
_runtime: Runtime | None = None


def bind(runtime: Runtime | None) -> None:
    """Use ``runtime`` for every job in this process (None unbinds)."""
    global _runtime
    with _lock:
        _runtime = runtime


def current() -> Runtime:
    """The bound runtime, built from the environment on first use if none was bound."""
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = Runtime(Config.from_env())
        return _runtime
