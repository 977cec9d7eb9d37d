"""Benchmarks: run as modules, e.g. ``python -m benchmarks.blend_bench``. Not tests."""
