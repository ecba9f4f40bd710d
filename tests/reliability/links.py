"""tests/reliability/links.py - a tab's connection to livegate, over either
transport: the WebSocket (GET /ws) or the event stream (POST /sse, `data:
<frame>` events until the server ends the stream). Both yield the same
frames as dicts; a lost connection raises Lost with the close code.

Sockets get a small receive buffer before they connect, so that a tab
that stops reading soon stops livegate's writes too.
"""

import asyncio
import json
import socket

import websockets
from websockets.exceptions import ConnectionClosed


class Lost(Exception):
    """The connection ended (code: close code, 0 when none arrived)."""

    def __init__(self, code, why):
        super().__init__(f"{code} {why}")
        self.code, self.why = code, why


def small_rcvbuf_socket(rcvbuf):
    """A TCP socket with a small receive buffer set before connect, so that
    a tab that stops reading soon stops the server's writes too."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.setblocking(False)
    return s


async def connect_socket(port, rcvbuf):
    s = small_rcvbuf_socket(rcvbuf)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(s, ("127.0.0.1", port)), 5)
    except BaseException:
        s.close()
        raise
    return s


class WsLink:
    """The WebSocket transport: frames are JSON texts."""

    def __init__(self, ws):
        self.ws = ws

    @classmethod
    async def open(cls, cfg, token):
        s = await connect_socket(cfg["public_port"], cfg["rcvbuf"])
        try:
            ws = await websockets.connect(f"ws://127.0.0.1:{cfg['public_port']}/ws", sock=s,
                                          compression=None, ping_interval=None,
                                          open_timeout=10, close_timeout=1, max_queue=64)
        except BaseException:
            s.close()
            raise
        await ws.send(json.dumps({"type": "subscribe", "token": token}))
        return cls(ws)

    async def recv(self):
        try:
            msg = await self.ws.recv()
        except ConnectionClosed as e:
            raise Lost(e.rcvd.code if e.rcvd else 0, e.rcvd.reason if e.rcvd else "no close frame")
        if not isinstance(msg, str):
            raise Lost(0, "binary frame")
        return json.loads(msg)

    async def close(self):
        await self.ws.close()


class SseLink:
    """The event-stream transport: POST /sse, then `data: <frame>` events
    until the server ends the stream (after a close event)."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.close_code, self.close_why = 0, "stream ended"

    @classmethod
    async def open(cls, cfg, token):
        s = await connect_socket(cfg["public_port"], cfg["rcvbuf"])
        reader, writer = await asyncio.open_connection(sock=s)
        body = json.dumps({"type": "subscribe", "token": token}).encode()
        writer.write(b"POST /sse HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                     b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                     % (cfg["public_port"], len(body), body))
        link = cls(reader, writer)
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as e:
            link.abort()
            raise Lost(0, f"no answer: {e!r}")
        except BaseException:
            link.abort()
            raise
        status = head.split(b"\r\n", 1)[0].split(b" ")
        if len(status) < 2 or status[1] != b"200":
            link.abort()
            raise Lost(int(status[1]) if len(status) > 1 and status[1].isdigit() else 0,
                       "sse refused")
        return link

    async def recv(self):
        while True:
            try:
                event = await self.reader.readuntil(b"\n\n")
            except (asyncio.IncompleteReadError, OSError):
                raise Lost(self.close_code, self.close_why)
            for line in event.decode().split("\n"):
                if line.startswith("data: "):
                    frame = json.loads(line[6:])
                    if frame.get("type") == "close":
                        self.close_code = frame.get("code", 0)
                        self.close_why = frame.get("reason", "")
                        continue
                    return frame
            # a ": ping" comment or a close event: read on

    def abort(self):
        self.writer.transport.abort()

    async def close(self):
        self.abort()


async def read_into(link, queue):
    try:
        while True:
            await queue.put(await link.recv())
    except Lost as e:
        await queue.put(e)
    except Exception as e:  # a reset, a frame that is not JSON: the link is lost
        await queue.put(Lost(0, type(e).__name__))


async def close_quietly(link):
    try:
        await asyncio.wait_for(link.close(), 2)
    except (OSError, asyncio.TimeoutError, ConnectionClosed):
        pass
