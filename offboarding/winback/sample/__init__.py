"""Generated win-back populations for demos, tests, benchmarks: population pure, writing not."""
