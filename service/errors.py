"""Plain-text error pages and the headers every response carries."""

from typing import TypeVar

from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

PLAIN_TEXT = "text/plain; charset=utf-8"


def plain_text(body: str | bytes, status: int = 200) -> Response:
    """Build a text/plain response."""
    return Response(body, status=status, content_type=PLAIN_TEXT)


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


AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)


def uncacheable(response: AnyResponse) -> AnyResponse:
    """Mark a live answer as never to be stored by any cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def add_security_headers(response: Response) -> Response:
    """Stop browsers from guessing a content type other than the one we send."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def init_app(app: Flask) -> None:
    """Register the error handlers and response headers on the app."""
    app.register_error_handler(HTTPException, http_error)
    app.after_request(add_security_headers)
