"""conftest.py: how many pytest-xdist workers a run gets (`-n auto` in setup.cfg)."""

from pathlib import Path
from types import SimpleNamespace

import pytest

import conftest
from tests.paths import ROOT


@pytest.mark.parametrize(
    ("args", "workers"),
    [
        (["tests"], 2),
        (["tests/server/test_slots.py::test_a_head", "tests/web"], 2),
        # the compose-level suite, alone or with the fast tests: one process
        (["integration"], 0),
        (["tests", "integration"], 0),
        (["integration/test_api.py::test_metrics"], 0),
        (["."], 0),
    ],
)
def test_only_the_fast_tests_run_over_two_workers(args: list[str], workers: int) -> None:
    config = SimpleNamespace(args=args, invocation_params=SimpleNamespace(dir=ROOT))
    assert conftest.pytest_xdist_auto_num_workers(config) == workers  # type: ignore[arg-type]


def test_paths_are_read_from_where_pytest_was_called() -> None:
    config = SimpleNamespace(args=["server"], invocation_params=SimpleNamespace(dir=ROOT / "tests"))
    assert conftest.pytest_xdist_auto_num_workers(config) == 2  # type: ignore[arg-type]
    assert Path(conftest.__file__).parent == ROOT
