"""cloudmonitor-pipelines: Azure Cost Management FOCUS exports to per-tenant Delta tables."""

from cloudmonitor_pipelines.runtime import configure_allocator

configure_allocator()  # first, before any module loads polars (see runtime.py)
