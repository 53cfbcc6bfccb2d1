"""Role assignments at any scope (issue 11, part 2): grants outside the template's resource group go through one
shared module per scope kind, deployed once per target resource group (or subscription), with deterministic names,
in the right order, in parity with Bicep, and visible to `amlgen diff`."""

from __future__ import annotations

import json
import random

import yaml

from bicep_parity import compare, parse_bicep, report
from conftest import EXAMPLES, OUT, run_cli
from generator import diff, model, pipeline
from generator.spec import load

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
LAKE_SUB = "/subscriptions/11111111-1111-1111-1111-111111111111"
LAKE = f"{LAKE_SUB}/resourceGroups/rg-lake/providers/Microsoft.Storage/storageAccounts/stdatalake"
APPI = f"{SUB}/resourceGroups/rg-monitoring/providers/Microsoft.Insights/components/appi-central"
DEPLOYMENTS = "Microsoft.Resources/deployments"
ROLE_ASSIGNMENTS = "Microsoft.Authorization/roleAssignments"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _files(data: dict) -> dict[str, str]:
    return pipeline.render_spec(model.build(data, "examples/t.yaml"))


def _spec(identity: dict | None = None, grants: list | None = None, **more) -> dict:
    data = {"name": "churn-dev", **more}
    if identity is not None:
        data["workspace"] = {"identity": identity}
    if grants is not None:
        data["roleAssignments"] = grants
    return data


def _deployments(template: dict) -> list[dict]:
    return [r for r in template["resources"] if r["type"] == DEPLOYMENTS]


def _workspace(template: dict) -> dict:
    return next(r for r in template["resources"] if r["type"] == "Microsoft.MachineLearningServices/workspaces")


def _parity(files: dict[str, str]) -> list:
    return compare(json.loads(files["main.json"]), parse_bicep(text=files["main.bicep"]),
                   lambda path: parse_bicep(text=files[path]))


UAI = {"type": "UserAssigned", "userAssigned": [{"name": "id-churn"}]}
BOTH = {"type": "SystemAssigned,UserAssigned", "userAssigned": [{"name": "id-jobs"}]}


def test_one_module_file_deployed_once_per_target_group_each_grant_only_in_its_group():
    files = _files(_spec(BOTH, [
        {"role": "Reader", "principalId": {"identity": "workspace"}, "scope": LAKE},
        {"role": "Reader", "principalId": {"identity": "id-jobs"}, "scope": f"{SUB}/resourceGroups/rg-shared"},
        {"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "Group",
         "scope": f"{LAKE}/blobServices/default/containers/raw"},
    ]))
    modules = sorted(k for k in files if k.startswith("modules/"))
    assert modules == ["modules/role-assignments.bicep"]
    template = json.loads(files["main.json"])
    deployments = _deployments(template)
    assert [(d["subscriptionId"], d["resourceGroup"]) for d in deployments] == [
        ("11111111-1111-1111-1111-111111111111", "rg-lake"), ("00000000-0000-0000-0000-000000000000", "rg-shared")]
    # the same module in both: every grant is there, each made only where the module runs in its group
    inner = [d["properties"]["template"] for d in deployments]
    assert inner[0] == inner[1]
    conditions = [r["condition"] for r in inner[0]["resources"] if r["type"] == ROLE_ASSIGNMENTS]
    assert conditions == [
        "[equals(toLower(format('{0}/{1}', subscription().subscriptionId, resourceGroup().name)), "
        "'11111111-1111-1111-1111-111111111111/rg-lake')]",
        "[equals(toLower(format('{0}/{1}', subscription().subscriptionId, resourceGroup().name)), "
        "'00000000-0000-0000-0000-000000000000/rg-shared')]",
        "[equals(toLower(format('{0}/{1}', subscription().subscriptionId, resourceGroup().name)), "
        "'11111111-1111-1111-1111-111111111111/rg-lake')]"]
    # Bicep: one module declaration per group, with scope: resourceGroup(sub, rg)
    assert "scope: resourceGroup('11111111-1111-1111-1111-111111111111', 'rg-lake')" in files["main.bicep"]
    assert files["main.bicep"].count("'modules/role-assignments.bicep'") == 2
    assert _parity(files) == [], report(_parity(files))


def test_grant_names_are_guid_of_scope_principal_and_role_with_the_identity_id_for_its_principal():
    files = _files(_spec(BOTH, [
        {"role": "Reader", "principalId": {"identity": "id-jobs"}, "scope": LAKE},
        {"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "Group",
         "scope": f"{SUB}/resourceGroups/rg-shared"},
        {"role": "Reader", "principalId": {"identity": "workspace"}, "scope": "keyVault"},
    ]))
    template = json.loads(files["main.json"])
    inner = _deployments(template)[0]["properties"]["template"]
    lake, group = [r for r in inner["resources"] if r["type"] == ROLE_ASSIGNMENTS]
    assert lake["name"] == (f"[guid(toLower(resourceId('Microsoft.Storage/storageAccounts', 'stdatalake')), "
                            f"toLower(parameters('identityIdJobsId')), toLower('{READER}'))]")
    assert group["name"] == (f"[guid(toLower(resourceGroup().id), toLower('33333333-3333-3333-3333-333333333333'), "
                             f"toLower('{READER}'))]")
    # the object ID exists only at deployment: reference() in properties (here: a module parameter), never in a name
    assert lake["properties"]["principalId"] == "[parameters('identityIdJobsPrincipalId')]"
    params = _deployments(template)[0]["properties"]["parameters"]
    assert params["identityIdJobsId"]["value"] == "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-jobs')]"
    assert params["identityIdJobsPrincipalId"]["value"].startswith("[reference(")
    for r in [*template["resources"], *inner["resources"]]:
        assert "reference(" not in str(r.get("name")), r["name"]
    # in the template itself too: the workspace's system identity is named by the workspace's ID
    (on_vault,) = [r for r in template["resources"] if r["type"] == ROLE_ASSIGNMENTS
                   and "vaults" in r.get("scope", "")]
    assert "toLower(resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-dev'))" in on_vault["name"]
    assert on_vault["properties"]["principalType"] == "ServicePrincipal"
    assert on_vault["properties"]["principalId"].endswith(".identity.principalId]")


def test_grant_names_do_not_depend_on_the_order_of_the_spec():
    grants = [{"role": r, "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "Group",
               "scope": s} for r in ("Reader", "Contributor") for s in (LAKE, f"{SUB}/resourceGroups/rg-a")]

    def names(order):
        template = json.loads(_files(_spec(grants=order))["main.json"])
        return {r["name"] for d in _deployments(template) for r in d["properties"]["template"]["resources"]
                if r["type"] == ROLE_ASSIGNMENTS}

    shuffled = list(grants)
    random.Random(7).shuffle(shuffled)
    assert names(grants) == names(shuffled) and len(names(grants)) == 4


def test_the_workspace_waits_for_its_identitys_grants_on_brought_dependents_and_only_for_those():
    files = _files(_spec(UAI, [
        {"role": "Reader", "principalId": {"identity": "id-churn"}, "scope": LAKE}],
        applicationInsights={"existing": APPI}))
    template = json.loads(files["main.json"])
    monitoring, lake = _deployments(template)
    assert monitoring["resourceGroup"] == "rg-monitoring" and lake["resourceGroup"] == "rg-lake"
    depends = _workspace(template)["dependsOn"]
    ids = {d["name"]: f"[resourceId('{d['subscriptionId']}', '{d['resourceGroup']}', '{DEPLOYMENTS}', '{d['name']}')]"
           for d in (monitoring, lake)}
    assert ids[monitoring["name"]] in depends  # Contributor on the brought Application Insights, before the workspace
    assert ids[lake["name"]] not in depends  # a grant the workspace does not need to exist
    # each grant deployment comes after the identity it grants to
    identity = "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'id-churn')]"
    assert identity in monitoring["dependsOn"] and identity in lake["dependsOn"]
    inner = monitoring["properties"]["template"]["resources"]
    roles = sorted(r["properties"]["roleDefinitionId"].split("'")[-2] for r in inner if r["type"] == ROLE_ASSIGNMENTS)
    # the module holds every group's grants (Contributor on the component, Reader on the lake); conditions pick
    assert roles == sorted(["b24988ac-6180-42a0-ab88-20f7382dd24c", READER])
    assert _parity(files) == [], report(_parity(files))


def test_grants_to_the_system_identity_come_after_the_workspace():
    files = _files(_spec(grants=[{"role": "Reader", "principalId": {"identity": "workspace"}, "scope": LAKE}]))
    template = json.loads(files["main.json"])
    (deployment,) = _deployments(template)
    assert "[resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-dev')]" in deployment["dependsOn"]
    assert not any(DEPLOYMENTS in d for d in _workspace(template).get("dependsOn", []))
    assert _parity(files) == [], report(_parity(files))


def test_a_keyword_or_existing_scope_on_a_brought_dependent_goes_to_its_group():
    storage = f"{SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stshared"
    for scope in ("storage", {"existing": "storage"}, storage):
        files = _files(_spec(grants=[{"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333",
                                      "principalType": "User", "scope": scope}], storage={"existing": storage}))
        template = json.loads(files["main.json"])
        (deployment,) = _deployments(template)
        assert deployment["resourceGroup"] == "rg-data", scope
        assert not [r for r in template["resources"] if r["type"] == ROLE_ASSIGNMENTS], scope


def test_subscription_scope_grants_use_a_subscription_module():
    files = _files(_spec(BOTH, [{"role": "Reader", "principalId": {"identity": "id-jobs"}, "scope": LAKE_SUB}]))
    assert "modules/role-assignments-subscription.bicep" in files
    assert files["modules/role-assignments-subscription.bicep"].splitlines()[1] == "targetScope = 'subscription'"
    template = json.loads(files["main.json"])
    (deployment,) = _deployments(template)
    assert deployment["subscriptionId"] == "11111111-1111-1111-1111-111111111111"
    assert "resourceGroup" not in deployment and deployment["location"] == "[resourceGroup().location]"
    inner = deployment["properties"]["template"]
    assert inner["$schema"].endswith("/subscriptionDeploymentTemplate.json#")
    (grant,) = inner["resources"]
    assert "scope" not in grant and grant["name"].startswith("[guid(toLower(subscription().id), ")
    assert "scope: subscription('11111111-1111-1111-1111-111111111111')" in files["main.bicep"]
    assert _parity(files) == [], report(_parity(files))


def test_parity_catches_a_module_grant_that_differs():
    """The parity check follows the module file: a changed role in it is reported."""
    files = _files(_spec(grants=[{"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333",
                                  "principalType": "Group", "scope": LAKE}]))
    broken = dict(files)
    broken["modules/role-assignments.bicep"] = files["modules/role-assignments.bicep"].replace(
        "principalType: 'Group'", "principalType: 'User'")
    diffs = _parity(broken)
    assert any("role-assignments.bicep" in d.path and "principalType" in d.path for d in diffs), report(diffs)


def test_diff_lists_the_grants_inside_nested_deployments(tmp_path):
    spec = yaml.safe_load((EXAMPLES / "cross-rg-grants.yaml").read_text(encoding="utf-8"))
    old = dict(spec, roleAssignments=spec["roleAssignments"][:1])
    for name, data in (("old", old), ("new", spec)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cross-rg-grants.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        result = run_cli("generate", str(tmp_path / name), "-o", str(tmp_path / f"out-{name}"))
        assert result.returncode == 0, result.stderr
    result = run_cli("diff", str(tmp_path / "out-old"), str(tmp_path / "out-new"))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    # the grants the new spec adds are inside nested deployments: each is listed, by role and principal
    report_ = diff.diff_folders(tmp_path / "out-old", tmp_path / "out-new")
    added = [r for ws in report_.workspaces for r in ws.resources
             if r.status == "added" and r.type == ROLE_ASSIGNMENTS]
    shown = sorted(r.display for r in added)
    assert len(added) == 4, shown
    assert any("Reader for Group 33333333-3333-3333-3333-333333333333" in s for s in shown), shown
    assert "Reader on stdatalake for identity id-fraud-lake" not in shown  # in old and new: unchanged
    assert "Storage Blob Data Contributor on fraud-curated for identity id-fraud-jobs" in shown, shown
    assert "Reader for identity id-fraud-jobs" in shown, shown  # on a resource group, on a subscription
    for label in shown:
        assert label in text, (label, text)


def test_the_example_is_golden_and_validates_with_only_the_rights_warning():
    result = run_cli("validate", str(EXAMPLES / "cross-rg-grants.yaml"), "--format", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [f["rule"] for f in json.loads(result.stdout)] == ["R241"]
    assert (OUT / "cross-rg-grants" / "modules" / "role-assignments.bicep").is_file()
    assert (OUT / "cross-rg-grants" / "modules" / "role-assignments-subscription.bicep").is_file()
    doc, found = load.load_file(EXAMPLES / "cross-rg-grants.yaml", "cross-rg-grants.yaml")
    assert not found and doc is not None


def test_grants_into_one_group_spelled_in_two_cases_share_one_deployment(tmp_path):
    """Azure compares resource group names case-insensitively: rg-Data and rg-data are one group, so one nested
    deployment (two would clash on the deployment name and each make both grants)."""
    import json

    from conftest import run_cli

    sub = "00000000-0000-0000-0000-000000000000"
    spec = tmp_path / "g.yaml"
    spec.write_text(f"""name: grantws
roleAssignments:
  - {{role: Reader, principalId: 11111111-1111-1111-1111-111111111111, principalType: Group,
     scope: /subscriptions/{sub}/resourceGroups/rg-Data}}
  - {{role: Contributor, principalId: 11111111-1111-1111-1111-111111111111, principalType: Group,
     scope: /subscriptions/{sub}/resourceGroups/rg-data}}
""", encoding="utf-8")
    result = run_cli("generate", str(spec), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    template = json.loads((tmp_path / "out" / "g" / "main.json").read_text(encoding="utf-8"))
    grants = [r for r in template["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    assert len(grants) == 1, [r["name"] for r in grants]
