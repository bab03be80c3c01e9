"""A Worker never started, and a logger that keeps what it is told, for in-process tests."""

from gunicorn.config import Config

from service.server.worker import Worker


class Log:
    """gunicorn's logger as the worker calls it: each call kept, by level."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def keep(self, level: str, message: str, *args: object) -> None:
        self.calls.append((level, message % args))

    def debug(self, message: str, *args: object) -> None:
        self.keep("debug", message, *args)

    def info(self, message: str, *args: object) -> None:
        self.keep("info", message, *args)

    def warning(self, message: str, *args: object) -> None:
        self.keep("warning", message, *args)

    def exception(self, message: str, *args: object) -> None:
        self.keep("exception", message, *args)


def unstarted(connections: int, **config: object) -> Worker:
    made = Worker.__new__(Worker)
    made.log = Log()  # type: ignore[assignment]
    made.cfg = Config()
    for name, value in config.items():
        made.cfg.set(name, value)
    made.ppid = 4321
    made.worker_connections = connections
    return made
