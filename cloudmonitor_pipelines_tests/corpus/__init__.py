"""Bad-input corpus: one parametrized harness, one test per malformed export (issue 7)."""
