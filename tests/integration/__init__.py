"""Tests that run against a real PostgreSQL and Redis, local or embedded."""
