"""The worker supervisor: fork warm worker processes, replace each that dies, pass a stop to all of them.

``workers.main.run_worker`` warms the runtime and hands this module the function each worker
process runs; nothing here knows RQ beyond the early-stop hand-over (``EarlyStop``).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import signal

log = logging.getLogger(__name__)

RECONNECT_FIRST = 1.0  # seconds: the first wait before a dead worker process is replaced
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class EarlyStop:
    """A stop signal that reaches a worker process before RQ has installed its handlers.

    RQ registers the worker, starts its scheduler and only then handles SIGTERM; a stop in
    between used to kill the process outright, leaving it registered in Redis (counted by
    /healthz and the dashboard) until its key expired. It is remembered instead, and
    ``workers.main.GlowlineWorker`` honours it as soon as RQ's handlers are in place.
    """

    pid: int | None = None
    signum: int | None = None

    @classmethod
    def arm(cls) -> None:
        """In a new worker process: remember SIGTERM and SIGINT until RQ takes them over."""
        cls.pid, cls.signum = os.getpid(), None
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, cls._remember)

    @classmethod
    def _remember(cls, signum, _frame) -> None:
        if os.getpid() != cls.pid:
            # A process forked before setting its own handlers (RQ's scheduler): stop as it always did.
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        cls.signum = signum

    @classmethod
    def take(cls) -> int | None:
        """The remembered stop signal, if any, forgotten once read."""
        signum, cls.signum = cls.signum, None
        return signum


class _StopWaiting(Exception):
    """A stop signal arrived while no worker process was running."""


class Supervisor:
    """Fork the worker processes from a warm parent and start each again when it dies; a stop reaches every one.

    Several processes, because one worker runs one job at a time and a send spends most of its
    time waiting (on Twilio, the database, Redis): with one process per core the sends of one
    overlap the waits of another, as ``rq worker-pool`` does, and each process keeps what a
    pool worker keeps (its own connections, RQ's job timeout, a crash that takes down only it).

    A child killed by a job (or by anything else) leaves its row ``sending``; the next attempt or
    the reconciler settles it as outcome unknown once no live attempt can still hold it. A child
    whose RQ loop ended because Redis went away is replaced too, once Redis answers again: a
    fresh process rather than a fresh RQ worker in the old one, so nothing of the dead
    connection's threads (pubsub, scheduler) is left behind.
    """

    def __init__(self, work, before_restart, processes: int = 1):
        self.work = work
        self.before_restart = before_restart
        self.processes = processes
        self.children: set[int] = set()
        self.stop_asked = False
        self.waiting = False

    def _forward(self, signum, _frame) -> None:
        self.stop_asked = True
        # Ctrl-C may reach the children too; RQ ignores a second stop signal within a second.
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)
        if self.waiting:
            raise _StopWaiting  # stop waiting for Redis at once: there is nothing to replace any more

    def _child_main(self) -> int:
        """In the forked child: work, and never return into the parent's loop."""
        code = 1
        try:
            EarlyStop.arm()
            _die_with_parent()
            code = 0 if self.work() else 1
        except BaseException:
            log.exception("worker process failed")
        finally:
            logging.shutdown()
        return code

    def _fork(self) -> None:
        pid = os.fork()
        if pid == 0:
            os._exit(self._child_main())
        self.children.add(pid)
        if self.stop_asked:
            # The stop arrived between the fork and recording the pid: nobody told this child.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def run(self, *, burst: bool) -> bool:
        """Run the children until each ends normally or a stop is asked; True when one ended having worked."""
        previous = {sig: signal.signal(sig, self._forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        wait = RECONNECT_FIRST
        worked = False
        try:
            for _ in range(self.processes):
                if not self.stop_asked:
                    self._fork()
            while self.children:
                pid, status = _wait_any()
                self.children.discard(pid)
                if os.WIFEXITED(status) and (burst or self.stop_asked or os.WEXITSTATUS(status) == 0):
                    worked = worked or os.WEXITSTATUS(status) == 0
                    continue
                if self.stop_asked:
                    continue
                log.warning("worker process %s ended (%s); starting another once Redis answers", pid,
                            _describe(status))
                try:
                    self.waiting = True
                    wait = self.before_restart(wait)
                except _StopWaiting:
                    continue  # the others were told to stop; wait for them
                finally:
                    self.waiting = False
                if not self.stop_asked:
                    self._fork()
            return worked
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this child if the supervisor dies (killed, not asked), so no orphan keeps sending."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the child outlives a killed supervisor, as a plain `rq worker` would


def _wait_any() -> tuple[int, int]:
    """The next child to end and its wait status (``waitpid`` restarts itself after our signal handler ran)."""
    return os.waitpid(-1, 0)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.WEXITSTATUS(status)}"
