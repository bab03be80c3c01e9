"""What every view builds: plain text, answers no cache may store, negotiated views."""

from collections.abc import Callable
from typing import TypeVar

from flask import Response
from werkzeug.wrappers import Response as BaseResponse

from service.web.negotiation import negotiated_format

PLAIN_TEXT = "text/plain; charset=utf-8"

AnyResponse = TypeVar("AnyResponse", bound=BaseResponse)


def plain_text(body: str | bytes, status: int = 200) -> Response:
    """Build a text/plain response."""
    return Response(body, status=status, content_type=PLAIN_TEXT)


def uncacheable(response: AnyResponse) -> AnyResponse:
    """Mark a live answer as never to be stored by any cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


def negotiated(formats: dict[str, str], build: Callable[[str], Response]) -> Response:
    """A live answer in the media type of `formats` the client asked for, built by `build`."""
    response = build(negotiated_format(formats))
    # added, not set: `build` makes a new response without either, and a set looks
    # through every header first. Vary whole: parsing it as a set costs more.
    response.headers.add("Cache-Control", "no-store")
    response.headers.add("Vary", "Accept")
    return response
