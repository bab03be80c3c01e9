"""The Flask application factory."""

from typing import Any

from flask import Flask

from service import errors, metrics, posture_views, probes, views

DEFAULTS: dict[str, Any] = {
    # the file `GET /` serves; inside a container PID 1 is the server itself
    "STATUS_PATH": "/proc/1/status",
    # the source revision the image was built from (set by the Dockerfile)
    "SOURCE_REVISION": "unknown",
    # where /posture finds /proc and /sys (tests point it at a fixture tree)
    "POSTURE_ROOT": "/",
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

    errors.init_app(app)
    metrics.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(probes.bp)
    app.register_blueprint(posture_views.bp)
    return app
