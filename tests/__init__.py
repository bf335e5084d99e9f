"""Test suite; a package so test modules import by their full dotted names."""
