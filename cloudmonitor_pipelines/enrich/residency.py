"""Data-residency check: the tenant's workspace storage account must live in the tenant's configured region.

The pipeline writes a tenant's Delta tables to its workspace account; if that account sits in another region, data
leaves the region the customer agreed to. The check fails closed: an account that cannot be found is an error too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from cloudmonitor_pipelines.azure.arm import ArmClient
from cloudmonitor_pipelines.azure.resource_graph import query_resource_graph
from cloudmonitor_pipelines.errors import PermanentError

STORAGE_ACCOUNT_TYPE = "microsoft.storage/storageaccounts"
# Storage account names: 3-24 lower-case letters and digits. Checking this also makes embedding in KQL safe.
_STORAGE_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")

ResourceLookup = Callable[[str], Mapping[str, Any] | None]


class ResidencyError(PermanentError, RuntimeError):
    """The workspace account is missing or outside the tenant's region."""


def _normalize_region(region: str) -> str:
    # "West Europe" and "westeurope" name the same region; ARM reports the latter.
    return "".join(region.split()).lower()


def _check_account_name(account: str) -> str:
    name = account.strip().lower()
    if not _STORAGE_ACCOUNT_NAME.match(name):
        raise ValueError(f"{account!r} is not a valid storage account name (3-24 lower-case letters and digits)")
    return name


def storage_account_query(account: str) -> str:
    """The Resource Graph query that finds one storage account by name."""
    name = _check_account_name(account)
    return (
        f"Resources | where type =~ '{STORAGE_ACCOUNT_TYPE}' and name =~ '{name}' "
        "| project id, name, location"
    )


def lookup_storage_account(
    client: ArmClient, account: str, subscriptions: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """The storage account's `{id, name, location}` from Resource Graph, or None if the principal cannot see it."""
    rows = query_resource_graph(client, storage_account_query(account), subscriptions=subscriptions).rows
    if len(rows) > 1:
        raise ResidencyError(f"Resource Graph returned {len(rows)} storage accounts named {account!r}: {rows}")
    return rows[0] if rows else None


def check_workspace_residency(
    workspace_account: str,
    expected_region: str,
    resources: Iterable[Mapping[str, Any]] | ResourceLookup,
) -> None:
    """Raise ResidencyError unless `workspace_account` exists and is located in `expected_region`.

    `resources` is either an iterable of resource rows (Resource Graph rows or `resources` table rows: `name`,
    `type`, `location`) or a lookup function `account -> row | None` such as
    `lambda a: lookup_storage_account(client, a)`.
    """
    name = _check_account_name(workspace_account)
    if callable(resources):
        found = resources(name)
        matches = [found] if found is not None else []
    else:
        matches = [
            row
            for row in resources
            if str(row.get("name", "")).lower() == name
            and str(row.get("type", STORAGE_ACCOUNT_TYPE)).lower() == STORAGE_ACCOUNT_TYPE
        ]
    if not matches:
        raise ResidencyError(
            f"workspace storage account '{name}' was not found in the tenant's resources, so its region cannot be "
            f"checked against the expected region '{expected_region}' (does the principal have Reader on it?)"
        )
    if len(matches) > 1:
        raise ResidencyError(f"{len(matches)} storage accounts named '{name}' found; expected exactly one")
    actual = matches[0].get("location")
    if not actual or _normalize_region(str(actual)) != _normalize_region(expected_region):
        raise ResidencyError(
            f"workspace storage account '{name}' is in region '{actual}', but the tenant's data must stay in "
            f"'{expected_region}'"
        )
