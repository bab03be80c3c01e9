"""The compose stack from the host: what a user of `docker compose up --build` gets."""

import docker
import pytest
import requests
from docker.models.containers import Container
from testcontainers.compose import DockerCompose

from integration.helpers import (
    CONTAINER_PORT,
    ROOT,
    StackFactory,
    exchange,
    run_python,
    service_url,
)


def pid_1_status(container: Container) -> dict[str, str]:
    """PID 1's status as read inside the container, a line a key."""
    text = run_python(container, "print(open('/proc/1/status').read())")
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def test_root_is_200_text_plain(server_url: str) -> None:
    response = requests.get(f"{server_url}/", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"


def test_body_is_pid_1_status_and_pid_1_is_gunicorn(
    server_url: str, server_container: Container
) -> None:
    served = dict(
        line.split(":\t", 1) for line in requests.get(server_url, timeout=5).text.splitlines()
    )
    inside = pid_1_status(server_container)
    for key in ("Name", "Pid", "PPid", "Uid", "Gid", "CapEff", "CapBnd", "Seccomp", "NoNewPrivs"):
        assert served[key] == inside[key], key
    assert served["Name"] == "gunicorn"
    assert served["Pid"] == "1"
    assert "gunicorn" in run_python(server_container, "print(open('/proc/1/cmdline').read())")


def test_head_has_the_headers_and_no_body(server_url: str) -> None:
    # on a raw socket: requests never reads a body after HEAD, so it could not see one
    answer = exchange(server_url, b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"\r\nContent-Type: text/plain; charset=utf-8" in head
    assert b"\r\nContent-Length: " in head
    assert body == b""


def test_unknown_path_is_a_plain_404(server_url: str) -> None:
    response = requests.get(f"{server_url}/nope", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("404 Not Found")


def test_other_method_is_a_plain_405_with_allow(server_url: str) -> None:
    response = requests.post(server_url, data=b"x", timeout=5)
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "GET" in response.headers["Allow"]
    assert response.text.startswith("405 Method Not Allowed")


def test_error_path_answers_500_and_logs_the_cause(broken_url: str, stack: DockerCompose) -> None:
    response = requests.get(broken_url, timeout=5)
    assert response.status_code == 500
    assert response.text == "error occurred"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    stdout, stderr = stack.get_logs("broken")
    assert (
        "cannot read status file /nonexistent/status: [Errno 2] No such file or directory"
        in stdout + stderr
    )
    # and it keeps serving
    assert requests.get(f"{broken_url}/healthz", timeout=5).status_code == 200


def test_server_health_is_the_images_own_readiness_probe(server_container: Container) -> None:
    # `up --wait` saw "healthy"; this checks that the image's probe of /readyz decided it
    assert server_container.attrs["Config"]["Healthcheck"]["Test"] == [
        "CMD",
        "python",
        "-m",
        "service.healthcheck",
    ]
    log = server_container.attrs["State"]["Health"]["Log"]
    assert log
    assert log[-1]["ExitCode"] == 0, log[-1]


def test_container_port_is_9999(server_container: Container) -> None:
    assert f"{CONTAINER_PORT}/tcp" in server_container.attrs["Config"]["ExposedPorts"]
    published = server_container.attrs["NetworkSettings"]["Ports"][f"{CONTAINER_PORT}/tcp"]
    assert published
    assert published[0]["HostIp"] == "127.0.0.1"


def test_compose_file_publishes_host_port_9999_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # what a user gets with no overrides in the environment
    for name in ("IBDEVSERVER_HOST_ADDRESS", "IBDEVSERVER_HOST_PORT"):
        monkeypatch.delenv(name, raising=False)
    config = DockerCompose(context=ROOT, compose_file_name="docker-compose.yml").get_config()
    (port,) = config["services"]["server"]["ports"]
    assert port["target"] == CONTAINER_PORT
    assert port["published"] == "9999"
    assert port["host_ip"] == "127.0.0.1"


class FailedWhileUp(Exception):
    """Raised by a test while its stack is up, to check that teardown still happens."""

    def __init__(self, project: str) -> None:
        super().__init__(project)
        self.project = project


def fail_while_up(compose: DockerCompose, first_url: str) -> None:
    """Bring `compose` up beside the first stack, check it serves, then fail."""
    with compose:
        url = service_url(compose, "server")
        assert url != first_url
        assert requests.get(url, timeout=5).status_code == 200
        project = compose.get_container("server").Project
        assert project
        raise FailedWhileUp(project)


def test_a_second_stack_runs_beside_the_first_and_leaves_nothing_behind(
    stack: DockerCompose, new_stack: StackFactory, docker_client: docker.DockerClient
) -> None:
    with pytest.raises(FailedWhileUp) as failed:
        fail_while_up(new_stack(), service_url(stack, "server"))
    label = f"com.docker.compose.project={failed.value.project}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert docker_client.networks.list(filters={"label": label}) == []
    # the first stack is untouched
    assert stack.get_container("server").Health == "healthy"
