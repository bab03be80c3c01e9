"""The Flask application factory."""

from typing import Any

from flask import Flask

from service.settings import Settings
from service.web import errors, metrics, posture_views, probes, status_page


def config_from(settings: Settings) -> dict[str, Any]:
    """The app's config keys, from the fields it reads."""
    return {
        # the file `GET /` serves; inside a container PID 1 is the server itself
        "STATUS_PATH": settings.status_path,
        # the source revision the image was built from (set by the Dockerfile)
        "SOURCE_REVISION": settings.source_revision,
        # where /posture finds /proc and /sys (tests point it at a fixture tree)
        "POSTURE_ROOT": settings.posture_root,
        # the port /posture expects to be the only one listening
        "PORT": settings.port,
        # request metrics and /metrics; off only to measure what they cost (python -m bench)
        "METRICS": settings.metrics,
    }


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure an instance of the Flask application."""
    # no static files: Flask's static route would take OPTIONS (added before the
    # setting below) and widen what `OPTIONS *` says the server takes
    app = Flask(__name__, static_folder=None)
    # keep the kernel's line order in the JSON view
    app.json.sort_keys = False  # type: ignore[attr-defined]
    if test_config is None:
        app.config.from_mapping(config_from(Settings.from_environ()))
    else:
        app.config.from_mapping(config_from(Settings()))
        app.config.from_mapping(test_config)

    # OPTIONS is answered like any method a path does not take: 405 with Allow
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    errors.init_app(app)
    if app.config["METRICS"]:
        metrics.init_app(app)
    status_page.init_app(app)
    app.register_blueprint(probes.bp)
    app.register_blueprint(posture_views.bp)
    return app
