"""Benchmarks run by `make bench`. Each prints what it measured; none is a unit test."""
