"""Hostile tenants files: secrets in every spelling are refused without echo; accepted tenants never overlap.

Generated with hypothesis, checked against oracles that do not share the loader's code: the file system's own
inode identity for overlap, and the literal secret text (and every 8-character piece of it) for the no-echo rule.
"""

from __future__ import annotations

import os
import string
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudmonitor_pipelines.tenants import TenantConfigError, parse_tenants

GUIDS = [
    "6f1c2a3b-8d4e-4f5a-9b6c-7d8e9f0a1b2c",
    "2b7e9c41-53a0-4d8f-b1e6-0c94f7a2d358",
    "c3d5f1a9-7e2b-4c60-8a3d-91b4e6f0275c",
]
BASE64 = string.ascii_letters + string.digits + "+/"


def tenant(index: int, **fields: Any) -> dict[str, Any]:
    entry = {
        "key": f"tenant-{index}",
        "entra_tenant_id": GUIDS[index % 3],
        "region": "westeurope",
        "source": f"/data/exports/tenant-{index}",
        "workspace": f"/data/workspaces/tenant-{index}",
        "timezone": "UTC",
    }
    entry.update(fields)
    return entry


def parse(*tenants: dict[str, Any], environ: dict[str, str] | None = None, base: Path = Path("/cfg")) -> Any:
    return parse_tenants({"tenants": list(tenants)}, base, origin="tenants.yaml", environ=environ or {})


# ---------------------------------------------------------------------------------------------------------------
# Secrets: every spelling refused, none echoed

signatures = st.text(BASE64, min_size=24, max_size=60)
account_keys = st.text(BASE64, min_size=86, max_size=86).map(lambda text: text + "==")


def _encode(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


def _case(text: str, how: str) -> str:
    return {"lower": text.lower(), "upper": text.upper(), "title": text.title(), "keep": text}[how]


@st.composite
def secret_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """(the secret itself, a value that carries it as an operator or attacker could write it)."""
    casing = draw(st.sampled_from(["lower", "upper", "title", "keep"]))
    kind = draw(st.sampled_from(["sas-query", "sas-in-path", "sas-fragment", "connection", "sas-connection", "key"]))
    if kind == "key":
        secret = draw(account_keys)
        carried = secret
    else:
        secret = draw(signatures)
        sas = f"{_case('sv', casing)}=2022-11-02&ss=b&{_case('sig', casing)}={secret}"
        carried = {
            "sas-query": f"?{sas}",
            "sas-in-path": f"/{_encode(sas, draw(st.integers(1, 2)))}",
            "sas-fragment": f"#{_case('sig', casing)}={secret}",
            "connection": f";{_case('AccountKey', casing)}={secret}",
            "sas-connection": f"{_case('SharedAccessSignature', casing)}=sig={secret}",
        }[kind]
    encodings = draw(st.integers(0, 2))
    return secret, _encode(carried, encodings) if kind != "sas-in-path" else carried


FIELDS = ["source", "workspace", "display_name", "partner", "region", "timezone", "schedule", "auth.client_id",
          "required_tags", "arm_recordings", "key"]


def _place(entry: dict[str, Any], field: str, value: str) -> None:
    if field == "auth.client_id":
        entry["auth"] = {"mode": "managed_identity", "client_id": value}
    elif field == "required_tags":
        entry["required_tags"] = ["env", value]
    elif field in ("source", "workspace", "arm_recordings"):
        prefix = "abfss://exports@contoso.dfs.core.windows.net/x" if field == "source" else "/data/ws/tenant-0"
        entry[field] = prefix + value
    else:
        entry[field] = value


@settings(max_examples=400, deadline=None)
@given(spelling=secret_spellings(), field=st.sampled_from(FIELDS), via_env=st.booleans())
def test_secrets_are_refused_naming_the_field_and_never_echoed(spelling: tuple[str, str], field: str,
                                                               via_env: bool) -> None:
    secret, carried = spelling
    entry = tenant(0)
    environ: dict[str, str] = {}
    if via_env:
        environ["INNOCENT_LOOKING"] = carried
        carried = "${INNOCENT_LOOKING}"
    _place(entry, field, carried)
    with pytest.raises(TenantConfigError) as caught:
        parse(entry, environ=environ)
    message = str(caught.value)
    assert "Entra ID" in message, message
    assert caught.value.field is not None and caught.value.field.split(".")[0] == field.split(".")[0]
    pieces = {secret[start : start + 8] for start in range(len(secret) - 7)}
    leaked = [piece for piece in pieces if piece in message or quote(piece, safe="") in message]
    assert not leaked, (leaked, message)


@pytest.mark.parametrize(
    "value",
    [
        "/data/ws/contoso/sv%3D2022-11-02%26sig%3DAbCdEfGhIjKlMnOp",  # SAS percent-encoded inside a path
        "/data/ws/contoso/sv%253D2022%2526sig%253DAbCdEfGhIjKlMnOp",  # … and double-encoded
        "abfss://lake@contoso.dfs.core.windows.net/ws/SIG%3DAbCdEfGhIjKlMnOp",
        "/data/ws/contoso#sig=AbCdEfGhIjKlMnOp",
    ],
)
def test_sas_percent_encoded_inside_a_path_is_refused(value: str) -> None:
    with pytest.raises(TenantConfigError) as caught:
        parse(tenant(0, workspace=value))
    assert caught.value.field == "workspace" and caught.value.tenant == "tenant-0"
    assert "AbCdEfGhIjKlMnOp" not in str(caught.value)


def test_reference_to_a_secret_named_variable_is_refused_without_reading_it() -> None:
    with pytest.raises(TenantConfigError) as caught:
        parse(tenant(0, display_name="${STORAGE_ACCOUNT_KEY}"), environ={"STORAGE_ACCOUNT_KEY": "AbCdEfGhIjKlMnOp"})
    assert caught.value.field == "display_name" and "AbCdEfGhIjKlMnOp" not in str(caught.value)


def test_a_key_that_is_itself_a_credential_is_not_echoed_as_the_field_name() -> None:
    entry = tenant(0)
    entry["sig=AbCdEfGhIjKlMnOp"] = "x"
    with pytest.raises(TenantConfigError) as caught:
        parse(entry)
    assert "AbCdEfGhIjKlMnOp" not in str(caught.value) and "Entra ID" in str(caught.value)


# ---------------------------------------------------------------------------------------------------------------
# Overlap: accepted tenants never share or nest a location, whatever the symlinks

# Real folders and links an operator may point tenants at: a link to another folder, a link into a folder, a link
# to a link, a link back into a parent.
FOLDERS = ("s1", "s2", "w1", "w2", "s1/sub", "w1/sub")
LINKS = {"to-w1": "w1", "to-s1-sub": "s1/sub", "to-to-w1": "to-w1", "w2/up": "..", "into-w2": "w2"}
CHOICES = FOLDERS + tuple(LINKS) + ("to-w1/sub", "into-w2/up/s2")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tenants-tree")
    for folder in FOLDERS:
        (root / folder).mkdir(parents=True)
    for link, target in LINKS.items():
        os.symlink(target, root / link)
    return root


def _inode(path: str) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_dev, stat.st_ino


def _physically_overlap(first: str, second: str) -> bool:
    """True when one folder is reached from the other by the kernel's own '..' walk (or they are the same)."""

    def ancestors(path: str) -> list[tuple[int, int]]:
        chain, current = [], path
        for _ in range(32):
            chain.append(_inode(current))
            parent = os.path.join(current, "..")
            if _inode(parent) == chain[-1]:
                break
            current = parent
        return chain

    return _inode(first) in ancestors(second) or _inode(second) in ancestors(first)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(picks=st.lists(st.sampled_from(CHOICES), min_size=4, max_size=6))
def test_no_two_accepted_locations_overlap(tree: Path, picks: list[str]) -> None:
    count = len(picks) // 2
    tenants = [tenant(i, source=picks[2 * i], workspace=picks[2 * i + 1]) for i in range(count)]
    paths = [str(tree / pick) for pick in picks[: 2 * count]]
    expected_overlap = any(
        _physically_overlap(paths[i], paths[j]) for i in range(len(paths)) for j in range(i + 1, len(paths))
    )
    try:
        parse(*tenants, base=tree)
        accepted = True
    except TenantConfigError as error:
        accepted = False
        assert error.field in ("source", "workspace") and error.tenant is not None
    assert accepted == (not expected_overlap), picks


def test_symlinked_workspace_onto_another_tenants_workspace_is_refused(tree: Path) -> None:
    with pytest.raises(TenantConfigError) as caught:
        parse(tenant(0, source="s1", workspace="w1"), tenant(1, source="s2", workspace="to-to-w1"), base=tree)
    message = str(caught.value)
    assert "tenant 'tenant-0'" in message and "tenant 'tenant-1'" in message and "workspace" in message
    assert "resolves to" in message


def test_workspace_symlinked_into_its_own_source_is_refused(tree: Path) -> None:
    with pytest.raises(TenantConfigError) as caught:
        parse(tenant(0, source="s1", workspace="to-s1-sub"), base=tree)
    assert caught.value.tenant == "tenant-0" and caught.value.field == "workspace"
    assert "inside the source of this tenant" in str(caught.value)


def test_distinct_real_folders_are_accepted(tree: Path) -> None:
    registry = parse(tenant(0, source="s1", workspace="w1"), tenant(1, source="s2", workspace="w2"), base=tree)
    assert registry.keys() == ["tenant-0", "tenant-1"]


# ---------------------------------------------------------------------------------------------------------------
# Any document: a TenantConfigError naming the file, never another exception

yaml_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)
FIELD_NAMES = ["key", "entra_tenant_id", "region", "source", "workspace", "timezone", "schedule", "partner",
               "required_tags", "retention_months", "freshness_hours", "auth", "subscriptions", "display_name",
               "arm_recordings", "workspace_account", "mask_personal_data", "enrichment", "defaults", "regoin"]


@settings(max_examples=150, deadline=None)
@given(changes=st.dictionaries(st.sampled_from(FIELD_NAMES), yaml_values, max_size=4),
       defaults=st.one_of(st.none(), st.dictionaries(st.sampled_from(FIELD_NAMES), yaml_values, max_size=2)))
def test_any_document_is_loaded_or_refused_with_a_tenant_config_error(changes: dict, defaults: dict | None) -> None:
    document: dict[str, Any] = {"tenants": [{**tenant(0), **changes}, tenant(1)]}
    if defaults is not None:
        document["defaults"] = defaults
    try:
        parse_tenants(document, Path("/cfg"), origin="tenants.yaml", environ={})
    except TenantConfigError as error:
        assert str(error).startswith("tenants.yaml: "), str(error)
        assert "Input should be" not in str(error)  # our wording, never pydantic's echo of the input
