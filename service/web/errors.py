"""Plain-text error pages and the headers every response carries."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from service.web.responses import PLAIN_TEXT, plain_text

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


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
    response.set_data(f"{error.code} {error.name}: {error.description}\n")
    response.content_type = PLAIN_TEXT
    return response


class SecurityHeaders:
    """WSGI middleware: the headers every response carries, whatever made it.

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
            return start_response(status, headers, *args)

        return self.wsgi_app(environ, with_headers)


def init_app(app: Flask) -> None:
    """Register the error handlers and response headers on the app."""
    app.register_error_handler(HTTPException, http_error)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)  # type: ignore[method-assign]
