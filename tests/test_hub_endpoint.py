"""The endpoint's connections: what a client that misbehaves at the socket level costs the hub."""

from __future__ import annotations

import asyncio
import socket
import time

from wyoming.audio import AudioChunk

from hub.endpoint import Connection


async def test_a_client_that_stops_reading_is_dropped_after_the_write_timeout() -> None:
    outcome: asyncio.Future[tuple[Connection, float, int]] = asyncio.Future()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        conn = Connection(writer, "stalled client", write_timeout_s=0.5)
        chunk = AudioChunk(rate=24000, width=2, channels=1, audio=bytes(48000)).event()
        started, sent = time.monotonic(), 0
        try:
            while time.monotonic() - started < 20:
                await conn.send(chunk)
                sent += 1
        except ConnectionError:
            outcome.set_result((conn, time.monotonic() - started, sent))

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    client.connect(("127.0.0.1", port))  # and never reads
    try:
        conn, elapsed, sent = await asyncio.wait_for(outcome, 20)
        # The kernel and asyncio buffers take a few chunks; then the hub gives up on it,
        # instead of holding the audio and the work that renders it for as long as the
        # socket stays open.
        assert conn.closed
        assert sent < 40
        assert elapsed < 10
        client.setblocking(False)
        await asyncio.sleep(0.1)
        try:
            while client.recv(65536):
                pass
            ended = True  # orderly end after what was buffered
        except ConnectionResetError:
            ended = True  # the hub aborted the connection
        except BlockingIOError:
            ended = False
        assert ended, "the hub kept the stalled connection open"
    finally:
        client.close()
        server.close()
        await server.wait_closed()
