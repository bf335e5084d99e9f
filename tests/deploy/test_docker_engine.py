"""The private Docker engine leaves nothing behind, even when the test using it fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.docker_engine import docker_engine

seen: dict[str, object] = {}


def _failing_test() -> None:
    with docker_engine() as engine:
        state = Path(engine.host.removeprefix("unix://")).parent
        seen["state"] = state
        seen["pid"] = int((state / "dockerd.pid").read_text())
        assert engine.check("version", "--format", "{{.Server.Os}}") == "linux"
        raise RuntimeError("the test failed")


def test_a_failing_test_leaves_no_dockerd_mount_or_state_behind() -> None:
    with pytest.raises(RuntimeError, match="the test failed"):
        _failing_test()
    state, pid = seen["state"], seen["pid"]
    assert isinstance(state, Path)
    assert not Path(f"/proc/{pid}").exists(), "dockerd still runs"
    assert str(state) not in Path("/proc/self/mountinfo").read_text()
    assert not state.exists()
