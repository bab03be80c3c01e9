"""Connection slots a flood cannot hold: a real gunicorn on loopback with few slots (no Docker).

The head deadline is long (30 s) so that nothing here is freed by it: what frees a
slot is eviction. The in-process tests pin the order in which slots are taken.
"""

import selectors
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from service.server.slots import SILENT_GRACE, Slots
from tests.server.clients import HEAD, PARTIAL_HEAD, answer_one, statuses
from tests.servers import one_worker, wait_until_closed

SLOTS = 20
HEADER_TIMEOUT = 30.0
# how long a test waits for an answer or a close it expects: far below the deadline
PATIENCE = 5.0


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One worker with SLOTS slots and a long head deadline, for the module; its address."""
    with one_worker(
        tmp_path_factory.mktemp("slots"),
        IBDEVSERVER_WORKER_CONNECTIONS=str(SLOTS),
        IBDEVSERVER_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
        GUNICORN_CMD_ARGS=f"--keep-alive {HEADER_TIMEOUT:g}",
    ) as (address, _):
        yield address


@pytest.fixture
def server(worker: tuple[str, int]) -> tuple[str, int]:
    """The module's worker, once it has closed every connection an earlier test left: each
    test finds all SLOTS slots free."""
    wait_until_closed(worker[1], PATIENCE)
    return worker


def stalled(address: tuple[str, int], count: int) -> list[socket.socket]:
    """`count` connections, each with half a head sent, in order; a pause lets each be accepted."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=PATIENCE)
        sock.sendall(PARTIAL_HEAD)
        held.append(sock)
        time.sleep(0.01)
    return held


def cut(sock: socket.socket, wait: float = PATIENCE) -> bytes | None:
    """What the server sent before closing `sock`, or None if it is still open after `wait`."""
    sock.settimeout(wait)
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return answer


def cuts(socks: list[socket.socket], wait: float) -> list[bytes | None]:
    """cut() of each of `socks`, all watched at once: each still open after `wait` is None."""
    closing = []
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + wait
        while selector.get_map() and (left := deadline - time.monotonic()) > 0:
            for key, _ in selector.select(timeout=left):
                selector.unregister(key.fileobj)
                closing.append(key.fileobj)
    return [cut(sock, wait) if sock in closing else None for sock in socks]


def test_a_flood_of_stalled_heads_does_not_keep_an_honest_client_out(
    server: tuple[str, int],
) -> None:
    held = stalled(server, 3 * SLOTS)
    try:
        started = time.monotonic()
        response = requests.get(f"http://{server[0]}:{server[1]}/healthz", timeout=PATIENCE)
        elapsed = time.monotonic() - started
        # the oldest heads lost their slots, with a 503; the newest still hold theirs
        oldest = [cut(sock) for sock in held[: SLOTS // 2]]
        newest = cuts(held[-SLOTS // 2 :], wait=0.2)
    finally:
        for sock in held:
            sock.close()
    assert response.status_code == 200
    assert elapsed < PATIENCE
    assert all(answer is not None and statuses(answer) == [503] for answer in oldest), oldest
    assert newest == [None] * len(newest)


def test_an_idle_kept_alive_connection_is_evicted_before_a_pending_head(
    server: tuple[str, int],
) -> None:
    kept = socket.create_connection(server, timeout=PATIENCE)
    held: list[socket.socket] = []
    try:
        assert statuses(answer_one(kept)) == [200]
        # the idle connection and SLOTS - 1 heads fill the slots; one more head evicts
        held = stalled(server, SLOTS)
        assert cut(kept) == b""
        assert cut(held[0], wait=0.2) is None
    finally:
        kept.close()
        for sock in held:
            sock.close()


def test_a_silent_new_connection_keeps_its_slot_while_a_started_head_is_evicted(
    server: tuple[str, int],
) -> None:
    silent = socket.create_connection(server, timeout=PATIENCE)
    held: list[socket.socket] = []
    try:
        time.sleep(0.05)
        # the silent one and SLOTS - 1 half heads fill the slots; one more evicts
        held = stalled(server, SLOTS)
        first = cut(held[0])
        silent.sendall(HEAD)
        answer = silent.recv(65536)
    finally:
        silent.close()
        for sock in held:
            sock.close()
    assert first is not None
    assert statuses(first) == [503], first
    assert statuses(answer) == [200], answer


def test_a_slow_head_is_not_cut_while_slots_are_free(server: tuple[str, int]) -> None:
    held = stalled(server, SLOTS // 2)
    try:
        with socket.create_connection(server, timeout=PATIENCE) as slow:
            for byte in HEAD:
                slow.sendall(bytes([byte]))
                time.sleep(0.03)
            answer = slow.recv(65536)
        survivors = cuts(held, wait=0.1)
    finally:
        for sock in held:
            sock.close()
    assert statuses(answer) == [200], answer
    assert survivors == [None] * len(held)


class Connection:
    def __init__(self) -> None:
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True


def test_slots_evict_the_longest_idle_then_the_oldest_head_never_a_busy_one() -> None:
    slots = Slots(limit=3)
    busy, old_head, idle, new_head = Connection(), Connection(), Connection(), Connection()
    for connection in (busy, old_head, idle):
        slots.admit(connection)
    slots.busy(busy)
    slots.busy(idle)
    slots.idle(idle)
    slots.admit(new_head)
    assert [c.evicted for c in (busy, old_head, idle, new_head)] == [False, False, True, False]
    newest = Connection()
    slots.admit(newest)
    assert [c.evicted for c in (busy, old_head, new_head, newest)] == [False, True, False, False]
    assert slots.open == 3


def test_a_lingering_connection_goes_before_an_idle_one_and_holds_its_slot() -> None:
    # answered, its body still read and dropped (server/linger.py): nothing is lost
    slots = Slots(limit=3)
    idle, head = Connection(), Connection()
    lingering = [Connection(), Connection()]
    slots.admit(idle)
    slots.busy(idle)
    slots.idle(idle)
    for connection in lingering:
        slots.admit(connection)
        slots.busy(connection)
        slots.lingering(connection)
    assert slots.open == 3
    slots.admit(head)
    assert [c.evicted for c in (*lingering, idle)] == [True, False, False]
    slots.closed(lingering[1])
    assert slots.open == 2


def test_a_kept_alive_head_queues_behind_older_heads() -> None:
    slots = Slots(limit=2)
    first, second = Connection(), Connection()
    slots.admit(first)
    slots.busy(first)
    slots.idle(first)
    slots.admit(second)
    slots.awaiting_head(second)
    # the idle connection's next head begins after `second`'s: `second` is older
    slots.awaiting_head(first)
    slots.admit(Connection())
    assert (first.evicted, second.evicted) == (False, True)


# parsed at once (a whole head at accept), or once its first bytes had come (the
# common path: awaiting_head, then the app answers)
@pytest.mark.parametrize("began_first", [False, True])
def test_when_every_slot_is_busy_nobody_is_evicted(began_first: bool) -> None:
    slots = Slots(limit=1)
    answering = Connection()
    slots.admit(answering)
    if began_first:
        slots.awaiting_head(answering)
    slots.busy(answering)
    assert slots.open == 1
    slots.admit(Connection())
    assert not answering.evicted
    assert slots.open == 2
    slots.closed(answering)
    assert slots.open == 1


def test_a_new_connection_with_no_byte_yet_is_evicted_after_every_started_head() -> None:
    # an honest client's head may still be on its way; a flood's half heads are here
    slots = Slots(limit=3)
    honest, flood = Connection(), [Connection(), Connection()]
    slots.admit(honest)
    for connection in flood:
        slots.admit(connection)
        slots.awaiting_head(connection)
    newer = Connection()
    slots.admit(newer)
    assert [c.evicted for c in (honest, *flood, newer)] == [False, True, False, False]
    slots.admit(Connection())
    slots.admit(Connection())
    # no started head left: the silent ones go, oldest first
    assert [c.evicted for c in (honest, *flood, newer)] == [True, True, True, False]


class Clock:
    def __init__(self) -> None:
        # a monotonic clock's reading is no small number: times are subtracted, not added
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_young_silent_connection_is_spared_while_the_slots_have_headroom() -> None:
    # through a proxy, a new connection is silent until the proxy passes its head on
    clock = Clock()
    slots = Slots(limit=2, headroom=1, clock=clock)
    first, second, third, fourth = (Connection() for _ in range(4))
    for connection in (first, second, third):
        slots.admit(connection)
    assert not any(c.evicted for c in (first, second, third))
    assert slots.open == 3
    # the headroom is taken: the oldest silent one goes, young or not
    slots.admit(fourth)
    assert [c.evicted for c in (first, second, third, fourth)] == [True, False, False, False]
    # past the grace, the oldest silent one goes as soon as the slots are full
    clock.now += SILENT_GRACE
    slots.admit(Connection())
    assert second.evicted
    assert slots.open == 3


def test_a_connection_is_in_one_phase_at_a_time_and_once_evicted_stays_out() -> None:
    slots = Slots(limit=2)
    first, second = Connection(), Connection()
    slots.admit(first)
    slots.busy(first)
    slots.lingering(first)
    assert slots.open == 1
    slots.admit(second)
    slots.admit(Connection())
    assert (first.evicted, second.evicted) == (True, False)
    # evicted, it holds no slot, whatever its holder says of it after
    for phase in (slots.busy, slots.idle, slots.awaiting_head, slots.lingering):
        phase(first)
    assert slots.open == 2


def test_a_silent_connection_may_be_evicted_once_its_grace_has_passed() -> None:
    # with headroom left, only its age decides: younger than SILENT_GRACE, or not
    clock = Clock()
    slots = Slots(limit=1, headroom=2, clock=clock)
    first, second = Connection(), Connection()
    slots.admit(first)
    clock.now += SILENT_GRACE / 2
    slots.admit(second)
    assert not first.evicted
    clock.now += SILENT_GRACE / 2
    slots.admit(Connection())
    assert (first.evicted, second.evicted) == (True, False)


def test_a_head_told_again_keeps_its_place_in_the_queue() -> None:
    # the gate's connection begins its head, and its greenlet reads the same head again
    slots = Slots(limit=2)
    older, younger = Connection(), Connection()
    for connection in (older, younger):
        slots.admit(connection)
        slots.awaiting_head(connection)
    slots.awaiting_head(older)
    slots.admit(Connection())
    assert (older.evicted, younger.evicted) == (True, False)
    assert slots.open == 2
