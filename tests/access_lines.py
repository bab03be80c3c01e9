"""What a whole access line looks like: gunicorn's format with ours (service/gunicorn_conf.py)."""

import re


def whole_healthz_line(agent: str) -> re.Pattern[str]:
    """A complete access line of a `GET /healthz` sent with User-Agent `agent`."""
    return re.compile(
        r'^\S+ - - \[[^\]]+\] "GET /healthz HTTP/1\.1" 200 3 "-" "'
        + re.escape(agent)
        + r'" \d+us pid=<\d+>$'
    )
