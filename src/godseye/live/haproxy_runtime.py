"""HAProxy's runtime API over its stats socket: change weights and states live, read its counters.

Every command opens one connection (HAProxy's non-interactive mode answers and closes), several
commands of one batch go on one line separated by `;`. Every call has a timeout: a stuck edge must
not stall the control loop.
"""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ServerAdminState = Literal["ready", "drain", "maint"]
MAX_ANSWER_BYTES = 4 * 1024 * 1024


class EdgeError(Exception):
    """HAProxy refused a command or did not answer in time."""


@dataclass(frozen=True, slots=True)
class StatRow:
    """One server line of `show stat` (cumulative counters since HAProxy started)."""

    backend: str
    server: str
    status: str  # UP, DOWN, MAINT, DRAIN, no check, ...
    weight: int
    requests_total: int  # stot: sessions/requests sent to this server
    responses_1xx: int
    responses_2xx: int
    responses_3xx: int
    responses_4xx: int
    responses_5xx: int
    responses_other: int
    errors_response: int  # eresp
    errors_connect: int  # econ
    retries: int  # wretr
    redispatches: int  # wredis
    queue_now: int  # qcur
    sessions_now: int  # scur
    response_ms_avg: int  # rtime over the last 1024 requests


@dataclass(frozen=True, slots=True)
class ServerState:
    """One line of `show servers state`: HAProxy's own view of a server's weights and states."""

    backend: str
    server: str
    address: str
    op_state: int  # 0 stopped, 1 starting, 2 running, 3 stopping
    admin_state: int  # bit flags; 0x01/0x02/0x04 = maintenance, 0x08 = drain
    user_weight: int
    initial_weight: int


def _int(row: dict[str, str], key: str) -> int:
    value = row.get(key, "")
    return int(value) if value.strip().lstrip("-").isdigit() else 0


def parse_show_stat(text: str) -> list[StatRow]:
    body = text.lstrip("# ").strip()
    if not body:
        return []
    rows: list[StatRow] = []
    for row in csv.DictReader(io.StringIO(body)):
        server = row.get("svname", "")
        if server in ("FRONTEND", "BACKEND", ""):
            continue
        rows.append(
            StatRow(
                backend=row["pxname"],
                server=server,
                status=row.get("status", ""),
                weight=_int(row, "weight"),
                requests_total=_int(row, "stot"),
                responses_1xx=_int(row, "hrsp_1xx"),
                responses_2xx=_int(row, "hrsp_2xx"),
                responses_3xx=_int(row, "hrsp_3xx"),
                responses_4xx=_int(row, "hrsp_4xx"),
                responses_5xx=_int(row, "hrsp_5xx"),
                responses_other=_int(row, "hrsp_other"),
                errors_response=_int(row, "eresp"),
                errors_connect=_int(row, "econ"),
                retries=_int(row, "wretr"),
                redispatches=_int(row, "wredis"),
                queue_now=_int(row, "qcur"),
                sessions_now=_int(row, "scur"),
                response_ms_avg=_int(row, "rtime"),
            )
        )
    return rows


def parse_servers_state(text: str) -> list[ServerState]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    header: list[str] = []
    out: list[ServerState] = []
    for line in lines:
        if line.startswith("#"):
            header = line.lstrip("# ").split()
            continue
        fields = line.split()
        if not header or len(fields) < len(header) - 2:
            continue  # the version line, or a truncated one
        row = dict(zip(header, fields, strict=False))
        out.append(
            ServerState(
                backend=row["be_name"],
                server=row["srv_name"],
                address=row.get("srv_addr", ""),
                op_state=int(row.get("srv_op_state", "0")),
                admin_state=int(row.get("srv_admin_state", "0")),
                user_weight=int(row.get("srv_uweight", "0")),
                initial_weight=int(row.get("srv_iweight", "0")),
            )
        )
    return out


class HAProxyRuntime:
    def __init__(self, socket: Path, timeout_s: float = 2.0) -> None:
        self.socket = socket
        self.timeout_s = timeout_s

    async def command(self, *commands: str) -> str:
        """Run commands in one batch; returns HAProxy's answer. Raises EdgeError on refusal or timeout."""
        assert commands and all("\n" not in c and ";" not in c for c in commands), "one command per item"
        try:
            return await asyncio.wait_for(self._send("; ".join(commands)), self.timeout_s)
        except (TimeoutError, OSError) as exc:
            raise EdgeError(f"haproxy runtime API at {self.socket}: {exc!r}") from exc

    async def _send(self, line: str) -> str:
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            data = await reader.read(MAX_ANSWER_BYTES)
            chunks = [data]
            while data:
                data = await reader.read(MAX_ANSWER_BYTES)
                chunks.append(data)
            return b"".join(chunks).decode(errors="replace")
        finally:
            writer.close()

    async def apply(self, commands: list[str]) -> None:
        """Run `set server` commands; any answer text is an error (HAProxy answers them with nothing)."""
        if not commands:
            return
        answer = (await self.command(*commands)).strip()
        if answer:
            raise EdgeError(f"haproxy refused {commands}: {answer}")

    async def set_weight(self, backend: str, server: str, weight: int) -> None:
        await self.apply([set_weight_command(backend, server, weight)])

    async def set_state(self, backend: str, server: str, state: ServerAdminState) -> None:
        await self.apply([set_state_command(backend, server, state)])

    async def show_stat(self) -> list[StatRow]:
        return parse_show_stat(await self.command("show stat"))

    async def show_servers_state(self) -> list[ServerState]:
        return parse_servers_state(await self.command("show servers state"))


def set_weight_command(backend: str, server: str, weight: int) -> str:
    assert 0 <= weight <= 256, f"haproxy weights are 0..256 (got {weight})"
    return f"set server {backend}/{server} weight {weight}"


def set_state_command(backend: str, server: str, state: ServerAdminState) -> str:
    return f"set server {backend}/{server} state {state}"
