"""Runs worker processes, restarts the ones that die, stops them all on SIGTERM.

Workers are started with multiprocessing's "spawn" context: each is a fresh
interpreter that imports what it needs, so no lock, thread, database
connection or random state of the parent is copied into it (the hazards of
forking an initialised process). The listening socket is the one thing
handed down: it travels as a file descriptor.

A kind of worker is a name, a count and a top-level function run in the
child with one picklable argument; "api" exists today, and RPC workers plug
in as another kind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import get_context
from multiprocessing.connection import wait
from multiprocessing.process import BaseProcess
from typing import Any

LOG = logging.getLogger("corral.service")

WorkerTarget = Callable[[Any], None]

# Exit status of a worker that refused its config (sysexits.h EX_CONFIG).
EX_CONFIG = 78


@dataclass(frozen=True)
class WorkerKind:
    name: str
    count: int
    target: WorkerTarget
    # Called with the slot number (1-based); its result is the target's argument.
    make_arg: Callable[[int], Any]


@dataclass(frozen=True)
class Backoff:
    """Restart delays: initial, doubling per consecutive failure, up to maximum.

    A worker that stayed up `stable_after` seconds starts the count afresh.
    """

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0

    def delay(self, failures: int) -> float:
        return float(min(self.maximum, self.initial * 2 ** max(0, failures - 1)))


@dataclass
class Slot:
    kind: WorkerKind
    number: int
    process: BaseProcess | None = None
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None

    @property
    def name(self) -> str:
        return f"{self.kind.name} worker {self.number}"


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is still running"
    if code < 0:
        try:
            return f"was killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


@dataclass
class Supervisor:
    kinds: list[WorkerKind]
    shutdown_timeout: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)
    # Called on SIGHUP; True when the workers should re-read their config.
    on_reload: Callable[[], bool] | None = None
    slots: list[Slot] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._ctx = get_context("spawn")
        self._pending: list[int] = []
        self.slots = [Slot(kind, n) for kind in self.kinds for n in range(1, kind.count + 1)]

    # -- process control --------------------------------------------------

    def _start(self, slot: Slot) -> None:
        # SIGHUP stays blocked in the child (the mask survives exec) until it
        # has a handler, so a reload sent while it starts is delivered late,
        # not fatal.
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
        try:
            process = self._ctx.Process(
                target=slot.kind.target,
                args=(slot.kind.make_arg(slot.number),),
                name=f"corral-{slot.kind.name}-{slot.number}",
                daemon=False,
            )
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        slot.process = process
        slot.started_at = time.monotonic()
        slot.restart_at = None
        LOG.info("%s started (pid %s)", slot.name, process.pid)

    def _reap(self, on_exit: Callable[[int], None] | None) -> None:
        now = time.monotonic()
        for slot in self.slots:
            process = slot.process
            if process is None or process.exitcode is None:
                continue
            slot.process = None
            if on_exit is not None and process.pid is not None:
                on_exit(process.pid)
            if now - slot.started_at >= self.backoff.stable_after:
                slot.failures = 0
            slot.failures += 1
            delay = self.backoff.delay(slot.failures)
            slot.restart_at = now + delay
            LOG.error(
                "%s (pid %s) %s; restarting in %.0f s",
                slot.name,
                process.pid,
                describe_exit(process.exitcode),
                delay,
            )

    def _restart_due(self) -> None:
        now = time.monotonic()
        for slot in self.slots:
            if slot.process is None and slot.restart_at is not None and slot.restart_at <= now:
                self._start(slot)

    def _live(self) -> list[BaseProcess]:
        return [s.process for s in self.slots if s.process is not None and s.process.is_alive()]

    def _signal_all(self, signum: int) -> None:
        for process in self._live():
            if process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signum)

    # -- main loop ---------------------------------------------------------

    def _on_signal(self, signum: int, _frame: object) -> None:
        self._pending.append(signum)

    def run(self, *, on_exit: Callable[[int], None] | None = None) -> int:
        """Run until SIGTERM or SIGINT; the exit status for the process."""
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        old_wakeup = signal.set_wakeup_fd(wake_w)
        handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        old_handlers = {sig: signal.signal(sig, self._on_signal) for sig in handled}
        try:
            for slot in self.slots:
                self._start(slot)
            while True:
                while self._pending:
                    signum = self._pending.pop(0)
                    if signum in (signal.SIGTERM, signal.SIGINT):
                        LOG.info("%s: stopping the workers", signal.Signals(signum).name)
                        return self._shutdown(on_exit)
                    self._reload()
                self._reap(on_exit)
                self._restart_due()
                waits = [s.restart_at for s in self.slots if s.restart_at is not None]
                timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
                # Every started process, dead or alive: a sentinel turns readable
                # a moment before the process can be reaped, and one left out
                # because it died in that moment would never wake this wait.
                sentinels = [s.process.sentinel for s in self.slots if s.process is not None]
                wait([*sentinels, wake_r], timeout)
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
        finally:
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            signal.set_wakeup_fd(old_wakeup)
            os.close(wake_r)
            os.close(wake_w)

    def _reload(self) -> None:
        if self.on_reload is None or self.on_reload():
            self._signal_all(signal.SIGHUP)

    def _shutdown(self, on_exit: Callable[[int], None] | None) -> int:
        """SIGTERM every worker, wait for them to drain, kill what outlives the timeout."""
        self._signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.shutdown_timeout + 5.0
        status = 0
        for slot in self.slots:
            process = slot.process
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.exitcode is None:
                LOG.error("%s (pid %s) did not stop in time; killing it", slot.name, process.pid)
                process.kill()
                process.join()
                status = 1
            elif process.exitcode not in (0, -signal.SIGTERM):
                LOG.error("%s (pid %s) %s", slot.name, process.pid, describe_exit(process.exitcode))
                status = 1
            if on_exit is not None and process.pid is not None:
                on_exit(process.pid)
        LOG.info("all workers stopped")
        return status
