"""`TenantRegistry`: the loaded tenants in file order, looked up by key (with a did-you-mean for unknown keys)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from cloudmonitor_pipelines.errors import UnknownTenantError
from cloudmonitor_pipelines.tenants.tenant import Tenant


@dataclass(frozen=True)
class TenantRegistry:
    """The loaded tenants in file order, looked up by key."""

    path: Path
    tenants: tuple[Tenant, ...]

    @cached_property
    def _by_key(self) -> dict[str, Tenant]:
        return {tenant.key: tenant for tenant in self.tenants}

    def keys(self) -> list[str]:
        return [tenant.key for tenant in self.tenants]

    def get(self, key: str) -> Tenant:
        try:
            return self._by_key[key]
        except KeyError:
            raise UnknownTenantError(self._unknown_key_message(key)) from None

    def partners(self) -> dict[str, tuple[Tenant, ...]]:
        """Tenants grouped by partner (portfolio roll-ups); tenants without a partner are left out."""
        groups: dict[str, list[Tenant]] = {}
        for tenant in self.tenants:
            if tenant.partner is not None:
                groups.setdefault(tenant.partner, []).append(tenant)
        return {partner: tuple(members) for partner, members in groups.items()}

    def __contains__(self, key: object) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Tenant]:
        return iter(self.tenants)

    def __len__(self) -> int:
        return len(self.tenants)

    def _unknown_key_message(self, key: str) -> str:
        keys = self.keys()
        if not keys:
            return f"unknown tenant {key!r}: {self.path} defines no tenants"
        shown = ", ".join(keys[:20]) + (f", … ({len(keys) - 20} more)" if len(keys) > 20 else "")
        close = difflib.get_close_matches(str(key), keys, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown tenant {key!r}{hint}. Known tenants in {self.path}: {shown}"
