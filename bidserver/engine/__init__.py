"""The engine: runs the rules core on an event loop and persists what it decides.

Actors (one task and inbox per live auction, the only writer of its state), the registry
that activates and passivates them and schedules closes, the mailbox of their messages, the
persister that group-commits every actor's events, the recording of decided events into
frames and store items, the handles and router the faces reach auctions through, and the
fan-out's subscriber port.

May import: the rules core, `bidserver.wire`, `bidserver.ports`, and the process's shared
modules (`errors`, `metrics`, `timefmt`, `config`). Never a face (`bidserver.gateway`,
`httpapi`) and never a storage adapter: storage is reached through `bidserver.ports`.
"""
