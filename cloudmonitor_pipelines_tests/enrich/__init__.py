"""Tests of cloudmonitor_pipelines.enrich."""
