"""The row-lock baseline engine of `python -m bench compare` (`serve --engine rowlock`).

The usual design, kept to measure bidserver against: every bid is one PostgreSQL
transaction around `SELECT … FOR UPDATE`. Its engine and its SQL live together here, apart
from the product's storage, because it is the benchmark's model and not the product's path.

May import: the rules core, the engine's ports and recording, `bidserver.wire`, and
`storage`'s pool and auction reader. Nothing imports it but the node's wiring.
"""
