"""The cluster wing (CONTRACT §7): which node decides which auction.

`placement.py` is the port the rest of the node asks ("who decides auction N?"), with
`LocalPlacement` for a single node. `shards.py` (the stable shard of an auction, rendezvous
hashing of shards over live members) and `lease.py` (when a held lease stops being safe to
act on, measured on this node's monotonic clock) are pure. `redisops.py` holds the Redis
keys and Lua scripts of membership and shard leases; `leases.py` runs them (`LeasePlacement`).
Redis is only the control plane: the fence is the auction's `owner_epoch` in PostgreSQL,
bumped by the engine when it takes an auction over.

Node links: `frames.py` (length-prefixed msgpack) and `handshake.py` (HMAC challenge-response,
both sides prove the secret over the other's fresh nonce) are pure; `link.py` runs them (the
cluster-port listener, one redialled link per peer); `stats.py` their metrics.

May import: the standard library, `redis`, `msgpack`, the engine's handles (routing), `wire`,
and the process's shared modules (`errors`, `metrics`, `config`, `timefmt`); never a face
(`gateway`, `httpapi`) or `storage`. The engine may import only `placement` and `shards` from
here.
"""
