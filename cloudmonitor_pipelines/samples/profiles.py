"""Tenant profiles and reference value pools for the sample-export generator.

Everything here is deterministic: a tenant key (plus a seed for the inventory) always yields the same billing
account, subscriptions, resources and prices, so the cost rows of `generator.py` and the recorded Resource Graph /
Advisor responses built from `sample_inventory` describe the same estate. Values are modelled on real Azure
FocusCost rows (ARM casing, meter names, units, list prices in USD).
"""

from __future__ import annotations

import hashlib
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from cloudmonitor_pipelines.errors import PermanentError

# ARM location -> meter region, as Azure prices write it (display names: `regions.AZURE_PUBLIC_REGIONS`).
METER_REGIONS: dict[str, str] = {
    "westeurope": "EU West",
    "northeurope": "EU North",
    "eastus": "US East",
    "eastus2": "US East 2",
    "westus2": "US West 2",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "germanywestcentral": "DE West Central",
    "francecentral": "FR Central",
    "swedencentral": "SE Central",
    "centralus": "US Central",
    "japaneast": "JA East",
    "australiaeast": "AU East",
}

# Billing currency -> how many units of it one USD buys (fixed per sample; realistic magnitudes).
USD_EXCHANGE: dict[str, float] = {"USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.2, "AUD": 1.52, "SEK": 10.6}

# Region pools used to derive a profile for an unknown tenant key, by home region.
_SECOND_REGIONS: dict[str, tuple[str, ...]] = {
    "westeurope": ("northeurope", "germanywestcentral"),
    "eastus": ("eastus2", "westus2", "centralus"),
    "uksouth": ("ukwest", "westeurope"),
    "northeurope": ("westeurope", "swedencentral"),
    "francecentral": ("westeurope",),
    "japaneast": ("eastus",),
    "australiaeast": ("eastus",),
    "swedencentral": ("northeurope",),
}
_HOME_CURRENCY = {
    "westeurope": "EUR", "northeurope": "EUR", "francecentral": "EUR", "swedencentral": "SEK",
    "eastus": "USD", "uksouth": "GBP", "japaneast": "JPY", "australiaeast": "AUD",
}
_TENANT_KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # fullmatch: "$" would let a trailing newline through

FIRST_NAMES = ("jane", "john", "amelia", "lukas", "sofia", "noah", "mei", "omar", "ines", "pieter")
LAST_NAMES = ("doe", "smith", "jansen", "garcia", "muller", "chen", "haddad", "silva", "novak", "okafor")
TEAMS = ("platform", "payments", "data", "web", "identity", "analytics", "ml")
ENVIRONMENTS = ("prod", "dev", "test", "staging")


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    name: str
    invoice_section_id: str | None
    invoice_section_name: str | None
    cost_center: str | None


@dataclass(frozen=True)
class TenantProfile:
    key: str
    display_name: str
    email_domain: str
    billing_currency: str
    agreement: str  # "EA" | "MCA"
    billing_account_id: str
    billing_account_name: str
    billing_profile_id: str
    billing_profile_name: str
    export_scope: str  # where the export is defined (EA enrollment or MCA billing profile)
    home_region: str
    regions: tuple[str, ...]
    subscriptions: tuple[Subscription, ...]
    exchange_rate_from_usd: float  # billing currency per USD
    negotiated_discount: float  # contracted price = list price * (1 - this)
    account_owner_email: str | None  # EA enrollment account owner; None for MCA
    tax_rate: float
    tax_name: str

    @property
    def pricing_currency(self) -> str:
        # MCA prices in USD and converts; EA prices in the billing currency.
        return "USD" if self.agreement == "MCA" else self.billing_currency

    @property
    def pricing_to_billing_rate(self) -> float:
        return self.exchange_rate_from_usd if self.agreement == "MCA" else 1.0


def workspace_account_name(tenant: str) -> str:
    """Name of the tenant's workspace storage account (3-24 lower-case alphanumerics, as Azure requires)."""
    return ("cm" + re.sub(r"[^a-z0-9]", "", tenant.lower())[:20] + "ws")[:24]


def stable_int(*parts: object) -> int:
    """A 64-bit integer derived from the parts, stable across processes (unlike hash())."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


def rng_for(*parts: object) -> random.Random:
    """A Python RNG seeded from the parts (per-resource choices are few; the per-row ones are vectorized)."""
    return random.Random(stable_int(*parts))


def guid(rng: random.Random) -> str:
    return str(uuid.UUID(bytes=rng.randbytes(16), version=4))


_KNOWN: dict[str, tuple[str, str, str, str, str, tuple[str, ...]]] = {
    # key: (display name, domain, currency, agreement, home region, other regions)
    "contoso": ("Contoso Ltd", "contoso.com", "EUR", "MCA", "westeurope", ("northeurope", "germanywestcentral")),
    "fabrikam": ("Fabrikam Inc", "fabrikam.com", "USD", "EA", "eastus", ("eastus2", "westus2")),
    "tailspin": ("Tailspin Toys", "tailspintoys.co.uk", "GBP", "MCA", "uksouth", ("ukwest", "westeurope")),
}


class SampleRequestError(PermanentError, ValueError):
    """A sample request the user can fix (tenant key, rows, format, months): `cloudmonitor-pipelines
    sample-exports` prints it as one line and exits 2, like every other user error."""


def tenant_profile(tenant: str) -> TenantProfile:
    """The billing shape of a sample tenant; unknown keys get a profile derived deterministically from the key."""
    if not _TENANT_KEY.fullmatch(tenant):
        raise SampleRequestError(f"tenant key {tenant!r} is invalid: use 1-63 lower-case letters, digits or "
                                 "'-', starting with a letter or digit")
    rng = rng_for("profile", tenant)
    if tenant in _KNOWN:
        display, domain, currency, agreement, home, others = _KNOWN[tenant]
    else:
        home = rng.choice(sorted(_HOME_CURRENCY))
        currency = _HOME_CURRENCY[home]
        agreement = rng.choice(["EA", "MCA"])
        others = _SECOND_REGIONS[home]
        display = tenant.replace("-", " ").title()
        domain = f"{tenant.replace('-', '')}.example"
    n_subs = 3 + rng.randrange(0, 2)
    sub_rng = rng_for("subscriptions", tenant)
    account = _billing_account(sub_rng, agreement, display, domain, currency)
    tax_rate, tax_name = {"EUR": (0.21, "VAT"), "GBP": (0.20, "VAT"), "USD": (0.0625, "Sales tax")}.get(
        currency, (0.10, "Consumption tax")
    )
    return TenantProfile(
        key=tenant,
        display_name=display,
        email_domain=domain,
        billing_currency=currency,
        agreement=agreement,
        billing_account_id=account.account_id,
        billing_account_name=account.account_name,
        billing_profile_id=account.profile_id,
        billing_profile_name=account.profile_name,
        export_scope=account.profile_id,  # the EA enrollment or the MCA billing profile
        home_region=home,
        regions=(home, *others),
        subscriptions=_subscriptions(sub_rng, n_subs, display, agreement, account.departments),
        exchange_rate_from_usd=USD_EXCHANGE[currency],
        negotiated_discount=0.12 if agreement == "EA" else 0.03,
        account_owner_email=account.owner,
        tax_rate=tax_rate,
        tax_name=tax_name,
    )


@dataclass(frozen=True)
class _BillingAccount:
    account_id: str
    account_name: str
    profile_id: str
    profile_name: str
    owner: str | None
    departments: list[tuple[str, str]]  # (invoice section or department id, team)


def _billing_account(
    sub_rng: random.Random, agreement: str, display: str, domain: str, currency: str
) -> _BillingAccount:
    """An EA enrollment with departments, or an MCA billing account and profile with invoice sections."""
    if agreement == "EA":
        enrollment = str(sub_rng.randrange(10_000_000, 99_999_999))
        account_id = f"/providers/Microsoft.Billing/billingAccounts/{enrollment}"
        account_name = f"{display} Enterprise Agreement"
        departments = [(str(sub_rng.randrange(100_000, 999_999)), team) for team in ("Engineering", "Data")]
        return _BillingAccount(account_id, account_name, account_id, account_name, f"azure-billing@{domain}",
                               departments)
    account_guid = f"{guid(sub_rng)}:{guid(sub_rng)}_2019-05-31"
    account_id = f"/providers/Microsoft.Billing/billingAccounts/{account_guid}"
    profile_code = _billing_code(sub_rng)
    profile_id = f"{account_id}/billingProfiles/{profile_code}"
    departments = [(f"{profile_id}/invoiceSections/{_billing_code(sub_rng)}", team) for team in ("Engineering", "Data")]
    return _BillingAccount(account_id, display, profile_id, f"{display} {currency} billing", None, departments)


def _subscriptions(
    sub_rng: random.Random, n_subs: int, display: str, agreement: str, departments: list[tuple[str, str]]
) -> tuple[Subscription, ...]:
    sub_names = ("prod", "dev", "shared", "sandbox")
    return tuple(
        Subscription(
            subscription_id=guid(sub_rng),
            name=f"{display.split()[0]}-{sub_names[i]}",
            invoice_section_id=departments[i % len(departments)][0],
            invoice_section_name=departments[i % len(departments)][1],
            cost_center=f"CC-{1000 + 10 * i}" if agreement == "EA" else None,
        )
        for i in range(n_subs)
    )


# ---------------------------------------------------------------------------------------------------------------
# Service catalogue: resource types, their meters and list prices (USD).


@dataclass(frozen=True)
class Meter:
    category: str  # x_SkuMeterCategory
    subcategory: str  # x_SkuMeterSubcategory
    name: str  # x_SkuMeterName / SkuMeter
    pricing_unit: str
    unit_description: str  # x_PricingUnitDescription
    consumed_unit: str
    block_size: float
    unit_price_usd: float  # per pricing unit
    daily_quantity: float  # median consumed quantity per day
    service_family: str
    regional: bool = True
    sku_details: dict[str, Any] = field(default_factory=dict)  # x_SkuDetails (1.0) shape
    price_details: dict[str, Any] = field(default_factory=dict)  # SkuPriceDetails (1.2) shape, FOCUS keys or x_ keys


@dataclass(frozen=True)
class ServiceType:
    provider: str  # ARM namespace, e.g. Microsoft.Compute
    arm_type: str  # ARM type segment(s), e.g. virtualMachines
    display: str  # FOCUS ResourceType
    service_name: str
    service_category: str
    service_subcategory: str
    service_model: str  # x_ServiceModel
    prefix: str  # resource name prefix

    @property
    def full_type(self) -> str:
        return f"{self.provider}/{self.arm_type}"


VM_SIZES: dict[str, tuple[int, float, float, str]] = {
    # size -> (vCPUs, memory GB, Linux list price USD/hour, meter series)
    "D2s_v5": (2, 8, 0.096, "Dsv5 Series"),
    "D4s_v5": (4, 16, 0.192, "Dsv5 Series"),
    "E4s_v5": (4, 32, 0.252, "Esv5 Series"),
    "B2ms": (2, 8, 0.0832, "BS Series"),
    "F8s_v2": (8, 16, 0.338, "FSv2 Series"),
}

SERVICE_TYPES: dict[str, ServiceType] = {
    "vm": ServiceType("Microsoft.Compute", "virtualMachines", "Virtual machine", "Virtual Machines", "Compute",
                      "Virtual Machines", "IaaS", "vm"),
    "disk": ServiceType("Microsoft.Compute", "disks", "Disk", "Managed Disks", "Storage", "Block Storage", "IaaS",
                        "disk"),
    "storage": ServiceType("Microsoft.Storage", "storageAccounts", "Storage account", "Storage Accounts", "Storage",
                           "Object Storage", "PaaS", "st"),
    "sqldb": ServiceType("Microsoft.Sql", "servers/databases", "SQL database", "Azure SQL Database", "Databases",
                         "Relational Databases", "PaaS", "sqldb"),
    "aks": ServiceType("Microsoft.ContainerService", "managedClusters", "Kubernetes service",
                       "Azure Kubernetes Service", "Compute", "Containers", "PaaS", "aks"),
    "appplan": ServiceType("Microsoft.Web", "serverFarms", "App Service plan", "Azure App Service", "Web",
                           "Application Platforms", "PaaS", "asp"),
    "pip": ServiceType("Microsoft.Network", "publicIPAddresses", "Public IP address", "Virtual Network",
                       "Networking", "Network Infrastructure", "IaaS", "pip"),
    "lb": ServiceType("Microsoft.Network", "loadBalancers", "Load balancer", "Load Balancer", "Networking",
                      "Network Routing", "IaaS", "lb"),
    "kv": ServiceType("Microsoft.KeyVault", "vaults", "Key vault", "Key Vault", "Security", "Secret Management",
                      "PaaS", "kv"),
    "law": ServiceType("Microsoft.OperationalInsights", "workspaces", "Log Analytics workspace", "Log Analytics",
                       "Management and Governance", "Observability", "PaaS", "log"),
    "cosmos": ServiceType("Microsoft.DocumentDB", "databaseAccounts", "Azure Cosmos DB account", "Azure Cosmos DB",
                          "Databases", "NoSQL Databases", "PaaS", "cosmos"),
    "openai": ServiceType("Microsoft.CognitiveServices", "accounts", "Azure OpenAI", "Azure OpenAI Service",
                          "AI and Machine Learning", "Generative AI", "SaaS", "oai"),
    "saas": ServiceType("Microsoft.SaaS", "resources", "SaaS", "Datadog", "Management and Governance",
                        "Observability", "SaaS", "datadog"),
}

# How many resources of each type a sample estate has per subscription (before random extras).
TYPE_MIX: tuple[tuple[str, int], ...] = (
    ("vm", 4), ("disk", 4), ("storage", 2), ("sqldb", 1), ("aks", 1), ("appplan", 1), ("pip", 2), ("lb", 1),
    ("kv", 1), ("law", 1), ("cosmos", 1), ("openai", 1),
)

MARKETPLACE_PUBLISHERS = {
    # service key -> (PublisherName, x_PublisherId, plan name, meter name, USD price per hour / month)
    "fortigate": ("Fortinet", "fortinet", "fortinet_fg-vm_payg_2023", "FortiGate NGFW PAYG", 0.9),
    "saas": ("Datadog", "datadog1591740804488", "datadog-pro", "Datadog Pro (per host)", 450.0),
}


# Resource kind -> the meters it is billed on (prices are Azure list prices in USD); VMs by size in `_vm_meters`.
_METERS: dict[str, tuple[Meter, ...]] = {
    "disk": (Meter("Storage", "Premium SSD Managed Disks", "P10 LRS Disk", "Units/Month", "1/Month", "Units/Month",
                   1, 19.71, 1 / 30, "Storage",
                   sku_details={"DiskSize": "128"}, price_details={"DiskSpace": 128, "DiskType": "Premium SSD",
                                                                   "Redundancy": "LRS"}),),
    "storage": (
        Meter("Storage", "Tiered Block Blob", "Hot LRS Data Stored", "GB/Month", "1 GB/Month", "GB/Month", 1,
              0.0184, 420 / 30, "Storage", price_details={"StorageClass": "Hot", "Redundancy": "LRS"}),
        Meter("Storage", "Tiered Block Blob", "Hot LRS Write Operations", "Units", "10K", "Units", 10_000,
              0.055, 180_000, "Storage", price_details={"Redundancy": "LRS"}),
        Meter("Storage", "Tiered Block Blob", "All Other Operations", "Units", "10K", "Units", 10_000, 0.0044,
              900_000, "Storage"),
    ),
    "sqldb": (Meter("SQL Database", "Single General Purpose", "vCore", "Hours", "1 Hour", "Hours", 1, 0.2522,
                    48.0, "Databases", sku_details={"VCores": 2, "ServiceType": "GP_Gen5"},
                    price_details={"CoreCount": 2, "x_ServiceTier": "GeneralPurpose"}),
              Meter("SQL Database", "Single General Purpose - Storage", "Data Stored", "GB/Month", "1 GB/Month",
                    "GB/Month", 1, 0.115, 64 / 30, "Databases")),
    "aks": (Meter("Azure Kubernetes Service", "Standard", "Standard Uptime SLA", "Hours", "1 Hour", "Hours", 1,
                  0.10, 24.0, "Compute"),),
    "appplan": (Meter("Azure App Service", "Premium v3 Plan - Linux", "P1 v3 App", "Hours", "1 Hour", "Hours", 1,
                      0.165, 24.0, "Compute", sku_details={"VCPUs": 2}, price_details={"CoreCount": 2,
                                                                                       "OperatingSystem": "Linux"}),),
    "pip": (Meter("Virtual Network", "IP Addresses", "Standard IPv4 Static Public IP", "Hours", "1 Hour", "Hours",
                  1, 0.005, 24.0, "Networking"),),
    "lb": (Meter("Load Balancer", "Standard", "Standard Data Processed", "GB", "1 GB", "GB", 1, 0.005, 80.0,
                 "Networking"),
           Meter("Load Balancer", "Standard", "Standard Included LB Rules and Outbound Rules", "Hours", "1 Hour",
                 "Hours", 1, 0.025, 24.0, "Networking")),
    "kv": (Meter("Key Vault", "Standard", "Operations", "Units", "10K", "Units", 10_000, 0.03, 40_000,
                 "Security"),),
    "law": (Meter("Log Analytics", "Analytics Logs", "Analytics Logs Data Ingestion", "GB", "1 GB", "GB", 1, 2.76,
                  6.0, "Management and Governance"),),
    "cosmos": (Meter("Azure Cosmos DB", "Azure Cosmos DB", "100 RU/s", "Hours", "100/Hour", "Hours", 1, 0.008,
                     24.0 * 8, "Databases"),),
    "openai": (Meter("Cognitive Services", "Azure OpenAI", "gpt-4o-0806-Inp-glbl Tokens", "Units", "1K", "Units",
                     1_000, 0.0025, 8_000_000, "AI + Machine Learning", regional=False),
               Meter("Cognitive Services", "Azure OpenAI", "gpt-4o-0806-Outp-glbl Tokens", "Units", "1K", "Units",
                     1_000, 0.01, 1_500_000, "AI + Machine Learning", regional=False)),
}


def meters_for(kind: str, sku: dict[str, Any] | None) -> tuple[Meter, ...]:
    """The meters a resource of this kind (and, for a VM, this size) is billed on."""
    if kind == "vm":
        return _vm_meters(sku["name"].removeprefix("Standard_") if sku else "D2s_v5")
    if kind not in _METERS:
        raise ValueError(f"no meters defined for resource kind {kind!r}")
    return _METERS[kind]


def _vm_meters(size: str) -> tuple[Meter, ...]:
    """A VM is billed on its size's compute hours and on outbound data transfer."""
    cores, memory, price, series = VM_SIZES[size]
    return (
        Meter("Virtual Machines", series, size.replace("_", " "), "Hours", "1 Hour", "Hours", 1, price, 24.0, "Compute",
              sku_details={"ServiceType": f"Standard_{size}", "VCPUs": cores, "UsageType": "ComputeHR",
                           "ImageType": "Canonical"},
              price_details={"CoreCount": cores, "InstanceType": f"Standard_{size}", "MemorySize": memory,
                             "OperatingSystem": "Linux"}),
        Meter("Bandwidth", "Rtn Preference: MGN", "Standard Data Transfer Out", "GB", "1 GB", "GB", 1, 0.087,
              3.5, "Networking", regional=False),
    )


@dataclass(frozen=True)
class SampleResource:
    arm_id: str  # ARM casing, as Resource Graph returns `id`
    name: str
    type: str  # lower-case ARM type, as Resource Graph returns `type`
    location: str
    resource_group: str
    subscription_id: str
    tags: dict[str, str]
    sku: dict[str, Any] | None
    kind: str | None
    billed: bool  # has cost rows
    deleted: bool  # billed, but no longer returned by Resource Graph
    service_key: str = "vm"  # key into SERVICE_TYPES (which meters bill it)
    marketplace: bool = False  # also billed by a third-party publisher


# Resource kind -> (sku, kind) as Resource Graph reports them; a VM's size is drawn per resource.
_SKU_AND_KIND: dict[str, tuple[dict[str, Any] | None, str | None]] = {
    "disk": ({"name": "Premium_LRS", "tier": "Premium"}, None),
    "storage": ({"name": "Standard_LRS", "tier": "Standard"}, "StorageV2"),
    "sqldb": ({"name": "GP_Gen5", "tier": "GeneralPurpose", "family": "Gen5", "capacity": 2}, "v12.0,user"),
    "aks": ({"name": "Base", "tier": "Standard"}, None),
    "appplan": ({"name": "P1v3", "tier": "PremiumV3", "size": "P1v3", "family": "Pv3", "capacity": 1}, "linux"),
    "pip": ({"name": "Standard", "tier": "Regional"}, None),
    "lb": ({"name": "Standard", "tier": "Regional"}, None),
    "kv": ({"family": "A", "name": "standard"}, None),
    "law": ({"name": "pergb2018"}, None),
    "cosmos": (None, "GlobalDocumentDB"),
    "openai": ({"name": "S0"}, "OpenAI"),
}


def _tags(rng: random.Random, profile: TenantProfile, env: str, team: str) -> dict[str, str]:
    if rng.random() < 0.12:
        return {}  # untagged resources exist in every estate
    tags = {"env": env, "team": team}
    if rng.random() < 0.5:
        tags["costCenter"] = str(rng.randrange(1000, 1100))
    if rng.random() < 0.35:
        # personal data in tags is common in real estates; the PII check must find it
        tags["owner"] = f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}@{profile.email_domain}"
    if rng.random() < 0.2:
        tags["Project"] = rng.choice(["Apollo", "Orion", "Zenith", "Atlas"])
    return tags


def sample_inventory(tenant: str, seed: int = 0) -> list[SampleResource]:
    """The tenant's sample estate: what Resource Graph would return (minus deleted resources), in a stable order.

    Most resources are billed; about one in twelve billed resources is deleted (its costs remain), a few are never
    billed (stopped or free), and the workspace storage account `cm<tenant>ws` sits in the home region.
    """
    profile = tenant_profile(tenant)
    rng = rng_for("inventory", tenant, seed)
    resources: list[SampleResource] = []
    used_names: set[str] = set()
    for sub_index, sub in enumerate(profile.subscriptions):
        env = ENVIRONMENTS[sub_index % len(ENVIRONMENTS)]
        resources.extend(_subscription_resources(rng, profile, sub, env, used_names))
    resources.extend(_fixed_resources(profile, tenant))
    return resources


def _subscription_resources(
    rng: random.Random, profile: TenantProfile, sub: Subscription, env: str, used_names: set[str]
) -> list[SampleResource]:
    """One subscription's estate: three team resource groups holding the TYPE_MIX of resources."""
    groups = []
    for team in rng.sample(TEAMS, 3):
        # ARM keeps whatever casing the creator used; mixed case is normal
        style = rng.randrange(0, 3)
        base = f"rg-{team}-{env}"
        groups.append((base.upper() if style == 0 else base if style == 1 else f"RG-{team.title()}-{env}", team))
    resources: list[SampleResource] = []
    for key, count in TYPE_MIX:
        for _ in range(count + rng.randrange(0, 2)):
            service = SERVICE_TYPES[key]
            group, team = rng.choice(groups)
            location = rng.choices(profile.regions, weights=[3] + [1] * (len(profile.regions) - 1))[0]
            name = _unique_name(rng, service, team, env, used_names)
            if key == "sqldb":
                server = f"sql-{team}-{env}-{rng.randrange(1, 99):02d}"
                arm_id = (f"/subscriptions/{sub.subscription_id}/resourceGroups/{group}/providers/"
                          f"Microsoft.Sql/servers/{server}/databases/{name}")
            else:
                arm_id = (f"/subscriptions/{sub.subscription_id}/resourceGroups/{group}/providers/"
                          f"{service.full_type}/{name}")
            if key != "vm":
                sku, kind = _SKU_AND_KIND[key]
            else:
                sku, kind = {"name": "Standard_" + rng.choice(list(VM_SIZES))}, None
            billed = rng.random() > 0.08
            deleted = billed and rng.random() < 0.08
            resources.append(SampleResource(
                arm_id=arm_id, name=name, type=service.full_type.lower(), location=location,
                resource_group=group, subscription_id=sub.subscription_id, tags=_tags(rng, profile, env, team),
                sku=sku, kind=kind, billed=billed, deleted=deleted, service_key=key,
            ))
    return resources


def _fixed_resources(profile: TenantProfile, tenant: str) -> list[SampleResource]:
    """Resources every sample tenant has, in its first subscription: billed, never deleted."""
    sub = profile.subscriptions[0].subscription_id
    home = profile.home_region

    def billed(group: str, arm_type: str, name: str, location: str, **fields: Any) -> SampleResource:
        return SampleResource(
            arm_id=f"/subscriptions/{sub}/resourceGroups/{group}/providers/{arm_type}/{name}", name=name,
            type=arm_type.lower(), location=location, resource_group=group, subscription_id=sub, billed=True,
            deleted=False, **fields,
        )

    return [
        # Third-party charges: a FortiGate VM image (marketplace meter on a VM) and a Datadog SaaS subscription.
        billed(f"rg-network-{ENVIRONMENTS[0]}", "Microsoft.Compute/virtualMachines", f"fgt-{home}-01", home,
               tags={"env": "prod", "team": "network", "owner": f"netops@{profile.email_domain}"},
               sku={"name": "Standard_F8s_v2"}, kind=None, service_key="vm", marketplace=True),
        billed("rg-observability", "Microsoft.SaaS/resources", f"datadog-{tenant}", "global", tags={"team": "platform"},
               sku=None, kind=None, service_key="saas", marketplace=True),
        # The workspace account (residency check): always in the home region.
        billed("rg-cloudmonitor", "Microsoft.Storage/storageAccounts", workspace_account_name(tenant), home,
               tags={"env": "prod", "team": "finops", "purpose": "cost-exports"},
               sku={"name": "Standard_LRS", "tier": "Standard"}, kind="StorageV2", service_key="storage"),
    ]


def _billing_code(rng: random.Random) -> str:
    """An MCA billing-profile / invoice-section code such as 'AB12-CD34-EF5-GH6'."""
    return "-".join("".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", k=n)) for n in (4, 4, 3, 3))


def _unique_name(rng: random.Random, service: ServiceType, team: str, env: str, used: set[str]) -> str:
    while True:
        if service.prefix == "st":
            # storage account names: lower-case alphanumerics only, globally unique
            name = f"st{team}{env}{rng.randrange(0, 10**6):06d}"[:24]
        else:
            name = f"{service.prefix}-{team}-{env}-{rng.randrange(1, 100):02d}"
            if rng.random() < 0.25:
                name = name.upper()  # some estates use upper-case names; ARM preserves them
        if name.lower() not in used:
            used.add(name.lower())
            return name
