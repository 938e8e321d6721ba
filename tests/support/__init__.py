"""Test support: fake servers, daemons and world builders used only by tests and benchmarks."""
