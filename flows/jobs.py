"""Work a step starts off the caller's thread, and the clocks sessions run on.

A :class:`Job` runs on the session's executor and posts a ``done``/``failed``
event back when it finishes, so ``Session.dispatch`` never blocks on a device.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)


class FakeClock:
    """An injectable monotonic clock for tests and replay."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


class Job:
    """Work started by a step, run off the caller's thread.

    The function receives the job: it checks ``cancelled``, calls
    ``person_done()`` when the part that waits for the person (a card to be
    placed, a blink) is over, and may ``post`` progress events."""

    def __init__(self, session: Session, seq: int, name: str, step: str, person: bool, background: bool):
        self.session = session
        self.seq = seq
        self.name = name
        self.step = step
        self.person = person
        self.background = background
        self.cancel_event = threading.Event()
        self.started = time.perf_counter()
        self.machine_from: float | None = None if person else self.started
        self.machine_before = 0.0  # machine seconds of earlier rounds (see person_again)
        self.future: cf.Future | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def cancel(self) -> None:
        self.cancel_event.set()

    def person_done(self) -> None:
        if self.machine_from is None:
            self.machine_from = time.perf_counter()

    def person_again(self) -> None:
        """Back to waiting for the person (e.g. the wrong card was read)."""
        if self.machine_from is not None:
            self.machine_before += time.perf_counter() - self.machine_from
            self.machine_from = None

    def post(self, event: dict) -> None:
        if not self.cancelled:
            self.session.dispatch({**event, "job_seq": self.seq})

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when cancelled meanwhile."""
        return self.cancel_event.wait(seconds)


class InlineExecutor:
    """Runs nothing until told: used by replay so a job finishes exactly where
    the journal says it did."""

    def __init__(self) -> None:
        self.pending: dict[int, tuple[Callable, tuple]] = {}

    def submit_job(self, job: Job, fn: Callable, args: tuple) -> None:
        self.pending[job.seq] = (fn, args)

    def run(self, seq: int):
        fn, args = self.pending.pop(seq)
        return fn(*args)


class JobBoard:
    """The jobs of one session: started by its steps, run on the executor, each
    result handed back to the session as a ``done``/``failed`` event."""

    def __init__(self, session: Session, executor: Any):
        self.session = session
        self.executor = executor
        self.running: dict[int, Job] = {}
        self._seq = itertools.count(1)
        self._results: dict[int, tuple[bool, Any]] = {}

    def new(self, name: str, step: str, person: bool, background: bool) -> Job:
        job = Job(self.session, next(self._seq), name, step, person, background)
        self.running[job.seq] = job
        return job

    def submit(self, job: Job, fn: Callable, args: tuple) -> None:
        if isinstance(self.executor, InlineExecutor):
            self.executor.submit_job(job, self._run, (job, fn, args))
        else:
            job.future = self.executor.submit(self._run_and_post, job, fn, args)

    def finished(self, seq: int) -> tuple[Job, bool, Any] | None:
        """The job ``seq`` and its result; None when it is stale or cancelled."""
        if isinstance(self.executor, InlineExecutor) and seq in self.executor.pending:
            self._results[seq] = self.executor.run(seq)
        job = self.running.pop(seq, None)
        result = self._results.pop(seq, None)
        if job is None or result is None:
            return None
        return job, result[0], result[1]

    def busy(self) -> bool:
        # Waiting for the person (a card, a blink, a payment) is not busy: the
        # idle timeout runs and the screen stays interactive.
        return any(not j.background and j.machine_from is not None for j in self.running.values())

    def cancel(self, background: bool = False) -> None:
        """Cancel the step's jobs (leaving it), with ``background`` every job (the wipe)."""
        for job in list(self.running.values()):
            if background or not job.background:
                job.cancel()
                self.running.pop(job.seq, None)
        if background:
            self._results.clear()

    def _run(self, job: Job, fn: Callable, args: tuple) -> tuple[bool, Any]:
        try:
            return True, fn(job, *args)
        except BaseException as exc:  # delivered to the step as a failed event
            if not getattr(exc, "key", None):
                log.warning("job failed", exc_info=True, extra={"job": job.name})
            return False, exc

    def _run_and_post(self, job: Job, fn: Callable, args: tuple) -> None:
        ok, value = self._run(job, fn, args)
        self._results[job.seq] = (ok, value)
        if job.cancelled:
            self._results.pop(job.seq, None)
            return
        if ok:
            event = {"type": "done", "job": job.name, "seq": job.seq}
        else:
            event = {"type": "failed", "job": job.name, "seq": job.seq,
                     "error": getattr(value, "key", None) or type(value).__name__}
        self.session.dispatch(event)
