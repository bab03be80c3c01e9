"""The floor for our app: a minimal Flask app, one route that answers the file, nothing else.

The harness runs it in our image under the same gunicorn config, worker and logger,
so that what ours costs beyond it is what our features add.
"""

import os

from flask import Flask, Response

STATUS_PATH = os.environ.get("IBDEVSERVER_STATUS_PATH", "/proc/1/status")

app = Flask(__name__)


@app.get("/")
def status() -> Response:
    with open(STATUS_PATH, "rb") as status_file:
        return Response(status_file.read(), content_type="text/plain; charset=utf-8")
