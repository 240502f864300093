"""The Redis protocol (RESP2), enough for the lab: send a command, read one reply.

The lab only needs XADD, XLEN, INFO and PING, so it speaks RESP over a socket rather than adding a
client library to the project's dependencies.
"""

from __future__ import annotations

import socket

RespValue = str | int | bytes | None | list["RespValue"]
MAX_ARRAY = 100_000  # a bound on what one reply may hold


class RespError(RuntimeError):
    """Redis answered with an error reply, or the connection broke."""


class Resp:
    def __init__(self, host: str, port: int, timeout_s: float = 1.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout_s)
        self.reader = self.sock.makefile("rb")

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def call(self, *args: str | int | bytes) -> RespValue:
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        payload = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        try:
            self.sock.sendall(payload)
            return self._read()
        except OSError as exc:
            raise RespError(f"redis connection failed: {exc}") from exc

    def _line(self) -> bytes:
        line = self.reader.readline(1 << 20)
        if not line.endswith(b"\r\n"):
            raise RespError("redis closed the connection")
        return line[:-2]

    def _read(self) -> RespValue:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            size = int(rest)
            if size < 0:
                return None
            data = self.reader.read(size + 2)
            if len(data) != size + 2:
                raise RespError("short bulk reply")
            return data[:-2]
        if kind == b"*":
            count = int(rest)
            if count < 0:
                return None
            if count > MAX_ARRAY:
                raise RespError(f"reply of {count} items is over the lab's bound {MAX_ARRAY}")
            return [self._read() for _ in range(count)]
        raise RespError(f"unknown reply type {kind!r}")
