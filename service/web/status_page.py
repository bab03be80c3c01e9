"""The status page: PID 1's /proc status as plain text, or parsed as JSON."""

from flask import Flask, Response, jsonify

from service.procfs.files import read_file
from service.procfs.status_parser import parse_status
from service.web.errors import status_unreadable
from service.web.responses import negotiated, plain_text

# `?format=` names and the media types they stand for; text first, so that a
# client with no preference (curl's `*/*`, a browser) gets text
FORMATS = {"text": "text/plain", "json": "application/json"}


def init_app(app: Flask) -> None:
    """Serve the status page at `/`, from the file the app's config names."""
    # the view holds the app's config itself, and is the app's own, not a blueprint's:
    # Flask's current_app proxy and a blueprint's dispatch cost `GET /` about 15,000
    # instructions (python -m bench --instructions)
    config = app.config

    def status_as(media_type: str) -> Response:
        try:
            raw = read_file(config["STATUS_PATH"])
        except OSError as error:
            return status_unreadable(error)
        if media_type == FORMATS["json"]:
            return jsonify(parse_status(raw.decode(errors="replace")))
        return plain_text(raw)

    def status() -> Response:
        """Answer the status file, read anew: it is live data."""
        return negotiated(FORMATS, status_as)

    app.add_url_rule("/", view_func=status, methods=["GET"])
