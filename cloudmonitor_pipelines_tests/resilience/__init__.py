"""Crash-safety and concurrency tests: ingests killed mid-write, tenants materialized at the same time."""
