"""A headless Chromium driven over the DevTools protocol, for tests that need a real browser.

Small on purpose: launch, open a page, evaluate expressions, and collect what the browser
refused (Content-Security-Policy violations, uncaught exceptions, console errors). Chromium
is a system package (`.ci/setup-chromium`); without it the test is skipped with a message,
or fails when `BIDSERVER_TEST_REQUIRE_ALL=1` (CI).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

START_TIMEOUT_S = 20.0
_WATCH = """
window.__refused = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__refused.push('CSP ' + e.violatedDirective + ' ' + e.blockedURI));
"""


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("BIDSERVER_TEST_REQUIRE_ALL", "") not in ("", "0"):
        pytest.fail("chromium is required (BIDSERVER_TEST_REQUIRE_ALL=1): run .ci/setup-chromium")
    pytest.skip("needs chromium: apt-get install chromium (or run .ci/setup-chromium)")


class Page:
    def __init__(self, ws: ClientConnection, session: str) -> None:
        self._ws = ws
        self._session = session
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.loaded = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self._ws:
            message = json.loads(frame)
            if "id" in message and message["id"] in self._waiting:
                self._waiting.pop(message["id"]).set_result(message)
            elif message.get("method"):
                self.events.append(message)
                if message["method"] == "Page.loadEventFired":
                    self.loaded.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        n = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[n] = future
        body = {"id": n, "method": method, "params": params}
        if self._session:
            body["sessionId"] = self._session
        await self._ws.send(json.dumps(body))
        async with asyncio.timeout(START_TIMEOUT_S):
            reply = await future
        assert "error" not in reply, reply
        result: dict[str, Any] = reply.get("result", {})
        return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, condition: str, timeout_s: float) -> None:
        """Until the JavaScript `condition` holds, checked by the page itself on each tick."""
        waiting = (
            "new Promise(done => { const check = () => (" + condition + ")"
            " ? done(true) : setTimeout(check, 50); check(); })"
        )
        async with asyncio.timeout(timeout_s):
            await self.send("Runtime.evaluate", expression=waiting, awaitPromise=True)

    async def open(self, url: str) -> None:
        for domain in ("Page", "Runtime", "Log"):
            await self.send(f"{domain}.enable")
        await self.send("Page.addScriptToEvaluateOnNewDocument", source=_WATCH)
        self.loaded.clear()
        await self.send("Page.navigate", url=url)
        async with asyncio.timeout(START_TIMEOUT_S):
            await self.loaded.wait()

    async def refused(self) -> list[str]:
        """CSP violations, uncaught exceptions and console errors seen so far."""
        found = list(await self.evaluate("window.__refused") or [])
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append("exception " + json.dumps(params.get("exceptionDetails"))[:300])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append("log " + params["entry"].get("text", "")[:300])
        return found

    async def close(self) -> None:
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def _devtools_url(profile: Path, proc: asyncio.subprocess.Process) -> str:
    port_file = profile / "DevToolsActivePort"
    async with asyncio.timeout(START_TIMEOUT_S):
        while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
            if proc.returncode is not None:
                raise AssertionError(f"chromium exited {proc.returncode}")
            await asyncio.sleep(0.05)  # polling a file the browser writes once, bounded
    port, path = port_file.read_text().splitlines()[:2]
    return f"ws://127.0.0.1:{port}{path}"


@contextlib.asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """One headless Chromium with one blank page, closed on exit."""
    binary = chromium()
    profile = Path(tempfile.mkdtemp(prefix="bidserver-chromium-"))
    proc = await asyncio.create_subprocess_exec(
        binary,
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "about:blank",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        url = await _devtools_url(profile, proc)
        async with connect(url, max_size=None) as ws:
            browser = Page(ws, "")
            target = await browser.send("Target.createTarget", url="about:blank")
            attached = await browser.send(
                "Target.attachToTarget", targetId=target["targetId"], flatten=True
            )
            await browser.close()
            page = Page(ws, attached["sessionId"])
            try:
                yield page
            finally:
                await page.close()
    finally:
        proc.terminate()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        shutil.rmtree(profile, ignore_errors=True)
