"""Read the process status file that the service shows."""

import os

from flask import current_app

CHUNK = 64 * 1024


def read_file(path: str) -> bytes:
    """The bytes of `path`, read to EOF: /proc files report size 0, so not by st_size.

    os.open and os.read, not open(): a buffered file object costs an fstat, an
    isatty ioctl and two lseeks on every call, and this runs on every request.
    """
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, CHUNK):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_status() -> bytes:
    """Return the bytes of the configured status file, read anew on every call."""
    return read_file(current_app.config["STATUS_PATH"])
