"""Tests of the sample-export generator."""
