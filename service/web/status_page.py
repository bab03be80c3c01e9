"""The status page: PID 1's /proc status as plain text, or parsed as JSON."""

from flask import Blueprint, Response, jsonify

from service.procfs.status_parser import parse_status
from service.web.errors import plain_text, status_unreadable, uncacheable
from service.web.negotiation import negotiated_format
from service.web.status import read_status

bp = Blueprint("status", __name__)

# `?format=` names and the media types they stand for; text first, so that a
# client with no preference (curl's `*/*`, a browser) gets text
FORMATS = {"text": "text/plain", "json": "application/json"}


@bp.get("/")
def status() -> Response:
    """Answer the status file, read anew: it is live data."""
    media_type = negotiated_format(FORMATS)
    try:
        raw = read_status()
    except OSError as error:
        return status_unreadable(error)
    if media_type == FORMATS["json"]:
        response = jsonify(parse_status(raw.decode(errors="replace")))
    else:
        response = plain_text(raw)
    uncacheable(response)
    # the whole header, set: parsing it as a set for one value costs more
    response.headers["Vary"] = "Accept"
    return response
