"""The Flask application factory."""

from typing import Any

from flask import Flask

from service import errors, metrics, posture_views, probes, views
from service.settings import parse_flag

DEFAULTS: dict[str, Any] = {
    # the file `GET /` serves; inside a container PID 1 is the server itself
    "STATUS_PATH": "/proc/1/status",
    # the source revision the image was built from (set by the Dockerfile)
    "SOURCE_REVISION": "unknown",
    # where /posture finds /proc and /sys (tests point it at a fixture tree)
    "POSTURE_ROOT": "/",
    # request metrics and /metrics; off only to measure what they cost (python -m bench)
    "METRICS": True,
}


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application."""
    app = Flask(__name__)
    # keep the kernel's line order in the JSON view
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        # IBDEVSERVER_STATUS_PATH=... overrides STATUS_PATH, and so on; every value
        # stays the string given (Flask's default would read `8968e50` as a number)
        app.config.from_prefixed_env("IBDEVSERVER", loads=str)
    else:
        app.config.from_mapping(test_config)
    if isinstance(app.config["METRICS"], str):
        app.config["METRICS"] = parse_flag("IBDEVSERVER_METRICS", app.config["METRICS"])

    errors.init_app(app)
    if app.config["METRICS"]:
        metrics.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(probes.bp)
    app.register_blueprint(posture_views.bp)
    return app
