"""service/server/deadlines.py in-process, on a fake clock: the sweep the head gate and
the lingerer share expires the oldest first, one each pace, and sleeps in between."""

from types import SimpleNamespace

import pytest

from service.server import deadlines


class Stop(Exception):
    """Ends the sweep's endless loop after the turns a test looks at."""


class Clock:
    """monotonic() and gevent.sleep() as the sweep calls them: sleeping moves time."""

    def __init__(self, now: float, turns: int) -> None:
        self.now, self.turns = now, turns
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if len(self.slept) == self.turns:
            raise Stop


def run(clock: Clock, monkeypatch: pytest.MonkeyPatch, held: dict[str, float]) -> list[str]:
    """Sweep `held` (each name and when it began) with a 10 s timeout and a 0.5 s pace;
    return what expired, in order."""
    monkeypatch.setattr(deadlines, "time", SimpleNamespace(monotonic=clock.monotonic))
    monkeypatch.setattr(deadlines, "gevent", SimpleNamespace(sleep=clock.sleep))
    order = dict.fromkeys(held)
    expired: list[str] = []

    def expire(name: str) -> None:
        expired.append(f"{name}@{clock.now:g}")
        del order[name]

    with pytest.raises(Stop):
        deadlines.sweep(order, held.__getitem__, 10.0, expire, 0.5)
    return expired


def test_a_flood_met_together_is_expired_one_each_pace_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(now=100.0, turns=5)
    expired = run(clock, monkeypatch, {"a": 100.0, "b": 100.0, "c": 101.0})
    assert expired == ["a@110", "b@110.5", "c@111"]
    # the first wait is the oldest's time left; then one pace each; then the timeout
    assert clock.slept == [10.0, 0.5, 0.5, 0.5, 10.0]


def test_nothing_held_waits_a_whole_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock(now=5.0, turns=2)
    assert run(clock, monkeypatch, {}) == []
    assert clock.slept == [10.0, 10.0]


def test_a_deadline_nearer_than_the_pace_waits_the_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0.1 s left: the sweep still waits the pace, so it never spins
    clock = Clock(now=109.9, turns=2)
    assert run(clock, monkeypatch, {"a": 100.0}) == ["a@110.4"]
    assert clock.slept == [0.5, 0.5]
