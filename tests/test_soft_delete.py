"""Soft-deleted names: `what-if` and `deploy` look up the key vault names a deployment creates on the ARM stand-in
(real SDK client, fake credential) and say what to do; a workspace about to be created gets a note (Azure has no
API for soft-deleted workspaces), and a deployment refused for a soft-deleted name gets the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import deploy
from generator.deploy import soft_delete

pytest.importorskip("azure.mgmt.resource.deployments", reason="the deploy extra: pip install -e '.[test]'")
pytest.importorskip("trustme", reason="the test extra: pip install -e '.[test]'")

try:
    from tests.armstandin import Fault
    from tests.deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401
except ImportError:  # tests/ itself is on sys.path (no tests/__init__.py)
    from armstandin import Fault
    from deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
FAST = {"polling_interval": 0.01}
VAULT = "kv-churn-dev-pwdzr2l6"  # out/defaults creates it (a deterministic name)


def target(location: str | None = "westeurope", recover: bool = False, rg: str = "rg-ml") -> deploy.DeployTarget:
    """out/defaults as generated (vault, workspace, ...), with the location given as a parameter or left to the
    resource group's (then the vault's location is unknown before deployment)."""
    t = deploy.DeployTarget.from_output_dir("examples/defaults.yaml", REPO / "out" / "defaults", rg, "churn-dev")
    template = json.loads(json.dumps(t.template))
    if recover:
        [vault] = [r for r in template["resources"] if r["type"] == soft_delete.KEY_VAULT]
        vault["properties"]["createMode"] = "recover"
    parameters = {"location": {"value": location}} if location else {}
    return deploy.DeployTarget(t.label, template, parameters, rg, "churn-dev", location)


@pytest.fixture
def group(standin):
    standin.server.groups[(SUBSCRIPTION, "rg-ml")] = {"name": "rg-ml", "location": "westeurope"}
    return standin


def _vault_lookups(standin) -> list:
    return standin.server.received("GET", "/deletedVaults")


def test_a_soft_deleted_vault_with_the_planned_name_is_found_and_the_ways_out_are_named(group, arm):
    group.server.add_deleted_vault(SUBSCRIPTION, "rg-ml", VAULT)
    summary = deploy.what_if(target(), arm, **FAST)
    [vault_note] = [n for n in summary.notes if VAULT in n]
    assert "deleted on 2026-11-20 and is soft-deleted until 2027-02-18" in vault_note
    assert "keyVault.createMode: recover for one deployment, then remove it" in vault_note
    assert "impossible before 2027-02-18, purge protection is on" in vault_note
    assert "keyVault.name" in vault_note and "nameSeed" in vault_note
    [lookup] = _vault_lookups(group)
    assert lookup.path.endswith(f"/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/{VAULT}")
    assert lookup.query["api-version"] == "2026-02-01"
    assert lookup.headers["authorization"] == "Bearer fake-token"
    assert f"note: {vault_note}" in deploy.format_what_if(summary)


def test_without_purge_protection_purging_is_offered_with_its_command(group, arm):
    group.server.add_deleted_vault(SUBSCRIPTION, "rg-ml", VAULT, purge_protection=False)
    [vault_note] = [n for n in deploy.what_if(target(), arm, **FAST).notes if VAULT in n]
    assert f"az keyvault purge --name {VAULT} --location westeurope" in vault_note


def test_404_means_nothing_soft_deleted_and_a_new_workspace_gets_the_one_note_azure_allows(group, arm):
    group.server.add_deleted_vault(SUBSCRIPTION, "rg-ml", VAULT, location="northeurope")  # another region
    summary = deploy.what_if(target(), arm, **FAST)
    assert len(_vault_lookups(group)) == 1
    assert not [n for n in summary.notes if VAULT in n]
    [ws_note] = summary.notes
    assert "workspace 'churn-dev' is to be created" in ws_note and "Recently deleted" in ws_note


def test_without_a_known_location_the_subscription_list_is_read_page_by_page(group, arm):
    for name in ("kv-aaa", "kv-bbb", VAULT, "kv-zzz"):
        group.server.add_deleted_vault(SUBSCRIPTION, "rg-old", name)
    group.server.deleted_vaults_page = 1
    summary = deploy.what_if(target(location=None), arm, **FAST)
    [vault_note] = [n for n in summary.notes if VAULT in n]
    assert (f"recover it where it was deleted: az keyvault recover --name {VAULT} brings it back in resource group "
            "rg-old, then name it in keyVault.existing") in vault_note
    pages = _vault_lookups(group)
    assert [p.path.rsplit("/", 1)[-1] for p in pages] == ["deletedVaults"] * 3  # stops at the page that has it
    assert [p.query.get("$skiptoken") for p in pages] == [None, "1", "2"]


def test_a_check_that_fails_is_a_note_and_the_deployment_goes_on(group, arm):
    refused = group.server.add_fault(Fault("GET", "/deletedVaults/", 403, {"error": {
        "code": "AuthorizationFailed", "message": "no read on the subscription\nsecond line"}}, times=None))
    summary = deploy.what_if(target(), arm, **FAST)
    [failed] = [n for n in summary.notes if n.startswith("could not check")]
    assert f"'{VAULT}' (AuthorizationFailed: no read on the subscription;" in failed
    assert "the deployment goes on" in failed
    result = deploy.deploy(target(), arm, **FAST)
    assert result.state == "Succeeded" and refused.hits == 1  # deploy itself does not look again


def test_create_mode_recover_is_confirmed_when_there_is_a_vault_to_recover_and_refused_when_not(group, arm):
    recovered = deploy.what_if(target(recover=True), arm, **FAST)
    [nothing] = [n for n in recovered.notes if "createMode" in n]
    assert "no soft-deleted key vault named" in nothing and "remove createMode" in nothing
    group.server.add_deleted_vault(SUBSCRIPTION, "rg-ml", VAULT)
    [found] = [n for n in deploy.what_if(target(recover=True), arm, **FAST).notes if "createMode" in n]
    assert "brings it back in this deployment" in found and "remove it once the deployment has succeeded" in found


def test_vaults_and_workspaces_that_already_exist_are_not_looked_up_again(group, arm):
    assert deploy.deploy(target(), arm, **FAST).state == "Succeeded"
    before = len(_vault_lookups(group))
    summary = deploy.what_if(target(), arm, **FAST)
    assert summary.notes == () and len(_vault_lookups(group)) == before
    assert deploy.what_if(target(), arm, check_names=False, **FAST).notes == ()


@pytest.mark.parametrize("message, expected", [
    ("Soft-deleted workspace exists. Please purge or recover it. https://aka.ms/wsoftdelete",
     "fix: a soft-deleted workspace 'churn-dev' holds the name"),
    ("A vault with the same name already exists in deleted state. You need to either recover or purge existing "
     "key vault.", f"fix: a soft-deleted key vault '{VAULT}' holds the name: set keyVault.createMode: recover"),
])
def test_a_deployment_refused_for_a_soft_deleted_name_says_how_out(group, arm, message, expected):
    group.server.fail_next_deployment(None, "BadRequest", message)
    with pytest.raises(deploy.DeployError) as caught:
        deploy.deploy(target(), arm, preflight=False, **FAST)
    text = str(caught.value)
    assert message in text and f"\n  {expected}" in text
    assert text.index(expected) < text.index("details: az deployment operation group list")


def test_planned_names_come_from_literals_and_parameters_never_from_other_expressions():
    template = {"parameters": {"kvName": {"type": "string", "defaultValue": "kv-default"},
                               "location": {"type": "string", "defaultValue": "[resourceGroup().location]"}},
                "resources": [
                    {"type": "Microsoft.KeyVault/vaults", "name": "[parameters('kvName')]",
                     "location": "[parameters('location')]", "properties": {}},
                    {"type": "microsoft.keyvault/VAULTS", "name": "kv-literal", "location": "West Europe",
                     "properties": {"createMode": "recover"}},
                    {"type": "Microsoft.KeyVault/vaults", "name": "[concat('kv-', uniqueString('x'))]"},
                    {"type": "Microsoft.MachineLearningServices/workspaces", "name": "[parameters('ws')]"}]}
    assert soft_delete.planned_vaults(template, {}) == [
        soft_delete.PlannedVault("kv-default", None, False), soft_delete.PlannedVault("kv-literal", "westeurope", True)]
    assert soft_delete.planned_vaults(template, {"kvName": {"value": "kv-given"}})[0].name == "kv-given"
    assert soft_delete.planned_workspaces(template, {"ws": {"value": "mlw"}}) == ["mlw"]
    assert soft_delete.planned_workspaces(template, {}) == []


# -- the CLI ---------------------------------------------------------------------------------------------------

@pytest.fixture
def amlgen(standin, fake_credential, monkeypatch, run_main, tmp_path):
    monkeypatch.setattr(deploy.signin, "make_credential", lambda *args, **kwargs: fake_credential)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_path)
    monkeypatch.setenv(deploy.ARM_ENDPOINT_ENV, standin.url)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    assert run_main("generate", "examples/defaults.yaml", "-o", str(out)).code == 0
    run_main.azure = ("-s", SUBSCRIPTION, "-g", "rg-ml", "-o", str(out), "--polling-interval", "0.01")
    return run_main


def test_cli_what_if_and_deploy_print_the_notes_and_json_carries_them(amlgen, group):
    group.server.add_deleted_vault(SUBSCRIPTION, "rg-ml", VAULT)
    shown = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure)
    assert shown.code == 0, shown.err
    assert f"note: key vault '{VAULT}' was deleted on 2026-11-20" in shown.out
    as_json = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure, "--format", "json")
    notes = json.loads(as_json.out)["examples/defaults.yaml"]["notes"]
    assert any(VAULT in n for n in notes) and any("workspace 'churn-dev'" in n for n in notes)
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert done.code == 0, done.err  # a note never blocks (the stand-in does not enforce the name)
    assert f"note: key vault '{VAULT}'" in done.out
