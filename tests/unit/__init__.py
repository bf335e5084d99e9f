"""Unit tests: the pure rules core, the wire protocol and tokens, without an event loop."""
