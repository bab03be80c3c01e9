"""Read the process status file that the service shows."""

from flask import current_app


def read_status() -> bytes:
    """Return the bytes of the configured status file, read anew on every call."""
    # /proc files report size 0, so read to EOF rather than by st_size
    with open(current_app.config["STATUS_PATH"], "rb") as status_file:
        return status_file.read()
