"""The local servers' listen backlog: 32 clients connecting at once on 127.0.0.1 are all
accepted by the kernel, even before the server accepts any of them (http.server's default
backlog of 5 dropped the rest, which then timed out or were reset)."""

from __future__ import annotations

import selectors
import socket
from types import SimpleNamespace
from typing import Any, cast

import pytest

from local import api, chat
from local.runtime import LISTEN_BACKLOG

CLIENTS = 32


def _connect_all(port: int) -> int:
    """How many of ``CLIENTS`` simultaneous connects complete (the server accepts none)."""
    selector = selectors.DefaultSelector()
    clients = []
    for _ in range(CLIENTS):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        selector.register(client, selectors.EVENT_WRITE)
        clients.append(client)
    connected = 0
    pending = len(clients)
    # A generous bound for the kernel's handshakes on loopback; a connect beyond the backlog
    # never completes (its SYN is dropped), so it is the count, not the time, that is checked.
    while pending:
        events = selector.select(timeout=5)
        if not events:
            break
        for key, _ in events:
            sock = cast(socket.socket, key.fileobj)
            selector.unregister(sock)
            pending -= 1
            connected += sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    for client in clients:
        client.close()
    selector.close()
    return connected


@pytest.mark.parametrize(
    "make",
    [
        lambda: api.make_server(cast(Any, None), 0),
        lambda: chat.management_server(cast(Any, SimpleNamespace(stage="v1"))),
    ],
    ids=["local-api", "local-chat-management"],
)
def test_32_clients_connecting_at_once_are_all_accepted(make: Any) -> None:
    server = make()
    try:
        assert server.request_queue_size == LISTEN_BACKLOG >= CLIENTS
        assert _connect_all(server.server_address[1]) == CLIENTS
    finally:
        server.server_close()
