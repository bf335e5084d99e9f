"""The REST sidecar (aiohttp): accounts, vehicles, auction management and bid endpoints."""
