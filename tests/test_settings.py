"""Settings from the environment: one object, strings stay strings, bad values fail clearly."""

import dataclasses
from pathlib import Path

import pytest

from service.settings import SettingError, Settings
from service.web.app import create_app


@pytest.mark.parametrize("revision", ["8968e50", "12e4567", "1234567", "true", "null"])
def test_source_revision_stays_the_string_given(
    monkeypatch: pytest.MonkeyPatch, status_file: Path, revision: str
) -> None:
    monkeypatch.setenv("IBDEVSERVER_SOURCE_REVISION", revision)
    monkeypatch.setenv("IBDEVSERVER_STATUS_PATH", str(status_file))
    response = create_app().test_client().get("/version")
    assert response.get_json()["revision"] == revision


@pytest.mark.parametrize(
    ("variable", "raw"),
    [
        ("IBDEVSERVER_WORKERS", "two"),
        ("IBDEVSERVER_WORKERS", "0"),
        ("IBDEVSERVER_PORT", "-1"),
        ("IBDEVSERVER_HEADER_TIMEOUT", "soon"),
        ("IBDEVSERVER_HEADER_TIMEOUT", "0"),
        ("IBDEVSERVER_DRAIN_SECONDS", "-1"),
        ("IBDEVSERVER_DRAIN_SECONDS", "inf"),
        ("IBDEVSERVER_DRAIN_SECONDS", "nan"),
        ("IBDEVSERVER_FAIRNESS_YIELD", "maybe"),
        ("IBDEVSERVER_LOG_LEVEL", "loud"),
    ],
)
def test_bad_values_name_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(SettingError, match=variable):
        Settings.from_environ({variable: raw})


def test_every_field_has_its_own_variable_and_a_description() -> None:
    fields = dataclasses.fields(Settings)
    variables = [spec.metadata["variable"] for spec in fields]
    assert len(set(variables)) == len(fields)
    assert all(variable.startswith("IBDEVSERVER_") for variable in variables)
    assert all(spec.metadata["description"] for spec in fields)


def test_good_values_and_defaults() -> None:
    assert Settings.from_environ({}) == Settings()
    settings = Settings.from_environ(
        {"IBDEVSERVER_DRAIN_SECONDS": "2.5", "IBDEVSERVER_ACCESS_LOG": "no", "OTHER": "x"}
    )
    assert settings.drain_seconds == 2.5
    assert settings.access_log is False
    assert settings.graceful_timeout == Settings().graceful_timeout + 3


def test_settings_cannot_change_once_read() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().port = 1  # type: ignore[misc]


def test_metrics_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, status_file: Path) -> None:
    monkeypatch.setenv("IBDEVSERVER_STATUS_PATH", str(status_file))
    monkeypatch.setenv("IBDEVSERVER_METRICS", "0")
    client = create_app().test_client()
    assert client.get("/").status_code == 200
    assert client.get("/metrics").status_code == 404
    monkeypatch.setenv("IBDEVSERVER_METRICS", "sometimes")
    with pytest.raises(SettingError, match="IBDEVSERVER_METRICS"):
        create_app()
