"""Quality benchmarks: each scores or compares outputs. Run as `python -m benchmarks.quality.<name>`."""
