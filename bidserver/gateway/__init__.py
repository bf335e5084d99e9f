"""The WebSocket face: the server and its handshake checks, one session per socket, the
connection class that hands whole frames to the session, each socket's outbox, and the
HTTP probes (`/health`, `/ready`, `/metrics`) on the WebSocket port.

May import: the engine (through its handles), `bidserver.wire`, `bidserver.accounts`, and
the process's shared modules. Never `httpapi` (the other face) or `storage`.
"""
