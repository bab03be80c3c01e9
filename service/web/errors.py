"""Plain-text error pages, `OPTIONS *`, and what every request and response head is held to."""

from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Response as BaseResponse

from service.reason_phrases import reason_phrase
from service.web.responses import PLAIN_TEXT, plain_text

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# werkzeug writes a status line's reason in capitals ("404 NOT FOUND"), some of them
# older than RFC 9110 ("414 REQUEST URI TOO LONG"): the app's get the server's own
STATUS_LINES = {
    f"{status.value} {HTTP_STATUS_CODES[status.value].upper()}": (
        f"{status.value} {reason_phrase(status.value)}"
    )
    for status in HTTPStatus
    if status.value in HTTP_STATUS_CODES
}
# what a method with a lower-case letter is routed as: no token, so no rule takes it
LOWER_CASE_METHOD = "(lower case)"


def status_unreadable(error: OSError) -> Response:
    """Log why the status file could not be read and answer a bare 500."""
    current_app.logger.error(
        "cannot read status file %s: [Errno %s] %s",
        error.filename,
        error.errno,
        error.strerror,
    )
    return plain_text("error occurred", 500)


def http_error(error: HTTPException) -> BaseResponse:
    """Answer an HTTP error as plain text, keeping its headers (Allow)."""
    response = error.get_response()
    code = error.code or 500
    response.set_data(f"{code} {reason_phrase(code)}: {error.description}\n")
    response.content_type = PLAIN_TEXT
    return response


def not_found(error: NotFound) -> BaseResponse:
    """A plain 404, but for `OPTIONS *`: a question to the server as a whole."""
    if request.method == "OPTIONS" and request.environ["PATH_INFO"] == "*":
        # RFC 9110 9.3.7: no rule matches "*" (werkzeug's begin with "/"), so the
        # answer is here: what the server takes, on some path
        methods = set().union(*(rule.methods or () for rule in current_app.url_map.iter_rules()))
        response = plain_text("")
        response.headers["Allow"] = ", ".join(sorted(methods))
        return response
    return http_error(error)


class HeadRules:
    """WSGI middleware: what every request and response head is held to, whatever made it.

    A method is case-sensitive (RFC 9110 9.1), but werkzeug upper-cases it before
    routing, so `get` would be served as GET: it is routed under a name no rule takes,
    and gets what any method a path lacks gets (405 with Allow, or 404).
    X-Content-Type-Options stops browsers from guessing a content type other than
    the one we send. A middleware appends it to the list Flask hands the server,
    where an after_request hook would cost a dispatch and a header set per request.
    """

    HEADERS = (("X-Content-Type-Options", "nosniff"),)

    def __init__(self, wsgi_app: "WSGIApplication") -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: "WSGIEnvironment", start_response: "StartResponse"
    ) -> Iterable[bytes]:
        def with_headers(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            headers.extend(self.HEADERS)
            return start_response(STATUS_LINES.get(status, status), headers, *args)

        method = environ["REQUEST_METHOD"]
        if method.upper() != method:
            # a copy: the access log and the metrics keep the method as sent
            environ = {**environ, "REQUEST_METHOD": LOWER_CASE_METHOD}
        return self.wsgi_app(environ, with_headers)


def init_app(app: Flask) -> None:
    """Register the error handlers and the head rules on the app."""
    app.register_error_handler(NotFound, not_found)
    app.register_error_handler(HTTPException, http_error)
    app.wsgi_app = HeadRules(app.wsgi_app)  # type: ignore[method-assign]
