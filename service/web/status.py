"""Read the process status file that the service shows."""

from flask import current_app

from service.procfs.files import read_file


def read_status() -> bytes:
    """Return the bytes of the configured status file, read anew on every call."""
    return read_file(current_app.config["STATUS_PATH"])
