"""The app under a real gunicorn, started with the config the image uses."""

import os
import re
import subprocess
import threading
import time
from pathlib import Path

import requests

from tests.access_lines import whole_healthz_line
from tests.prometheus_text import requests_counted
from tests.servers import Served, gunicorn_process, gunicorn_serving


def test_serves_the_status_file_over_http(served: Served) -> None:
    response = requests.get(f"{served.url}/", timeout=5)
    assert response.status_code == 200
    assert response.content == served.status_file.read_bytes()
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Server"] == "gunicorn"


def test_json_view_over_http(served: Served) -> None:
    response = requests.get(served.url, headers={"Accept": "application/json"}, timeout=5)
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["Name"] == "gunicorn"


def test_metrics_are_summed_across_workers(served: Served) -> None:
    # fresh connections spread over both workers; the sum must still be exact
    before = requests.get(f"{served.url}/metrics", timeout=5).text
    for _ in range(20):
        requests.get(f"{served.url}/", headers={"Connection": "close"}, timeout=5)
    after = requests.get(f"{served.url}/metrics", timeout=5).text
    # all 20 more, and all of them 200s
    for labels in ({"endpoint": "/"}, {"endpoint": "/", "status": "200"}):
        assert requests_counted(after, **labels) - requests_counted(before, **labels) == 20.0


def access_lines(log: Path) -> list[str]:
    return [line for line in log.read_text().splitlines() if '"GET / HTTP/1.1" 200' in line]


def test_access_log_line_appears_within_a_second(served: Served) -> None:
    agent = f"access-log-test-{time.monotonic_ns()}"

    def lines() -> list[str]:
        return [line for line in access_lines(served.log) if f'"{agent}"' in line]

    requests.get(served.url, headers={"User-Agent": agent}, timeout=5)
    deadline = time.monotonic() + 2
    while not lines() and time.monotonic() < deadline:
        time.sleep(0.05)
    (line,) = lines()
    assert re.search(r" \d+us pid=<\d+>$", line)


def test_every_access_line_is_written_by_the_time_gunicorn_stops(
    status_file: Path, tmp_path: Path
) -> None:
    log = tmp_path / "stopping.log"
    with gunicorn_serving(status_file, log) as url, requests.Session() as session:
        for _ in range(50):
            assert session.get(url, timeout=5).status_code == 200
    assert len(access_lines(log)) == 50


def test_access_lines_stay_whole_through_a_slow_pipe(status_file: Path) -> None:
    # a container's stdout is a pipe, shared by both workers; read slowly, it fills, and a
    # write larger than PIPE_BUF can then be split by the other worker's
    marker = f"whole-{time.monotonic_ns()}"
    agent = marker + "-" + "a" * 1500
    received = bytearray()
    clients, each = 32, 60
    with gunicorn_process(status_file, subprocess.PIPE) as (url, server):
        assert server.stdout is not None
        pipe = server.stdout.fileno()

        def drain() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and (chunk := os.read(pipe, 4096)):
                received.extend(chunk)
                time.sleep(0.002)

        reader = threading.Thread(target=drain)
        reader.start()

        def client() -> None:
            with requests.Session() as session:
                for _ in range(each):
                    session.get(f"{url}/healthz", headers={"User-Agent": agent}, timeout=10)

        load = [threading.Thread(target=client) for _ in range(clients)]
        for thread in load:
            thread.start()
        for thread in load:
            thread.join(timeout=120)
    reader.join(timeout=130)
    server.stdout.close()
    whole = whole_healthz_line(agent)
    lines = [line for line in received.decode(errors="replace").splitlines() if marker in line]
    assert [line[:100] for line in lines if not whole.match(line)] == []
    assert len(lines) == clients * each
