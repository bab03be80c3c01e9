"""Pick a response's media type from `?format=`, else from the Accept header."""

from flask import abort, request


def negotiated_format(formats: dict[str, str]) -> str:
    """The media type of `formats` (name: type, the default first) the client asked for."""
    # most requests carry no query and no Accept, or `*/*`: they get the default
    # without a query or Accept header parsed (the hot path of every view). The
    # request is taken from its proxy once, by the proxy's own method (which Flask's
    # typing of `request` hides): each attribute read through the proxy cost about
    # 8,000 instructions (python -m bench --instructions)
    environ = request._get_current_object().environ  # type: ignore[attr-defined]
    name = request.args.get("format") if environ.get("QUERY_STRING") else None
    if name is None and environ.get("HTTP_ACCEPT", "").strip() in ("", "*/*"):
        return next(iter(formats.values()))
    if name is not None:
        if name not in formats:
            abort(400, f"format must be one of: {', '.join(formats)}")
        return formats[name]
    if not request.accept_mimetypes:
        # no Accept header means any type will do (RFC 9110, 12.5.1)
        return next(iter(formats.values()))
    best = request.accept_mimetypes.best_match(formats.values())
    if best is None:
        abort(406, f"this page is available as: {', '.join(formats.values())}")
    return best
