"""Specs that add to an existing workspace (workspace.existing): the model and plan, the live checks, and
`amlgen what-if` / `deploy` against the ARM stand-in, which serves the workspace GET."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generator import deploy, model, plan
from generator.spec import load, rules

pytest.importorskip("azure.mgmt.resource.deployments", reason="the deploy extra: pip install -e '.[test]'")
pytest.importorskip("trustme", reason="the test extra: pip install -e '.[test]'")

try:
    from tests.armstandin import Fault, _arm_error
    from tests.deploy_fixtures import cli_against_standin, fake_credential, standin, standin_ca  # noqa: F401
except ImportError:  # tests/ itself is on sys.path (no tests/__init__.py)
    from armstandin import Fault, _arm_error
    from deploy_fixtures import cli_against_standin, fake_credential, standin, standin_ca  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
TEAM = "examples/team-additions/churn-modelling.yaml"
OTHER_TEAM = "examples/team-additions/fraud-analytics.yaml"
# the subscription and group of examples/team-additions/shared-workspace.yaml's workspace.existing
WS_SUB, WS_RG, WS_NAME = "00000000-0000-0000-0000-000000000000", "rg-churn-prod", "churn-prod"


def _team_doc(text: str | None = None) -> load.Document:
    """A merged team spec (extends resolved), as the pipeline reads it."""
    from generator.config import display
    from generator.spec import extends

    path = REPO / TEAM
    doc, found = (load.load_file(path, TEAM) if text is None else load.parse_text(text, TEAM))
    assert not found
    doc, more = extends.resolve(doc, path, display)
    assert not more
    return doc


def test_team_spec_plans_only_what_it_adds_and_references_the_workspace():
    doc = _team_doc()
    spec = model.build(doc.data, TEAM)
    p = plan.build(spec)
    assert spec.name == "churn-modelling" and spec.workspace_name == WS_NAME
    kinds = [r.kind for r in p.resources]
    assert kinds == ["existing", "compute-cluster", "datastore", "role-assignment"]
    assert p.resources[0].existing.id.endswith("/workspaces/churn-prod") and p.resources[0].values["scope"] is None
    assert spec.storage is None and spec.key_vault is None and spec.container_registry is None
    assert "nodePublicIp" in [x.name for x in p.parameters]


def test_deployment_name_is_the_spec_name_not_the_workspace():
    """Two teams adding to one workspace keep separate deployment records."""
    names = []
    for team in (TEAM, OTHER_TEAM):
        data = json.loads((REPO / "out" / Path(team).with_suffix("") .relative_to("examples") / "main.json")
                          .read_text())
        names.append(data["resources"][0]["name"])
    assert all("'churn-prod'" in n for n in names)  # both add children to the same workspace
    assert deploy.deployment_name_for("churn-modelling") != deploy.deployment_name_for("fraud-analytics")


def _workspace(public="Enabled", mode="Disabled", location="westeurope", identity="SystemAssigned"):
    return {"name": WS_NAME, "location": location, "identity": {"type": identity},
            "properties": {"publicNetworkAccess": public, "managedNetwork": {"isolationMode": mode}}}


def test_live_checks_find_what_the_workspace_settings_forbid():
    doc = _team_doc()
    assert rules.check_live(doc, _workspace("Disabled", "AllowOnlyApprovedOutbound")) == []
    closed = rules.check_live(doc, _workspace("Disabled", "Disabled"))
    assert [(f.rule, f.path) for f in closed] == [("R212", "computes.churn-train")]
    assert closed[0].message.startswith("churn-prod as it is in Azure: the workspace is closed")
    assert closed[0].file == "examples/team-additions/churn-modelling.yaml"  # located in the team's spec
    elsewhere = rules.check_live(doc, _workspace(location="North Europe"))  # a cluster: a preview, a warning
    assert [(f.rule, f.severity) for f in elsewhere] == [("R273", "warning")]
    assert "is in North Europe" in elsewhere[0].message
    private = _workspace(location="North Europe")
    private["properties"]["privateEndpointConnections"] = [{"id": "pe"}]
    assert [(f.rule, f.severity) for f in rules.check_live(doc, private)] == [("R273", "error")]
    instance = _team_doc((REPO / TEAM).read_text().replace("type: cluster", "type: instance"))
    assert "compute instances (churn-train) must be in the workspace's region" in \
        rules.check_live(instance, _workspace(location="North Europe"))[0].message
    no_msi = rules.check_live(doc, _workspace(identity="UserAssigned"))
    assert [(f.rule, f.path) for f in no_msi] == [("R273", "datastores.churn_features")]


def test_node_public_ip_follows_the_workspace_network():
    assert rules.node_public_ip(_workspace()) is True
    assert rules.node_public_ip(_workspace("Disabled")) is False
    assert rules.node_public_ip(_workspace(mode="AllowInternetOutbound")) is False


# -- the CLI against the stand-in --------------------------------------------------------------------------------

@pytest.fixture
def amlgen(cli_against_standin, tmp_path):
    """`amlgen` against the stand-in, with the team specs generated into a temporary output folder."""
    out = tmp_path / "out"
    generated = cli_against_standin("generate", "examples/team-additions", "-o", str(out))
    assert generated.code == 0, generated.err
    cli_against_standin.out = out
    cli_against_standin.azure = ("-o", str(out), "--polling-interval", "0.01")
    return cli_against_standin


def _deployment_puts(standin):
    return [r for r in standin.server.received("PUT") if "/deployments/" in r.path.lower()]


def test_deploy_takes_subscription_and_group_from_the_workspace_id_and_reads_the_workspace(amlgen, standin):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME, "westeurope", public_network_access="Disabled",
                                 isolation_mode="AllowOnlyApprovedOutbound")
    done = amlgen("deploy", TEAM, *amlgen.azure, "--yes")
    assert done.code == 0, done.err
    [get] = standin.server.received("GET", "/workspaces/churn-prod")
    assert get.path.startswith(f"/subscriptions/{WS_SUB}/resourceGroups/{WS_RG}/")
    assert get.query["api-version"] == "2026-05-01"
    [put] = _deployment_puts(standin)
    assert put.path.lower() == (f"/subscriptions/{WS_SUB}/resourcegroups/{WS_RG}/providers/microsoft.resources/"
                                "deployments/amlgen-churn-modelling")
    sent = put.body["properties"]
    assert sent["template"] == json.loads((amlgen.out / "team-additions/churn-modelling/main.json").read_text())
    # closed, with a managed network: no public IPs; the region is the spec's (the workspace's)
    assert sent["parameters"]["nodePublicIp"] == {"value": False}
    assert sent["parameters"]["location"] == {"value": "westeurope"}
    assert "workspaceName = churn-prod" in done.out


def test_what_if_reads_the_workspace_first_and_passes_its_region(amlgen, standin, tmp_path):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME, "swedencentral")
    # beside its base: extends: stays inside the folder a spec is given in (rule L020)
    spec = tmp_path / "team.yaml"
    (tmp_path / "shared-workspace.yaml").write_text((REPO / "examples/team-additions/shared-workspace.yaml").read_text())
    spec.write_text((REPO / TEAM).read_text() + "location: null\n")
    assert amlgen("generate", str(spec), "-o", str(amlgen.out)).code == 0
    shown = amlgen("what-if", str(spec), *amlgen.azure)
    assert shown.code == 0, shown.err
    assert shown.out.startswith("Resource changes:")
    [what_if] = [r for r in standin.server.received("POST") if r.path.lower().endswith("/whatif")]
    assert what_if.body["properties"]["parameters"]["location"] == {"value": "swedencentral"}
    assert what_if.body["properties"]["parameters"]["nodePublicIp"] == {"value": True}
    assert _deployment_puts(standin) == []


def test_a_missing_workspace_is_one_clear_line_and_nothing_is_deployed(amlgen, standin):
    done = amlgen("deploy", TEAM, *amlgen.azure, "--yes")
    assert done.code == 1
    assert "the workspace churn-prod it adds to does not exist in resource group rg-churn-prod" in done.err
    assert "Traceback" not in done.err and len(done.err.strip().splitlines()) <= 2
    assert _deployment_puts(standin) == [] and not standin.server.received("POST")


def test_a_workspace_the_caller_cannot_read_is_one_clear_line(amlgen, standin):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME)
    standin.server.add_fault(Fault("GET", "/workspaces/churn-prod", 403, _arm_error(
        "AuthorizationFailed", "The client does not have authorization to perform action "
        "'Microsoft.MachineLearningServices/workspaces/read'.")))
    done = amlgen("what-if", TEAM, *amlgen.azure)
    assert done.code == 1
    assert "cannot read the workspace churn-prod it adds to (403 AuthorizationFailed)" in done.err
    assert "needs at least Reader" in done.err and "Traceback" not in done.err
    assert not standin.server.received("POST")


def test_live_findings_stop_the_deployment(amlgen, standin):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME, public_network_access="Disabled")
    done = amlgen("deploy", TEAM, *amlgen.azure, "--yes")
    assert done.code == 1
    assert "R212" in done.err and "churn-prod as it is in Azure: the workspace is closed" in done.err
    assert _deployment_puts(standin) == []


@pytest.mark.parametrize("option, value, said", [
    ("-s", "11111111-1111-1111-1111-111111111111", "adds to a workspace in subscription"),
    ("-g", "rg-other", "in resource group rg-churn-prod, but -g names rg-other"),
])
def test_another_subscription_or_group_is_a_usage_error(amlgen, standin, option, value, said):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME)
    done = amlgen("what-if", TEAM, *amlgen.azure, option, value)
    assert done.code == 2 and said in done.err
    assert standin.server.requests == []


def test_the_same_subscription_and_group_may_be_repeated(amlgen, standin):
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME)
    done = amlgen("what-if", TEAM, *amlgen.azure, "-s", WS_SUB, "-g", WS_RG)
    assert done.code == 0, done.err


def test_readme_says_where_it_deploys_and_the_command_needs_no_subscription():
    text = (REPO / "out/team-additions/churn-modelling/README.md").read_text()
    assert "adds to the existing workspace `churn-prod`" in text
    assert "--resource-group rg-churn-prod" in text
    assert "amlgen deploy examples/team-additions/churn-modelling.yaml\n" in text


def test_diff_of_a_team_spec_lists_what_it_adds(run_main, tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    before = tmp_path / "before"
    assert run_main("generate", "examples/team-additions", "-o", str(before)).code == 0
    spec = tmp_path / "team-additions" / "churn-modelling.yaml"
    spec.parent.mkdir()
    (spec.parent / "shared-workspace.yaml").write_text((REPO / "examples/team-additions/shared-workspace.yaml")
                                                       .read_text())
    spec.write_text((REPO / TEAM).read_text().replace("maxNodes: 4", "maxNodes: 8"))
    after = tmp_path / "after"
    assert run_main("generate", str(spec.parent), "-o", str(after)).code == 0
    (before / "team-additions/fraud-analytics").rename(tmp_path / "fraud-analytics")  # only the churn team's
    shown = run_main("diff", str(before / "team-additions"), str(after))
    assert shown.code == 0, shown.err
    assert "churn-train" in shown.out and "maxNodeCount" in shown.out


def test_checkov_finds_nothing_failed_in_the_team_templates():
    """checkov has no ARM or Bicep checks for computes, datastores or role assignments (its scan counts no
    resource here); what it reports must still be zero failures."""
    try:
        from test_scanners import _checkov
    except ImportError:
        from tests.test_scanners import _checkov
    import os
    import subprocess

    checkov = _checkov()
    if checkov is None:
        pytest.skip("checkov is not installed (set AMLGEN_CHECKOV to its path; .ci/run does)")
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE", "LOG_LEVEL": "ERROR"}
    for team in ("churn-modelling", "fraud-analytics"):
        for framework in ("arm", "bicep"):
            result = subprocess.run([checkov, "-d", str(REPO / "out/team-additions" / team), "--framework",
                                     framework, "--skip-download", "-o", "json"], capture_output=True, text=True,
                                    env=env, timeout=300)
            assert result.returncode == 0, result.stdout[-2000:]
            report = json.loads(result.stdout)
            report = report[0] if isinstance(report, list) else report
            assert report.get("summary", report).get("failed", 0) == 0


def test_complete_mode_is_refused_for_a_spec_that_adds_to_a_workspace(amlgen, standin):
    """Complete mode would delete everything else in the workspace's group, the workspace among them."""
    standin.server.add_workspace(WS_SUB, WS_RG, WS_NAME)
    done = amlgen("deploy", TEAM, *amlgen.azure, "--yes", "--complete")
    assert done.code == 2 and "the workspace among them" in done.err
    assert standin.server.requests == []


def test_a_team_base_carries_the_workspace_and_an_owner_key_in_it_is_located_there(tmp_path):
    from generator import pipeline
    from generator.config import SpecFile

    ws_id = f"/subscriptions/{WS_SUB}/resourceGroups/{WS_RG}/providers/Microsoft.MachineLearningServices/workspaces/x1"
    (tmp_path / "base.yaml").write_text(f"base: true\nworkspace:\n  existing: {ws_id}\nkeyVault:\n  sku: standard\n")
    (tmp_path / "team.yaml").write_text("extends: base.yaml\nname: team-a\n")
    result = pipeline.validate([SpecFile(tmp_path / "team.yaml", tmp_path)])
    [finding] = [f for f in result.findings if f.rule == "R270"]
    assert finding.file.endswith("base.yaml") and (finding.line, finding.column) == (4, 1)
    assert "key vault is fixed when the workspace is created, by its owner" in finding.message
