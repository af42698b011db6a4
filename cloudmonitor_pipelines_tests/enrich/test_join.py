"""`enrich_costs`: resource and subscription joins, savings aggregation, and never touching the cost rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cloudmonitor_pipelines.azure.advisor import normalize_recommendation
from cloudmonitor_pipelines.enrich.inventory import recommendations_table, resources_table
from cloudmonitor_pipelines.enrich.join import ENRICHMENT_COLUMNS, enrich_costs
from cloudmonitor_pipelines_tests.fakes.fake_arm import SUB_A, SUB_B, advisor_item, arg_resource

NOW = datetime(2026, 5, 2, tzinfo=UTC)
VM = arg_resource(SUB_A, "RG-App", "Microsoft.Compute/virtualMachines", "VM1", location="westeurope",
                  tags={"env": "prod"}, sku={"name": "Standard_D4s_v5"})
DISK = arg_resource(SUB_A, "rg-app", "Microsoft.Compute/disks", "Disk1", location="northeurope")
APP = arg_resource(SUB_B, "rg-web", "Microsoft.Web/sites", "app1", kind="app,linux")
RI = "84b1a508-fc21-49da-979e-96894f1665df"


def _costs() -> pl.LazyFrame:
    return pl.LazyFrame(
        {
            "ResourceId": [VM["id"].upper(), VM["id"].lower(), DISK["id"], APP["id"], "/subscriptions/x/gone/r1", None],
            "SubAccountId": [f"/subscriptions/{SUB_A.upper()}", f"/subscriptions/{SUB_A}", f"/subscriptions/{SUB_A}",
                             f"/subscriptions/{SUB_B}", f"/subscriptions/{SUB_B}", None],
            "EffectiveCost": [10.0, 5.0, 2.0, 3.0, 4.0, 6.0],
            "BilledCost": [11.0, 5.5, 2.0, 3.0, 4.0, 6.0],
            "BillingCurrency": ["EUR"] * 6,
        },
        schema_overrides={"EffectiveCost": pl.Float64, "BilledCost": pl.Float64},
    )


def _tables(extra_recs=()):
    resources = resources_table([VM, DISK, APP], NOW, "contoso").lazy()
    recs = [
        advisor_item(VM["id"], SUB_A, monthly="70", annual="840"),
        advisor_item(VM["id"], SUB_A, monthly="5", annual="60", type_id="other-type"),
        advisor_item(DISK["id"], SUB_A, monthly="3", suppressed=True),  # suppressed: not counted
        advisor_item(f"/subscriptions/{SUB_A}", SUB_A, monthly="370", annual="4440", type_id=RI),
        *extra_recs,
    ]
    table = recommendations_table([normalize_recommendation(r) for r in recs], NOW, "contoso").lazy()
    return resources, table


def test_rows_and_costs_are_unchanged():
    resources, recs = _tables()
    enriched = enrich_costs(_costs(), resources, recs).collect()
    original = _costs().collect()

    assert enriched.height == original.height
    assert_frame_equal(enriched.select(original.columns), original)
    assert enriched.columns == original.columns + list(ENRICHMENT_COLUMNS)
    assert {c: enriched.schema[c] for c in ENRICHMENT_COLUMNS} == ENRICHMENT_COLUMNS


def test_resource_attributes_join_case_insensitively():
    resources, recs = _tables()
    enriched = enrich_costs(_costs(), resources, recs).collect()

    assert enriched["x_ResourceFound"].to_list() == [True, True, True, True, False, False]
    assert enriched["x_ResourceArmType"][0] == "microsoft.compute/virtualmachines"
    assert enriched["x_ResourceLocation"].to_list()[:3] == ["westeurope", "westeurope", "northeurope"]
    assert json.loads(enriched["x_ResourceTags"][1]) == {"env": "prod"}
    assert json.loads(enriched["x_ResourceSku"][0]) == {"name": "Standard_D4s_v5"}
    assert enriched["x_ResourceKind"][3] == "app,linux"
    assert enriched["x_ResourceTags"][4] is None


def test_recommendation_savings_per_resource_and_per_subscription():
    resources, recs = _tables()
    enriched = enrich_costs(_costs(), resources, recs).collect()

    assert enriched["x_ResourceRecommendationCount"].to_list() == [2, 2, 0, 0, 0, 0]
    assert enriched["x_ResourceMonthlySavings"].to_list() == [75.0, 75.0, None, None, None, None]
    assert enriched["x_ResourceSavingsCurrency"][0] == "EUR"
    # The reservation rec points at /subscriptions/SUB_A: it lands on every SUB_A row, whatever the casing.
    assert enriched["x_SubscriptionRecommendationCount"].to_list() == [1, 1, 1, 0, 0, 0]
    assert enriched["x_SubscriptionMonthlySavings"].to_list() == [370.0, 370.0, 370.0, None, None, None]


def test_mixed_currencies_give_no_sum_rather_than_a_wrong_one():
    resources, recs = _tables([advisor_item(APP["id"], SUB_B, monthly="9"),
                               advisor_item(APP["id"], SUB_B, monthly="7", currency="USD", type_id="x")])
    enriched = enrich_costs(_costs(), resources, recs).collect()
    app = enriched.row(3, named=True)
    assert app["x_ResourceRecommendationCount"] == 2
    assert app["x_ResourceMonthlySavings"] is None and app["x_ResourceSavingsCurrency"] is None


def test_duplicate_resources_cannot_multiply_cost_rows():
    resources = pl.concat([resources_table([VM], NOW, "t"), resources_table([VM], NOW, "t")]).lazy()
    _, recs = _tables()
    with pytest.raises(pl.exceptions.ComputeError, match="join keys did not fulfill m:1"):
        enrich_costs(_costs(), resources, recs).collect()

