"""The valuation service of CONTRACT §8: the pure pricing model behind a cache, the sales
it reads, and the external provider it asks first.

`service.Valuer` answers a valuation: the provider (`provider.Provider`, when
`BIDSERVER_PRICING_URL` is set) if it answers well within a second, else a book of this
marketplace's own sales (`bidserver.pricing`), cached per make/model and dropped when a
sale of that make/model closes (the database announces each one at commit). The REST
sidecar serves it; nothing on the bid path ever waits for it.

May import: `bidserver.pricing`, the process's shared modules (config, timefmt, errors,
logs); never the engine, a face, or a storage adapter (the store comes in as the
`SalesStore` port).
"""
