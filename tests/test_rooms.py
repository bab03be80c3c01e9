"""The package's rooms keep their import rules, and the wheel ships every one of them."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
ROOMS = [path.parent for path in sorted((ROOT / "service").rglob("__init__.py"))]


def modules_loaded_by(imports: str) -> set[str]:
    """The top-level modules a fresh interpreter has loaded after `imports`."""
    code = f"{imports}\nimport sys\nprint(' '.join(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return {name.partition(".")[0] for name in loaded.split()} | set(loaded.split())


@pytest.mark.parametrize(
    "imports",
    [
        # what gunicorn's master imports before on_starting sets the metrics directory,
        # which prometheus_client reads as it is first imported (then the app is loaded)
        "import service.gunicorn_conf, service.server.worker, service.server.access_log",
        "import service.healthcheck",
    ],
)
def test_the_server_side_imports_neither_flask_nor_prometheus_client(imports: str) -> None:
    loaded = modules_loaded_by(imports)
    assert {"flask", "prometheus_client", "service.web"} & loaded == set()


def test_procfs_is_pure() -> None:
    loaded = modules_loaded_by(
        "import service.procfs.posture, service.procfs.status_parser, service.procfs.files"
    )
    assert {"flask", "gunicorn", "gevent", "service.web", "service.server"} & loaded == set()


def test_the_import_contracts_hold() -> None:
    # setup.cfg's [importlinter] contracts, indirect imports included: the web room too
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_app_loads_no_gunicorn() -> None:
    loaded = modules_loaded_by("import service.web.app")
    assert {"gunicorn", "gevent", "service.server.answers"} & loaded == set()


def test_every_room_says_what_it_holds_and_may_import() -> None:
    for room in ROOMS:
        docstring = (room / "__init__.py").read_text()
        assert docstring.startswith('"""'), room
        assert len(docstring) > 100, room


# marked tools: pip makes the isolated build environment anew each time (10 to 15 s)
@pytest.mark.tools
def test_the_wheel_ships_every_room_and_its_data(tmp_path: Path) -> None:
    # from a copy of what the Dockerfile copies: a build in the tree would leave
    # build/ behind, and a stale build/ would hide a missing package
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "service", source / "service", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("setup.cfg", "pyproject.toml"):
        shutil.copy2(ROOT / name, source / name)
    # an isolated build environment: the venv's setuptools may be older than pyproject asks
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ibdevserver-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    tracked = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "service").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert tracked <= shipped, tracked - shipped


def test_every_room_has_its_tests_at_the_same_path() -> None:
    # tests/<room>/ mirrors service/<room>/: a module's tests are found by its path
    for room in ROOMS:
        if room == ROOT / "service":
            continue
        tests = ROOT / "tests" / room.relative_to(ROOT / "service")
        assert (tests / "__init__.py").exists(), tests
        assert any(tests.glob("test_*.py")), tests
