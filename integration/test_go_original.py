"""The benchmark's Go peer (bench/go_original), built as the benchmark builds it, behaves as
the Go original: /proc/1/status as text/plain on port 9999, a static binary alone."""

import docker
import requests

from bench.containers import GO
from bench.layers import image_layers


def test_serves_pid_1_status_as_text_plain_from_a_lone_static_binary(
    docker_client: docker.DockerClient, go_url: str
) -> None:
    (layer,) = image_layers(GO)
    assert sorted(path.removeprefix("./") for path in layer.paths) == ["server"]
    assert docker_client.images.get(GO).attrs["Config"]["User"] == "10001:10001"
    response = requests.get(f"{go_url}/any/path", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain"
    status = dict(line.split(":\t", 1) for line in response.text.splitlines())
    assert status["Name"] == "server"
    assert status["Uid"].split()[0] == "10001"
