"""Settings from the environment: strings stay strings, bad values fail clearly."""

from pathlib import Path

import pytest

from service.app import create_app
from service.settings import SettingError, env_flag, env_int, env_seconds


@pytest.mark.parametrize("revision", ["8968e50", "12e4567", "1234567", "true", "null"])
def test_source_revision_stays_the_string_given(
    monkeypatch: pytest.MonkeyPatch, status_file: Path, revision: str
) -> None:
    monkeypatch.setenv("IBDEVSERVER_SOURCE_REVISION", revision)
    monkeypatch.setenv("IBDEVSERVER_STATUS_PATH", str(status_file))
    response = create_app().test_client().get("/version")
    assert response.get_json()["revision"] == revision


@pytest.mark.parametrize(
    ("read", "raw"),
    [
        (lambda: env_int("X_SETTING", 1), "two"),
        (lambda: env_int("X_SETTING", 1, minimum=1), "0"),
        (lambda: env_seconds("X_SETTING", 1.0), "soon"),
        (lambda: env_seconds("X_SETTING", 1.0), "-1"),
        (lambda: env_seconds("X_SETTING", 1.0), "inf"),
        (lambda: env_flag("X_SETTING", True), "maybe"),
    ],
)
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, read, raw: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("X_SETTING", raw)
    with pytest.raises(SettingError, match="X_SETTING"):
        read()


def test_good_values_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_SETTING", raising=False)
    assert env_seconds("X_SETTING", 2.5) == 2.5
    monkeypatch.setenv("X_SETTING", "0")
    assert env_flag("X_SETTING", True) is False
    assert env_seconds("X_SETTING", 2.5) == 0.0


def test_metrics_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, status_file: Path) -> None:
    monkeypatch.setenv("IBDEVSERVER_STATUS_PATH", str(status_file))
    monkeypatch.setenv("IBDEVSERVER_METRICS", "0")
    client = create_app().test_client()
    assert client.get("/").status_code == 200
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("IBDEVSERVER_METRICS", "sometimes")
    with pytest.raises(SettingError, match="IBDEVSERVER_METRICS"):
        create_app()
