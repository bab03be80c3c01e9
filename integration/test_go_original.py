"""The benchmark's Go peer (bench/go_original), built as the benchmark builds it, behaves as
the Go original: /proc/1/status as text/plain on port 9999, a static binary alone."""

import docker
import requests

from bench import images
from bench.containers import GO
from bench.layers import image_layers
from integration.helpers import CONTAINER_PORT, wait_until


def test_serves_pid_1_status_as_text_plain_from_a_lone_static_binary(
    docker_client: docker.DockerClient,
) -> None:
    images.build_go()
    (layer,) = image_layers(GO)
    assert sorted(path.removeprefix("./") for path in layer.paths) == ["server"]
    assert docker_client.images.get(GO).attrs["Config"]["User"] == "10001:10001"
    container = docker_client.containers.run(  # type: ignore[call-overload]
        GO, detach=True, read_only=True, cap_drop=["ALL"],
        ports={f"{CONTAINER_PORT}/tcp": ("127.0.0.1", None)},
    )  # fmt: skip
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"][0]["HostPort"]

        def answer() -> requests.Response | None:
            try:
                return requests.get(f"http://127.0.0.1:{port}/any/path", timeout=1)
            except requests.ConnectionError:
                return None

        response = wait_until(answer, within=10, what="the Go original to answer")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/plain"
        status = dict(line.split(":\t", 1) for line in response.text.splitlines())
        assert status["Name"] == "server"
        assert status["Uid"].split()[0] == "10001"
    finally:
        container.remove(force=True)
