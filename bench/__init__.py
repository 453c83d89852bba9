"""Benchmarks of the sandbox (`make bench`): each figure is reported as a ratio
against a yardstick measured in the same run on the same machine (docs/performance.md)."""
