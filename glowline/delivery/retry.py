"""When to try a send again after Twilio said "not now" (429, 5xx) or could not be reached.

Twilio's ``Retry-After`` header, when it gives one, is the earliest time: retrying sooner
only earns another 429. Without it the wait is exponential with *full jitter* (a uniform
draw between 0 and the exponential step, as in AWS's "Exponential Backoff And Jitter"):
after an outage or a burst of 429s every waiting row would otherwise come back in the
same second and trip the limit again. Full jitter rather than decorrelated jitter because
it needs no state beyond the attempt count the outbox row already keeps, so a Redis
flush or a worker restart loses nothing.

The wait is never spent sleeping in the job: the send job re-enqueues the row for
``now + delay`` (``enqueue_at``) and the worker moves on to the next job.
"""

from __future__ import annotations

import random
from datetime import timedelta

BASE = timedelta(seconds=30)
CAP = timedelta(minutes=5)  # an outage's end is noticed within minutes
# A Retry-After beyond this is treated as this: the row's useful time still decides when to stop.
RETRY_AFTER_CAP = timedelta(hours=1)
# Rows told the same Retry-After are spread over a little more time, so they do not all return at once.
RETRY_AFTER_SPREAD = 0.25
RETRY_AFTER_SPREAD_CAP = timedelta(seconds=30)


def step(attempts: int, *, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """The exponential ceiling before attempt ``attempts + 1``: base, 2 x base, 4 x base ... capped."""
    return min(base * (2 ** min(max(attempts - 1, 0), 30)), cap)


def delay(attempts: int, retry_after: float | None = None, *, base: timedelta = BASE, cap: timedelta = CAP,
          rng: random.Random | None = None) -> timedelta:
    """How long to wait before attempt ``attempts + 1``: Twilio's Retry-After when given, else full jitter."""
    draw = (rng or random).uniform
    if retry_after is not None and retry_after >= 0:
        floor = min(timedelta(seconds=retry_after), RETRY_AFTER_CAP)
        spread = min(floor * RETRY_AFTER_SPREAD, RETRY_AFTER_SPREAD_CAP)
        return floor + spread * draw(0, 1)
    # At least a second: RQ schedules in whole seconds, and 0 would retry in the same breath.
    return max(step(attempts, base=base, cap=cap) * draw(0, 1), timedelta(seconds=1))
