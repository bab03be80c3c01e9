"""A connection flood from one client, and an honest client beside it (issue 18).

The attacker, a process of its own, keeps `count` connections open to 127.0.0.1 (from
the loopback SOURCES, the honest client from 127.0.0.1):
"slow", each has sent part of a head and sends one more header byte a second;
"idle", each is opened and left silent; "body" (R.U.D.Y., issue 25), each has sent
a whole head that declares a body of BODY_BYTES and sends one byte of it a second,
reading and dropping any answer; "mixed", a third of each at once. Any connection
the server closes is opened again at once (a slow head's answer is the server
letting go of it too). Once every connection is open, and each slow body has had
its answer (its opening is a whole request), the honest client sends one `GET /`
every 100 ms, each on a new connection with a 3 s timeout. Memory is the container's
cgroup, sampled throughout. Everything is bounded in count and time.
"""

import errno
import multiprocessing
import resource
import selectors
import socket
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.containers import Stack, docker

KINDS = ("slow", "idle", "body", "mixed")
# what a mixed flood's connections are, in turn
MIXED = ("slow", "body", "idle")
PARTIAL_HEAD = b"GET / HTTP/1.1\r\nHost: flood\r\nX-Flood: "
BODY_BYTES = 100_000
BODY_HEAD = b"POST / HTTP/1.1\r\nHost: flood\r\nContent-Length: %d\r\n\r\n" % BODY_BYTES
HONEST_HEAD = b"GET / HTTP/1.1\r\nHost: honest\r\nConnection: close\r\n\r\n"
HONEST_EVERY, HONEST_TIMEOUT = 0.1, 3.0
# how long the attacker may take to open its connections before the honest client starts
RAMP_SECONDS = 15.0
MEMORY_EVERY = 0.2
SETTLE_SECONDS = 5.0
CGROUP = Path("/sys/fs/cgroup/memory/docker")
# the attacker's source addresses, all loopback. connect() picks a port by searching the
# ephemeral range for one free towards its destination, its even ports first
# (Linux's __inet_hash_connect): from one address, ~19,000 connections fill that half, each
# connect then takes about a millisecond, and the attacker falls behind the server's closes
# and reopens them in bursts. Spread over these, every connect finds a port at once.
SOURCES = tuple(f"127.0.0.{host}" for host in range(2, 6))
# the port is chosen at connect() for the whole address pair, not at bind() for the source
IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


@dataclass
class FloodRun:
    """One flood against one target: the honest client's outcomes and the container's memory."""

    target: str
    kind: str
    count: int
    seconds: float
    # seconds each answered honest request took; `sent` counts every attempt
    latencies: list[float] = field(default_factory=list)
    sent: int = 0
    held: int = 0
    reopened: int = 0
    peak_memory: int = 0
    memory_limit: int = 0
    oom_killed: bool = False
    restarts: int = 0

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def p99(self) -> float | None:
        if len(self.latencies) < 2:
            return max(self.latencies, default=None)
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[98]


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise RuntimeError(f"RLIMIT_NOFILE's hard limit {hard} is below {needed}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


class Attacker:
    """`count` connections to `port`, kept open; run in a process of its own."""

    def __init__(self, port: int, count: int, kind: str) -> None:
        self.address = ("127.0.0.1", port)
        self.count, self.kind = count, kind
        self.selector = selectors.DefaultSelector()
        self.connected: set[socket.socket] = set()
        # each connection's kind: a mixed flood's are a third of each
        self.kinds: dict[socket.socket, str] = {}
        self.opened = 0
        self.reopened = 0
        # answers the slow bodies read (each arrives in one read, on loopback), and the
        # slow bodies not answered yet: the flood is in place once each has its answer
        self.answered = 0
        self.unanswered: set[socket.socket] = set()
        # why connections were opened again: the server refused, a send failed, it closed
        self.reasons = {"refused": 0, "send": 0, "closed": 0}

    def open_one(self) -> None:
        sock = socket.socket()
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        sock.bind((SOURCES[self.opened % len(SOURCES)], 0))
        sock.connect_ex(self.address)
        self.selector.register(sock, selectors.EVENT_WRITE)
        self.kinds[sock] = MIXED[self.opened % 3] if self.kind == "mixed" else self.kind
        self.opened += 1

    def reopen(self, sock: socket.socket, reason: str = "closed") -> None:
        self.reasons[reason] += 1
        self.selector.unregister(sock)
        self.connected.discard(sock)
        self.unanswered.discard(sock)
        self.kinds.pop(sock, None)
        sock.close()
        self.reopened += 1
        self.open_one()

    def on_event(self, sock: socket.socket, events: int) -> None:
        if sock not in self.connected:
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                self.reopen(sock, "refused")
                return
            self.connected.add(sock)
            self.selector.modify(sock, selectors.EVENT_READ)
            opening = {"slow": PARTIAL_HEAD, "body": BODY_HEAD}.get(self.kinds[sock])
            if opening is BODY_HEAD:
                self.unanswered.add(sock)
            if opening is not None:
                self.send(sock, opening)
            return
        if self.kinds[sock] == "body":
            # the answer to the head is no reason to go: only a close is
            try:
                if data := sock.recv(65536):
                    self.answered += data.startswith(b"HTTP/1.")
                    self.unanswered.discard(sock)
                    return
            except BlockingIOError:
                return
            except OSError:
                pass
        # a slow head's answer, or a close: the server let go, so open another
        self.reopen(sock)

    def send(self, sock: socket.socket, data: bytes) -> bool:
        try:
            sock.send(data)
        except OSError as error:
            if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                return True
            self.reopen(sock, "send")
            return False
        return True

    def run(self, seconds: float, ready: Any, report: Any) -> None:
        raise_file_limit(self.count + 100)
        for _ in range(self.count):
            self.open_one()
        ends = time.monotonic() + seconds
        next_byte = time.monotonic() + 1
        announced = False
        while (now := time.monotonic()) < ends:
            for key, events in self.selector.select(timeout=min(0.1, next_byte - now)):
                self.on_event(key.fileobj, events)  # type: ignore[arg-type]
            if not announced and len(self.connected) >= self.count and not self.unanswered:
                ready.set()
                announced = True
            if time.monotonic() >= next_byte:
                next_byte += 1
                for sock in list(self.connected):
                    if self.kinds.get(sock) in ("slow", "body"):
                        self.send(sock, b"a")
        print(f"attacker {self.kind} {self.count}: reopened {self.reasons}", file=sys.stderr)
        report.put((len(self.connected), self.reopened))
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]


def attack(port: int, count: int, kind: str, seconds: float, ready: Any, report: Any) -> None:
    Attacker(port, count, kind).run(seconds, ready, report)


def honest_request(port: int) -> float | None:
    """Seconds one `GET /` on a new connection took to a whole 200, or None."""
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=HONEST_TIMEOUT) as sock:
            sock.sendall(HONEST_HEAD)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
                if time.monotonic() - started > HONEST_TIMEOUT:
                    return None
    except OSError:
        return None
    if not answer.startswith(b"HTTP/1.1 200 "):
        return None
    return time.monotonic() - started


def honest_client(port: int, seconds: float, run: FloodRun) -> None:
    """One request every HONEST_EVERY seconds, each in its own thread, for `seconds`."""
    threads = []

    def one() -> None:
        latency = honest_request(port)
        if latency is not None:
            run.latencies.append(latency)

    starts = time.monotonic()
    for index in range(round(seconds / HONEST_EVERY)):
        time.sleep(max(starts + index * HONEST_EVERY - time.monotonic(), 0))
        thread = threading.Thread(target=one)
        thread.start()
        threads.append(thread)
        run.sent += 1
    for thread in threads:
        thread.join(timeout=HONEST_TIMEOUT + 1)


def memory_now(container: str) -> int:
    """The cgroup's usage less inactive page cache, as `docker stats` counts it (cgroup v1)."""
    folder = CGROUP / container
    usage = int((folder / "memory.usage_in_bytes").read_text())
    stat = dict(line.split() for line in (folder / "memory.stat").read_text().splitlines())
    return usage - int(stat["total_inactive_file"])


def sample_memory(container: str, stop: threading.Event, run: FloodRun) -> None:
    while not stop.wait(MEMORY_EVERY):
        try:
            run.peak_memory = max(run.peak_memory, memory_now(container))
        except FileNotFoundError:
            return


def flood(stack: Stack, target: str, kind: str, count: int, seconds: float) -> FloodRun:
    """Flood `target` with `count` connections of `kind` while the honest client runs."""
    port = int(stack.url(target).rsplit(":", 1)[1].strip("/"))
    container = docker("inspect", "--format", "{{.Id}}", stack.container(target))
    run = FloodRun(target, kind, count, seconds)
    context = multiprocessing.get_context("spawn")
    ready, report = context.Event(), context.Queue()
    attacker = context.Process(
        target=attack, args=(port, count, kind, RAMP_SECONDS + seconds + 1, ready, report)
    )
    stop = threading.Event()
    sampler = threading.Thread(target=sample_memory, args=(container, stop, run))
    sampler.start()
    attacker.start()
    try:
        ready.wait(RAMP_SECONDS)
        honest_client(port, seconds, run)
        run.held, run.reopened = report.get(timeout=RAMP_SECONDS + seconds + 30)
    finally:
        attacker.join(timeout=30)
        if attacker.is_alive():
            attacker.kill()
        stop.set()
        sampler.join()
    state = "{{.State.OOMKilled}} {{.RestartCount}} {{.HostConfig.Memory}}"
    oom, restarts, limit = docker("inspect", "--format", state, container).split()
    run.oom_killed, run.restarts, run.memory_limit = oom == "true", int(restarts), int(limit)
    return run


def measure(
    stack: Stack, targets: list[str], counts: list[int], seconds: float, mixed_count: int
) -> list[FloodRun]:
    """Every kind of flood at every count, and the mixed one at `mixed_count` (the client's
    open-file limit, near 19,000 here), against each target, one at a time."""
    runs = []
    plan = [(count, kind) for count in counts for kind in KINDS if kind != "mixed"]
    # a target a flood killed (OOM, no restart policy) has no more runs: its row says so
    fallen: set[str] = set()
    for count, kind in [*plan, (mixed_count, "mixed")]:
        for target in targets:
            if target in fallen:
                continue
            run = flood(stack, target, kind, count, seconds)
            runs.append(run)
            if run.oom_killed or not running(stack.container(target)):
                fallen.add(target)
            # the flood's closes and the server's 408s settle before the next
            time.sleep(SETTLE_SECONDS)
    return runs


def running(container: str) -> bool:
    return docker("inspect", "--format", "{{.State.Running}}", container) == "true"
