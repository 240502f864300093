"""The drill's load generator in a process of its own: on schedule while the drill's process is busy."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiohttp import web

from godseye.live.load_process import LoadError, LoadProcess
from godseye.live.loop import LabClock

pytestmark = pytest.mark.live


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def handler(request: web.Request) -> web.Response:
    return web.Response(text="ok", headers={"X-Served-By": "gcp-0"})


def test_sends_on_schedule_while_the_parent_is_blocked_and_follows_the_multiplier() -> None:
    port = free_port()

    async def run() -> tuple[list[float], LoadProcess]:
        app = web.Application()
        app.router.add_get("/pos/lab/{rid}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        clock = LabClock()
        load = LoadProcess(f"http://127.0.0.1:{port}", {"pos": 50.0}, clock)
        try:
            await load.ready()
            clock.reset()

            async def parent() -> None:
                await asyncio.sleep(1.0)
                time.sleep(0.5)  # the drill's process blocked (a full garbage collection, a process stop)
                await asyncio.sleep(0.5)
                load.multiplier = 2.0  # a traffic spike from t = 2 s

            records, _ = await asyncio.gather(load.run_apart(3.0, 10_000), parent())
        finally:
            load.close()
            await runner.cleanup()
        assert all(r.ok and r.cloud == "gcp" for r in records)
        # The server runs on the parent's loop here, so its answers wait out the block; the sends and
        # their times are the child's own.
        return sorted(r.t_s for r in records), load

    sent, load = asyncio.run(run())
    during = [t for t in sent if 1.0 <= t < 1.5]
    assert 20 <= len(during) <= 30, len(during)  # 50 req/s kept while the parent was blocked
    before = sum(1 for t in sent if 0.5 <= t < 1.5)
    after = sum(1 for t in sent if 2.1 <= t < 3.0)
    assert after / 0.9 > 1.6 * before, (before, after)  # the multiplier reached the child
    assert not load.running  # closed: nothing left behind


def test_a_dead_child_is_an_error_not_a_hang() -> None:
    async def run() -> None:
        load = LoadProcess("http://127.0.0.1:9", {"pos": 10.0}, LabClock())
        try:
            await load.ready()
            load._proc.kill()
            load._proc.wait(5.0)
            with pytest.raises(LoadError, match="load process died"):
                await load.run_apart(1.0, 100)
        finally:
            load.close()

    asyncio.run(run())
