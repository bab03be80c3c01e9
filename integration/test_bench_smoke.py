"""A short run of the benchmark harness, so that it keeps working (the full run is not a test)."""

import subprocess
import sys
from pathlib import Path

import docker

from bench.containers import OURS
from integration.helpers import ROOT


def test_harness_smoke_run_writes_every_table_and_the_chart(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-go", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tmp_path / "performance.md").read_text()
    for row in (
        "| ours ÷ minimal Flask app, req/s at 8 |",
        "| fairness yield, cost in req/s |",
        "| access log, cost in req/s |",
        "| `/posture` p99, one connection, no other load |",
        "| the metrics (`IBDEVSERVER_METRICS`) |",
        "### server alone",
        "### as users run it",
        "| bare WSGI callable | 8 |",
        "| image bytes |",
        "| cold start: `docker start` to first 200 (median) |",
    ):
        assert row in table
    # both setups measured every target, none failed a request
    assert table.count("| minimal Flask app | 8 |") == 2
    assert (tmp_path / "performance.png").read_bytes().startswith(b"\x89PNG")
    # nothing it started is left running
    assert not docker_client.containers.list(all=True, filters={"ancestor": OURS})
