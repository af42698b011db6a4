"""Exception types shared across the package that say how a failure should be handled (no Dagster here).

A `PermanentError` fails the same way however often it is retried (wrong configuration, bad input), so the Dagster
layer (defs.failures) fails such a step at once instead of retrying it. Raise a subclass of it where the condition
is detected; a bare built-in exception (KeyError, ValueError, ...) is treated as possibly transient.
"""


class PermanentError(Exception):
    """A failure that a retry cannot fix."""


class UnknownTenantError(PermanentError, KeyError):
    """A tenant key that the tenants file does not define. A KeyError too, for callers that look tenants up as keys."""

    def __str__(self) -> str:
        # KeyError's own str() is the repr of its argument: the message would be shown in quotes, escapes and all.
        return str(self.args[0]) if self.args else ""
