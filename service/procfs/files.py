"""Read a file of /proc or /sys whole."""

import os

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
