"""Benchmark support (issue 9), switched on only by BENCHMARK_FLOOR=true: the floor views under
/_floor/ and a per-request query count. `make bench` (scripts/bench) is the only user."""
