"""bench/flood.py's attacker spreads its connections over loopback sources (issue 25).

From one source, ~19,000 connections to one port fill the half of the ephemeral range
that connect() searches first, and each connect then costs the attacker about a
millisecond: it falls behind the server's closes and reopens them in bursts, which
measured the client, not the server (docs/decisions.md).
"""

import socket
from collections.abc import Iterator

import pytest

from bench.flood import SOURCES, Attacker

CONNECTIONS = 3 * len(SOURCES)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0), backlog=CONNECTIONS) as server:
        server.settimeout(5)
        yield server


def test_the_attackers_connections_come_from_every_source_alike(
    listener: socket.socket,
) -> None:
    attacker = Attacker(listener.getsockname()[1], CONNECTIONS, "idle")
    for _ in range(CONNECTIONS):
        attacker.open_one()
    peers = []
    try:
        for _ in range(CONNECTIONS):
            accepted, (host, _port) = listener.accept()
            accepted.close()
            peers.append(host)
    finally:
        for key in list(attacker.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
    assert sorted(peers) == sorted(SOURCES * 3)
    # none is the honest client's own address
    assert "127.0.0.1" not in SOURCES
