"""/posture against real containers: the hardened stack, the same image run carelessly,
and the HTML view in a real browser (Debian's Chromium, driven by selenium)."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from testcontainers.compose import DockerCompose

from integration.helpers import ROOT, TEST_IMAGE, running_image
from service.procfs.posture import NOT_OBSERVABLE, ORDERED_RULES
from tests.compose_file import compose_limits

REQUIRED = [rule.id for rule in ORDERED_RULES if rule.required]
SCREENSHOT = ROOT / "docs" / "posture.png"


def report(url: str) -> dict[str, dict[str, Any]]:
    document = requests.get(f"{url}/posture", params={"format": "json"}, timeout=5).json()
    return {check["id"]: check for check in document["checks"]}


def test_the_hardened_stack_passes_every_required_check(server_url: str) -> None:
    checks = report(server_url)
    assert {key: checks[key]["status"] for key in REQUIRED} == dict.fromkeys(REQUIRED, "pass")
    limits = compose_limits()
    assert checks["memory-limit"]["evidence"].endswith(f" {limits.memory_bytes}")
    assert checks["cpu-limit"]["evidence"].endswith(f"({limits.cpus:g} CPUs)")
    assert checks["pids-limit"]["evidence"].endswith(f" {limits.pids}")
    # and better than required: no capability at all
    assert checks["no-capabilities"]["status"] == "pass"


@pytest.fixture(scope="module")
def careless_url(stack: DockerCompose, docker_client: docker.DockerClient) -> Iterator[str]:
    """The suite's image run as people often do: root, a capability more, writable, no limits."""
    with running_image(docker_client, TEST_IMAGE, user="0:0", cap_add=["NET_ADMIN"]) as url:
        yield url


def test_the_same_image_run_carelessly_fails_exactly_what_it_should(careless_url: str) -> None:
    checks = report(careless_url)
    failed = {key for key in REQUIRED if checks[key]["status"] == "fail"}
    assert failed == {
        "non-root-user",
        "no-capabilities-beyond-default",
        "no-capabilities",
        "no-new-privileges",
        "read-only-root",
        "memory-limit",
        "cpu-limit",
        "pids-limit",
    }
    assert checks["seccomp-filter"]["status"] == "pass"
    assert checks["no-runtime-socket"]["status"] == "pass"
    assert (
        "CapEff beyond Docker's default: CAP_NET_ADMIN"
        in (checks["no-capabilities-beyond-default"]["evidence"])
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """Headless Chromium from Debian's packages, through Debian's chromedriver."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium, "chromium is missing: apt-get install chromium"
    assert driver, "chromedriver is missing: apt-get install chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # as root in a sandboxless machine, and with no network beyond loopback
    for flag in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--window-size=1280,1100",
    ):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


def test_the_html_view_shows_every_check_with_no_console_errors(
    browser: webdriver.Chrome, server_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    browser.get(f"{server_url}/posture")
    assert browser.title == "Security posture: ibdevserver"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.checks tbody tr")
    assert [row.get_attribute("id") for row in rows] == [rule.id for rule in ORDERED_RULES]
    unobservable = browser.find_elements(By.CSS_SELECTOR, "table.unobservable tbody tr")
    assert len(unobservable) == len(NOT_OBSERVABLE)
    for row in rows:
        verdict = row.find_element(By.CSS_SELECTOR, "td.verdict").text
        assert verdict in ("✔ PASS", "✘ FAIL", "? UNKNOWN")
        href = row.find_element(By.CSS_SELECTOR, "a").get_attribute("href")
        assert href
        assert href.startswith("https://")
    # the inline style applied: CSP allowed it by its hash
    table = browser.find_element(By.TAG_NAME, "table")
    assert table.value_of_css_property("border-collapse") == "collapse"
    console = browser.get_log("browser")  # type: ignore[no-untyped-call]
    assert [entry for entry in console if entry["level"] in ("SEVERE", "WARNING")] == []
    # the tracked picture is rewritten only when asked (pytest --refresh-screenshot)
    picture = SCREENSHOT if request.config.getoption("refresh_screenshot") else tmp_path / "p.png"
    browser.save_screenshot(str(picture))
    assert picture.read_bytes().startswith(b"\x89PNG")
