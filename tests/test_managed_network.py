"""The managed network and its dependents agree, and each kind sends what Microsoft's own templates send."""

from __future__ import annotations

import json

import pytest

from generator import model, pipeline

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"
WORKSPACES = "Microsoft.MachineLearningServices/workspaces"
RULES = "Microsoft.MachineLearningServices/workspaces/outboundRules"


def _render(data: dict) -> tuple[dict, str]:
    files = pipeline.render_spec(model.build(data, "examples/t.yaml"))
    return json.loads(files["main.json"]), files["main.bicep"]


def _resource(template: dict, rtype: str) -> dict:
    found = [r for r in template["resources"] if r["type"] == rtype]
    assert len(found) == 1, [r["type"] for r in template["resources"]]
    return found[0]


def _types(template: dict) -> list[str]:
    return [r["type"] for r in template["resources"]]


@pytest.mark.parametrize("mode", ["AllowInternetOutbound", "AllowOnlyApprovedOutbound"])
def test_a_managed_network_closes_the_dependents_amlgen_creates_unless_the_spec_opens_them(mode):
    template, _ = _render({"name": "churn-dev", "workspace": {"managedNetwork": {"isolationMode": mode}},
                           "keyVault": {"publicNetworkAccess": "Enabled"}})
    storage = _resource(template, "Microsoft.Storage/storageAccounts")
    assert storage["properties"]["publicNetworkAccess"] == "Disabled"
    assert storage["properties"]["networkAcls"]["defaultAction"] == "Deny"
    assert _resource(template, "Microsoft.ContainerRegistry/registries")["properties"]["publicNetworkAccess"] == "Disabled"
    assert _resource(template, "Microsoft.KeyVault/vaults")["properties"]["publicNetworkAccess"] == "Enabled"
    # the workspace itself stays as the spec says: the managed network is about outbound traffic
    assert _resource(template, WORKSPACES)["properties"]["publicNetworkAccess"] == "Enabled"


def test_without_a_managed_network_the_dependents_stay_open():
    for workspace in ({}, {"managedNetwork": {"isolationMode": "Disabled"}}):
        template, _ = _render({"name": "churn-dev", "workspace": workspace})
        assert _resource(template, "Microsoft.Storage/storageAccounts")["properties"]["publicNetworkAccess"] == "Enabled"
        registry = _resource(template, "Microsoft.ContainerRegistry/registries")
        assert (registry["sku"]["name"], registry["properties"]["publicNetworkAccess"]) == ("Basic", "Enabled")


def test_provision_network_now_defaults_to_true_with_a_managed_network():
    def sent(managed_network):
        template, _ = _render({"name": "churn-dev", "workspace": {"managedNetwork": managed_network}})
        return _resource(template, WORKSPACES)["properties"].get("provisionNetworkNow")

    assert sent({"isolationMode": "AllowInternetOutbound"}) is True
    assert sent({"isolationMode": "AllowOnlyApprovedOutbound"}) is True
    assert sent({"isolationMode": "AllowInternetOutbound", "provisionNetworkNow": False}) is False
    assert sent({"isolationMode": "Disabled"}) is None


@pytest.mark.parametrize("workspace, registry, sku", [
    # the managed network always reaches the registry through a private endpoint under approved outbound
    ({"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}, {"publicNetworkAccess": "Enabled"}, "Premium"),
    # under internet outbound only a closed registry gets the private endpoint
    ({"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}, {}, "Premium"),
    ({"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}, {"publicNetworkAccess": "Enabled"}, "Basic"),
    # a closed registry is Premium with or without a managed network: no other SKU can close it
    ({"publicNetworkAccess": "Disabled"}, {}, "Premium"),
    ({}, {}, "Basic"),
    ({"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}, {"sku": "Premium"}, "Premium"),
])
def test_the_registry_defaults_to_premium_where_the_managed_network_needs_its_private_endpoint(workspace, registry, sku):
    template, _ = _render({"name": "churn-dev", "workspace": workspace, "containerRegistry": registry})
    assert _resource(template, "Microsoft.ContainerRegistry/registries")["sku"]["name"] == sku


ALLOW_LIST = {"networkAcls": {"defaultAction": "Deny", "ipRules": ["203.0.113.0/24"]},
              "managedNetwork": {"isolationMode": "AllowInternetOutbound"}}


def test_a_workspace_open_only_to_an_ip_allow_list_gets_its_outbound_rule_after_it_is_created():
    template, bicep = _render({"name": "churn-team", "workspace": ALLOW_LIST})
    rule = _resource(template, RULES)
    workspace_id = "[resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-team')]"
    assert rule["apiVersion"] == "2026-05-01"
    assert rule["name"] == "[format('{0}/{1}', 'churn-team', 'workspace-private-endpoint')]"
    assert rule["properties"] == {"type": "PrivateEndpoint", "category": "UserDefined", "destination": {
        "serviceResourceId": workspace_id, "subresourceTarget": "amlworkspace"}}
    assert rule["dependsOn"] == [workspace_id]
    # not part of the workspace's own PUT: Learn says the rule cannot be added while the workspace is created
    assert "outboundRules" not in _resource(template, WORKSPACES)["properties"]["managedNetwork"]
    assert f"resource workspaceOutboundRule '{RULES}@2026-05-01' = {{\n  parent: workspace\n" in bicep


@pytest.mark.parametrize("workspace", [
    {**ALLOW_LIST, "managedNetwork": {"isolationMode": "Disabled"}},  # no managed network to reach it from
    {**ALLOW_LIST, "publicNetworkAccess": "Disabled"},  # closed: the managed network's own endpoint serves
    {**ALLOW_LIST, "networkAcls": {"defaultAction": "Allow", "ipRules": ["203.0.113.0/24"]}},  # open to all
])
def test_no_outbound_rule_to_itself_unless_the_workspace_is_open_only_to_an_allow_list(workspace):
    template, _ = _render({"name": "churn-team", "workspace": workspace, "containerRegistry": False})
    assert RULES not in _types(template)


def test_an_ip_allowlist_also_gets_the_outbound_rule():
    template, _ = _render({"name": "churn-team", "workspace": {
        "ipAllowlist": ["203.0.113.7"], "managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}})
    assert RULES in _types(template)


# What azure-ai-ml's project template (arm_templates/workspace_project.json) sends for a Project.
PROJECT_TOP = {"type", "apiVersion", "name", "location", "tags", "kind", "identity", "properties", "dependsOn"}
PROJECT_PROPERTIES = {"friendlyName", "description", "primaryUserAssignedIdentity", "hubResourceId",
                      "enableDataIsolation", "publicNetworkAccess", "serverlessComputeSettings"}


def test_a_project_sends_only_what_azure_ai_ml_project_template_sends():
    template, bicep = _render({"name": "churn-project", "tags": {"team": "churn"}, "workspace": {
        "kind": "Project", "hub": f"{SUB}/providers/{WORKSPACES}/hub", "friendlyName": "Churn",
        "description": "Churn models", "serverlessCompute": {"noPublicIp": True}}})
    project = _resource(template, WORKSPACES)
    assert set(project) <= PROJECT_TOP and "sku" not in project
    assert set(project["properties"]) <= PROJECT_PROPERTIES
    assert project["properties"]["hubResourceId"] == (
        f"[resourceId('00000000-0000-0000-0000-000000000000', 'rg', '{WORKSPACES}', 'hub')]")
    assert project["properties"]["serverlessComputeSettings"] == {"serverlessComputeNoPublicIP": True}
    for absent in ("sku:", "hbiWorkspace", "v1LegacyMode", "systemDatastoresAuthMode", "managedNetwork"):
        assert absent not in bicep


def test_a_default_workspace_still_sends_its_sku_and_settings():
    template, _ = _render({"name": "churn-dev"})
    workspace = _resource(template, WORKSPACES)
    assert workspace["sku"] == {"name": "Basic", "tier": "Basic"}
    assert workspace["properties"]["v1LegacyMode"] is False


def test_a_feature_store_gets_storage_with_a_hierarchical_namespace():
    feature_store, bicep = _render({"name": "features", "workspace": {"kind": "FeatureStore"}})
    assert _resource(feature_store, "Microsoft.Storage/storageAccounts")["properties"]["isHnsEnabled"] is True
    assert "isHnsEnabled: true" in bicep
    default, _ = _render({"name": "churn-dev"})
    assert _resource(default, "Microsoft.Storage/storageAccounts")["properties"]["isHnsEnabled"] is False


def _project_diff(old_hbi):
    from generator import diff

    def files(hbi):
        properties = {"hubResourceId": f"{SUB}/providers/{WORKSPACES}/hub"}
        if hbi is not None:
            properties["hbiWorkspace"] = hbi
        template = {"resources": [{"type": WORKSPACES, "apiVersion": "2026-05-01", "name": "churn-project",
                                   "kind": "Project", "properties": properties}]}
        return {"main.json": json.dumps(template)}

    return diff.diff_workspace("project", files(old_hbi), files(None))


def test_no_longer_sending_a_false_create_only_flag_is_not_a_refused_change():
    """A Project no longer sends hbiWorkspace: false; an omitted flag is false, so nothing changes in Azure."""
    assert [w.code for w in _project_diff(False).warnings] == []
    assert [w.code for w in _project_diff(True).warnings] == ["D001"]
