"""Behaviour of the model, naming and plan that the examples alone would not pin down."""

from __future__ import annotations

import json
import random
import string

import pytest

from generator import model, pipeline
from generator.naming import RULES, derived_name, parse_resource_id
from generator.roles import BUILT_IN_ROLES, role_guid

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg"


def _render(data: dict) -> tuple[dict, str, dict]:
    files = pipeline.render_spec(model.build(data, "examples/t.yaml"))
    return json.loads(files["main.json"]), files["main.bicep"], json.loads(files["main.parameters.json"])


@pytest.mark.parametrize("kind", ["storage", "keyVault", "containerRegistry", "logAnalytics", "applicationInsights"])
def test_derived_names_always_satisfy_the_azure_rule(kind):
    rng = random.Random(kind)
    alphabet = string.ascii_letters + string.digits + "-_"
    names = ["abc", "a-b", "A_B_C", "x" * 33, "9lives", "ws--double__under", "a" + "-" * 31 + "z"]
    names += ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 33))) for _ in range(300)]
    for name in names:
        if not RULES["workspace"].problem(name):
            derived = derived_name(kind, name, None)
            assert RULES[kind].problem(derived) is None, (name, derived)


def test_derived_global_names_are_stable_and_depend_on_the_seed():
    assert derived_name("storage", "churn-dev", None) == derived_name("storage", "churn-dev", None)
    assert derived_name("storage", "churn-dev", "sub-a") != derived_name("storage", "churn-dev", "sub-b")


def test_resource_id_parsing_rejects_what_is_not_an_id():
    assert parse_resource_id(f"{SUB}/providers/Microsoft.Storage/storageAccounts/st").type == \
        "Microsoft.Storage/storageAccounts"
    assert parse_resource_id(f"{SUB}/providers/Microsoft.Network/virtualNetworks/v/subnets/s").type == \
        "Microsoft.Network/virtualNetworks/subnets"
    for bad in ["storage", f"{SUB}", f"{SUB}/providers/Microsoft.Storage/storageAccounts",
                "/subscriptions/not-a-guid/resourceGroups/rg/providers/A.B/c/d"]:
        assert parse_resource_id(bad) is None, bad


def test_role_names_are_case_insensitive_and_guids_pass_through():
    assert role_guid("azureml data scientist") == BUILT_IN_ROLES["AzureML Data Scientist"]
    assert role_guid("F6C7C914-8DB3-469D-8CA1-694A8F32E121") == "f6c7c914-8db3-469d-8ca1-694a8f32e121"
    assert role_guid("Data Wizard") is None


def test_secure_parameters_have_no_default_and_never_reach_the_parameters_file():
    template, bicep, parameters = _render({
        "name": "churn-dev",
        "datastores": {"legacy": {"type": "fileShare", "fileShare": "reports", "credentials": "accountKey",
                                  "account": f"{SUB}/providers/Microsoft.Storage/storageAccounts/st"}},
        "computes": {"dbx": {"type": "databricks",
                             "resourceId": f"{SUB}/providers/Microsoft.Databricks/workspaces/dbx"}},
    })
    secure = {k: v for k, v in template["parameters"].items() if v["type"] == "securestring"}
    assert sorted(secure) == ["computeDbxAccessToken", "datastoreLegacyAccountKey"]
    assert all("defaultValue" not in v for v in secure.values())
    assert not set(secure) & set(parameters["parameters"])
    assert not any(secret in json.dumps(template["outputs"]) for secret in secure)
    assert bicep.count("@secure()") == 2


def test_role_assignment_names_are_deterministic_guids_of_scope_principal_and_role():
    template, bicep, _ = _render({"name": "churn-dev", "roleAssignments": [
        {"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "Group"}]})
    (ra,) = [r for r in template["resources"] if r["type"] == "Microsoft.Authorization/roleAssignments"]
    assert ra["name"] == ("[guid(toLower(resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-dev')), "
                          "toLower('33333333-3333-3333-3333-333333333333'), "
                          "toLower('acdd72a7-3385-48ef-bd42-f606fba81ae7'))]")
    assert "name: guid(toLower(workspace.id), toLower('33333333-3333-3333-3333-333333333333')" in bicep


def test_a_preview_only_property_moves_only_the_workspace_to_the_preview_api_version():
    template, bicep, _ = _render({"name": "churn-dev", "workspace": {"ipAllowlist": ["203.0.113.0/24"]},
                                  "computes": {"cpu-cluster": {"type": "cluster"}}})
    versions = {r["type"]: r["apiVersion"] for r in template["resources"]}
    assert versions["Microsoft.MachineLearningServices/workspaces"] == "2026-03-15-preview"
    assert versions["Microsoft.MachineLearningServices/workspaces/computes"] == "2026-05-01"
    assert "'Microsoft.MachineLearningServices/workspaces@2026-03-15-preview'" in bicep


def test_closing_the_workspace_closes_the_dependents_unless_they_say_otherwise():
    template, _, _ = _render({"name": "churn-dev", "workspace": {"publicNetworkAccess": "Disabled"},
                              "keyVault": {"publicNetworkAccess": "Enabled"}, "containerRegistry": False})
    access = {r["type"]: r["properties"].get("publicNetworkAccess") for r in template["resources"]}
    assert access["Microsoft.Storage/storageAccounts"] == "Disabled"
    assert access["Microsoft.KeyVault/vaults"] == "Enabled"
    acls = {r["type"]: r["properties"].get("networkAcls") for r in template["resources"]}
    assert acls["Microsoft.Storage/storageAccounts"] == {"bypass": "AzureServices", "defaultAction": "Deny"}


def test_a_project_creates_no_dependents_and_points_at_its_hub():
    hub = f"{SUB}/providers/Microsoft.MachineLearningServices/workspaces/hub"
    template, _, _ = _render({"name": "proj", "workspace": {"kind": "Project", "hub": hub}})
    assert [r["type"] for r in template["resources"]] == ["Microsoft.MachineLearningServices/workspaces"]
    ws = template["resources"][0]
    assert ws["kind"] == "Project" and ws["properties"]["hubResourceId"] == (
        "[resourceId('00000000-0000-0000-0000-000000000000', 'rg', 'Microsoft.MachineLearningServices/workspaces', 'hub')]")
    assert "storageAccount" not in ws["properties"]


def test_attached_computes_deploy_only_when_asked():
    template, bicep, _ = _render({"name": "churn-dev", "computes": {"aks": {
        "type": "kubernetes", "resourceId": f"{SUB}/providers/Microsoft.ContainerService/managedClusters/aks"}}})
    assert template["parameters"]["attachComputes"] == {
        "type": "bool", "defaultValue": False, "metadata": template["parameters"]["attachComputes"]["metadata"]}
    (aks,) = [r for r in template["resources"] if r.get("condition")]
    assert aks["condition"] == "[parameters('attachComputes')]"
    assert "= if (attachComputes) {" in bicep


def test_subscription_template_creates_the_group_and_deploys_main_json_unchanged_into_it():
    files = pipeline.render_spec(model.build({
        "name": "churn-dev", "resourceGroup": "rg-churn", "tags": {"team": "ds"},
        "datastores": {"legacy": {"type": "fileShare", "fileShare": "reports", "credentials": "sas",
                                  "account": f"{SUB}/providers/Microsoft.Storage/storageAccounts/st"}}},
        "examples/t.yaml"))
    main, sub = json.loads(files["main.json"]), json.loads(files["subscription.json"])
    group, deployment = sub["resources"]
    assert group == {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2025-04-01", "name": "rg-churn",
                     "location": "[parameters('location')]", "tags": {"team": "ds"}, "properties": {}}
    assert deployment["resourceGroup"] == "rg-churn" and deployment["properties"]["mode"] == "Incremental"
    assert deployment["properties"]["template"] == main
    # every parameter passes through, secure ones without a default
    assert set(deployment["properties"]["parameters"]) == set(main["parameters"]) == set(sub["parameters"])
    assert sub["parameters"]["location"]["defaultValue"] == "[deployment().location]"
    assert "defaultValue" not in sub["parameters"]["datastoreLegacySasToken"]
    bicep = files["subscription.bicep"]
    assert "targetScope = 'subscription'" in bicep and "module workspaceDeployment 'main.bicep' = {" in bicep
    assert "scope: group" in bicep and "@secure()\nparam datastoreLegacySasToken string" in bicep
    from pycep import BicepParser
    parsed = BicepParser().parse(text=bicep)
    assert list(parsed["modules"]) == ["workspaceDeployment"]
    assert parsed["globals"]["scope"]["value"] == "subscription"
    assert list(parsed["resources"]) == ["group"]


def test_without_a_resource_group_there_is_no_subscription_template():
    assert "subscription.json" not in pipeline.render_spec(model.build({"name": "churn-dev"}, "examples/t.yaml"))


def test_a_cluster_can_run_as_a_user_assigned_identity_of_the_workspace():
    uai = f"{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-jobs"
    template, bicep, _ = _render({"name": "churn-dev",
                                  "workspace": {"identity": {"type": "SystemAssigned,UserAssigned",
                                                             "userAssigned": [{"existing": uai}]}},
                                  "computes": {"cpu-cluster": {"type": "cluster", "identity": uai}}})
    (cluster,) = [r for r in template["resources"] if r["type"].endswith("/computes")]
    uai_id = "[resourceId('00000000-0000-0000-0000-000000000000', 'rg', 'Microsoft.ManagedIdentity/userAssignedIdentities', 'id-jobs')]"
    assert cluster["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {uai_id: {}}}
    assert "'${identityIdJobs.id}': {}" in bicep


def test_more_than_800_resources_is_a_finding_not_a_failed_deployment(tmp_path):
    import yaml

    from conftest import run_cli
    spec = {"name": "huge", "roleAssignments": [
        {"role": "Reader", "principalId": f"{i:08d}-1111-1111-1111-111111111111", "principalType": "User"}
        for i in range(800)]}
    (tmp_path / "huge.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = run_cli("validate", "huge.yaml", cwd=tmp_path)
    assert result.returncode == 1
    assert "huge.yaml:1:1: R220 the template would hold 806 resources" in result.stdout


NET = "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg-net/providers/Microsoft.Network"


def _pe_deployment(template: dict) -> dict:
    (deployment,) = [r for r in template["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    return deployment


def test_private_endpoints_deploy_into_the_networks_subscription_and_group_in_its_region():
    template, bicep, _ = _render({"name": "churn-dev", "containerRegistry": False,
                                  "privateEndpoints": {"subnet": f"{NET}/virtualNetworks/vnet/subnets/pe",
                                                       "targets": ["workspace", "keyVault"],
                                                       "privateDnsZones": "create"}})
    assert not any(r["type"].startswith("Microsoft.Network/") for r in template["resources"])
    d = _pe_deployment(template)
    assert (d["subscriptionId"], d["resourceGroup"]) == ("11111111-1111-1111-1111-111111111111", "rg-net")
    assert d["properties"]["parameters"]["location"]["value"] == (
        "[reference(resourceId('11111111-1111-1111-1111-111111111111', 'rg-net', 'Microsoft.Network/virtualNetworks', "
        "'vnet'), '2025-07-01', 'full').location]")
    # the endpoints wait for what they connect to, which the outer template creates
    assert d["dependsOn"] == ["[resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-dev')]",
                              f"[resourceId('Microsoft.KeyVault/vaults', '{derived_name('keyVault', 'churn-dev', None)}')]"]
    inner = d["properties"]["template"]
    endpoints = [r for r in inner["resources"] if r["type"] == "Microsoft.Network/privateEndpoints"]
    assert [e["location"] for e in endpoints] == ["[parameters('location')]"] * 2
    assert {e["properties"]["privateLinkServiceConnections"][0]["properties"]["privateLinkServiceId"]
            for e in endpoints} == {"[parameters('workspaceId')]", "[parameters('keyVaultId')]"}
    zones = sorted(r["name"] for r in inner["resources"] if r["type"] == "Microsoft.Network/privateDnsZones")
    assert zones == ["privatelink.api.azureml.ms", "privatelink.notebooks.azure.net", "privatelink.vaultcore.azure.net"]
    assert "module privateEndpoints 'modules/private-endpoints.bicep' = {" in bicep
    assert "scope: resourceGroup('11111111-1111-1111-1111-111111111111', 'rg-net')" in bicep


def test_private_endpoints_location_and_group_can_be_set():
    spec = {"name": "churn-dev", "containerRegistry": False,
            "privateEndpoints": {"subnet": f"{NET}/virtualNetworks/vnet/subnets/pe", "targets": ["storageBlob"],
                                 "privateDnsZones": "none", "resourceGroup": "rg-endpoints",
                                 "location": "northeurope"}}
    template, bicep, _ = _render(spec)
    d = _pe_deployment(template)
    assert d["resourceGroup"] == "rg-endpoints"
    assert d["properties"]["parameters"]["location"] == {"value": "northeurope"}
    assert "privateEndpointNetwork" not in bicep  # the network is not read when the region is given
    inner = d["properties"]["template"]["resources"]
    assert [r["type"] for r in inner] == ["Microsoft.Network/privateEndpoints"]  # none: no zones, no zone group


def test_created_storage_zones_take_their_suffix_from_the_environment_and_existing_zones_are_kept():
    zone_id = f"{NET}/privateDnsZones/privatelink.blob.core.windows.net".replace("rg-net", "rg-dns")
    template, _, _ = _render({"name": "churn-dev", "containerRegistry": False,
                              "privateEndpoints": {"subnet": f"{NET}/virtualNetworks/vnet/subnets/pe",
                                                   "targets": ["storageBlob", "storageFile"],
                                                   "privateDnsZones": {"privatelink.blob.core.windows.net": zone_id,
                                                                       "privatelink.file.core.windows.net": "create"}}})
    inner = _pe_deployment(template)["properties"]["template"]["resources"]
    zones = [r["name"] for r in inner if r["type"] == "Microsoft.Network/privateDnsZones"]
    assert zones == ["[format('privatelink.file.{0}', environment().suffixes.storage)]"]
    groups = {r["name"]: r["properties"]["privateDnsZoneConfigs"][0]["properties"]["privateDnsZoneId"]
              for r in inner if r["type"].endswith("privateDnsZoneGroups")}
    blob_group = next(v for k, v in groups.items() if "blob" in k)
    assert blob_group == ("[resourceId('11111111-1111-1111-1111-111111111111', 'rg-dns', 'Microsoft.Network/privateDnsZones', "
                          "'privatelink.blob.core.windows.net')]")
def test_key_vault_create_mode_reaches_arm_and_bicep_only_when_the_spec_sets_it():
    template, bicep, _ = _render({"name": "churn-dev", "keyVault": {"createMode": "recover"}})
    [vault] = [r for r in template["resources"] if r["type"] == "Microsoft.KeyVault/vaults"]
    assert vault["properties"]["createMode"] == "recover"
    assert "createMode: 'recover'" in bicep
    template, bicep, _ = _render({"name": "churn-dev"})
    [vault] = [r for r in template["resources"] if r["type"] == "Microsoft.KeyVault/vaults"]
    assert "createMode" not in vault["properties"] and "createMode" not in bicep
# --- the workspace identity (issue 9, point 3) --------------------------------------------------------------------

UAI_JOBS = f"{SUB}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-jobs"
CONTRIBUTOR = BUILT_IN_ROLES["Contributor"]


def _of_type(template: dict, rtype: str) -> list[dict]:
    return [r for r in template["resources"] if r["type"] == rtype]


def _workspace_resource(template: dict) -> dict:
    (ws,) = _of_type(template, "Microsoft.MachineLearningServices/workspaces")
    return ws


def test_a_user_assigned_identity_next_to_the_system_one_is_not_made_primary():
    spec = model.build({"name": "churn-dev", "workspace": {"identity": {
        "type": "SystemAssigned,UserAssigned", "userAssigned": [{"existing": UAI_JOBS}]}}}, "examples/t.yaml")
    assert spec.workspace.identity.primary is None
    template, bicep, _ = _render({"name": "churn-dev", "workspace": {"identity": {
        "type": "SystemAssigned,UserAssigned", "userAssigned": [{"existing": UAI_JOBS}]}}})
    assert "primaryUserAssignedIdentity" not in _workspace_resource(template)["properties"]
    assert "primaryUserAssignedIdentity" not in bicep
    assert _of_type(template, "Microsoft.Authorization/roleAssignments") == []  # Azure grants the system identity


def test_the_only_identity_when_user_assigned_is_primary_and_several_need_a_choice():
    only = model.build({"name": "churn-dev", "workspace": {"identity": {
        "type": "UserAssigned", "userAssigned": [{"name": "id-ws"}]}}}, "examples/t.yaml")
    assert only.workspace.identity.primary.name == "id-ws"
    chosen = model.build({"name": "churn-dev", "workspace": {"identity": {
        "type": "UserAssigned", "userAssigned": [{"name": "id-ws"}, {"existing": UAI_JOBS}],
        "primary": UAI_JOBS}}}, "examples/t.yaml")
    assert chosen.workspace.identity.workspace_user_identity.existing.id == UAI_JOBS


def test_a_user_assigned_workspace_identity_gets_learns_roles_before_the_workspace():
    template, bicep, _ = _render({"name": "churn-dev", "workspace": {"identity": {
        "type": "UserAssigned", "userAssigned": [{"existing": UAI_JOBS}]}}})
    grants = _of_type(template, "Microsoft.Authorization/roleAssignments")
    by_scope: dict[str, set[str]] = {}
    for g in grants:
        scope_type = g["scope"].split("'")[1]
        role = g["properties"]["roleDefinitionId"].split("'")[-2]
        by_scope.setdefault(scope_type, set()).add(role)
        # the principal exists only at deployment: reference() in properties, never in the name
        assert g["properties"]["principalId"] == (
            "[reference(resourceId('00000000-0000-0000-0000-000000000000', 'rg', "
            "'Microsoft.ManagedIdentity/userAssignedIdentities', 'id-jobs'), '2024-11-30').principalId]")
        assert g["properties"]["principalType"] == "ServicePrincipal"
        # resourceId() of the identity's parts evaluates to its ID: the name Learn's guid(scope, identity ID, role)
        uai_id = "resourceId('00000000-0000-0000-0000-000000000000', 'rg', 'Microsoft.ManagedIdentity/userAssignedIdentities', 'id-jobs')"
        assert g["name"] == f"[guid({g['scope'][1:-1]}, {uai_id}, '{role}')]"
    assert by_scope == {
        "Microsoft.Storage/storageAccounts": {CONTRIBUTOR, BUILT_IN_ROLES["Storage Blob Data Contributor"]},
        "Microsoft.KeyVault/vaults": {CONTRIBUTOR, BUILT_IN_ROLES["Key Vault Administrator"]},
        "Microsoft.ContainerRegistry/registries": {CONTRIBUTOR},
        "Microsoft.Insights/components": {CONTRIBUTOR},
        "Microsoft.MachineLearningServices/workspaces": {CONTRIBUTOR},
    }
    # the workspace waits for every grant on a dependent; the grant on the workspace waits for the workspace
    depends = _workspace_resource(template)["dependsOn"]
    on_dependents = [g for g in grants if "MachineLearningServices" not in g["scope"]]
    for g in on_dependents:
        assert f"[extensionResourceId({g['scope'][1:-1]}, 'Microsoft.Authorization/roleAssignments', " \
               f"{g['name'][1:-1]})]" in depends
    (on_workspace,) = [g for g in grants if "MachineLearningServices" in g["scope"]]
    assert "[resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-dev')]" in on_workspace["dependsOn"]
    assert "principalId: identityIdJobs.properties.principalId" in bicep
    # the workspace identity's object ID is an output, as the system-assigned one's is
    assert template["outputs"]["workspacePrincipalId"]["value"] == (
        "[reference(resourceId('00000000-0000-0000-0000-000000000000', 'rg', "
        "'Microsoft.ManagedIdentity/userAssignedIdentities', 'id-jobs'), '2024-11-30').principalId]")


def test_grants_parity_with_an_existing_identity_and_brought_dependents():
    """Grants on a brought dependent are not in main.json's own resources: they go through the role-assignments
    module into the dependent's group (tests/test_grants.py), and main.bicep with its module matches main.json."""
    from bicep_parity import compare, parse_bicep, report

    storage = f"{SUB}/providers/Microsoft.Storage/storageAccounts/stbrought"
    files = pipeline.render_spec(model.build({"name": "churn-dev", "storage": {"existing": storage}, "workspace": {
        "identity": {"type": "UserAssigned", "userAssigned": [{"existing": UAI_JOBS}]}}}, "examples/t.yaml"))
    template = json.loads(files["main.json"])
    assert not any("scope" in g and "stbrought" in g["scope"]
                   for g in _of_type(template, "Microsoft.Authorization/roleAssignments"))
    (deployment,) = _of_type(template, "Microsoft.Resources/deployments")
    nested = deployment["properties"]["template"]["resources"]
    assert sum(r["type"] == "Microsoft.Authorization/roleAssignments" for r in nested) == 2
    diffs = compare(template, parse_bicep(text=files["main.bicep"]), lambda path: parse_bicep(text=files[path]))
    assert diffs == [], report(diffs)


def test_grants_to_a_user_assigned_identity_read_as_role_scope_and_identity():
    from generator import diff

    template, _, _ = _render({"name": "churn-dev", "workspace": {"identity": {
        "type": "UserAssigned", "userAssigned": [{"existing": UAI_JOBS}]}}})
    shown = {diff.display_name(g) for g in _of_type(template, "Microsoft.Authorization/roleAssignments")}
    assert "Contributor on churn-dev for identity id-jobs" in shown
    assert any(s.startswith("Key Vault Administrator on kv-churn-dev") and s.endswith("for identity id-jobs")
               for s in shown)
