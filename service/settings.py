"""Every IBDEVSERVER_* setting, read once from the environment into one frozen object.

Each field names its variable, default, bounds and what it sets; the README's
configuration table is held to these fields (tests/docs/test_docs.py). The gunicorn
config, the worker, the app factory and the health check read fields, never
os.environ. A bad value raises SettingError naming the variable, so the server
stops at start with that message. Standard library only: gunicorn's master and
the health check import this.
"""

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# the port the server listens on unless IBDEVSERVER_PORT says otherwise; the
# Dockerfile's EXPOSE and the compose and Kubernetes files say it too (tested)
DEFAULT_PORT = 9999
# once a worker stops serving, how long its requests in flight may take to finish
REQUEST_GRACE_SECONDS = 10
# gunicorn's log levels (gunicorn.glogging.Logger.LOG_LEVELS)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
FLAG_WORDS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def setting(
    variable: str,
    default: Any,
    description: str,
    *,
    minimum: float | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """A field read from `variable`; `description` is its line in the README's table."""
    metadata = {
        "variable": variable,
        "description": description,
        "minimum": minimum,
        "choices": choices,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Settings:
    """The service's settings: defaults here, each overridden by its variable."""

    port: int = setting("IBDEVSERVER_PORT", DEFAULT_PORT, "the port gunicorn listens on", minimum=1)
    # every interface by default: inside a container that is the only way in
    host: str = setting(
        "IBDEVSERVER_HOST",
        "0.0.0.0",  # noqa: S104
        "the address gunicorn listens on",
    )
    workers: int = setting("IBDEVSERVER_WORKERS", 2, "gunicorn worker processes", minimum=1)
    worker_connections: int = setting(
        "IBDEVSERVER_WORKER_CONNECTIONS",
        10000,
        "connections one worker holds at most; one waiting for its head costs no greenlet",
        minimum=1,
    )
    header_timeout: float = setting(
        "IBDEVSERVER_HEADER_TIMEOUT",
        10.0,
        "seconds for a request's line and headers, from accept or from a kept-alive "
        "connection's first byte: then 408, or a close if nothing arrived",
        minimum=0.001,
    )
    body_timeout: float = setting(
        "IBDEVSERVER_BODY_TIMEOUT",
        10.0,
        "seconds an answered request's unread body is read and dropped (at most 256 KiB, "
        "without a greenlet) before its connection is closed",
        minimum=0.001,
    )
    drain_seconds: float = setting(
        "IBDEVSERVER_DRAIN_SECONDS",
        0.0,
        "on `SIGTERM`, fail `/readyz` and go on serving this long before stopping",
        minimum=0,
    )
    fairness_yield: bool = setting(
        "IBDEVSERVER_FAIRNESS_YIELD",
        True,
        "after each request, let every other ready connection go first",
    )
    access_log: bool = setting(
        "IBDEVSERVER_ACCESS_LOG",
        True,
        "one access line per request on stdout (`0` only to measure its cost)",
    )
    metrics: bool = setting(
        "IBDEVSERVER_METRICS",
        True,
        "request metrics and `/metrics` (`0` only to measure their cost)",
    )
    status_path: str = setting(
        "IBDEVSERVER_STATUS_PATH", "/proc/1/status", "the file `GET /` serves"
    )
    posture_root: str = setting(
        "IBDEVSERVER_POSTURE_ROOT", "/", "where `/posture` finds `/proc` and `/sys`"
    )
    log_level: str = setting(
        "IBDEVSERVER_LOG_LEVEL", "info", "gunicorn's log level", choices=LOG_LEVELS
    )
    source_revision: str = setting(
        "IBDEVSERVER_SOURCE_REVISION",
        "unknown",
        "the revision `/version` reports (set from the `SOURCE_REVISION` build argument)",
    )

    @property
    def graceful_timeout(self) -> int:
        """Seconds the master waits for its workers after SIGTERM: the drain, then the grace.

        gunicorn takes whole seconds.
        """
        return math.ceil(self.drain_seconds) + REQUEST_GRACE_SECONDS

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """Read every field's variable from `environ` (os.environ by default)."""
        environ = os.environ if environ is None else environ
        values = {
            spec.name: parse(spec, environ[spec.metadata["variable"]])
            for spec in dataclasses.fields(cls)
            if spec.metadata["variable"] in environ
        }
        return cls(**values)


def parse(spec: "dataclasses.Field[Any]", raw: str) -> Any:
    """The value of field `spec` written as `raw`, within its bounds."""
    name, kind = spec.metadata["variable"], spec.type
    if kind is bool:
        if raw.lower() not in FLAG_WORDS:
            raise SettingError(f"{name}={raw!r}: expected 1 or 0 (true or false)")
        return FLAG_WORDS[raw.lower()]
    if kind is int:
        try:
            value: Any = int(raw, 10)
        except ValueError:
            raise SettingError(f"{name}={raw!r}: expected a whole number") from None
    elif kind is float:
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"{name}={raw!r}: expected seconds, such as 10 or 2.5") from None
        if not value < float("inf"):
            raise SettingError(f"{name}={raw!r}: expected a finite number of seconds")
    else:
        value = raw
    minimum, choices = spec.metadata["minimum"], spec.metadata["choices"]
    if minimum is not None and not value >= minimum:
        raise SettingError(f"{name}={raw!r}: expected at least {minimum:g}")
    if choices is not None and value not in choices:
        raise SettingError(f"{name}={raw!r}: expected one of {', '.join(choices)}")
    return value
