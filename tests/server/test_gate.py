"""The head gate: a new connection costs no greenlet until its head has come (no Docker).

A real gunicorn on loopback, one worker. A greenlet with its stack is about
14 KiB of worker memory; a connection waiting in the gate is its socket, a
watcher and a few bytes.
"""

import resource
import selectors
import socket
import subprocess
import sys
import time
from pathlib import Path

from service import gunicorn_conf
from service.server.gate import PREFIX_BYTES
from service.server.worker import EVICTION_HEADROOM, FILES_BEYOND_SLOTS, GREENLETS
from service.settings import Settings
from tests.server.clients import HEAD, PARTIAL_HEAD, allow_open_files, statuses
from tests.servers import SHORT, children, one_worker

WAITING = 1000
# worker memory a waiting connection may cost: far below a greenlet's 14 KiB
MOST_KIB_EACH = 5.0


def worker_pid(master: int) -> int:
    return children(master)[0]


def proc_figure(path: str, label: str, column: int) -> int:
    """The number in `column` of the line of /proc file `path` that starts with `label`."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(label):
            return int(line.split()[column])
    raise AssertionError(f"no {label} in {path}")


def worker_rss_kib(master: int) -> int:
    return proc_figure(f"/proc/{worker_pid(master)}/status", "VmRSS:", 1)


def test_a_waiting_head_costs_no_greenlet_and_is_answered_once_whole(tmp_path: Path) -> None:
    allow_open_files(WAITING + 500)
    held: list[socket.socket] = []
    with one_worker(
        tmp_path, IBDEVSERVER_WORKER_CONNECTIONS=str(2 * WAITING), IBDEVSERVER_HEADER_TIMEOUT="30"
    ) as (address, server):
        try:
            time.sleep(0.5)
            before = worker_rss_kib(server.pid)
            for _ in range(WAITING):
                sock = socket.create_connection(address, timeout=5)
                sock.sendall(PARTIAL_HEAD)
                held.append(sock)
            time.sleep(1)
            each = (worker_rss_kib(server.pid) - before) / WAITING
            # the rest of the head: the gate hands the connection to a greenlet
            last = held[-1]
            last.sendall(b"1\r\n\r\n")
            answer = last.recv(65536)
        finally:
            for sock in held:
                sock.close()
    assert each < MOST_KIB_EACH, f"{each:.1f} KiB a waiting connection"
    assert statuses(answer) == [200], answer


SPREAD = 300
SPREAD_DEADLINE = SHORT.header


def test_a_flood_that_meets_its_deadline_together_is_refused_one_a_turn(
    short_deadlines: tuple[str, int],
) -> None:
    """Refused at once, a flood would reconnect at once, past the listen queue."""
    allow_open_files(SPREAD + 500)
    held: list[socket.socket] = []
    address = short_deadlines
    with selectors.DefaultSelector() as selector:
        try:
            opening = time.monotonic()
            for _ in range(SPREAD):
                sock = socket.create_connection(address, timeout=5)
                selector.register(sock, selectors.EVENT_READ)
                held.append(sock)
            opened_in = time.monotonic() - opening
            closed_at: list[float] = []
            while len(closed_at) < SPREAD and time.monotonic() < opening + SPREAD_DEADLINE + 10:
                for key, _ in selector.select(timeout=1):
                    assert key.fileobj.recv(65536) == b""  # type: ignore[union-attr]
                    closed_at.append(time.monotonic() - opening)
                    selector.unregister(key.fileobj)
        finally:
            for sock in held:
                sock.close()
    # the flood opened within far less than a turn of the loop for each connection
    assert opened_in < 0.1, opened_in
    assert len(closed_at) == SPREAD
    assert min(closed_at) >= SPREAD_DEADLINE
    # one refusal a turn, of at least a millisecond, spreads them out
    assert max(closed_at) - min(closed_at) > 0.25, (min(closed_at), max(closed_at))


def open_files_soft_limit(pid: int) -> int:
    return proc_figure(f"/proc/{pid}/limits", "Max open files", 3)


def test_a_worker_raises_its_open_file_limit_for_its_slots(tmp_path: Path) -> None:
    """A shell's soft limit is often 1,024: far fewer files than the default slots."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # gunicorn inherits the limit it starts with
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        with one_worker(tmp_path) as (_, server):
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            master = open_files_soft_limit(server.pid)
            worker = open_files_soft_limit(worker_pid(server.pid))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    slots = Settings.from_environ({}).worker_connections
    assert master == 1024
    assert worker >= min(slots, hard), worker


# a request line gunicorn parses itself (absolute-form): it takes a greenlet at once,
# and the rest of its head never comes
HELD_HEAD = b"GET http://ibdevserver/healthz HTTP/1.1\r\nHost: ibdevserver\r\nX-Slow: "


def test_heads_that_hold_every_greenlet_give_one_up_for_a_whole_head(tmp_path: Path) -> None:
    holders = GREENLETS + EVICTION_HEADROOM + 50
    allow_open_files(holders + 500)
    held: list[socket.socket] = []
    with one_worker(tmp_path, IBDEVSERVER_HEADER_TIMEOUT="30") as (address, _):
        try:
            for _ in range(holders):
                sock = socket.create_connection(address, timeout=5)
                sock.sendall(HELD_HEAD)
                held.append(sock)
            time.sleep(1)
            started = time.monotonic()
            with socket.create_connection(address, timeout=5) as honest:
                honest.sendall(HEAD)
                answer = honest.recv(65536)
            elapsed = time.monotonic() - started
            first = held[0].recv(65536)
        finally:
            for sock in held:
                sock.close()
    assert statuses(answer) == [200], answer
    assert elapsed < 2, elapsed
    # the head that had waited longest gave its greenlet up
    assert statuses(first) == [503], first


def test_the_connections_a_worker_holds_fit_its_hard_open_file_limit() -> None:
    """Past the hard limit accept would fail (EMFILE) before any slot is evicted."""
    probe = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 1024))\n"
        "from service.server.worker import connections_within_file_limit\n"
        "print(connections_within_file_limit(10000), connections_within_file_limit(500))\n"
        "print(*resource.getrlimit(resource.RLIMIT_NOFILE))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert shown == [str(1024 - FILES_BEYOND_SLOTS), "500", "1024", "1024"]


def test_the_gate_buffers_what_gunicorns_request_line_limit_lets_through() -> None:
    # a line at the limit and its CRLF fit the gate's buffer; a longer one reaches
    # gunicorn's parser, which answers 414 (service/server/gate.py's PREFIX_BYTES)
    assert gunicorn_conf.limit_request_line + len(b"\r\n") == PREFIX_BYTES
