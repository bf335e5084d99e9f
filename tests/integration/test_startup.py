"""Every way a node commonly fails to start is one line naming the setting, never a traceback
(CONTRACT §1; issue 10 findings 4 and 6), and a data dir belongs to one node at a time."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster.nodeproc import free_port, running_node
from tests.integration.test_cli import CLI_TIMEOUT_S, SCRIPT, Run
from tests.support import SECRET

LAUNCHER = (
    "import sys, bidserver.database as d; d.START_TIMEOUT_S = float(sys.argv.pop(1));"
    " from bidserver.cli import main; sys.exit(main(sys.argv[1:]))"
)


async def serve(
    dsn: str, data_dir: Path, *, timeout_s: float | None = None, env: dict[str, str] | None = None
) -> Run:
    """`bidserver serve` on free ports unless told otherwise; returns when it exits."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    ws_port, http_port = free_ports(2)
    environ.update(
        BIDSERVER_DATABASE_URL=dsn,
        BIDSERVER_JWT_SECRET=SECRET.decode(),
        BIDSERVER_DATA_DIR=str(data_dir),
        BIDSERVER_WS_PORT=str(ws_port),
        BIDSERVER_HTTP_PORT=str(http_port),
    )
    environ.update(env or {})
    command = (
        [str(SCRIPT)] if timeout_s is None else [sys.executable, "-c", LAUNCHER, str(timeout_s)]
    )
    proc = await asyncio.create_subprocess_exec(
        *command,
        "serve",
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def free_ports(count: int) -> list[int]:
    """Distinct free ports: each socket stays bound until all are chosen."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def one_line(run: Run, setting: str) -> str:
    assert run.code == 2, run
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert "Traceback" not in run.err
    assert lines[0].startswith(f"bidserver: {setting}: "), lines[0]
    return lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize("setting", ["BIDSERVER_WS_PORT", "BIDSERVER_HTTP_PORT"])
async def test_a_port_in_use_is_one_line_naming_it(
    pg_dsn: str, tmp_path: Path, taken_port: int, setting: str
) -> None:
    run = await serve(pg_dsn, tmp_path, env={setting: str(taken_port)})
    line = one_line(run, setting)
    assert f"127.0.0.1:{taken_port}: address already in use" in line  # bench/server.py retries
    assert "--ws-port" in line or "--http-port" in line


async def test_the_same_port_twice_is_one_line(pg_dsn: str, tmp_path: Path) -> None:
    port = str(free_port())
    run = await serve(
        pg_dsn, tmp_path, env={"BIDSERVER_WS_PORT": port, "BIDSERVER_HTTP_PORT": port}
    )
    line = one_line(run, "BIDSERVER_HTTP_PORT")
    assert f"{port} is BIDSERVER_WS_PORT too (address already in use)" in line


async def test_a_host_that_is_not_this_machine_is_one_line(pg_dsn: str, tmp_path: Path) -> None:
    run = await serve(
        pg_dsn, tmp_path, env={"BIDSERVER_HOST": "192.0.2.1"}
    )  # TEST-NET: never local
    assert "not an address of this machine" in one_line(run, "BIDSERVER_HOST")


async def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    nobody = f"postgresql://postgres@127.0.0.1:{free_port()}/bidserver"
    run = await serve(nobody, tmp_path, timeout_s=0.5)
    assert "database unreachable for 0.5 s" in one_line(run, "BIDSERVER_DATABASE_URL")


async def test_a_data_dir_belongs_to_one_node_until_it_dies(pg_dsn: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    async with running_node(pg_dsn, data_dir) as first:
        second = await serve(pg_dsn, data_dir)
        line = one_line(second, "BIDSERVER_DATA_DIR")
        assert "held by another running node" in line
        assert f"pid {first.process.pid}" in line
        # The other commands still work beside it.
        for command in (["migrate"], ["create-user", "--email", "x@y.test", "--password",
                                      "0123456789", "--role", "bidder"]):  # fmt: skip
            proc = await asyncio.create_subprocess_exec(
                str(SCRIPT),
                *command,
                env={
                    **os.environ,
                    "BIDSERVER_DATABASE_URL": pg_dsn,
                    "BIDSERVER_DATA_DIR": str(data_dir),
                },
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            _, err = await asyncio.wait_for(proc.communicate(), CLI_TIMEOUT_S)
            assert proc.returncode == 0, (command, err)
        first.kill9()  # a crash: the kernel lets go of the lock
        await first.exit_code()
        async with running_node(pg_dsn, data_dir):
            pass  # the next node starts
