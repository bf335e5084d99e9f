"""`bidserver COMMAND --help` (issue 10, finding 5): every flag of every command has a
description and says its default (or that it is required), in titled groups."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from bidserver import clihelp
from bidserver.cli import build_parser
from bidserver.config import DEFAULTS

COMMANDS = ("serve", "migrate", "seed-demo", "create-user", "backup", "restore")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_help() -> None:
    assert set(_subparsers()) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_is_described_with_its_default_in_a_group(command: str) -> None:
    parser = _subparsers()[command]
    assert parser.description
    for group in parser._action_groups:
        for action in group._group_actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            flag = (action.option_strings or [action.dest])[0]  # a positional: its name
            assert action.help, flag
            assert "default: " in action.help or action.help.endswith("required]"), flag
            # Grouped: nothing but -h lives in argparse's catch-all "options" group.
            assert group.title not in ("options", "optional arguments"), flag


def test_every_setting_is_described_and_a_serve_flag() -> None:
    assert set(clihelp.SETTINGS) == set(DEFAULTS), "describe new settings in bidserver/clihelp.py"
    serve = _subparsers()["serve"]
    flags = {s for a in serve._actions for s in a.option_strings}
    for name in DEFAULTS:
        assert clihelp.flag(name) in flags
        assert f"--{name}" in flags  # the variable's own name is a spelling too


def test_role_and_engine_are_explained() -> None:
    text = _subparsers()["serve"].format_help()
    for words in ("all:", "ws:", "http:", "actor:", "rowlock:", "baseline"):
        assert words in text


def test_the_installed_script_prints_it() -> None:
    script = Path(sys.executable).with_name("bidserver")
    done = subprocess.run(
        [str(script), "serve", "--help"], capture_output=True, text=True, check=True, timeout=30
    )
    assert "network:" in done.stdout
    assert "[env BIDSERVER_WS_PORT; default: 8765]" in " ".join(done.stdout.split())
