"""The master loads once what every worker shares: the app, gevent's patching modules, frozen."""

import gc
import importlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from service import gunicorn_conf

ROOT = Path(__file__).parents[1]


class App:
    """Stands in for gunicorn's application: records the metrics directory the app saw."""

    def __init__(self) -> None:
        self.loads: list[str | None] = []

    def wsgi(self) -> None:
        self.loads.append(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class Server:
    """Stands in for gunicorn's arbiter, as the hooks see it."""

    def __init__(self) -> None:
        self.app = App()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """A process with no frozen objects, and none left frozen after."""
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_on_starting_loads_the_app_once_after_the_metrics_directory_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_7.db").write_bytes(b"left by an earlier run")
    server = Server()
    gunicorn_conf.on_starting(server)
    assert server.app.loads == [str(tmp_path)]
    assert list(tmp_path.iterdir()) == []


def test_on_starting_makes_the_metrics_directory_before_loading_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # set first, so that the variable on_starting sets is taken away after the test
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    made = tmp_path / f"{gunicorn_conf.METRICS_DIR_PREFIX}test"
    monkeypatch.setattr(tempfile, "mkdtemp", lambda **_: str(made))
    server = Server()
    gunicorn_conf.on_starting(server)
    assert server.app.loads == [str(made)]


def test_on_starting_imports_what_gevents_patching_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    imported: list[str] = []
    monkeypatch.setattr(importlib, "import_module", imported.append)
    gunicorn_conf.on_starting(Server())
    assert imported == list(gunicorn_conf.GEVENT_PATCH_MODULES)


def test_pre_fork_freezes_every_object_the_master_holds(unfrozen: None) -> None:
    held = [object()]
    gunicorn_conf.pre_fork(Server(), None)
    # a frozen object is in no generation a collection visits
    assert not any(found is held for found in gc.get_objects())
    assert gc.get_freeze_count() > 0


def test_a_worker_unfreezes_its_objects_as_it_exits(unfrozen: None) -> None:
    gunicorn_conf.pre_fork(Server(), None)
    gunicorn_conf.worker_exit(Server(), None)
    assert gc.get_freeze_count() == 0


def test_the_list_is_what_patch_all_imports() -> None:
    # a fresh interpreter: patch_all would patch this one. What the master has loaded by
    # the time it forks, the list, then the patching a worker does as it starts
    code = (
        "import importlib, sys\n"
        "import gunicorn.app.wsgiapp, gunicorn.glogging, gunicorn.workers.ggevent\n"
        "import service.gunicorn_conf as conf, service.server.worker\n"
        "for name in conf.GEVENT_PATCH_MODULES: importlib.import_module(name)\n"
        "before = set(sys.modules)\n"
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    # gevent's own private modules of gevent.monkey are left to the worker
    assert [name for name in loaded if not name.startswith("gevent.monkey.")] == []
