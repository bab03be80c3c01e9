"""A bounded HTTP load generator: a fixed number of requests over keep-alive connections."""

import http.client
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    bodies: Counter[bytes] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def failed(self) -> int:
        """Requests that got no response or a status other than 2xx."""
        non_2xx = sum(count for status, count in self.statuses.items() if not 200 <= status < 300)
        return non_2xx + sum(self.errors.values())

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())


def run_load(
    url: str,
    total: int,
    connections: int,
    time_limit: float = 120.0,
    keep_bodies: bool = False,
    stop: threading.Event | None = None,
) -> LoadResult:
    """Send `total` GETs to `url` over `connections` keep-alive connections.

    Bounded twice: by the count, and by `time_limit` seconds, after which no new
    request starts. A failed connection is counted and replaced. Once `stop` is set,
    no new request starts either, and none is counted as failed.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    result = LoadResult()
    deadline = time.monotonic() + time_limit
    share, extra = divmod(total, connections)

    def client(count: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(count):
            if stop is not None and stop.is_set():
                break
            if time.monotonic() > deadline:
                with result.lock:
                    result.errors["time limit reached"] += 1
                continue
            try:
                conn.request("GET", target)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                with result.lock:
                    result.errors[type(error).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            with result.lock:
                result.statuses[response.status] += 1
                if keep_bodies:
                    result.bodies[body] += 1
        conn.close()

    with ThreadPoolExecutor(max_workers=connections) as pool:
        for index in range(connections):
            pool.submit(client, share + (1 if index < extra else 0))
    return result
