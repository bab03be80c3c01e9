"""The request head, held to RFC 9110 and 9112 where gunicorn's parser lets it pass.

This runs on the head gunicorn has already parsed, once a request, in the one pass
over its header fields that the worker makes anyway.
"""

import re
from typing import Any

from gunicorn.http.errors import UnsupportedTransferCoding

from service.server.answers import BadHost, MissingHost

# a host as RFC 3986 writes it (a name, an IPv4 address or a bracketed IP literal)
# and an optional port: the bytes Go's net/http allows in a Host header
HOST = re.compile(r"[A-Za-z0-9!$&'()*+,\-.:;=\[\]_~%]*")


def check_head(req: Any) -> bool:
    """Refuse a head the server must not serve, answer 1.x as 1.1; say whether a body follows.

    Raises BadHost or MissingHost (400), or UnsupportedTransferCoding (501) for a
    coding other than a lone chunked; gunicorn itself refuses a version outside 1.x
    (505). A method a path does not take, known or not, is the app's: 405 with Allow
    (docs/decisions.md says why not 501).
    """
    # RFC 9110 2.5: a server sends the highest minor version it conforms to (`>=` would
    # only write 1.1 over 1.1: an equivalent mutant)
    if req.version > (1, 1):  # pragma: no mutate
        req.version = (1, 1)
    hosts, body = 0, False
    for name, value in req.headers:
        if name == "HOST":
            hosts += 1
            if HOST.fullmatch(value) is None:
                raise BadHost()
        elif name == "TRANSFER-ENCODING":
            # gunicorn refuses a list that does not end in one chunked (400), but
            # lets gzip, deflate, compress or identity before it pass undecoded: we
            # implement chunked alone, and RFC 9112 6.1 asks 501 for the rest (as Go)
            # RFC 9110 5.5's optional whitespace; what else strip() might take off,
            # gunicorn has refused before (equivalent mutants)
            if value.strip(" \t").lower() != "chunked":  # pragma: no mutate
                raise UnsupportedTransferCoding(value)
            body = True
        elif name == "CONTENT-LENGTH" and value.strip() != "0":
            body = True
    if hosts > 1:
        raise BadHost()
    if hosts == 0 and req.version == (1, 1):
        raise MissingHost()
    return body
