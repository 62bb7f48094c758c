"""Known truth for tests, benchmarks and bundled examples: simulated IPD and rendered KM figures."""
