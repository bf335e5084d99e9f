"""The image's entry point and health check against real local HTTP servers.

The entry point reads the ECS task metadata endpoint (here a local server answering as ECS
does) to learn the address a cluster node advertises; the health check asks `/ready` on the
node's own ports and tells a refused port from a failing one.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bidserver import container, healthcheck
from tests.cluster.nodeproc import free_port

TASK_METADATA = {
    "DockerId": "abc",
    "Networks": [{"NetworkMode": "awsvpc", "IPv4Addresses": ["10.0.12.34"]}],
}


@contextlib.contextmanager
def _serve(status: int, body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def metadata() -> Iterator[str]:
    with _serve(200, json.dumps(TASK_METADATA).encode()) as url:
        yield url


def test_the_task_address_comes_from_the_metadata_endpoint(metadata: str) -> None:
    env = {container.METADATA_VARIABLE: metadata}
    container.prepare_environment(env)
    assert env[container.ADVERTISE] == "10.0.12.34"


def test_an_operator_set_address_wins_over_the_metadata(metadata: str) -> None:
    env = {container.METADATA_VARIABLE: metadata, container.ADVERTISE: "node-a.internal"}
    container.prepare_environment(env)
    assert env[container.ADVERTISE] == "node-a.internal"


def test_outside_ecs_nothing_is_added() -> None:
    env: dict[str, str] = {}
    container.prepare_environment(env)
    assert env == {}


def test_metadata_without_an_address_stops_start_up() -> None:
    for body in (b'{"Networks": []}', b"not json", b"[1, 2]"):
        with _serve(200, body) as url, pytest.raises(container.MetadataError):
            container.task_address(url)


def test_unreachable_metadata_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(container.METADATA_VARIABLE, f"http://127.0.0.1:{free_port()}/v4")
    monkeypatch.delenv(container.ADVERTISE, raising=False)
    assert container.main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bidserver: BIDSERVER_ADVERTISE_HOST: unset")
    assert err.count("\n") == 1


def test_health_is_ready_when_every_listening_port_answers_200() -> None:
    with _serve(200, b'{"ready": true}') as url:
        port = int(url.rsplit(":", 1)[1])
        env = {"BIDSERVER_WS_PORT": str(port), "BIDSERVER_HTTP_PORT": str(free_port())}
        assert healthcheck.check(env) == (True, f"ready on {port}")


def test_health_fails_on_a_503_and_when_nothing_listens() -> None:
    with _serve(503, b'{"ready": false}') as url:
        port = int(url.rsplit(":", 1)[1])
        env = {"BIDSERVER_WS_PORT": str(port), "BIDSERVER_HTTP_PORT": str(free_port())}
        healthy, detail = healthcheck.check(env)
    assert not healthy
    assert "503" in detail
    idle = {"BIDSERVER_WS_PORT": str(free_port()), "BIDSERVER_HTTP_PORT": str(free_port())}
    assert healthcheck.check(idle) == (False, "no port answered")
