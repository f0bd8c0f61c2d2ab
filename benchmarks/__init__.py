"""Load benchmarks of the shipped stack, with baselines in the same run (`python -m benchmarks --help`)."""
