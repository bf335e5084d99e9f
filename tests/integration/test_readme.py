"""The README's shell examples run against a node started as `make run` starts it (issue 10,
finding 1 and 2): embedded PostgreSQL, the demo seeded and kept alive. They look an open
auction up instead of hard-coding one, and follow each other without conflict. The other
commands are run beside the running node on its data dir first (CONTRACT §1)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.integration.test_startup import free_ports

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
SCRIPT = Path(sys.executable).with_name("bidserver")
READY_TIMEOUT_S = 90.0  # an embedded PostgreSQL's first start (initdb) is slow on a busy machine
RUN_TIMEOUT_S = 60.0


def shell_examples(readme: str) -> list[str]:
    section = readme.split("## Try it from a shell", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, flags=re.S | re.M)


def _tools() -> None:
    missing = [tool for tool in ("curl", "jq", "bash") if shutil.which(tool) is None]
    if not missing:
        return
    message = f"the README examples need {', '.join(missing)}: run .ci/setup-readme-tools"
    if os.environ.get("BIDSERVER_TEST_REQUIRE_ALL", "") not in ("", "0"):
        pytest.fail(message)
    pytest.skip(message)


def test_the_readme_starts_with_make_run_and_make_test_and_states_the_money_unit() -> None:
    text = README.read_text()
    first = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    assert first is not None
    commands = [line.split("#")[0].strip() for line in first.group(1).splitlines()]
    assert commands[:2] == ["make run", "make test"]
    screen = "\n".join(text.splitlines()[:30])  # the first screen
    assert "integer number of whole currency units" in screen
    assert "Ctrl-C" in screen
    assert "seed-demo --reset" in screen


def test_the_examples_hard_code_no_auction() -> None:
    examples = "\n".join(shell_examples(README.read_text()))
    assert len(shell_examples(README.read_text())) >= 2
    assert not re.search(r"/auctions/\d", examples)
    assert not re.search(r'"auctionId":\s*\d', examples)
    assert "127.0.0.1:8080" in examples
    assert "127.0.0.1:8765" in examples


async def _wait_ready(base: str, node: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http, asyncio.timeout(READY_TIMEOUT_S):
        while True:
            assert node.returncode is None, "the node exited"
            try:
                async with http.get(f"{base}/ready") as ready:
                    if ready.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)  # readiness polling, bounded; nothing to wait on instead


async def _run(*command: str, env: dict[str, str], cwd: Path = ROOT) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT_S)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_the_examples_run_against_a_node_made_like_make_run(tmp_path: Path) -> None:
    _tools()
    ws_port, http_port = free_ports(2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    env.update(
        BIDSERVER_DATA_DIR=str(tmp_path / "data"),
        BIDSERVER_WS_PORT=str(ws_port),
        BIDSERVER_HTTP_PORT=str(http_port),
        BIDSERVER_LOG_LEVEL="warning",
    )
    node = await asyncio.create_subprocess_exec(
        str(SCRIPT), "serve", "--demo", "on", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        await _wait_ready(f"http://127.0.0.1:{http_port}", node)
        beside = [
            ["seed-demo"],
            ["migrate"],
            ["create-user", "--email", "new@example.test", "--password", "0123456789",
             "--role", "seller"],
        ]  # fmt: skip
        for command in beside:
            code, out = await _run(str(SCRIPT), *command, env=env)
            assert code == 0, (command, out)
        script = "\n".join(shell_examples(README.read_text()))
        script = script.replace("127.0.0.1:8080", f"127.0.0.1:{http_port}")
        script = script.replace("127.0.0.1:8765", f"127.0.0.1:{ws_port}")
        script = script.replace(".venv/bin/", str(Path(sys.executable).parent) + "/")
        code, out = await _run("bash", "-euo", "pipefail", "-c", script, env=env)
    finally:
        node.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            stopped = await node.wait()
    assert code == 0, out
    assert stopped == 0
    # The REST bid of the first bidder, then the WebSocket bid of the second, both accepted.
    assert re.search(r'"accepted": true,\s*"amount": \d+,\s*"leading": true', out), out
    assert "'type': 'bid_result'" in out
    assert "'leading': True" in out
    assert "already_leading" not in out
    assert "error" not in out
