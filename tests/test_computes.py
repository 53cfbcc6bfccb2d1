"""Computes that can run: VM size parameters, default identities, SSH settings and the retired-size table."""

from __future__ import annotations

import json
from datetime import date

import pytest

from generator import model, pipeline, vmsizes
from generator.diff import parameter_reference
from generator.plan import vm_size_parameter

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC alice@laptop"
USER = {"objectId": "11111111-1111-1111-1111-111111111111", "tenantId": "22222222-2222-2222-2222-222222222222"}


def _render(data: dict) -> tuple[dict, str, dict, str]:
    files = pipeline.render_spec(model.build(data, "examples/t.yaml"))
    return (json.loads(files["main.json"]), files["main.bicep"], json.loads(files["main.parameters.json"]),
            files["main.bicepparam"])


def _compute(template: dict, name: str) -> dict:
    return next(r for r in template["resources"] if r["type"].endswith("/computes") and f"'{name}'" in r["name"])


SPEC = {"name": "churn-dev",
        "computes": {"cpu-cluster": {"type": "cluster", "vmSize": "Standard_D8s_v5"},
                     "ci-alice": {"type": "instance", "assignedUser": USER, "ssh": True},
                     "ci-bob": {"type": "instance", "identity": "None", "ssh": {"publicKey": KEY}},
                     "aks": {"type": "kubernetes",
                             "resourceId": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks"},
                     "dbx": {"type": "databricks", "resourceId": f"{SUB}/providers/Microsoft.Databricks/workspaces/d"}}}


def test_vm_sizes_are_parameters_named_after_the_compute_with_the_spec_value_as_default():
    template, bicep, parameters, bicepparam = _render(SPEC)
    for name, symbol, size in (("cpu-cluster", "computeCpuCluster", "Standard_D8s_v5"),
                               ("ci-alice", "computeCiAlice", vmsizes.DEFAULT_VM_SIZE)):
        parameter = vm_size_parameter(symbol)
        assert parameter == symbol + "VmSize"
        assert parameter_reference(_compute(template, name)["properties"]["properties"]["vmSize"]) == parameter
        assert template["parameters"][parameter]["defaultValue"] == size  # the portal form starts from the spec
        assert parameters["parameters"][parameter] == {"value": size}
        assert f"param {parameter} string = '{size}'" in bicep
        assert f"vmSize: {parameter}\n" in bicep
        assert f"param {parameter} = '{size}'" in bicepparam


def test_the_same_spec_names_the_same_parameters_whatever_the_key_order():
    shuffled = dict(SPEC, computes=dict(reversed(list(SPEC["computes"].items()))))
    assert _render(SPEC)[0]["parameters"].keys() == _render(shuffled)[0]["parameters"].keys()


def test_clusters_instances_and_kubernetes_get_a_system_assigned_identity_unless_told_otherwise():
    template = _render(SPEC)[0]
    for name in ("cpu-cluster", "ci-alice", "aks"):
        assert _compute(template, name)["identity"] == {"type": "SystemAssigned"}, name
    assert "identity" not in _compute(template, "ci-bob")  # identity: None
    assert "identity" not in _compute(template, "dbx")  # Databricks and Synapse take none


def test_ssh_is_off_by_default_and_takes_the_key_as_a_literal():
    data = {"name": "churn-dev", "computes": {"ci-carol": {"type": "instance"}}}
    off = _compute(_render(data)[0], "ci-carol")["properties"]["properties"]["sshSettings"]
    assert off == {"sshPublicAccess": "Disabled"}
    template = _render(SPEC)[0]
    assert _compute(template, "ci-bob")["properties"]["properties"]["sshSettings"] == {
        "sshPublicAccess": "Enabled", "adminPublicKey": KEY}
    # for another user, the key is theirs to add in the studio
    assert _compute(template, "ci-alice")["properties"]["properties"]["sshSettings"] == {"sshPublicAccess": "Enabled"}


def test_the_default_and_example_sizes_are_not_retired_or_retiring():
    assert vmsizes.retirement(vmsizes.DEFAULT_VM_SIZE) is None
    assert model.build({"name": "x", "computes": {"c": {"type": "cluster"}}}, "t").computes[0].vm_size == \
        vmsizes.DEFAULT_VM_SIZE


@pytest.mark.parametrize("size, retired_on, retired", [
    ("Standard_NC6s_v3", date(2025, 9, 30), True),
    ("Standard_NC12s_v3", date(2025, 9, 30), True),
    ("STANDARD_NC24S_V3", date(2025, 9, 30), True),
    ("Standard_NC24rs_v3", date(2025, 9, 30), True),  # once March 31, 2025; moved to the series' date
    ("Standard_DS3_v2", date(2028, 5, 1), False),
    ("Standard_D4s_v3", date(2029, 11, 15), False),
])
def test_the_table_compares_with_its_fixed_as_of_date(size, retired_on, retired):
    r = vmsizes.retirement(size)
    assert r.on == retired_on
    assert r.retired() is retired
    assert r.retired(date(2100, 1, 1))  # any size in the table is retired some day
    assert not r.retired(date(2000, 1, 1))


def test_every_retirement_names_a_microsoft_source():
    for r in vmsizes.RETIREMENTS.values():
        assert r.source.startswith("https://learn.microsoft.com/"), r
        assert r.size.lower() in vmsizes.RETIREMENTS
