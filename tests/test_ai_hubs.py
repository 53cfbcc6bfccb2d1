"""AI hubs (docs/ai-hubs.md): connections of every category and auth type, the AI Services account and its model
deployments, AI Search, the roles that make Entra ID connections work, private endpoints and managed-network rules."""

from __future__ import annotations

import itertools
import json
import re

import pytest
import yaml

from conftest import OUT
from generator import model, pipeline
from generator.aimodels import CONNECTION_AUTH
from generator.findings import ERROR
from generator.roles import AI_CONNECTION_ROLES, BUILT_IN_ROLES, role_guid
from generator.spec import load

CONNECTIONS = "Microsoft.MachineLearningServices/workspaces/connections"
ACCOUNTS = "Microsoft.CognitiveServices/accounts"
SEARCH = "Microsoft.Search/searchServices"
ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
WORKSPACES = "Microsoft.MachineLearningServices/workspaces"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups"
SUBNET = f"{SUB}/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"
GROUP = "66666666-6666-6666-6666-666666666666"


def _render(data: dict) -> tuple[dict, str, dict]:
    files = pipeline.render_spec(model.build(data, "examples/t.yaml"))
    return json.loads(files["main.json"]), files["main.bicep"], files


def _of(template: dict, rtype: str) -> list[dict]:
    return [r for r in template["resources"] if r["type"] == rtype]


def _findings(data: dict) -> list:
    doc, found = load.parse_text(yaml.safe_dump(data, sort_keys=False), "t.yaml")
    assert doc is not None and not found
    return pipeline.check_document(doc)


def _errors(data: dict) -> list[str]:
    return [f.rule for f in _findings(data) if f.severity == ERROR]


# --- connections: every category and auth type, in the golden output ----------------------------------------------

def _golden_connections() -> tuple[dict, str]:
    return (json.loads((OUT / "connections" / "main.json").read_text(encoding="utf-8")),
            (OUT / "connections" / "main.bicep").read_text(encoding="utf-8"))


def _bicep_blocks(bicep: str, rtype: str) -> list[str]:
    """The text of each resource declaration of one type in main.bicep."""
    return re.findall(r"^resource \w+ '" + re.escape(rtype) + r"@[^']+' = \{\n.*?^\}$", bicep, re.M | re.S)


PAIRS = [(category, auth) for category, auths in CONNECTION_AUTH.items() for auth in auths]


@pytest.mark.parametrize("category,auth", PAIRS, ids=[f"{c}-{a}" for c, a in PAIRS])
def test_every_valid_category_and_auth_pair_is_in_the_golden_output_of_both_languages(category, auth):
    arm, bicep = _golden_connections()
    assert any(r["properties"]["category"] == category and r["properties"]["authType"] == auth
               for r in _of(arm, CONNECTIONS)), f"no {category}/{auth} connection in out/connections/main.json"
    assert any(f"category: '{category}'" in block and f"authType: '{auth}'" in block
               for block in _bicep_blocks(bicep, CONNECTIONS)), f"no {category}/{auth} connection in main.bicep"


def test_the_golden_connections_cover_every_category_and_auth_type_of_the_issue():
    arm, _ = _golden_connections()
    categories = {r["properties"]["category"] for r in _of(arm, CONNECTIONS)}
    auths = {r["properties"]["authType"] for r in _of(arm, CONNECTIONS)}
    assert categories >= {"AIServices", "AzureOpenAI", "CognitiveSearch", "AzureBlob", "ADLSGen2",
                          "ContainerRegistry", "Git", "PythonFeed", "ApiKey", "CustomKeys"}
    assert auths >= {"AAD", "ApiKey", "ManagedIdentity", "None", "AccountKey", "SAS"}


INVALID = [(c, a) for c, a in itertools.product(CONNECTION_AUTH, ("AAD", "ApiKey", "ManagedIdentity", "None",
                                                                  "AccountKey", "SAS", "CustomKeys"))
           if a not in CONNECTION_AUTH[c]]


@pytest.mark.parametrize("category,auth", INVALID, ids=[f"{c}-{a}" for c, a in INVALID])
def test_an_invalid_category_and_auth_pair_is_a_finding(category, auth):
    connection = {"category": category, "target": "https://x.example.com/", "auth": auth}
    connection |= {"identity": "id-a"} if auth == "ManagedIdentity" else {}
    data = {"name": "churn-dev", "connections": {"conn1": connection},
            "workspace": {"identity": {"type": "SystemAssigned,UserAssigned", "userAssigned": [{"name": "id-a"}]}}}
    assert _errors(data) == ["R302"]


def test_secrets_are_secure_parameters_without_defaults_and_in_no_file():
    arm, bicep = _golden_connections()
    secret_params = {name: p for name, p in arm["parameters"].items() if p["type"].lower().startswith("secure")}
    used = {m for r in _of(arm, CONNECTIONS) for m in re.findall(r"parameters\('(\w+)'\)",
                                                                  json.dumps(r["properties"].get("credentials")))}
    # one per secret-bearing connection: 4 API keys, an account key, a SAS token, the custom keys
    assert used == set(secret_params) and len(used) == 7
    assert all("defaultValue" not in p for p in secret_params.values())
    assert all(f"@secure()\nparam {name} " in bicep for name in secret_params)
    written = ((OUT / "connections" / "main.parameters.json").read_text(encoding="utf-8")
               + (OUT / "connections" / "main.bicepparam").read_text(encoding="utf-8"))
    assert not [name for name in secret_params if name in written]
    assert arm["parameters"]["connectionPartnerKeysKeys"]["type"] == "secureObject"


def test_targets_are_urls_keywords_or_existing_resources_read_at_deployment():
    arm, _ = _golden_connections()
    by_name = {r["name"]: r["properties"] for r in _of(arm, CONNECTIONS)}
    target = {name.split("'")[5]: p["target"] for name, p in by_name.items()}
    assert target["pypi-mirror"] == "https://pkgs.example.com/simple/"
    assert target["aiservices-entra"].startswith("[reference(resourceId('00000000-0000-0000-0000-000000000000', "
                                                 "'rg-ai', 'Microsoft.CognitiveServices/accounts', 'ais-shared')")
    assert target["aiservices-entra"].endswith(".endpoint]")
    assert target["lake-entra"].endswith(".primaryEndpoints.dfs]") and target["blob-entra"].endswith(".primaryEndpoints.blob]")
    assert target["images"].endswith(".loginServer]")
    hub = json.loads((OUT / "ai-hub" / "main.json").read_text(encoding="utf-8"))
    (aiservices,) = [r for r in _of(hub, CONNECTIONS) if r["properties"]["category"] == "AIServices"]
    assert aiservices["properties"]["target"].startswith("[reference(resourceId('Microsoft.CognitiveServices/accounts'")
    assert aiservices["properties"]["metadata"]["ApiType"] == "Azure"


def test_a_feature_store_offline_store_declared_here_is_created_and_not_warned_about():
    data = yaml.safe_load((OUT.parent / "examples" / "feature-store.yaml").read_text(encoding="utf-8"))
    assert "R253" not in [f.rule for f in _findings(data)]
    arm = json.loads((OUT / "feature-store" / "main.json").read_text(encoding="utf-8"))
    (offline,) = _of(arm, CONNECTIONS)
    assert offline["properties"]["category"] == "ADLSGen2" and offline["properties"]["authType"] == "ManagedIdentity"
    workspace = _of(arm, WORKSPACES)[0]
    assert workspace["properties"]["featureStoreSettings"]["offlineStoreConnectionName"] == "offline-adls"
    del data["connections"]
    assert "R253" in [f.rule for f in _findings(data)]


# --- the AI Services account, its deployments, AI Search ---------------------------------------------------------

def test_the_account_has_keys_off_a_custom_subdomain_and_a_system_identity_and_search_takes_entra_id():
    arm, _, _ = _render({"name": "churn-dev", "aiServices": {}, "aiSearch": {}})
    (account,) = _of(arm, ACCOUNTS)
    assert account["properties"]["disableLocalAuth"] is True
    assert account["properties"]["customSubDomainName"] == account["name"] == model.derived_name(
        "aiServices", "churn-dev", None)
    assert account["identity"] == {"type": "SystemAssigned"} and account["kind"] == "AIServices"
    (search,) = _of(arm, SEARCH)
    assert search["properties"]["authOptions"] == {"aadOrApiKey": {"aadAuthFailureMode": "http401WithBearerChallenge"}}
    assert search["identity"] == {"type": "SystemAssigned"}


@pytest.mark.parametrize("workspace,expected", [({}, "Enabled"), ({"publicNetworkAccess": "Disabled"}, "Disabled"),
                                                ({"managedNetwork": {"isolationMode": "AllowInternetOutbound"}},
                                                 "Disabled")])
def test_the_ai_resources_follow_the_workspace_network_like_the_other_dependents(workspace, expected):
    arm, _, _ = _render({"name": "churn-dev", "workspace": workspace, "aiServices": {}, "aiSearch": {},
                         "containerRegistry": {"sku": "Premium"}})
    assert _of(arm, ACCOUNTS)[0]["properties"]["publicNetworkAccess"] == expected
    assert _of(arm, SEARCH)[0]["properties"]["publicNetworkAccess"] == expected
    opened, _, _ = _render({"name": "churn-dev", "workspace": workspace,
                            "aiServices": {"publicNetworkAccess": "Enabled"}, "containerRegistry": {"sku": "Premium"}})
    assert _of(opened, ACCOUNTS)[0]["properties"]["publicNetworkAccess"] == "Enabled"


def test_model_deployments_on_one_account_are_created_one_after_another():
    deployments = {name: {"model": {"format": "OpenAI", "name": name}, "sku": {"name": "GlobalStandard", "capacity": 1}}
                   for name in ("gpt-4o", "gpt-4o-mini", "text-embedding-3-large")}
    arm, bicep, _ = _render({"name": "churn-dev", "aiServices": {"deployments": deployments}})
    chain = _of(arm, "Microsoft.CognitiveServices/accounts/deployments")
    assert [d["name"].split("'")[5] for d in chain] == sorted(deployments)
    assert not any("deployments" in dep for dep in chain[0]["dependsOn"])
    for before, after in zip(chain, chain[1:]):
        name = before["name"].split("'")[5]
        assert any(f"'{name}')]" in dep and "/deployments'" in dep for dep in after["dependsOn"]), after["dependsOn"]
    blocks = _bicep_blocks(bicep, "Microsoft.CognitiveServices/accounts/deployments")
    assert "dependsOn" not in blocks[0]
    assert all("dependsOn: [\n    aiDeployment" in block for block in blocks[1:])


# --- the roles of docs/ai-hubs.md ---------------------------------------------------------------------------------

def _grants(arm: dict) -> set[tuple[str, str, str]]:
    """(principal, role, scope) of each role assignment, principal and scope as the table names them."""
    kinds = {ACCOUNTS: "aiServices", SEARCH: "aiSearch", "Microsoft.Storage/storageAccounts": "storage",
             WORKSPACES: "workspace"}
    names = {guid: role for role, guid in BUILT_IN_ROLES.items()}
    out = set()
    for r in _of(arm, ASSIGNMENTS):
        scope = next(kind for rtype, kind in kinds.items() if f"resourceId('{rtype}'" in r["scope"])
        pid = r["properties"]["principalId"]
        principal = ("people" if not pid.startswith("[") else
                     next(kind for rtype, kind in kinds.items() if f"resourceId('{rtype}'" in pid))
        out.add((principal, names[r["properties"]["roleDefinitionId"].split("'")[3]], scope))
    return out


def test_the_ai_hub_example_assigns_exactly_the_table_of_docs_ai_hubs():
    arm = json.loads((OUT / "ai-hub" / "main.json").read_text(encoding="utf-8"))
    assert _grants(arm) == set(AI_CONNECTION_ROLES) | {("people", "Azure AI Developer", "workspace")}
    table = (OUT.parent / "docs" / "ai-hubs.md").read_text(encoding="utf-8")
    for _, role, _ in AI_CONNECTION_ROLES:
        assert f"| {role} |" in table


def test_identity_grants_are_named_from_the_identity_resource_id():
    arm = json.loads((OUT / "ai-hub" / "main.json").read_text(encoding="utf-8"))
    reader = role_guid("Search Index Data Reader")
    (grant,) = [r for r in _of(arm, ASSIGNMENTS) if reader in r["name"] and "CognitiveServices" in r["name"]]
    assert re.fullmatch(r"\[guid\(resourceId\('Microsoft.Search/searchServices', '[^']+'\), "
                        r"resourceId\('Microsoft.CognitiveServices/accounts', '[^']+'\), '" + reader + r"'\)\]",
                        grant["name"])


def test_roles_follow_the_connections_that_need_them():
    base = {"name": "churn-dev", "aiServices": {}, "aiSearch": {},
            "roleAssignments": [{"role": "Reader", "principalId": GROUP, "principalType": "Group"},
                                {"role": "Reader", "principalId": "77777777-7777-7777-7777-777777777777",
                                 "principalType": "ServicePrincipal"}]}
    # no AAD connection: no role at all beyond the spec's own
    arm, _, _ = _render(base)
    assert {g for g in _grants_or_empty(arm) if g[1] != "Reader"} == set()
    # AAD to the account only, an API key to search: the account's rows that need search are not made
    arm, _, _ = _render(base | {"connections": {
        "a": {"category": "AIServices", "target": "aiServices", "auth": "AAD"},
        "s": {"category": "CognitiveSearch", "target": "aiSearch", "auth": "ApiKey"}}})
    assert {g for g in _grants_or_empty(arm) if g[1] != "Reader"} == {
        ("people", "Cognitive Services OpenAI User", "aiServices"),
        ("aiServices", "Storage Blob Data Contributor", "storage")}
    # a service principal is not one of the people; a role the spec already assigns is not assigned twice
    data = base | {"connections": {"a": {"category": "AIServices", "target": "aiServices", "auth": "AAD"}},
                   "roleAssignments": base["roleAssignments"] + [
                       {"role": "Cognitive Services OpenAI User", "principalId": GROUP, "principalType": "Group",
                        "scope": "aiServices"}]}
    arm, _, _ = _render(data)
    openai_user = [r for r in _of(arm, ASSIGNMENTS)
                   if role_guid("Cognitive Services OpenAI User") in r["properties"]["roleDefinitionId"]]
    assert len(openai_user) == 1 and openai_user[0]["properties"]["principalId"] == GROUP


def _grants_or_empty(arm: dict) -> set:
    return _grants(arm) if _of(arm, ASSIGNMENTS) else set()


def test_no_roles_on_an_existing_account_amlgen_cannot_write_there():
    arm, _, _ = _render({"name": "churn-dev",
                         "aiServices": {"existing": f"{SUB}/rg-ai/providers/{ACCOUNTS}/ais-shared"},
                         "connections": {"a": {"category": "AIServices", "target": "aiServices", "auth": "AAD"}},
                         "roleAssignments": [{"role": "Reader", "principalId": GROUP, "principalType": "Group"}]})
    assert len(_of(arm, ASSIGNMENTS)) == 1 and not _of(arm, ACCOUNTS)


# --- private endpoints and the managed network --------------------------------------------------------------------

def _module_zones(arm: dict) -> set[str]:
    (module,) = _of(arm, "Microsoft.Resources/deployments")
    return {r["name"] for r in module["properties"]["template"]["resources"]
            if r["type"] == "Microsoft.Network/privateDnsZones"}


def test_private_endpoints_of_the_account_and_search_get_their_zones_per_cloud():
    data = {"name": "churn-dev", "aiServices": {}, "aiSearch": {},
            "privateEndpoints": {"subnet": SUBNET, "targets": ["aiServices", "aiSearch"], "privateDnsZones": "create"}}
    arm, _, _ = _render(data)
    assert _module_zones(arm) == {"privatelink.cognitiveservices.azure.com", "privatelink.openai.azure.com",
                                  "privatelink.services.ai.azure.com", "privatelink.search.windows.net"}
    (module,) = _of(arm, "Microsoft.Resources/deployments")
    groups = {r["properties"]["privateLinkServiceConnections"][0]["properties"]["groupIds"][0]
              for r in module["properties"]["template"]["resources"] if r["type"] == "Microsoft.Network/privateEndpoints"}
    assert groups == {"account", "searchService"}
    gov, _, _ = _render(data | {"cloud": "AzureUSGovernment"})
    assert _module_zones(gov) == {"privatelink.cognitiveservices.azure.us", "privatelink.openai.azure.us",
                                  "privatelink.search.azure.us"}
    assert [f.rule for f in _findings(data | {"cloud": "AzureUSGovernment"})] == ["R309"]
    assert "R309" not in [f.rule for f in _findings(data)]


def test_by_default_the_ai_resources_created_here_get_private_endpoints_and_existing_ones_do_not():
    data = {"name": "churn-dev", "aiServices": {}, "aiSearch": {"existing": f"{SUB}/rg-ai/providers/{SEARCH}/srch-x"},
            "privateEndpoints": {"subnet": SUBNET, "privateDnsZones": "none"}}
    arm, _, _ = _render(data)
    (module,) = _of(arm, "Microsoft.Resources/deployments")
    assert set(module["properties"]["parameters"]) >= {"aiServicesId"} and "aiSearchId" not in module["properties"]["parameters"]


@pytest.mark.parametrize("mode", ["AllowInternetOutbound", "AllowOnlyApprovedOutbound"])
def test_a_managed_network_reaches_the_ai_resources_created_here_through_private_endpoint_rules(mode):
    arm, _, _ = _render({"name": "churn-dev", "workspace": {"managedNetwork": {"isolationMode": mode}},
                         "containerRegistry": {"sku": "Premium"}, "aiServices": {}, "aiSearch": {}})
    rules = _of(arm, WORKSPACES)[0]["properties"]["managedNetwork"]["outboundRules"]
    assert {name: (r["type"], r["destination"]["subresourceTarget"]) for name, r in rules.items()} == {
        "aiservices-private-endpoint": ("PrivateEndpoint", "account"),
        "aisearch-private-endpoint": ("PrivateEndpoint", "searchService")}
    assert rules["aiservices-private-endpoint"]["destination"]["serviceResourceId"].startswith(
        "[resourceId('Microsoft.CognitiveServices/accounts'")
    without, _, _ = _render({"name": "churn-dev", "aiServices": {}, "aiSearch": {}})
    assert "managedNetwork" not in _of(without, WORKSPACES)[0]["properties"]


def test_restore_brings_back_a_soft_deleted_account_and_is_left_out_otherwise():
    arm, bicep, _ = _render({"name": "churn-dev", "aiServices": {"restore": True}})
    assert _of(arm, ACCOUNTS)[0]["properties"]["restore"] is True and "restore: true" in bicep
    arm, bicep, _ = _render({"name": "churn-dev", "aiServices": {}})
    assert "restore" not in _of(arm, ACCOUNTS)[0]["properties"] and "restore:" not in bicep
