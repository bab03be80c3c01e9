"""gunicorn's gevent worker, with the runtime this service relies on in one place.

- A request-head deadline (IBDEVSERVER_HEADER_TIMEOUT) for the request line and
  headers of every request, apart from how long a kept-alive connection may sit idle
  (gunicorn's `keepalive`). gunicorn's own worker ties the two: it wraps each head
  read in `gevent.Timeout(keepalive)`.
- An immediate 400 for a first byte that cannot start an HTTP method (a TLS
  ClientHello, a NUL): no waiting for a line end that may never come.
- A new connection waits for its head in the hub, without a greenlet
  (service/server/gate.py): a flood of half-sent heads costs about 1 KiB a
  connection, not a greenlet's 14 KiB, so a worker holds 10,000 of them.
- Slots a flood cannot hold (service/server/slots.py): the worker keeps accepting
  past `worker_connections`, and a new connection over it evicts the connection
  idle longest, else the one whose head has waited longest.
- A lingering close for a body still on its way (IBDEVSERVER_BODY_TIMEOUT,
  service/server/linger.py): the answered connection leaves its greenlet, and the
  hub reads and drops the rest of its body before closing it, so that a slow-body
  client cannot turn each close into another whole request.
- The fairness yield (IBDEVSERVER_FAIRNESS_YIELD): after each request, wait until
  every other ready connection has been served, so that a keep-alive client that
  sends its next request at once cannot starve the rest.
- A drain on SIGTERM (IBDEVSERVER_DRAIN_SECONDS): /readyz answers 503 at once while
  the worker goes on serving, in flight and new, for that long; then it stops
  gracefully as gunicorn's worker does. Endpoints have time to drop the server
  before its listener closes.
- Flushing a buffered access log (service/server/access_log.py) while the worker idles,
  and when it exits.
"""

import contextlib
import functools
import resource
import signal
import socket
import time
from http import HTTPStatus
from typing import Any

import gevent
from gevent.server import StreamServer
from gunicorn.http.body import LengthReader
from gunicorn.http.errors import ParseException
from gunicorn.workers.ggevent import GeventWorker

from service.server import answers
from service.server.answers import TOKEN_BYTES, Evicted, HeadTimeout, NotHttp
from service.server.connection import Connection, Phase
from service.server.gate import HeadGate
from service.server.head import check_head
from service.server.lifecycle import is_draining, serve_for, start_draining
from service.server.linger import DISCARD_BYTES, READ_BYTES, Lingerer
from service.server.slots import Slots
from service.settings import Settings

ACCESS_LOG_FLUSH_SECONDS = 0.5
# how often serve() looks whether the worker is to stop, and then whether what was in
# flight has settled: gunicorn's worker looks once a second, so every stop (a `docker
# stop`, a rolling update, a test's gunicorn) waited up to a second for nothing; ten
# looks a second are ten wakeups of an idle hub, nothing a flood notices
STOP_CHECK_SECONDS = 0.1
# greenlets for connections whose head has come, kept-alive ones and those the
# app answers; one more evicts the one idle longest, else the oldest head
GREENLETS = 1000
# greenlets beyond those, for evicted connections on their way out
EVICTION_HEADROOM = 100
# files a worker opens besides its connections: the listeners, logs, metrics, /proc
SPARE_FILES = 100
# files beyond the slots: young silent connections over them (server/slots.py),
# evicted ones on their way out, and the spare
FILES_BEYOND_SLOTS = 2 * EVICTION_HEADROOM + SPARE_FILES


class HeadDeadlineSocket:
    """The client socket as gunicorn's request parser sees it, with deadlines on head reads.

    It holds the connection (service/server/connection.py) while its greenlet runs.
    A new connection's whole first head is due `header_timeout` after accept. After
    each response it is IDLE: the next request's first byte is due within
    `keepalive`, and that head is then due `header_timeout` after it.
    Bytes a client pipelined behind an earlier request sit in the parser's buffer,
    not here: gunicorn's parser checks those itself.
    """

    def __init__(
        self,
        sock: Any,
        connection: Connection,
        header_timeout: float,
        keepalive: float,
        prefix: bytes,
    ) -> None:
        # the fairness yield's idle watcher, made once a connection, not once a request
        self.turn: Any = None
        self.evicted = False
        # where close() hands the connection, and how much of its body to read there
        self._linger: tuple[Lingerer, int] | None = None
        self._sock = sock
        self.connection = connection
        connection.hand_to(self)
        self._header_timeout = header_timeout
        self._keepalive = keepalive
        self._head_started = False
        # what the head gate (service/server/gate.py) read before this greenlet began
        self._prefix = prefix
        self._deadline = connection.accepted + header_timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        self._sock.sendall(data, flags)

    def linger_in(self, lingerer: Lingerer, left: int) -> None:
        """Once closed, the connection goes to `lingerer` while `left` bytes of its body come."""
        self._linger = lingerer, left

    def close(self) -> None:
        if self._linger is None:
            self._sock.close()
            self.connection.close()
            return
        lingerer, left = self._linger
        self._linger = None
        # the socket object stays behind, closed: gevent's server closes it too
        lingerer.take(self.connection, self._sock.detach(), left)

    def head_done(self) -> None:
        self.connection.answering()

    def await_next_head(self) -> None:
        """The response is sent: the connection now idles until the next request."""
        self._head_started = False
        self._deadline = time.monotonic() + self._keepalive
        self.connection.answered()

    def evict(self) -> None:
        """Wake this connection's pending read: it raises Evicted (see recv)."""
        self.evicted = True
        # gevent's shutdown throws into the greenlet waiting on this socket, if any
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RD)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._prefix:
            prefix, self._prefix = self._prefix[:size], self._prefix[size:]
            return self._arrived(prefix)
        if self.connection.phase is Phase.BODY:
            data: bytes = self._sock.recv(size, flags)
            return data
        timer = gevent.Timeout(max(self._deadline - time.monotonic(), 0.0))
        timer.start()
        try:
            data = self._sock.recv(size, flags)
        except gevent.Timeout as expired:
            if expired is not timer:
                raise
            raise HeadTimeout(arrived=self._head_started) from None
        except OSError:
            if not self.evicted:
                raise
            data = b""
        finally:
            timer.close()
        if self.evicted:
            raise Evicted(arrived=self._head_started or bool(data))
        return self._arrived(data)

    def _arrived(self, data: bytes) -> bytes:
        """Check the first byte of a head and start its deadline, as the bytes come."""
        if data and not self._head_started:
            self._head_started = True
            if data[0] not in TOKEN_BYTES:
                raise NotHttp(f"a request cannot begin with byte 0x{data[0]:02x}")
            if self.connection.phase is Phase.IDLE:
                self._deadline = time.monotonic() + self._header_timeout
            self.connection.head_begun()
        return data


def body_left(req: Any, sock: HeadDeadlineSocket) -> int:
    """How much more of an answered request's body to read and drop before its close (0:
    nothing to wait for). With a Content-Length, what has not come of it; chunked, whose
    end only its own framing tells, what DISCARD_BYTES leaves once what is here is read."""
    reader = req.body.reader
    if isinstance(reader, LengthReader):
        return max(reader.length - len(reader.unreader.buf.getvalue()), 0)
    sock.settimeout(0.0)
    read = 0
    try:
        while read < DISCARD_BYTES:
            chunk = req.body.read(READ_BYTES)
            if not chunk:
                return 0
            read += len(chunk)
    except BlockingIOError:
        return DISCARD_BYTES - read
    except (OSError, ParseException):
        # gone, or malformed past where the answer was made: nothing to wait for
        return 0
    return 0


class NamedListener:
    """A listener whose name outlives its close.

    gunicorn asks the listener its name as each connection's greenlet begins; with the
    gate, a head on its way when the worker stops accepting (and closes its listeners)
    begins its greenlet afterwards, and is still served.
    """

    def __init__(self, listener: Any) -> None:
        self._listener = listener
        self._name = listener.getsockname()

    def getsockname(self) -> Any:
        return self._name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._listener, name)


def connections_within_file_limit(connections: int) -> int:
    """Raise the soft limit on open files for `connections`, up to the hard limit, and
    return how many connections fit within it.

    Every slot may be a socket, and a shell's soft limit is often 1,024 while its
    hard limit is far higher (Go's runtime raises it the same way).
    """
    wanted = connections + FILES_BEYOND_SLOTS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        soft = wanted
    if soft == resource.RLIM_INFINITY:
        return connections
    return max(min(connections, soft - FILES_BEYOND_SLOTS), 1)


class Worker(GeventWorker):
    """gunicorn's gevent worker: head deadlines, eviction, the fairness yield, log flushing."""

    def init_process(self) -> None:
        # any token is a method (RFC 9110 9.1): gunicorn refuses a lower-case one
        # (`get`), or one of under 3 or over 20 bytes, with a 400 unless told
        # otherwise; the app answers it as any method a path lacks (service/web/errors.py)
        self.cfg.set("permit_unconventional_http_method", True)
        settings = Settings.from_environ()
        self.header_timeout = settings.header_timeout
        self.body_timeout = settings.body_timeout
        # made in serve(): TLS connections are closed, not held (their bytes are records)
        self.lingerer: Lingerer | None = None
        self.fairness_yield = settings.fairness_yield
        self.drain_seconds = settings.drain_seconds
        serve_for(self.ppid)
        connections = connections_within_file_limit(self.worker_connections)
        if connections < self.worker_connections:
            self.log.warning("The open-file limit allows %s connections a worker", connections)
        # a connection holds a greenlet once its head has come (server/gate.py), or
        # with TLS from accept on (no head can be read before the handshake); a new
        # one over either limit evicts another (server/slots.py)
        held = min(connections, GREENLETS)
        self.greenlet_slots = Slots(held)
        # the slots a connection holds from accept to close
        self.slots = (self.greenlet_slots if self.cfg.is_ssl
                      else Slots(connections, headroom=EVICTION_HEADROOM))  # fmt: skip
        # gevent's pool, which stops accepting when it is full: the greenlets and
        # those of evicted connections on their way out
        self.worker_connections = held + EVICTION_HEADROOM
        super().init_process()

    def init_signals(self) -> None:
        super().init_signals()
        # held since the fork (gunicorn_conf.pre_fork): one that came meanwhile is taken
        # now, by these handlers
        signal.pthread_sigmask(signal.SIG_UNBLOCK, self.SIGNALS)

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: drain first (readiness fails, serving goes on), then stop gracefully."""
        if self.drain_seconds <= 0 or is_draining():
            super().handle_exit(sig, frame)
            return
        start_draining()
        self.log.info("Draining for %s s before stopping", self.drain_seconds)
        gevent.spawn_later(self.drain_seconds, super().handle_exit, sig, frame)

    def timeout_ctx(self) -> contextlib.nullcontext[None]:  # type: ignore[override]
        # the deadlines live in HeadDeadlineSocket, not around each head read
        return contextlib.nullcontext()

    def handle(
        self,
        listener: Any,
        client: Any,
        addr: Any,
        prefix: bytes = b"",
        connection: Connection | None = None,
    ) -> None:
        if connection is None:
            # with TLS no gate comes before: a new connection
            connection = Connection()
        wrapped = HeadDeadlineSocket(
            client, connection, self.header_timeout, self.cfg.keepalive, prefix
        )
        # the gate's connection holds its slot already; each takes a greenlet's
        connection.enter(self.slots)
        connection.enter(self.greenlet_slots)
        try:
            super().handle(listener, wrapped, addr)  # type: ignore[arg-type]
        finally:
            # a lingering connection holds no greenlet; any other is closed by now, or
            # here, where gunicorn's handle failed before its close
            connection.leave(self.greenlet_slots)
            if connection.phase is not Phase.LINGERING:
                connection.close()
            if wrapped.turn is not None:
                wrapped.turn.close()

    # gevent's handle_request returns nothing, whatever the stubs say
    def handle_request(  # type: ignore[override]
        self, listener_name: Any, req: Any, sock: Any, addr: Any
    ) -> None:
        sock.head_done()
        # the head as RFC 9110 and 9112 want it, or an answer of our own (handle_error)
        body = check_head(req)
        if body or is_draining():
            # nothing here reads a body: close after answering, rather than drain
            # a body of unknown length under the next head's deadline; and a
            # draining server sends its kept-alive clients elsewhere
            req.must_close = True
        try:
            super().handle_request(listener_name, req, sock, addr)
        except StopIteration:
            # answered, and to be closed: a body still on its way lingers first
            if body and self.lingerer is not None and self.alive and sock.fileno() >= 0:
                left = body_left(req, sock)
                if left > 0:
                    sock.linger_in(self.lingerer, left)
            raise
        if self.fairness_yield:
            self.yield_to_others(sock)
        sock.await_next_head()

    @staticmethod
    def yield_to_others(sock: HeadDeadlineSocket) -> None:
        """Wait until every other connection that is ready has been served.

        What gevent.idle() does, but with one idle watcher a connection, reused.
        """
        hub = gevent.get_hub()
        if sock.turn is None:
            sock.turn = hub.loop.idle()
        hub.wait(sock.turn)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answer what the server refuses by itself, as one plain line (server/answers.py)."""
        if isinstance(exc, (HeadTimeout, Evicted)) and not exc.arrived:
            return  # nothing came: nothing to answer
        verdict = answers.classify(exc)
        if verdict is None:
            self.log.exception("Error handling request")
            verdict = HTTPStatus.INTERNAL_SERVER_ERROR, "the server failed"
        elif isinstance(exc, Evicted):
            # one line a flood would make thousands of: debug only
            self.log.debug("Evicted a connection from ip=%s", (addr or ("",))[0])
        else:
            self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], verdict[1])
        with contextlib.suppress(OSError):
            client.sendall(answers.answer(*verdict))

    def run(self) -> None:
        flush = getattr(self.log, "flush_access_log", None)
        if flush is None:
            self.serve()
            return
        flusher = gevent.spawn(self._flush_every, flush)
        try:
            self.serve()
        finally:
            flusher.kill()
            flush()

    def serve(self) -> None:
        """gunicorn's GeventWorker.run, its listeners sharing one HeadGate (server/gate.py)."""
        if self.cfg.is_ssl:
            # the gate reads raw bytes: before a TLS handshake they are no head
            super().run()
            return
        gate = HeadGate(self.worker_connections, self.slots, self.header_timeout, self.refuse)
        self.lingerer = Lingerer(self.body_timeout)
        servers: list[StreamServer] = []
        for listener in self.sockets:
            listener.setblocking(True)
            server = StreamServer(
                listener, handle=functools.partial(self.handle, NamedListener(listener)), spawn=gate
            )
            if self.cfg.workers > 1:
                # as gunicorn's: one accept a wakeup, so the workers share the flood
                server.max_accept = 1
            server.start()
            servers.append(server)
        while self.alive:
            self.notify()
            gevent.sleep(STOP_CHECK_SECONDS)
        for server in servers:
            server.close()
        gate.let_silent_go()
        self.lingerer.let_go()
        # as gunicorn's: serve what is in flight, and heads on their way, until
        # graceful_timeout, then stop
        started = time.time()
        while time.time() - started <= self.cfg.graceful_timeout:
            if gate.settled():
                return
            self.notify()
            gevent.sleep(STOP_CHECK_SECONDS)
        self.log.warning("Worker graceful timeout (pid:%s)", self.pid)
        for server in servers:
            server.stop(timeout=1)

    def refuse(self, client: Any, addr: Any, why: BaseException) -> None:
        """The gate's answer to a connection it refuses: the worker's own (handle_error)."""
        self.handle_error(None, client, addr, why)

    @staticmethod
    def _flush_every(flush: Any) -> None:
        while True:
            gevent.sleep(ACCESS_LOG_FLUSH_SECONDS)
            flush()
