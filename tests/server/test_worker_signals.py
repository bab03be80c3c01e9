"""A signal that comes while a worker boots is taken once the worker's handlers are set,
not lost: the signals are held across the fork (gunicorn_conf.pre_fork) and released by
Worker.init_signals, and the master takes its own back as the fork returns."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service import gunicorn_conf
from tests.servers import children, free_port, gunicorn_environment

# a worker that boots slowly, in a config that is the shipped one otherwise: the window
# between the fork and the worker's own handlers, made wide enough to signal into
SLOW_BOOT = """\
import time

from service.gunicorn_conf import *  # noqa: F403


def post_fork(server, worker):
    time.sleep({seconds})
"""
BOOT_SECONDS = 1.5


def test_a_sigterm_while_the_worker_boots_stops_gunicorn_once_it_has_booted(
    tmp_path: Path,
) -> None:
    config = tmp_path / "slow_boot.py"
    config.write_text(SLOW_BOOT.format(seconds=BOOT_SECONDS))
    status = tmp_path / "status"
    status.write_text("Name:\tgunicorn\n")
    environment = gunicorn_environment(
        free_port(), status, IBDEVSERVER_WORKERS="1", IBDEVSERVER_DRAIN_SECONDS="0"
    )
    with (tmp_path / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(config)],
            env=environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not children(server.pid):
            assert server.poll() is None, "gunicorn exited before it forked a worker"
            assert time.monotonic() < deadline, "no worker forked within 20 s"
            time.sleep(0.01)
        signalled = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        # lost, the worker's SIGTERM left the master waiting out its graceful_timeout (10 s)
        assert time.monotonic() - signalled < BOOT_SECONDS + 3
        assert server.returncode == 0
    finally:
        server.kill()
        server.wait()


def test_the_master_takes_its_signals_back_after_a_fork_and_a_worker_leaves_them() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
    try:
        gunicorn_conf.release_signals(os.getpid() + 1)  # a worker's own fork
        assert signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        gunicorn_conf.release_signals(os.getpid())
        assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM])
