"""Tests for cloudmonitor_pipelines.azure."""
