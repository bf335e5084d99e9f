"""Start and stop the server under test: an engine is just a command line.

`actor` is `bidserver serve`, `rowlock` is `bidserver serve --engine rowlock`, `echo` is
`python -m bench.echo_server`. The harness passes every setting as an environment variable
(printed before the run), waits for `GET /ready` on the WebSocket port, and stops the
server with SIGTERM (then SIGKILL after 35 s). Its output goes to a log file whose tail is
shown when it fails to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from bench.system import CorePlan

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 35.0


class ServerUnavailable(RuntimeError):
    """The server exited or never became ready; the message says why."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bidserver_bin() -> str:
    script = Path(sys.executable).with_name("bidserver")
    return str(script) if script.exists() else "bidserver"


@dataclass
class ServerSpec:
    engine: str
    ws_port: int
    http_port: int
    env: dict[str, str] = field(default_factory=dict)

    def command(self, data_dir: Path) -> list[str]:
        if self.engine == "echo":
            return [sys.executable, "-m", "bench.echo_server", "--port", str(self.ws_port)]
        command = [bidserver_bin(), "serve"]
        if self.engine == "rowlock":
            command += ["--engine", "rowlock"]
        ports = ["--ws-port", str(self.ws_port), "--http-port", str(self.http_port)]
        return [*command, *ports, "--data-dir", str(data_dir)]

    def describe(self, prefix: list[str], data_dir: Path) -> str:
        shown = {k: ("<random 48 chars>" if "SECRET" in k else v) for k, v in self.env.items()}
        settings = " ".join(f"{k}={v}" for k, v in sorted(shown.items()))
        return f"server [{self.engine}]: {' '.join(prefix + self.command(data_dir))}\n  {settings}"


async def start_server(
    engine: str, env: dict[str, str], plan: CorePlan, *, quiet: bool, attempts: int = 3
) -> ServerProcess:
    """Start on free ports; a port taken between choosing and binding it means another try."""
    for attempt in range(1, attempts + 1):
        spec = ServerSpec(engine, free_port(), free_port(), env)
        try:
            return await ServerProcess.start(spec, plan, quiet=quiet)
        except ServerUnavailable as exc:
            if "address already in use" not in str(exc) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


class ServerProcess:
    def __init__(self, spec: ServerSpec, proc: asyncio.subprocess.Process, workdir: Path) -> None:
        self.spec = spec
        self.proc = proc
        self.workdir = workdir
        self.log_path = workdir / "server.log"

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.spec.ws_port}/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.spec.http_port}"

    @classmethod
    async def start(cls, spec: ServerSpec, plan: CorePlan, *, quiet: bool) -> ServerProcess:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-{spec.engine}-"))
        command = plan.server_prefix() + spec.command(workdir / "data")
        if not quiet:
            print(spec.describe(plan.server_prefix(), workdir / "data"), file=sys.stderr)
        with (workdir / "server.log").open("wb") as log:
            proc = await asyncio.create_subprocess_exec(
                *command,
                env={**os.environ, **spec.env},
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C on the harness does not hit the server first
            )
        server = cls(spec, proc, workdir)
        try:
            await server._wait_ready()
        finally:
            if proc.returncode is not None:
                server.remove_files()
        return server

    async def _wait_ready(self) -> None:
        url = f"http://127.0.0.1:{self.spec.ws_port}/ready"
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    raise ServerUnavailable(
                        f"{self.spec.engine}: exited with {self.proc.returncode}: {self.tail()}"
                        + (" (address already in use)" if self._port_taken() else "")
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                    async with http.get(url) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)  # polling a child process for readiness
        await self.stop()
        raise ServerUnavailable(f"{self.spec.engine}: not ready after {READY_TIMEOUT_S:g} s")

    def _port_taken(self) -> bool:
        with contextlib.suppress(OSError):
            return "address already in use" in self.log_path.read_text(errors="replace")
        return False

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(text[-lines:]) or "(empty log)"

    def logged_engine(self) -> str | None:
        """The `engine` field of the server's `serving` log line, if it logs one."""
        with contextlib.suppress(OSError):
            for line in self.log_path.read_text(errors="replace").splitlines():
                if '"serving"' in line:
                    with contextlib.suppress(ValueError):
                        value = json.loads(line).get("engine")
                        return None if value is None else str(value)
        return None

    def remove_files(self) -> None:
        """The data dir and the log (whose tail was shown if the server failed)."""
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def stop(self) -> float:
        """SIGTERM, wait for the drain, SIGKILL if it overstays; returns seconds taken."""
        started = time.monotonic()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return time.monotonic() - started
