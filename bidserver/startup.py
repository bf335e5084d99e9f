"""Start-up checks that turn the usual ways a node cannot start into one line each.

A port another process listens on, a host that is not this machine's, a data dir another
node holds: each is found before the database is even opened, and reported as a
`SettingError` naming the setting to change (CONTRACT §1), never as a traceback.
"""

from __future__ import annotations

import errno
import socket

from bidserver import clihelp, datadir
from bidserver.config import SettingError, Settings


def claim(settings: Settings) -> None:
    """Take the data dir (nodes that own auctions) and make sure both ports can be bound."""
    if settings.role != "http":
        datadir.hold(
            settings.data_dir,
            nodeId=settings.node_id,
            wsPort=settings.ws_port,
            httpPort=settings.http_port,
        )
    check_ports(settings)


def ports(settings: Settings) -> list[tuple[str, int]]:
    """The (setting, port) pairs this node's role listens on."""
    wanted = []
    if settings.role != "http":
        wanted.append(("BIDSERVER_WS_PORT", settings.ws_port))
    if settings.role != "ws":
        wanted.append(("BIDSERVER_HTTP_PORT", settings.http_port))
    return wanted


def check_ports(settings: Settings) -> None:
    wanted = ports(settings)
    numbers = [port for _, port in wanted if port != 0]
    if len(set(numbers)) < len(numbers):
        raise SettingError(
            "BIDSERVER_HTTP_PORT",
            f"{numbers[0]} is BIDSERVER_WS_PORT too (address already in use); give each"
            " its own port",
        )
    for name, port in wanted:
        if port != 0:  # 0: the system picks a free one
            _probe(settings.host, name, port)


def _probe(host: str, name: str, port: int) -> None:
    """Bind (without listening) every address the server will bind, as asyncio does."""
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise SettingError("BIDSERVER_HOST", f"cannot resolve {host!r}: {exc.strerror}") from None
    bound = 0
    for family, kind, proto, _, address in infos:
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue  # an address family this machine does not have
        with sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRNOTAVAIL:
                    continue  # asyncio skips a family that is not enabled, so do we
                raise bind_error(name, host, port, exc) from None
            bound += 1
    if not bound:
        raise SettingError("BIDSERVER_HOST", f"{host} is not an address of this machine")


def bind_error(name: str, host: str, port: int, exc: OSError) -> SettingError:
    """The one line for a port that cannot be listened on."""
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return SettingError(
            name,
            f"{where}: address already in use (another bidserver?); stop it or choose"
            f" another port with {clihelp.flag(name)}",
        )
    if exc.errno == errno.EACCES:
        return SettingError(name, f"no permission to listen on {where} (ports below 1024?)")
    if exc.errno == errno.EADDRNOTAVAIL:
        return SettingError("BIDSERVER_HOST", f"{host} is not an address of this machine")
    return SettingError(name, f"cannot listen on {where}: {exc.strerror or exc}")
