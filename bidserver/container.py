"""The image's entry point: learn what only the running task knows, then run the console script.

On ECS (Fargate, awsvpc networking) a task's own address exists only once it runs, and a
cluster node must advertise it to its peers (CONTRACT §7 `BIDSERVER_ADVERTISE_HOST`); a
task definition cannot name it. The ECS task metadata endpoint can: its URL is in
`ECS_CONTAINER_METADATA_URI_V4`. Anywhere else (docker run, a laptop) nothing is added.
A task whose metadata cannot be read stops with one line, rather than join the cluster
advertising 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections.abc import MutableMapping, Sequence

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
ADVERTISE = "BIDSERVER_ADVERTISE_HOST"
TIMEOUT_S = 5.0


class MetadataError(RuntimeError):
    """The task metadata endpoint did not say which address this task has."""


def task_address(metadata_uri: str) -> str:
    """The first IPv4 address of this container's network, from the metadata endpoint."""
    try:
        with urllib.request.urlopen(metadata_uri, timeout=TIMEOUT_S) as response:
            document = json.load(response)
    except (OSError, ValueError) as exc:
        raise MetadataError(f"{metadata_uri}: {exc}") from exc
    networks = document.get("Networks") if isinstance(document, dict) else None
    for network in networks or []:
        for address in network.get("IPv4Addresses") or []:
            if isinstance(address, str) and address:
                return address
    raise MetadataError(f"{metadata_uri}: no IPv4 address in Networks")


def prepare_environment(env: MutableMapping[str, str]) -> None:
    """Set the advertised address from the task metadata when it is not already set."""
    if env.get(ADVERTISE) or not env.get(METADATA_VARIABLE):
        return
    env[ADVERTISE] = task_address(env[METADATA_VARIABLE])


def main(argv: Sequence[str] | None = None) -> int:
    try:
        prepare_environment(os.environ)
    except MetadataError as exc:
        print(
            f"bidserver: {ADVERTISE}: unset, and the task metadata failed: {exc}", file=sys.stderr
        )
        return 2
    from bidserver.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
