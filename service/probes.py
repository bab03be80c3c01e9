"""Endpoints for orchestrators and people: liveness, readiness, version, API document."""

from importlib.metadata import version
from importlib.resources import files

from flask import Blueprint, Response, current_app, jsonify

from service.errors import plain_text
from service.status import read_status

bp = Blueprint("probes", __name__)

PACKAGE_VERSION = version("ibdevserver")
OPENAPI_DOCUMENT = files("service").joinpath("openapi.json").read_bytes()


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process serves requests at all."""
    return plain_text("ok\n")


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when the status file can be read, 503 with the reason when not."""
    try:
        read_status()
    except OSError as error:
        return plain_text(f"not ready: cannot read the status file: {error.strerror}\n", 503)
    return plain_text("ready\n")


@bp.get("/version")
def version_info() -> Response:
    """Answer the package version and the source revision the image was built from."""
    return jsonify(
        version=PACKAGE_VERSION,
        revision=str(current_app.config["SOURCE_REVISION"]) or "unknown",
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    """Answer the OpenAPI document of every endpoint."""
    return Response(OPENAPI_DOCUMENT, content_type="application/json")
