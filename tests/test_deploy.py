"""Tests of generator/deploy/: the real Azure SDK clients against the loopback ARM stand-in, fake credential."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from generator import deploy
from generator.errors import DeployError

pytest.importorskip("azure.mgmt.resource.deployments", reason="the deploy extra: pip install -e '.[test]'")
pytest.importorskip("trustme", reason="the test extra: pip install -e '.[test]'")

# the fixtures are imported by name so that pytest finds them here (tests/conftest.py is not ours)
try:
    from tests.armstandin import sample_template
    from tests.deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401
except ImportError:  # tests/ itself is on sys.path (no tests/__init__.py)
    from armstandin import sample_template
    from deploy_fixtures import SUBSCRIPTION, arm, fake_credential, standin, standin_ca  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
FAST = {"polling_interval": 0.01}


def make_target(workspace: str = "mlw-dev", rg: str = "rg-ml", storage: str = "stamlgendev",
                label: str | None = None) -> deploy.DeployTarget:
    return deploy.DeployTarget(
        label=label or f"examples/{workspace}.yaml", template=sample_template(),
        parameters={"storageName": {"value": storage}}, resource_group=rg, workspace_name=workspace,
        location="westeurope")


def with_group(standin, rg: str = "rg-ml") -> None:
    standin.server.groups[(SUBSCRIPTION, rg.lower())] = {"name": rg, "location": "westeurope"}


# -- success ---------------------------------------------------------------------------------------------------

def _spec(amlgen, tmp_path, name: str, text: str):
    """Write a spec under tmp_path/specs and generate it into the fixture's output folder."""
    spec = tmp_path / "specs" / name
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(text)
    assert amlgen("generate", str(spec), "-o", str(amlgen.out)).code == 0
    return spec


def test_deploy_creates_group_reports_progress_and_returns_outputs(standin, arm, fake_credential):
    standin.server.polls_to_finish, standin.server.min_running = 2, 0.15
    events: list[tuple[str, str, str]] = []
    target = make_target()

    result = deploy.deploy(target, arm, create_resource_group=True, progress=lambda *e: events.append(e), **FAST)

    assert result.state == "Succeeded"
    assert result.outputs == {"storageAccountName": "stamlgendev", "identityName": "id-amlgen"}
    assert result.deployment_name == "amlgen-mlw-dev"
    assert events[0] == ("Microsoft.Resources/resourceGroups", "rg-ml", "Created")
    assert ("Microsoft.ManagedIdentity/userAssignedIdentities", "id-amlgen", "Running") in events
    # each resource's last reported state is Succeeded, and no state is reported twice in a row
    final = {(t, n): s for t, n, s in events}
    assert final[("Microsoft.Storage/storageAccounts", "stamlgendev")] == "Succeeded"
    assert final[("Microsoft.ManagedIdentity/userAssignedIdentities", "id-amlgen")] == "Succeeded"
    assert len(events) == len(set(events))
    assert standin.server.groups[(SUBSCRIPTION, "rg-ml")]["location"] == "westeurope"


def test_template_received_equals_template_sent_in_incremental_mode(standin, arm, fake_credential):
    with_group(standin)
    target = make_target()
    sent = copy.deepcopy(target.template)

    deploy.deploy(target, arm, **FAST)

    [put] = standin.server.received("PUT", "/deployments/amlgen-mlw-dev")
    assert put.body["properties"]["template"] == sent
    assert put.body["properties"]["parameters"] == {"storageName": {"value": "stamlgendev"}}
    assert put.body["properties"]["mode"] == "Incremental"
    assert put.headers["authorization"] == "Bearer fake-token"
    assert put.query["api-version"]
    [check] = standin.server.received("POST", "/validate")  # preflight ran before the deployment
    assert check.body["properties"]["template"] == sent
    assert standin.server.requests.index(check) < standin.server.requests.index(put)
    # no metadata document at the endpoint: the named cloud's token scope is used
    assert ("https://management.azure.com/.default",) in fake_credential.scopes


def test_whole_parameters_file_is_unwrapped(tmp_path):
    out = tmp_path / "out" / "dev"
    out.mkdir(parents=True)
    (out / "main.json").write_text(json.dumps(sample_template()))
    (out / "main.parameters.json").write_text(json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
        "contentVersion": "1.0.0.0", "parameters": {"storageName": {"value": "st1"}}}))
    target = deploy.DeployTarget.from_output_dir("examples/dev.yaml", out, "rg", "mlw-dev")
    assert target.parameters == {"storageName": {"value": "st1"}}
    assert target.template == sample_template()


def test_no_wait_returns_once_arm_accepted(standin, arm):
    with_group(standin)
    standin.server.polls_to_finish = 50
    result = deploy.deploy(make_target(), arm, wait=False, **FAST)
    assert result.state == "Accepted"
    assert not standin.server.received("GET", "/_standin/asyncoperations/")


def test_deployment_name_is_stable_and_at_most_64_characters():
    assert deploy.deployment_name_for("mlw-dev") == "amlgen-mlw-dev"
    long_name = deploy.deployment_name_for("w" * 80)
    assert len(long_name) == 64 and long_name == deploy.deployment_name_for("w" * 80)
    assert deploy.deployment_name_for("w" * 80) != deploy.deployment_name_for("w" * 79 + "x")
    assert deploy.deployment_name_for("a b/c") == "amlgen-a-b-c"


def test_unknown_mode_is_refused_before_any_request(standin, arm):
    with pytest.raises(DeployError, match="Incremental or Complete"):
        deploy.deploy(make_target(), arm, mode="complete", **FAST)
    assert standin.server.received(path_contains="/subscriptions/") == []


# -- faults ----------------------------------------------------------------------------------------------------

def test_throttled_request_is_retried_by_the_sdk_and_reported(standin, arm):
    with_group(standin)
    standin.server.throttle("PUT", "/deployments/", retry_after=0)

    assert deploy.deploy(make_target(), arm, **FAST).state == "Succeeded"

    assert len(standin.server.received("PUT", "/deployments/")) == 2
    [notice] = arm.retries
    assert "throttled the request (429)" in notice and "PUT" in notice and "retrying in 0 s" in notice


def test_one_server_error_is_retried_by_the_sdk_and_reported(standin, arm):
    with_group(standin)
    standin.server.server_error("POST", "/validate")

    assert deploy.deploy(make_target(), arm, **FAST).state == "Succeeded"

    assert len(standin.server.received("POST", "/validate")) == 2
    [notice] = arm.retries
    assert "answered 500" in notice


def test_failed_deployment_lists_each_failed_resource_with_nested_details(standin, arm):
    with_group(standin)
    standin.server.fail_next_deployment(
        "stamlgendev", "StorageAccountAlreadyTaken", "The storage account named stamlgendev is already taken.",
        details=[{"code": "NameNotUnique", "message": "Storage names are global.",
                  "details": [{"code": "Hint", "message": "Pick another name."}]}])
    events = []

    with pytest.raises(DeployError) as caught:
        deploy.deploy(make_target(), arm, progress=lambda *e: events.append(e), **FAST)

    text = str(caught.value)
    assert text.splitlines()[0] == ("deployment amlgen-mlw-dev of examples/mlw-dev.yaml failed in resource group "
                                    "rg-ml (DeploymentFailed); failed resources:")
    assert ("  Microsoft.Storage/storageAccounts 'stamlgendev': StorageAccountAlreadyTaken: The storage account "
            "named stamlgendev is already taken.") in text.splitlines()
    assert "    NameNotUnique: Storage names are global." in text.splitlines()
    assert "      Hint: Pick another name." in text.splitlines()
    assert "az deployment operation group list -g rg-ml -n amlgen-mlw-dev" in text
    assert "userAssignedIdentities" not in text  # only the failed resource is listed
    assert ("Microsoft.Storage/storageAccounts", "stamlgendev", "Failed") in events


def test_failure_outside_the_operations_shows_the_deployment_error_tree(standin, arm):
    with_group(standin)
    standin.server.fail_next_deployment("id-amlgen", "InvalidTemplateDeployment", "Template was refused.",
                                        details=[{"code": "Inner", "message": "deeper reason"}],
                                        in_operations=False)
    with pytest.raises(DeployError) as caught:
        deploy.deploy(make_target(), arm, **FAST)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("deployment amlgen-mlw-dev of examples/mlw-dev.yaml failed in resource group rg-ml: "
                               "DeploymentFailed: At least one resource deployment operation failed.")
    assert lines[1].startswith("  ResourceDeploymentFailure: The resource write operation failed")
    assert lines[2] == "    InvalidTemplateDeployment: Template was refused."
    assert lines[3] == "      Inner: deeper reason"


def test_preflight_400_gives_code_message_and_details_and_deploys_nothing(standin, arm):
    with_group(standin)
    standin.server.reject_validation("InvalidTemplate", "Deployment template validation failed: 'bad'.",
                                     details=[{"code": "InvalidResourceName", "message": "Name 'x' is invalid."}])
    with pytest.raises(DeployError) as caught:
        deploy.deploy(make_target(), arm, **FAST)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith("preflight validation of examples/mlw-dev.yaml failed: InvalidTemplate: Deployment "
                               "template validation failed: 'bad'.")
    assert "correlation id" in lines[0]
    assert lines[1] == "  InvalidResourceName: Name 'x' is invalid."
    assert not standin.server.received("PUT")
    assert arm.retries == []  # a 400 is final


def test_401_says_to_sign_in_again_without_retrying(standin, arm):
    with_group(standin)
    standin.server.unauthorized()
    with pytest.raises(DeployError) as caught:
        deploy.deploy(make_target(), arm, **FAST)
    text = str(caught.value)
    assert "InvalidAuthenticationToken" in text and "az login" in text
    assert len(text.splitlines()) == 1
    assert len(standin.server.received(path_contains="/subscriptions/")) == 1 and arm.retries == []


def test_missing_resource_group_says_how_to_create_it(standin, arm):
    with pytest.raises(DeployError, match="--create-resource-group"):
        deploy.deploy(make_target(), arm, **FAST)


def test_ctrl_c_while_waiting_says_the_deployment_goes_on(standin, arm):
    with_group(standin)
    standin.server.polls_to_finish = 10_000

    def interrupt(*event):
        raise KeyboardInterrupt

    with pytest.raises(deploy.DeployInterrupted) as caught:
        deploy.deploy(make_target(), arm, progress=interrupt, **FAST)
    text = str(caught.value)
    assert "goes on in Azure" in text
    assert "az deployment group show -g rg-ml -n amlgen-mlw-dev" in text
    assert caught.value.exit_code == 130
    # we stop asking, Azure goes on: the SDK's polling thread ends (a poll in flight may still land)
    time.sleep(0.05)
    polls = len(standin.server.received("GET", "/_standin/asyncoperations/"))
    time.sleep(0.1)  # at a 0.01 s interval, ~10 more polls would arrive if it still ran
    assert len(standin.server.received("GET", "/_standin/asyncoperations/")) == polls
    assert not standin.server.received("DELETE") and not standin.server.received("POST", "/cancel")


@pytest.fixture
def sigint_handled():
    """Python's own SIGINT handler for the test, as a terminal gives it: a process started in the background
    (nohup, `cmd &` in a script) begins with SIGINT ignored, and then _thread.interrupt_main() does nothing."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_during_deploy_many_names_every_deployment_still_running(standin, arm, sigint_handled):
    import _thread

    with_group(standin)
    standin.server.polls_to_finish = 10_000
    targets = [make_target(f"mlw-{i}", storage=f"stamlgen{i}") for i in range(3)]
    started = set()

    def progress(label, *event):
        started.add(label)
        if len(started) == 2:
            _thread.interrupt_main()  # as Ctrl-C does: KeyboardInterrupt in the main thread

    with pytest.raises(deploy.DeployInterrupted) as caught:
        deploy.deploy_many(targets, arm, parallel=2, progress=progress, **FAST)
    text = str(caught.value)
    assert text.startswith("stopped waiting; 2 deployments go on in Azure. Follow them with: ")
    assert "-n amlgen-mlw-0" in text and "-n amlgen-mlw-1" in text and "amlgen-mlw-2" not in text


# -- what-if ---------------------------------------------------------------------------------------------------

CANNED_WHAT_IF = {
    "status": "Succeeded",
    "properties": {"changes": [
        {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st1",
         "changeType": "Modify",
         "delta": [
             {"path": "properties.provisioningState", "propertyChangeType": "Delete", "before": "Succeeded"},
             {"path": "properties.primaryEndpoints", "propertyChangeType": "Delete", "before": {"blob": "x"}},
             {"path": "etag", "propertyChangeType": "Modify", "before": "a", "after": "b"},
             {"path": "properties.minimumTlsVersion", "propertyChangeType": "Modify", "before": "TLS1_0",
              "after": "TLS1_2"},
             {"path": "properties.networkAcls", "propertyChangeType": "NoEffect", "before": {}, "after": {}},
             {"path": "tags", "propertyChangeType": "Modify", "children": [
                 {"path": "team", "propertyChangeType": "Create", "after": "ml"},
                 {"path": "createdAt", "propertyChangeType": "Delete", "before": "yesterday"}]},
         ]},
        {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1",
         "changeType": "Modify",
         "delta": [
             {"path": "identity.principalId", "propertyChangeType": "Delete", "before": "guid"},
             {"path": "properties.creationTime", "propertyChangeType": "Modify", "before": "a", "after": "b"}]},
        {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/r1",
         "changeType": "Modify",
         "delta": [{"path": "properties.principalId", "propertyChangeType": "Modify", "before": "p1",
                    "after": "p2"}]},
        {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/"
                       "workspaces/mlw/computes/cpu", "changeType": "Create", "after": {"name": "cpu"}},
        {"resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/other",
         "changeType": "Ignore"},
    ]},
}


def test_what_if_summary_filters_the_noise_the_service_echoes_back():
    summary = deploy.summarise_what_if(CANNED_WHAT_IF)

    assert summary.counts == {"Create": 1, "Modify": 2, "NoChange": 1, "Ignore": 1}
    storage = next(c for c in summary.changes if c.name == "st1")
    assert [d.path for d in storage.deltas] == ["properties.minimumTlsVersion", "tags"]
    assert [c.path for c in storage.deltas[1].children] == ["team"]
    assert storage.hidden == 5  # provisioningState, primaryEndpoints, etag, NoEffect networkAcls, createdAt
    vault = next(c for c in summary.changes if c.name == "kv1")
    assert vault.change_type == "NoChange" and vault.hidden == 2  # only echoes: not a change
    role = next(c for c in summary.changes if c.name == "r1")
    assert role.change_type == "Modify"  # a role assignment's principalId is input, not an echo
    compute = next(c for c in summary.changes if c.name == "cpu")
    assert compute.resource_type == "Microsoft.MachineLearningServices/workspaces/computes"
    assert summary.has_changes and summary.hidden == 7

    text = deploy.format_what_if(summary)
    assert text.splitlines()[0] == "Resource changes: 1 to create, 2 to modify, 1 no change, 1 to ignore."
    assert '    ~ properties.minimumTlsVersion: "TLS1_0" => "TLS1_2"' in text
    assert '      + team: "ml"' in text
    assert "provisioningState" not in text and "etag" not in text and "kv1" not in text
    assert "(7 read-only properties the service echoes back not shown)" in text


def test_what_if_through_the_sdk_sees_create_then_nochange_then_deletions_in_complete_mode(standin, arm):
    with_group(standin)
    target = make_target()

    first = deploy.what_if(target, arm, **FAST)
    assert first.counts == {"Create": 2}
    [posted] = standin.server.received("POST", "/whatIf")
    assert posted.body["properties"]["whatIfSettings"] == {"resultFormat": "FullResourcePayloads"}
    assert posted.body["properties"]["template"] == sample_template()

    deploy.deploy(target, arm, **FAST)
    again = deploy.what_if(target, arm, **FAST)
    assert again.counts == {"NoChange": 2} and not again.has_changes  # the echoed state is filtered
    assert again.hidden == 6

    smaller = deploy.DeployTarget(target.label, {**sample_template(), "resources": sample_template()["resources"][:1]},
                                  target.parameters, "rg-ml", "mlw-dev")
    assert deploy.what_if(smaller, arm, **FAST).counts == {"NoChange": 1, "Ignore": 1}
    complete = deploy.what_if(smaller, arm, mode="Complete", **FAST)
    assert [c.name for c in complete.deletions] == ["id-amlgen"]


# -- many at once ----------------------------------------------------------------------------------------------

def test_deploy_many_runs_in_parallel(standin, arm):
    with_group(standin)
    standin.server.latency = 0.3
    targets = [make_target(f"mlw-{i}", storage=f"stamlgen{i}") for i in range(4)]

    began = time.monotonic()
    deploy.deploy(make_target("mlw-single"), arm, **FAST)
    single = time.monotonic() - began

    began = time.monotonic()
    results = deploy.deploy_many(targets, arm, parallel=4, **FAST)
    wall = time.monotonic() - began

    assert [r.ok for r in results] == [True] * 4
    assert [r.label for r in results] == [t.label for t in targets]
    assert single >= 4 * 0.3  # validate, PUT, poll, final GET: each pays the latency
    assert wall < 2 * single, f"4 targets at parallel 4 took {wall:.2f} s, one took {single:.2f} s"


def test_deploy_many_one_failure_does_not_stop_the_others(standin, arm):
    with_group(standin)
    targets = [make_target(f"mlw-{i}", storage=f"stamlgen{i}") for i in range(3)]
    standin.server.fail_next_deployment("stamlgen1", "Conflict", "It broke.", deployment="amlgen-mlw-1")
    seen = []

    results = deploy.deploy_many(targets, arm, parallel=2, progress=lambda *e: seen.append(e), **FAST)

    assert [(r.ok, r.state) for r in results] == [(True, "Succeeded"), (False, "Failed"), (True, "Succeeded")]
    assert "Conflict: It broke." in results[1].error
    assert results[0].outputs["storageAccountName"] == "stamlgen0"
    assert {label for label, *_ in seen} == {t.label for t in targets}
    table = deploy.format_results(results)
    assert table.splitlines()[0].split() == ["spec", "resource", "group", "deployment", "result", "time"]
    assert "examples/mlw-1.yaml: deployment amlgen-mlw-1" in table


def test_deploy_many_refuses_two_targets_with_one_deployment_name(arm):
    with pytest.raises(DeployError, match="both deploy as amlgen-mlw"):
        deploy.deploy_many([make_target("mlw"), make_target("mlw", label="other.yaml")], arm)


# -- clouds, CA bundle, credentials --------------------------------------------------------------------------

def test_named_clouds_have_their_own_endpoints_authorities_and_scopes(monkeypatch):
    monkeypatch.delenv(deploy.ARM_ENDPOINT_ENV, raising=False)
    gov = deploy.resolve_cloud("AzureUSGovernment")
    assert gov.arm_endpoint == "https://management.usgovcloudapi.net/"
    assert gov.authority_host == "https://login.microsoftonline.us"
    assert gov.scope == "https://management.core.usgovcloudapi.net/.default"
    assert deploy.resolve_cloud("azurechinacloud").arm_endpoint == "https://management.chinacloudapi.cn/"
    assert deploy.resolve_cloud().name == "AzureCloud"
    with pytest.raises(DeployError, match="unknown cloud 'AzureGermany'"):
        deploy.resolve_cloud("AzureGermany")
    with pytest.raises(DeployError, match="https://"):
        deploy.resolve_cloud(arm_endpoint="http://127.0.0.1:1")


def test_custom_endpoint_from_environment_reads_its_metadata(standin, fake_credential, monkeypatch):
    standin.server.metadata = {"authentication": {"loginEndpoint": "https://adfs.stack.example/adfs/",
                                                  "audiences": ["https://management.stack.example/abc"]}}
    monkeypatch.setenv(deploy.ARM_ENDPOINT_ENV, standin.url)
    conn = deploy.connect(SUBSCRIPTION, credential=fake_credential, connection_verify=standin.ca_path)
    assert conn.cloud.arm_endpoint == standin.url + "/"
    assert conn.cloud.authority_host == "https://adfs.stack.example/adfs"
    with_group(standin)
    deploy.validate(make_target(), conn, **FAST)
    assert fake_credential.scopes[-1] == ("https://management.stack.example/abc/.default",)


def test_ca_bundle_comes_from_requests_ca_bundle(standin, fake_credential, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_path)
    conn = deploy.connect(SUBSCRIPTION, credential=fake_credential, arm_endpoint=standin.url)
    assert conn.connection_verify == standin.ca_path
    with_group(standin)
    deploy.validate(make_target(), conn, **FAST)


def _run_isolated(code: str, **env_extra: str) -> subprocess.CompletedProcess:
    """Run code in a fresh interpreter with no Azure variables, so that nothing can sign in for real."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    env.update(env_extra)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60,
                          cwd=REPO)


# Only `env`, `cli` (without az on PATH) and `workload-identity` are exercised: `default` and `managed-identity`
# would probe the instance-metadata address.
SIGN_IN = """
from generator import deploy
from generator.errors import DeployError
try:
    deploy.make_credential({auth!r}, cloud=deploy.CLOUDS["AzureCloud"]).get_token(
        "https://management.azure.com/.default")
except DeployError as err:
    print(err)
"""


@pytest.mark.parametrize("auth, fix", [
    ("env", "set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"),
    ("cli", "run `az login`"),
    ("workload-identity", "AZURE_FEDERATED_TOKEN_FILE"),
])
def test_missing_login_is_one_clear_line_and_nothing_on_stderr(auth, fix, tmp_path):
    done = _run_isolated(SIGN_IN.format(auth=auth), PATH=str(tmp_path))  # no `az` on this PATH
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    [line] = done.stdout.splitlines()
    assert line.startswith(f"cannot sign in to Azure with --auth {auth}: ")
    assert fix in line


def test_env_auth_names_the_missing_variables(monkeypatch):
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
                 "AZURE_USERNAME", "AZURE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_TENANT_ID", "t")
    credential = deploy.make_credential("env")
    with pytest.raises(DeployError) as caught:
        credential.get_token("https://management.azure.com/.default")
    assert "(AZURE_CLIENT_ID, AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH not set)" in str(caught.value)


def test_unknown_auth_is_refused():
    with pytest.raises(DeployError, match="unknown --auth 'browser'"):
        deploy.make_credential("browser")


def test_importing_the_deploy_modules_does_not_import_the_sdk():
    done = _run_isolated("import sys, generator.deploy, generator.cli_deploy, generator.deploy.soft_delete; "
                         "print(sorted(m for m in sys.modules if m.startswith('azure')))")
    assert done.stdout.strip() == "[]", done.stderr


# -- config.json -----------------------------------------------------------------------------------------------

def test_write_config_writes_what_mlclient_from_config_reads(tmp_path):
    path = deploy.write_config(tmp_path / "nested" / "config.json", SUBSCRIPTION, "rg-ml", "mlw-dev")
    assert json.loads(path.read_text()) == {"subscription_id": SUBSCRIPTION, "resource_group": "rg-ml",
                                            "workspace_name": "mlw-dev"}
    assert path.read_text().endswith("}\n")
    assert deploy.write_config(tmp_path, SUBSCRIPTION, "rg", "w") == tmp_path / "config.json"
    assert not [p for p in tmp_path.rglob(".config.*")]


# -- the CLI: `amlgen what-if` and `amlgen deploy` -------------------------------------------------------------

@pytest.fixture
def amlgen(standin, fake_credential, monkeypatch, run_main, tmp_path):
    """Run the real `amlgen` main() in-process against the stand-in: fake credential, stand-in CA and endpoint.

    The specs are generated into a temporary output folder first, so the tests do not depend on out/.
    """
    monkeypatch.setattr(deploy.signin, "make_credential", lambda *args, **kwargs: fake_credential)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", standin.ca_path)
    monkeypatch.setenv(deploy.ARM_ENDPOINT_ENV, standin.url)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"

    def run(*args: str):
        return run_main(*args)

    generated = run("generate", "examples/defaults.yaml", "examples/private-network.yaml", "-o", str(out))
    assert generated.code == 0, generated.err
    run.out = out
    run.azure = ("-s", SUBSCRIPTION, "-g", "rg-ml", "-o", str(out), "--polling-interval", "0.01")
    return run


def test_cli_deploy_sends_what_generate_wrote_prints_outputs_and_writes_config(amlgen, standin, tmp_path):
    config_path = tmp_path / "ws" / "config.json"
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--create-resource-group", "--location",
                  "westeurope", "--yes", "--write-config", str(config_path))

    assert done.code == 0, done.err
    [put] = standin.server.received("PUT", "/deployments/amlgen-churn-dev")
    assert put.body["properties"]["template"] == json.loads((amlgen.out / "defaults" / "main.json").read_text())
    assert put.body["properties"]["parameters"] == json.loads(
        (amlgen.out / "defaults" / "main.parameters.json").read_text())["parameters"]
    assert put.body["properties"]["mode"] == "Incremental"
    assert "Resource changes: 6 to create." in done.out
    assert "workspaceName = churn-dev" in done.out
    assert "  Microsoft.MachineLearningServices/workspaces churn-dev: Succeeded" in done.err
    assert json.loads(config_path.read_text())["workspace_name"] == "churn-dev"


def test_cli_refuses_a_stale_output_folder_unless_told_to_deploy_it(amlgen, standin):
    main_json = amlgen.out / "defaults" / "main.json"
    edited = json.loads(main_json.read_text())
    edited["resources"] = edited["resources"][:1]
    main_json.write_text(json.dumps(edited))

    refused = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert refused.code == 1
    assert "defaults/main.json is not what examples/defaults.yaml generates: run `amlgen generate`" in refused.err
    assert standin.server.received(path_contains="/subscriptions/") == []

    with_group(standin)
    forced = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes", "--from-output")
    assert forced.code == 0, forced.err
    assert standin.server.received("PUT")[0].body["properties"]["template"] == edited


def test_cli_what_if_prints_the_summary_and_exits_0(amlgen, standin):
    with_group(standin)
    first = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure)
    assert first.code == 0, first.err
    assert first.out.startswith("Resource changes: 6 to create.")
    assert amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes").code == 0
    again = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure, "--format", "json")
    assert json.loads(again.out)["examples/defaults.yaml"]["counts"] == {"NoChange": 6}
    assert not standin.server.received("PUT", "/deployments/")[1:]  # what-if deploys nothing


def test_cli_failed_deployment_prints_each_failed_resource_and_exits_1(amlgen, standin):
    with_group(standin)
    standin.server.fail_next_deployment("churn-dev", "WorkspaceNameUnavailable", "The name is taken.",
                                        details=[{"code": "SoftDeleted", "message": "A deleted workspace holds it."}])
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert done.code == 1
    assert ("amlgen: deployment amlgen-churn-dev of examples/defaults.yaml failed in resource group rg-ml "
            "(DeploymentFailed); failed resources:") in done.err
    assert ("  Microsoft.MachineLearningServices/workspaces 'churn-dev': WorkspaceNameUnavailable: The name is "
            "taken.\n    SoftDeleted: A deleted workspace holds it.") in done.err


@pytest.mark.parametrize("fault, expected", [
    (lambda s: s.reject_validation("InvalidTemplate", "Bad template.",
                                   [{"code": "Nested", "message": "why"}]),
     "amlgen: preflight validation of examples/defaults.yaml failed: InvalidTemplate: Bad template."),
    (lambda s: s.unauthorized(), "InvalidAuthenticationToken"),
])
def test_cli_preflight_and_auth_faults_exit_1_before_deploying(amlgen, standin, fault, expected):
    with_group(standin)
    fault(standin.server)
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert done.code == 1
    assert expected in done.err
    assert "Traceback" not in done.err
    assert not standin.server.received("PUT")


def test_cli_says_when_the_sdk_retried(amlgen, standin):
    with_group(standin)
    standin.server.throttle("PUT", "/deployments/")
    standin.server.server_error("POST", "/whatIf")
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert done.code == 0, done.err
    assert "  retry: ARM throttled the request (429) to PUT" in done.err
    assert "  retry: ARM answered 500 to POST" in done.err


def test_cli_without_yes_and_without_a_terminal_is_a_usage_error(amlgen, standin):
    with_group(standin)
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure)
    assert done.code == 2
    assert "pass --yes" in done.err
    assert not standin.server.received("PUT")


def test_cli_complete_mode_lists_every_deletion_first(amlgen, standin):
    with_group(standin)
    stray = standin.server.add_resource(SUBSCRIPTION, "rg-ml", "Microsoft.Network/virtualNetworks", "vnet-old")
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--complete", "--yes")
    assert done.code == 0, done.err
    assert f"Complete mode DELETES 1 resource(s) the template does not name:\n  - {stray}" in done.out
    assert standin.server.received("PUT")[0].body["properties"]["mode"] == "Complete"


def test_cli_ctrl_c_while_waiting_exits_130_and_says_how_to_follow(amlgen, standin, monkeypatch):
    from generator import cli_deploy

    with_group(standin)
    standin.server.polls_to_finish = 10_000

    def interrupt(self, *args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_deploy._Printer, "progress", interrupt)
    done = amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes")
    assert done.code == 130
    assert "goes on in Azure" in done.err
    assert "az deployment group show -g rg-ml -n amlgen-churn-dev" in done.err


def test_cli_parallel_deploys_concurrently_and_one_failure_does_not_stop_the_other(amlgen, standin):
    with_group(standin)
    standin.server.latency = 0.1
    began = time.monotonic()
    assert amlgen("deploy", "examples/defaults.yaml", *amlgen.azure, "--yes").code == 0
    single = time.monotonic() - began

    standin.server.fail_next_deployment(deployment="amlgen-churn-dev")
    began = time.monotonic()
    done = amlgen("deploy", "examples/defaults.yaml", "examples/private-network.yaml", *amlgen.azure, "--yes",
                  "--parallel", "2")
    wall = time.monotonic() - began

    assert done.code == 1
    table = [line.split() for line in done.err.splitlines() if line.startswith("examples/")]
    assert [row[:4] for row in table[:2]] == [["examples/defaults.yaml", "rg-ml", "amlgen-churn-dev", "Failed"],
                                              ["examples/private-network.yaml", "rg-ml", "amlgen-fraud-private",
                                               "Succeeded"]]
    assert "amlgen: 1 of 2 deployment(s) failed" in done.err
    assert "workspaceName = fraud-private" in done.out
    assert wall < 1.6 * single, f"2 specs at --parallel 2 took {wall:.2f} s, one took {single:.2f} s"


def test_cli_uses_the_spec_cloud_for_scope_and_authority_unless_told_otherwise(amlgen, standin, fake_credential,
                                                                                monkeypatch, tmp_path):
    asked = []
    monkeypatch.setattr(deploy.signin, "make_credential", lambda auth, **kw: asked.append((auth, kw)) or fake_credential)
    spec = _spec(amlgen, tmp_path, "gov.yaml", "name: churn-gov\ncloud: AzureUSGovernment\nlocation: usgovvirginia\n")
    with_group(standin)

    done = amlgen("what-if", str(spec), *amlgen.azure, "--auth", "env")
    assert done.code == 0, done.err
    auth, options = asked[-1]
    assert auth == "env" and options["cloud"].authority_host == "https://login.microsoftonline.us"
    assert fake_credential.scopes[-1] == ("https://management.core.usgovcloudapi.net/.default",)

    assert amlgen("what-if", str(spec), *amlgen.azure, "--cloud", "AzureChinaCloud").code == 0
    assert fake_credential.scopes[-1] == ("https://management.chinacloudapi.cn/.default",)


def test_cli_deploys_into_the_spec_resource_group_and_refuses_another(amlgen, standin):
    """A spec with resourceGroup: goes there without -g; -g naming another group is a usage error."""
    standin.server.groups[(SUBSCRIPTION, "rg-churn-prod")] = {"name": "rg-churn-prod", "location": "westeurope"}
    assert amlgen("generate", "examples/secure.yaml", "-o", str(amlgen.out)).code == 0
    azure = [a for a in amlgen.azure]
    at = azure.index("-g")
    without_group = azure[:at] + azure[at + 2:]
    done = amlgen("deploy", "examples/secure.yaml", *without_group, "--yes")
    assert done.code == 0, done.err
    assert any(r.method == "PUT" and "/resourcegroups/rg-churn-prod/" in r.path.lower() for r in standin.server.requests)
    refused = amlgen("deploy", "examples/secure.yaml", *amlgen.azure, "--yes")
    assert refused.code == 2 and "resourceGroup: rg-churn-prod, but -g names rg-ml" in refused.err


def test_cli_complete_mode_refuses_two_specs_in_one_group(amlgen, standin):
    with_group(standin)
    done = amlgen("deploy", "examples/defaults.yaml", "examples/private-network.yaml", *amlgen.azure, "--yes",
                  "--complete")
    assert done.code == 2 and "each would delete the other's resources" in done.err
    assert not [r for r in standin.server.requests if r.method == "PUT" and "/deployments/" in r.path]


def test_cli_never_prints_a_secure_value(amlgen, standin, monkeypatch, tmp_path):
    """Azure's what-if can echo secure parameter values back: amlgen replaces them before printing."""
    secret = "sup3r-secret-account-key=="
    spec = _spec(amlgen, tmp_path, "keys.yaml", "name: churn-keys\ndatastores:\n  legacy:\n    type: fileShare\n    fileShare: reports\n"
                    "    credentials: accountKey\n    account: /subscriptions/00000000-0000-0000-0000-000000000000/"
                    "resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st\n")
    with_group(standin)
    missing = amlgen("what-if", str(spec), *amlgen.azure)
    assert missing.code == 2 and "AMLGEN_SECRET_DATASTORELEGACYACCOUNTKEY" in missing.err
    monkeypatch.setenv("AMLGEN_SECRET_DATASTORELEGACYACCOUNTKEY", secret)
    from generator import deploy as deploy_module
    real = deploy_module.format_what_if
    monkeypatch.setattr(deploy_module, "format_what_if", lambda summary, **kw: real(summary, **kw) + f"\nkey: {secret}")
    done = amlgen("deploy", str(spec), *amlgen.azure, "--yes")
    assert done.code == 0, done.err
    assert secret not in done.out + done.err and "key: ***" in done.out
    sent = [r for r in standin.server.requests if r.method == "PUT" and "/deployments/" in r.path]
    assert secret in str(sent[-1].body)  # it does reach Azure, in the request body only


def test_what_if_keeps_a_real_change_to_a_property_the_service_also_echoes():
    """workspaceId of a diagnostic setting, tenantId of an assigned user: a Modify is input, an echo is a Delete."""
    result = {"status": "Succeeded", "properties": {"changes": [
        {"changeType": "Modify", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/"
                                               "diagnosticSettings/send-to-log-analytics",
         "delta": [{"path": "properties.workspaceId", "propertyChangeType": "Modify", "before": "/a", "after": "/b"}]},
        {"changeType": "Modify", "resourceId": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Insights/"
                                               "components/appi",
         "delta": [{"path": "properties.TenantId", "propertyChangeType": "Delete", "before": "t"},
                   {"path": "properties.provisioningState", "propertyChangeType": "Modify",
                    "before": "Succeeded", "after": "Updating"}]},
    ]}}
    summary = deploy.summarise_what_if(result)
    kinds = {c.resource_id.rsplit("/", 1)[-1]: c.change_type for c in summary.changes}
    assert kinds == {"send-to-log-analytics": "Modify", "appi": "NoChange"}
    (diag,) = [c for c in summary.changes if c.change_type == "Modify"]
    assert [d.path for d in diag.deltas] == ["properties.workspaceId"]


def test_cli_attach_computes_sets_the_parameter_and_refuses_a_spec_without_attached_computes(amlgen, standin,
                                                                                             tmp_path):
    with_group(standin)
    none = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure, "--attach-computes")
    assert none.code == 2 and "attaches no computes" in none.err
    spec = _spec(amlgen, tmp_path, "aks.yaml", "name: churn-aks\ncomputes:\n  aks-ml:\n    type: kubernetes\n    resourceId: /subscriptions/"
                    "00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/"
                    "managedClusters/aks\n")
    done = amlgen("what-if", str(spec), *amlgen.azure, "--attach-computes")
    assert done.code == 0, done.err
    (sent,) = [r for r in standin.server.requests if r.method == "POST" and r.path.lower().endswith("/whatif")][-1:]
    assert sent.body["properties"]["parameters"]["attachComputes"] == {"value": True}


def test_cli_what_if_json_reports_a_failed_spec_as_json(amlgen, standin):
    """stdout always holds one JSON document, also when the only spec's what-if fails (exit 1)."""
    with_group(standin)
    standin.server.unauthorized(times=1)
    done = amlgen("what-if", "examples/defaults.yaml", *amlgen.azure, "--format", "json")
    assert done.code == 1
    report = json.loads(done.out)
    assert list(report) == ["examples/defaults.yaml"] and "InvalidAuthenticationToken" in report["examples/defaults.yaml"]["error"]


def test_cli_fills_connection_secrets_from_the_environment_and_never_prints_them(amlgen, standin, monkeypatch, tmp_path):
    """A connection's API key (secure string) and custom keys (secure object, JSON) come from AMLGEN_SECRET_*."""
    spec = _spec(amlgen, tmp_path, "conn.yaml", "name: churn-conn\nconnections:\n"
                 "  weather-api: {category: ApiKey, target: 'https://api.example.com/', auth: ApiKey}\n"
                 "  partner: {category: CustomKeys, target: 'https://partner.example.com/', auth: CustomKeys}\n")
    with_group(standin)
    missing = amlgen("deploy", str(spec), *amlgen.azure, "--yes")
    assert missing.code == 2
    assert "AMLGEN_SECRET_CONNECTIONWEATHERAPIAPIKEY" in missing.err and "AMLGEN_SECRET_CONNECTIONPARTNERKEYS" in missing.err
    key, custom = "weather-key-0123456789", {"keys": {"clientSecret": "partner-secret-9876543210"}}
    monkeypatch.setenv("AMLGEN_SECRET_CONNECTIONWEATHERAPIAPIKEY", key)
    monkeypatch.setenv("AMLGEN_SECRET_CONNECTIONPARTNERKEYS", json.dumps(custom))
    done = amlgen("deploy", str(spec), *amlgen.azure, "--yes")
    assert done.code == 0, done.err
    assert key not in done.out + done.err and "partner-secret" not in done.out + done.err
    put = [r for r in standin.server.requests if r.method == "PUT" and "/deployments/" in r.path][-1]
    parameters = put.body["properties"]["parameters"]
    assert parameters["connectionWeatherApiApiKey"] == {"value": key}
    assert parameters["connectionPartnerKeys"] == {"value": custom}
    assert not [p for p in (amlgen.out / "conn").rglob("*") if p.is_file() and key in p.read_text(encoding="utf-8")]
