"""A short run of the benchmark harness, so that it keeps working (the full run is not a test)."""

import subprocess
import sys
from pathlib import Path

import docker

from integration.helpers import ROOT


def test_harness_smoke_run_writes_the_table_and_chart(
    docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--no-peer", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    table = (tmp_path / "performance.md").read_text()
    for row in ("| ours text | 1 |", "| ours json | 8 |", "| bare wsgi | 8 |"):
        assert row in table
    assert "| idle memory, ours |" in table
    assert "| bytes the runtime stage adds to its base |" in table
    assert (tmp_path / "performance.png").read_bytes().startswith(b"\x89PNG")
    # nothing it started is left running
    assert not docker_client.containers.list(filters={"ancestor": "ibdevserver-bench"})
