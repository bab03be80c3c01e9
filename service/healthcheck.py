"""Container health check: exit 0 when the local server answers 200.

    python -m service.healthcheck [PATH]     (PATH defaults to /readyz)

Python's own urllib does the request, so the image needs no curl. It ignores the
proxy variables (HTTP_PROXY and the rest, which Docker can inject): a probe of
127.0.0.1 must never go to a proxy.
"""

import sys
import urllib.request

from service.settings import Settings

# no ProxyHandler of the environment's: an empty mapping means no proxy at all
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def main(path: str = "/readyz") -> int:
    """Ask the server on this host's configured port whether `path` answers 200."""
    url = f"http://127.0.0.1:{Settings.from_environ().port}{path}"
    try:
        with DIRECT.open(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"not healthy: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
