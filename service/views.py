"""The status page: PID 1's /proc status as plain text, or parsed as JSON."""

from flask import Blueprint, Response, abort, jsonify, request

from service.errors import plain_text, status_unreadable
from service.status import read_status
from service.status_parser import parse_status

bp = Blueprint("status", __name__)

# `?format=` names and the media types they stand for; text first, so that a
# client with no preference (curl's `*/*`, a browser) gets text
FORMATS = {"text": "text/plain", "json": "application/json"}


def negotiated_format() -> str:
    """Pick the response media type from `?format=`, else from the Accept header."""
    name = request.args.get("format")
    if name is not None:
        if name not in FORMATS:
            abort(400, f"format must be one of: {', '.join(FORMATS)}")
        return FORMATS[name]
    if not request.accept_mimetypes:
        # no Accept header means any type will do (RFC 9110, 12.5.1)
        return FORMATS["text"]
    best = request.accept_mimetypes.best_match(FORMATS.values())
    if best is None:
        abort(406, f"this page is available as: {', '.join(FORMATS.values())}")
    return best


@bp.get("/")
def status() -> Response:
    """Answer the status file, read anew: it is live data."""
    media_type = negotiated_format()
    try:
        raw = read_status()
    except OSError as error:
        return status_unreadable(error)
    if media_type == FORMATS["json"]:
        response = jsonify(parse_status(raw.decode(errors="replace")))
    else:
        response = plain_text(raw)
    response.headers["Cache-Control"] = "no-store"
    response.vary.add("Accept")
    return response
