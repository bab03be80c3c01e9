"""RFC 9110's reason phrases: the server's own answers and the app's say the same.

Standard library only, so that both rooms may import it (service/server writes the
answers gunicorn's parser refuses, service/web the app's status lines).
"""

from http import HTTPStatus

# where Python's phrases are older than RFC 9110's
RFC_9110_PHRASES = {413: "Content Too Large", 414: "URI Too Long", 422: "Unprocessable Content"}


def reason_phrase(code: int) -> str:
    """RFC 9110's reason phrase for a status code, in title case."""
    return RFC_9110_PHRASES.get(code) or HTTPStatus(code).phrase
