"""Sample FOCUS exports for the demo tenants, tests and benchmarks: generator, row templates, file writers."""
