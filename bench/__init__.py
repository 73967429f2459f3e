"""slakit benchmarks: `python -m bench [name ...]`. Numbers and ratios, never timed assertions."""
