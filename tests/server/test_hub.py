"""service/server/hub.py in-process: what the hub holds without a greenlet, over socket
pairs in this process's gevent hub, in milliseconds (the gate and the lingerer are
tested through it in test_head_gate.py and test_lingerer.py)."""

import socket
import time
from collections.abc import Callable, Iterator

import gevent
import pytest

from service.server.hub import Watched, read_now


class Held:
    """One connection the hub holds: the server's end of a socket pair."""

    def __init__(self) -> None:
        self.client, self.server = socket.socketpair()
        self.server.setblocking(False)
        self.since = time.monotonic()

    def close(self) -> None:
        self.client.close()
        self.server.close()


@pytest.fixture
def pairs() -> Iterator[list[Held]]:
    """Connections made by a test, closed after it."""
    made: list[Held] = []
    yield made
    for held in made:
        held.close()


@pytest.fixture
def watching() -> Iterator[Callable[..., Watched[Held]]]:
    """Makes a Watched; each one's deadline sweep is stopped after the test, so that none
    wakes through later tests in this process."""
    made: list[Watched[Held]] = []

    def watched(timeout: float, expire: Callable[[Held], None], pace: float) -> Watched[Held]:
        made.append(Watched(lambda held: held.since, timeout, expire, pace))
        return made[-1]

    yield watched
    for each in made:
        if each._sweeper is not None:
            each._sweeper.kill()


def held_by(watched: Watched[Held], pairs: list[Held], read: list[bytes]) -> Held:
    """A new connection that `watched` holds, what each read takes recorded in `read`."""
    held = Held()
    pairs.append(held)
    watched.hold(held, held.server.fileno(), lambda held: read.append(held.server.recv(10)))
    return held


def never(_held: Held) -> None:
    raise AssertionError("no deadline passes in this test")


def test_a_held_connection_is_read_when_readable_and_not_after_its_release(
    pairs: list[Held], watching: Callable[..., Watched[Held]]
) -> None:
    watched = watching(30.0, never, 0.001)
    read: list[bytes] = []
    held = held_by(watched, pairs, read)
    watcher = watched.watcher(held)
    # read readiness only: a write watcher would fire at once and forever
    assert (watcher.events, watcher.active) == (1, True)
    gevent.sleep(0.01)
    assert read == []
    held.client.sendall(b"x")
    gevent.sleep(0.01)
    assert read == [b"x"]
    watched.release(held)
    assert (held in watched, len(watched), watched.watcher(held)) == (False, 0, None)
    assert watcher.active is False
    held.client.sendall(b"y")
    gevent.sleep(0.01)
    assert read == [b"x"]
    # a second release changes nothing
    watched.release(held)


def test_the_held_are_iterated_oldest_first_over_a_copy(
    pairs: list[Held], watching: Callable[..., Watched[Held]]
) -> None:
    watched = watching(30.0, never, 0.001)
    first, second, third = (held_by(watched, pairs, []) for _ in range(3))
    watched.release(second)
    assert list(watched) == [first, third]
    # each may be released as it comes: the iteration goes on over what was held
    seen = []
    for held in watched:
        seen.append(held)
        watched.release(held)
    assert (seen, list(watched)) == ([first, third], [])


def test_the_deadline_expires_the_oldest_first_one_each_pace(
    pairs: list[Held], watching: Callable[..., Watched[Held]]
) -> None:
    expired: list[tuple[Held, float]] = []

    def expire(held: Held) -> None:
        expired.append((held, time.monotonic()))
        watched.release(held)

    watched = watching(0.02, expire, 0.02)
    first, second = (held_by(watched, pairs, []) for _ in range(2))
    started = time.monotonic()
    while len(expired) < 2 and time.monotonic() - started < 2:
        gevent.sleep(0.005)
    assert [held for held, _ in expired] == [first, second]
    assert expired[1][1] - expired[0][1] >= 0.02


def test_what_has_come_is_read_and_a_client_gone_reads_as_the_end(pairs: list[Held]) -> None:
    held = Held()
    pairs.append(held)
    assert read_now(held.server, 10) is None
    held.client.sendall(b"abc")
    assert read_now(held.server, 2) == b"ab"
    held.client.close()
    assert read_now(held.server, 10) == b"c"
    assert read_now(held.server, 10) == b""
