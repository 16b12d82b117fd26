"""Conformance suites that every space and strategy must pass (used by tests and plugins)."""
