"""uvicorn's httptools protocol with TCP_NODELAY on every connection.

uvicorn writes a response's head and body in separate writes; with Nagle's algorithm on, the
body then waits for the peer's delayed ACK (about 40 ms on Linux) on every keep-alive request.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class NoDelayHttpToolsProtocol(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)
