"""Read the service's IBDEVSERVER_* settings from the environment, failing clearly on bad values."""

import os

# the port the server listens on unless IBDEVSERVER_PORT says otherwise; the
# Dockerfile's EXPOSE and the compose and Kubernetes files say it too (tested)
DEFAULT_PORT = 9999


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def env_text(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise SettingError(f"{name}={raw!r}: expected a whole number") from None
    if value < minimum:
        raise SettingError(f"{name}={raw!r}: expected at least {minimum}")
    return value


def env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r}: expected seconds, such as 10 or 2.5") from None
    if not 0 <= value < float("inf"):
        raise SettingError(f"{name}={raw!r}: expected a finite number of seconds, 0 or more")
    return value


def drain_seconds() -> float:
    """IBDEVSERVER_DRAIN_SECONDS: the gunicorn config and the worker both need it."""
    return env_seconds("IBDEVSERVER_DRAIN_SECONDS", 0.0)


def parse_flag(name: str, raw: str) -> bool:
    words = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}
    if raw.lower() not in words:
        raise SettingError(f"{name}={raw!r}: expected 1 or 0 (true or false)")
    return words[raw.lower()]


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else parse_flag(name, raw)
