"""A deterministic simulation of the engine (issue 9: make fault-path bugs hard to write).

The real actors, registry, persister, close scheduler and router run on a virtual clock
(`clock`) over an in-memory model of the auction store (`memstore`) that injects faults
drawn from a seed (`faults`); simulated bidders, REST callers and watchers (`clients`,
`world`) drive them, and the promises of CONTRACT §2 and DESIGN's invariants are checked
after every step (`checks`). A seed replays exactly: `python -m tests.sim --seed N`.
"""
