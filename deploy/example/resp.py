"""A tiny Redis client speaking RESP2 over one socket (standard library only).

Enough for the demo: send a command as an array of bulk strings and read one
reply. One connection per call keeps it thread-safe without locks; the demo's
traffic is a few commands per request.
"""

import socket
from urllib.parse import urlparse, unquote

MAX_BULK = 64 * 1024 * 1024  # refuse absurd lengths from a confused peer
MAX_ARRAY = 1_000_000


class RedisError(Exception):
    """An error reply from Redis, or a broken connection."""


class Redis:
    def __init__(self, url="redis://127.0.0.1:6379", timeout=5.0):
        u = urlparse(url)
        if u.scheme != "redis":
            raise ValueError(f"REDIS_URL must start with redis://, got {url!r}")
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 6379
        self.password = unquote(u.password) if u.password else None
        self.username = unquote(u.username) if u.username else None
        path = (u.path or "/").lstrip("/")
        self.db = int(path) if path else 0
        self.timeout = timeout

    def execute(self, *args):
        """Run one command; returns str/int/None/list, raises RedisError."""
        with socket.create_connection((self.host, self.port), self.timeout) as sock:
            reader = sock.makefile("rb")
            if self.password is not None:
                auth = ["AUTH", self.username, self.password] if self.username else ["AUTH", self.password]
                self._roundtrip(sock, reader, auth)
            if self.db:
                self._roundtrip(sock, reader, ["SELECT", str(self.db)])
            return self._roundtrip(sock, reader, args)

    def _roundtrip(self, sock, reader, args):
        sock.sendall(encode(args))
        return read_reply(reader)


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


def _line(reader):
    line = reader.readline(MAX_BULK)
    if not line.endswith(b"\r\n"):
        raise RedisError("connection closed or reply line too long")
    return line[:-2]


def read_reply(reader):
    line = _line(reader)
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        if n > MAX_BULK:
            raise RedisError("bulk reply too large")
        data = reader.read(n + 2)
        if len(data) != n + 2:
            raise RedisError("connection closed inside a bulk reply")
        return data[:-2].decode()
    if kind == b"*":
        n = int(rest)
        if n < 0:
            return None
        if n > MAX_ARRAY:
            raise RedisError("array reply too large")
        return [read_reply(reader) for _ in range(n)]
    raise RedisError(f"unexpected reply {line[:40]!r}")
