"""bidserver: a real-time auction server for vehicle marketplaces.

The wings (each package's docstring says what lives there and what it may import):
`auction` (the pure rules core), `engine` (actors, persister, registry, router),
`gateway` (the WebSocket face), `wire` (message shapes and codecs both faces share),
`accounts` (tokens, passwords), `baseline` (the row-lock engine of the benchmark).
The modules at this level are the process itself: the CLI and its commands, settings,
the node's wiring and lifecycle, logs, metrics, health, and the storage port (`ports`).
"""

__version__ = "0.1.0"
