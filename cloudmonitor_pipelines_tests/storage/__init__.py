"""Tests for cloudmonitor_pipelines.storage."""
