"""Container health check: exit 0 when the local server answers 200.

    python -m service.healthcheck [PATH]     (PATH defaults to /readyz)

Python's own urllib does the request, so the image needs no curl.
"""

import os
import sys
import urllib.request


def main(path: str = "/readyz") -> int:
    """Ask the server on this host's configured port whether `path` answers 200."""
    port = os.environ.get("IBDEVSERVER_PORT", "9999")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError as error:
        print(f"not healthy: {url}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
