"""The deadline sweep the head gate and the lingerer share: oldest first, one at a time."""

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import gevent

Held = TypeVar("Held")


def sweep(
    held: Mapping[Held, object],
    since: Callable[[Held], float],
    timeout: float,
    expire: Callable[[Held], None],
    pace: float,
) -> None:
    """Forever: `expire` the oldest of `held` (in insertion order) once `timeout` has
    passed since `since` it, at most one each `pace` seconds.

    A flood opened together meets its deadline together, and each connection expired
    may connect again at once: expired all at once, they would come back all at once.
    """
    while True:
        if held:
            oldest = next(iter(held))
            due = since(oldest) + timeout - time.monotonic()
            if due <= 0:
                expire(oldest)
                due = pace
        else:
            due = timeout
        gevent.sleep(max(due, pace))
