"""One module per family of scenarios; each exposes `async def run(opts, plan) -> [Series]`."""
