"""bench/: the benchmark harness's pure parts."""
