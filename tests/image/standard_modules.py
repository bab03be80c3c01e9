"""Print, as JSON, the standard-library modules loaded after one of two loads (run as a
script, in an interpreter of its own, by tests/image/test_compile_stdlib.py):

    python tests/image/standard_modules.py server STATUS_FILE   as a worker, then each request
    python tests/image/standard_modules.py compiled             as image/compile_stdlib.py

The app is called as gunicorn calls it, a WSGI environ at a time: a test client would
load modules of its own (werkzeug.test brings pdb). The statuses it answered are
printed too, so that a request that failed cannot pass for one served.
"""

import io
import json
import sys
from pathlib import Path
from typing import Any

# the package's root, as pytest has it
sys.path.insert(0, str(Path(__file__).parents[2]))

from image.compile_stdlib import load, loaded_standard_modules

REQUESTS = [
    ("GET", "/", "*/*"), ("GET", "/", "application/json"), ("GET", "/posture", "text/html"),
    ("GET", "/posture", "*/*"), ("GET", "/healthz", "*/*"), ("GET", "/readyz", "*/*"),
    ("GET", "/metrics", "*/*"), ("GET", "/openapi.json", "*/*"), ("GET", "/nope", "*/*"),
    ("POST", "/", "*/*"),
]  # fmt: skip


def serve(status_file: str) -> list[str]:
    # a worker patches before it imports the rest
    import gevent.monkey

    gevent.monkey.patch_all()
    import service.gunicorn_conf
    import service.healthcheck
    import service.server.worker  # noqa: F401
    from service.web.app import create_app

    app = create_app({"STATUS_PATH": status_file})
    statuses: list[str] = []

    def start_response(status: str, headers: object, exc_info: object = None) -> Any:
        statuses.append(status)
        return lambda data: None

    for method, path, accept in REQUESTS:
        environ = {
            "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "test", "SERVER_PORT": "9999", "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "test", "HTTP_ACCEPT": accept, "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
        }  # fmt: skip
        b"".join(app(environ, start_response))
    return statuses


if __name__ == "__main__":
    answered: list[str] = []
    if sys.argv[1] == "server":
        answered = serve(sys.argv[2])
    else:
        load()
    modules = [str(path) for path in loaded_standard_modules()]
    print(json.dumps({"statuses": answered, "modules": modules}))
