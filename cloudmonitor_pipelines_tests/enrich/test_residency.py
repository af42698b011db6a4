"""Workspace residency check, from resource rows, a lookup function, and Resource Graph via the fake ARM."""

from __future__ import annotations

import pytest

from cloudmonitor_pipelines.enrich.residency import (
    ResidencyError,
    check_workspace_residency,
    lookup_storage_account,
    storage_account_query,
)
from cloudmonitor_pipelines_tests.fakes.fake_arm import (  # noqa: F401  (fixtures)
    SUB_A,
    arg_resource,
    arm_client,
    arm_credential,
    fake_arm,
)

WORKSPACE = arg_resource(SUB_A, "rg-cm", "Microsoft.Storage/storageAccounts", "cmcontosows", location="westeurope")
OTHER = arg_resource(SUB_A, "rg-cm", "Microsoft.Storage/storageAccounts", "cmcontosoold", location="eastus")
VM_NAMED_LIKE_IT = arg_resource(SUB_A, "rg", "Microsoft.Compute/virtualMachines", "cmcontosows", location="eastus")


def test_account_in_expected_region_passes_with_display_name_spelling():
    check_workspace_residency("cmcontosows", "westeurope", [VM_NAMED_LIKE_IT, OTHER, WORKSPACE])
    check_workspace_residency("CMContosoWS", "West Europe", [WORKSPACE])


def test_mismatch_names_both_regions_and_the_account():
    with pytest.raises(ResidencyError) as caught:
        check_workspace_residency("cmcontosows", "northeurope", [WORKSPACE])
    message = str(caught.value)
    assert "cmcontosows" in message and "'westeurope'" in message and "'northeurope'" in message


def test_missing_account_fails_closed():
    with pytest.raises(ResidencyError, match="'cmcontosows' was not found.*'westeurope'"):
        check_workspace_residency("cmcontosows", "westeurope", [OTHER, VM_NAMED_LIKE_IT])
    with pytest.raises(ResidencyError, match="not found"):
        check_workspace_residency("cmcontosows", "westeurope", lambda name: None)


def test_lookup_function_is_called_with_the_account():
    asked = []
    check_workspace_residency("cmcontosows", "westeurope", lambda name: asked.append(name) or WORKSPACE)
    assert asked == ["cmcontosows"]


def test_account_names_are_validated_before_reaching_kql():
    with pytest.raises(ValueError, match="not a valid storage account name"):
        storage_account_query("x' or 1==1 or name =~ 'y")
    assert "name =~ 'cmcontosows'" in storage_account_query("CmContosoWs")


def test_lookup_through_resource_graph(fake_arm, arm_client):
    fake_arm.state.resources = [VM_NAMED_LIKE_IT, OTHER, WORKSPACE]

    found = lookup_storage_account(arm_client, "cmcontosows")

    assert found == {"id": WORKSPACE["id"], "name": "cmcontosows", "location": "westeurope"}
    assert fake_arm.requests[-1].body["query"] == storage_account_query("cmcontosows")
    check_workspace_residency("cmcontosows", "westeurope", lambda name: lookup_storage_account(arm_client, name))
    with pytest.raises(ResidencyError, match="'eastus'.*'westeurope'"):
        check_workspace_residency("cmcontosoold", "westeurope", lambda name: lookup_storage_account(arm_client, name))
    assert lookup_storage_account(arm_client, "cmnosuchws") is None
