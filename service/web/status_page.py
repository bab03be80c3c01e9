"""The status page: PID 1's /proc status as plain text, or parsed as JSON."""

from flask import Blueprint, Response, jsonify

from service.procfs.status_parser import parse_status
from service.web.errors import status_unreadable
from service.web.responses import negotiated, plain_text
from service.web.status import read_status

bp = Blueprint("status", __name__)

# `?format=` names and the media types they stand for; text first, so that a
# client with no preference (curl's `*/*`, a browser) gets text
FORMATS = {"text": "text/plain", "json": "application/json"}


def status_as(media_type: str) -> Response:
    try:
        raw = read_status()
    except OSError as error:
        return status_unreadable(error)
    if media_type == FORMATS["json"]:
        return jsonify(parse_status(raw.decode(errors="replace")))
    return plain_text(raw)


@bp.get("/")
def status() -> Response:
    """Answer the status file, read anew: it is live data."""
    return negotiated(FORMATS, status_as)
