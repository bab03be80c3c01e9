"""GET /posture: the security checks as plain text (curl), JSON (machines) or HTML (browsers)."""

import base64
import hashlib
from importlib.resources import files
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template

from service.procfs.posture import assess
from service.web.errors import plain_text, uncacheable
from service.web.negotiation import negotiated_format

bp = Blueprint("posture", __name__, template_folder="templates")

# text first: curl's `*/*` gets the table, a browser's text/html the page
FORMATS = {"text": "text/plain", "json": "application/json", "html": "text/html"}
SYMBOLS = {"pass": "✔ PASS", "fail": "✘ FAIL", "unknown": "? UNKNOWN"}
CSS = files("service.web").joinpath("templates", "posture.css").read_text()
# the page runs no script and loads nothing: its one inline style is allowed by hash
STYLE_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def text_table(report: dict[str, Any]) -> str:
    rows = [("STATUS", "CHECK", "EVIDENCE")] + [
        (check["status"].upper(), check["id"], check["evidence"]) for check in report["checks"]
    ]
    # the status column fits UNKNOWN always, so the table's shape does not shift
    widths = [len("UNKNOWN"), max(len(row[1]) for row in rows)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    summary = report["summary"]
    lines.append(
        f"\n{summary['pass']} passed, {summary['fail']} failed, {summary['unknown']} unknown"
    )
    return "\n".join(lines) + "\n"


@bp.get("/posture")
def posture() -> Response:
    """Answer the checks, computed anew on every request."""
    media_type = negotiated_format(FORMATS)
    report = assess(Path(current_app.config["POSTURE_ROOT"]))
    if media_type == FORMATS["json"]:
        response = jsonify(report)
    elif media_type == FORMATS["html"]:
        page = render_template("posture.html", css=CSS, symbols=SYMBOLS, **report)
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    else:
        response = plain_text(text_table(report))
    uncacheable(response)
    # the whole header, set: parsing it as a set for one value costs more
    response.headers["Vary"] = "Accept"
    return response
