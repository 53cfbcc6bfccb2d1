"""Microsoft's template test rules (arm-ttk, which is PowerShell) asserted over every generated ARM template,
nested deployments' inline templates included. https://learn.microsoft.com/azure/azure-resource-manager/templates/test-cases
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import OUT

TEMPLATES = sorted(p for p in OUT.rglob("*.json") if p.name in ("main.json", "subscription.json"))
PREVIEW_ONLY_WORKSPACE_PROPERTIES = ("ipAllowlist", "networkAcls", "allowRoleAssignmentOnRG")
# arm-ttk "DeploymentTemplate Must Not Contain Hardcoded Uri": host names that environment() provides
HARDCODED_HOSTS = ("management.core.windows.net", "gallery.azure.com", "management.azure.com",
                   "database.windows.net", "core.windows.net", "login.microsoftonline.com", "graph.windows.net",
                   "trafficmanager.net", "vault.azure.net", "datalake.azure.net", "azuredatalakestore.net",
                   "azuredatalakeanalytics.net", "api.loganalytics.io", "asazure.windows.net",
                   "batch.core.windows.net", "core.usgovcloudapi.net", "core.chinacloudapi.cn")
# properties named like IDs that are not resource IDs (object, tenant and client IDs are GUIDs)
NOT_RESOURCE_IDS = {"tenantId", "principalId", "objectId", "clientId", "subscriptionId", "identityClientId"}
ID_FUNCTIONS = re.compile(r"^\[(resourceId|subscriptionResourceId|tenantResourceId|extensionResourceId|parameters|"
                          r"reference)\(")


def _templates(template: dict, where: str):
    """A template and every nested deployment's inline template in it."""
    yield where, template
    for r in template.get("resources", []):
        nested = (r.get("properties") or {}).get("template")
        if r.get("type") == "Microsoft.Resources/deployments" and isinstance(nested, dict):
            yield from _templates(nested, f"{where} -> {r['name']}")


def _walk(node, path=""):
    if isinstance(node, dict):
        for k, v in node.items():
            yield f"{path}.{k}", k, v
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


def _all(path: Path):
    return list(_templates(json.loads(path.read_text(encoding="utf-8")), path.relative_to(OUT).as_posix()))


def test_there_are_templates_and_nested_ones():
    assert len(TEMPLATES) >= 10
    assert any(len(_all(p)) > 1 for p in TEMPLATES), "no example has a nested deployment (private endpoints)"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(OUT).as_posix())
def test_resource_ids_come_from_resource_id_functions_or_parameters(path):
    """arm-ttk "IDs Should Be Derived From ResourceIDs": never a literal resource ID (subnets, networks, existing
    dependents, zones, hubs, vaults, outbound-rule targets, attached computes)."""
    bad = []
    for where, template in _all(path):
        text = json.dumps(template["resources"]) + json.dumps(template.get("outputs", {}))
        if "/subscriptions/" in text:
            bad.append(f"{where}: a literal resource ID: ...{text[text.index('/subscriptions/') - 40:][:160]}...")
        for dotted, key, value in _walk(template["resources"]):
            id_like = key == "id" or (key.endswith(("Id", "ResourceId", "ArmId")) and key not in NOT_RESOURCE_IDS)
            if id_like and isinstance(value, str) and not ID_FUNCTIONS.match(value):
                bad.append(f"{where}{dotted}: {value!r}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(OUT).as_posix())
def test_host_names_come_from_environment(path):
    """arm-ttk "DeploymentTemplate Must Not Contain Hardcoded Uri": storage and vault hosts (and the storage
    private DNS zones) come from environment().suffixes, so one template serves every cloud."""
    text = re.sub(r'"\$schema": "[^"]*"', "", path.read_text(encoding="utf-8"))  # schema URLs are not hosts used
    found = [host for host in HARDCODED_HOSTS if host in text]
    assert not found, f"hard-coded host names: {found}"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.relative_to(OUT).as_posix())
def test_preview_api_versions_only_where_a_preview_property_needs_them(path):
    for where, template in _all(path):
        for r in template["resources"]:
            if not r["apiVersion"].endswith("-preview"):
                continue
            if r["type"] == "Microsoft.Insights/diagnosticSettings":
                continue  # the version Azure's own modules use; no stable one has the category groups
            assert r["type"] == "Microsoft.MachineLearningServices/workspaces", (where, r["type"], r["apiVersion"])
            used = [p for p in PREVIEW_ONLY_WORKSPACE_PROPERTIES if p in r["properties"]]
            assert used, f"{where}: {r['name']} uses {r['apiVersion']} without a preview-only property"


def test_the_checks_find_what_they_look_for():
    """The checks above are not vacuous: a literal ID, a hard-coded host and a needless preview are found."""
    template = {"resources": [{"type": "Microsoft.Network/privateEndpoints", "apiVersion": "2025-07-01",
                               "properties": {"subnet": {"id": "/subscriptions/x/resourceGroups/y/providers/a/b/c"}}}]}
    hits = [d for _, t in _templates(template, "t") for d, k, v in _walk(t["resources"])
            if k == "id" and not ID_FUNCTIONS.match(v)]
    assert hits == ["[0].properties.subnet.id"]
    assert ID_FUNCTIONS.match("[resourceId('s', 'g', 'Microsoft.Network/virtualNetworks/subnets', 'v', 's')]")
    assert not ID_FUNCTIONS.match("[concat('/subscriptions/', 'x')]")
    assert "core.windows.net" in "privatelink.blob.core.windows.net"


@pytest.mark.parametrize("path", [p for p in TEMPLATES if p.name == "main.json"], ids=lambda p: p.relative_to(OUT).as_posix())
def test_compute_vm_sizes_are_parameters_whose_values_come_from_the_spec(path):
    """arm-ttk / Deploy-to-Azure: a VM size is a parameter the portal form can change at creation; its default and
    main.parameters.json carry the spec's size."""
    template = json.loads(path.read_text(encoding="utf-8"))
    values = json.loads((path.parent / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    for r in template["resources"]:
        size = (r.get("properties") or {}).get("properties", {}).get("vmSize") if r["type"].endswith("/computes") else None
        if size is None:
            continue
        m = re.fullmatch(r"\[parameters\('(\w+)'\)\]", size)
        assert m, f"{r['name']}: vmSize {size!r} is not a parameter"
        param = template["parameters"][m.group(1)]
        assert param["type"] == "string" and param["defaultValue"] == values[m.group(1)]["value"]
