"""The server's answers judged from outside: schemathesis against the API document, and raw
requests (tests/http_cases.py) against the stack, each with its RFC section."""

import json
import subprocess
import sysconfig
from pathlib import Path

import pytest

from integration.helpers import ROOT, address
from tests.http_cases import CASES, Case, assert_answers, exchange, status_of

SCHEMATHESIS = Path(sysconfig.get_path("scripts")) / "schemathesis"
OPENAPI = json.loads((ROOT / "service" / "web" / "openapi.json").read_text())
# a fixed seed and a bounded run: the same cases every time, in about half a minute
SEED, EXAMPLES = 20261201, 60


def test_schemathesis_finds_nothing_with_every_check(server_url: str, tmp_path: Path) -> None:
    # run where its cache of findings (.schemathesis/) may go: never into the tree
    result = subprocess.run(
        [str(SCHEMATHESIS), "run", f"{server_url}/openapi.json", "--checks", "all",
         "--seed", str(SEED), "--max-examples", str(EXAMPLES), "--request-timeout", "10",
         "--no-color"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.rfc}: {case.name}")
def test_each_raw_request_gets_what_the_rfc_says(server_url: str, case: Case) -> None:
    assert_answers(case, exchange(address(server_url), case.request))


@pytest.mark.parametrize(
    "case", [case for case in CASES if case.request.startswith(b"GET /healthz")]
)
def test_what_the_server_answers_by_itself_is_in_the_api_document(case: Case) -> None:
    assert str(case.status) in OPENAPI["paths"]["/healthz"]["get"]["responses"]


AGREED = [case for case in CASES if case.go_agrees]


@pytest.mark.parametrize("case", AGREED, ids=lambda case: f"{case.rfc}: {case.name}")
def test_the_go_original_answers_these_alike(go_url: str, case: Case) -> None:
    # Host, versions and a head too large for anyone: where the seed and ours agree
    assert status_of(exchange(address(go_url), case.request)) == (case.version, case.status)
