"""Endpoints for orchestrators and people: liveness, readiness, version, API document.

The probes and /version are live answers, never to be cached; the API document
changes only with the image, so it carries a validator and may be cached a while.
"""

import hashlib
from http import HTTPStatus
from importlib.metadata import version
from importlib.resources import files

from flask import Blueprint, Response, current_app, jsonify, request

from service.server.lifecycle import is_draining
from service.web.responses import plain_text, uncacheable
from service.web.status import read_status

bp = Blueprint("probes", __name__)

PACKAGE_VERSION = version("ibdevserver")
OPENAPI_DOCUMENT = files("service.web").joinpath("openapi.json").read_bytes()
OPENAPI_ETAG = hashlib.sha256(OPENAPI_DOCUMENT).hexdigest()[:32]
OPENAPI_MAX_AGE = 3600


@bp.get("/healthz")
def healthz() -> Response:
    """Answer while the process serves requests at all."""
    return uncacheable(plain_text("ok\n"))


@bp.get("/readyz")
def readyz() -> Response:
    """Answer 200 when the status file can be read, 503 with the reason when not or draining."""
    if is_draining():
        return uncacheable(plain_text("not ready: draining before stopping\n", 503))
    try:
        read_status()
    except OSError as error:
        reason = f"not ready: cannot read the status file: {error.strerror}\n"
        return uncacheable(plain_text(reason, 503))
    return uncacheable(plain_text("ready\n"))


@bp.get("/version")
def version_info() -> Response:
    """Answer the package version and the source revision the image was built from."""
    response = jsonify(
        version=PACKAGE_VERSION,
        revision=current_app.config["SOURCE_REVISION"] or "unknown",
    )
    return uncacheable(response)


@bp.get("/openapi.json")
def openapi() -> Response:
    """Answer the OpenAPI document of every endpoint; 304 when the client's copy is current."""
    response = Response(OPENAPI_DOCUMENT, content_type="application/json")
    response.set_etag(OPENAPI_ETAG)
    response.cache_control.max_age = OPENAPI_MAX_AGE
    response.cache_control.public = True
    # If-Match by RFC 9110 13.1.1, where werkzeug fails `*`; a short answer of its
    # own, not the document with the cache headers of a 200
    if request.if_match and not request.if_match.contains(OPENAPI_ETAG):
        failed = "412 Precondition Failed: If-Match matches no current version\n"
        return uncacheable(plain_text(failed, HTTPStatus.PRECONDITION_FAILED))
    response.make_conditional({**request.environ, "HTTP_IF_MATCH": ""})
    return response
