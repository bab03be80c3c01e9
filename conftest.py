"""How pytest spreads a run over workers (pytest-xdist); mutmut's runs ask for none."""

from pathlib import Path

import pytest

FAST_TESTS = Path(__file__).resolve().parent / "tests"
# the fast tests mostly wait on their gunicorns' deadlines, not on the CPU: two workers
# nearly halve the wait on 2 cores (docs/testing.md)
FAST_WORKERS = 2


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto` (setup.cfg): two workers when only the fast tests run, else none.

    The compose-level suite's stacks share one engine and its names: they run one at a
    time, in the one process, as CI has always run them.
    """
    paths = [(config.invocation_params.dir / arg.split("::")[0]).resolve() for arg in config.args]
    fast = bool(paths) and all(path.is_relative_to(FAST_TESTS) for path in paths)
    return FAST_WORKERS if fast else 0
