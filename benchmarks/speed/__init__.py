"""Speed benchmarks: each prints throughput figures. Run as `python -m benchmarks.speed.<name>`."""
