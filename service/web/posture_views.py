"""GET /posture: the security checks as plain text (curl), JSON (machines) or HTML (browsers)."""

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, render_template
from markupsafe import Markup, escape

from service.procfs.posture import Report, assess
from service.server.lifecycle import server_pid
from service.web.responses import negotiated, plain_text

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


@bp.app_template_filter("breakable")
def breakable(text: str) -> Markup:
    """`text`, escaped, that may wrap before a path separator (a path's own leading one
    aside) or after a comma, never mid-name or mid-number."""
    # escaped first: only the <wbr> added here is markup
    marked = re.sub(r"(?<=[^\s(])/", "<wbr>/", str(escape(text))).replace(",", ",<wbr>")
    return Markup(marked)  # noqa: S704


def text_table(report: Report) -> str:
    rows = [("STATUS", "CHECK", "EVIDENCE")] + [
        (check.status.upper(), check.id + ("" if check.required else " (advisory)"),
         check.evidence) for check in report.checks
    ]  # fmt: skip
    # the status column fits UNKNOWN always, so the table's shape does not shift
    widths = [len("UNKNOWN"), max(len(row[1]) for row in rows)]
    lines = [f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}" for row in rows]
    required, advisory = report.required, report.advisory
    lines.append(
        f"\nrequired: {required.passed} passed, {required.failed} failed, "
        f"{required.unknown} unknown; advisory: {advisory.passed} passed, "
        f"{advisory.failed} failed, {advisory.unknown} unknown"
    )
    lines.append(f"runtime: {report.runtime.name} ({report.runtime.evidence})")
    failed = [check for check in report.checks if check.status != "pass"]
    if failed:
        lines.append("\nTo fix (compose | docker run | Kubernetes):")
        lines += [f"  {check.id}: {check.remedy.compose} | {check.remedy.docker_run} | "
                  f"{check.remedy.kubernetes}" for check in failed]  # fmt: skip
    lines.append("\nNot observable from inside (check them from the host):")
    lines += [f"  CIS {item.reference} {item.title}: {item.check_from_host}"
              for item in report.not_observable]  # fmt: skip
    return "\n".join(lines) + "\n"


def posture_as(media_type: str) -> Response:
    config = current_app.config
    pid = config.get("POSTURE_PID") or server_pid()
    report = assess(Path(config["POSTURE_ROOT"]), pid, frozenset([config["PORT"]]))
    if media_type == FORMATS["json"]:
        return jsonify(report.to_json())
    if media_type == FORMATS["html"]:
        page = render_template("posture.html", css=CSS, symbols=SYMBOLS, report=report, pid=pid)
        response = Response(page, content_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        return response
    return plain_text(text_table(report))


@bp.get("/posture")
def posture() -> Response:
    """Answer the checks, computed anew on every request."""
    return negotiated(FORMATS, posture_as)
