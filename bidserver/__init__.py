"""bidserver: a real-time auction server for vehicle marketplaces."""

__version__ = "0.1.0"
