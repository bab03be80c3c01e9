"""Drive a server with wrk and read its figures."""

import re
import subprocess
from dataclasses import dataclass

UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
LATENCY = re.compile(r"^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")


@dataclass
class WrkResult:
    requests_per_second: float
    p50: float
    p99: float
    failures: int


def parse(output: str) -> WrkResult:
    """Read wrk's --latency report: rate, p50 and p99 in seconds, and failed requests."""
    rate = RATE.search(output)
    latencies = {int(q): float(value) * UNITS[unit] for q, value, unit in LATENCY.findall(output)}
    if rate is None or set(latencies) != {50, 99}:
        raise ValueError(f"wrk printed no figures:\n{output}")
    non_2xx = NON_2XX.search(output)
    socket_errors = SOCKET_ERRORS.search(output)
    failures = int(non_2xx[1]) if non_2xx else 0
    if socket_errors:
        failures += sum(int(count) for count in socket_errors.groups())
    return WrkResult(float(rate[1]), latencies[50], latencies[99], failures)


def run_wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str] | None = None
) -> WrkResult:
    """Load `url` (a loopback address) with keep-alive connections for `seconds`."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"the benchmark sends traffic to 127.0.0.1 only, not to {url}")
    command = [
        "wrk",
        f"--threads={min(connections, 2)}",
        f"--connections={connections}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=5s",
        "--latency",
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    output = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    return parse(output)
