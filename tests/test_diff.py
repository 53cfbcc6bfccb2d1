"""amlgen diff: pairs of spec trees golden-tested in every format, the semantics behind them, and --base in a real git
repository. Regenerate the expected reports with AMLGEN_UPDATE_GOLDEN=1 (then review the change in git)."""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

import pytest

from conftest import OUT, require, tree
from generator import config, diff, model, output, pipeline, report

CASES_DIR = Path(__file__).parent / "diff_cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "old").is_dir())
EXTENSIONS = {"text": "txt", "markdown": "md", "json": "json"}
UPDATE = os.environ.get("AMLGEN_UPDATE_GOLDEN") == "1"

ST, KV, CR, WS, CP = diff.STORAGE, diff.KEY_VAULT, diff.REGISTRY, diff.WORKSPACE, diff.COMPUTE

# What each case must show, independent of the golden files (so a regenerated golden cannot hide a wrong diff):
# folder -> (workspace status, {(resource status, type)}, warning codes in order).
EXPECT = {
    "add_and_remove_specs": {
        "fraud": ("removed", {("removed", ST), ("removed", KV), ("removed", "Microsoft.OperationalInsights/workspaces"),
                              ("removed", "Microsoft.Insights/components"), ("removed", WS)},
                  ["D002"]),
        "pricing": ("added", {("added", ST), ("added", KV), ("added", "Microsoft.OperationalInsights/workspaces"),
                              ("added", "Microsoft.Insights/components"), ("added", WS)}, []),
        "teams/churn": ("unchanged", set(), []),
    },
    "add_compute": {"team": ("changed", {("changed", CP), ("added", CP), ("added", diff.ROLE_ASSIGNMENT)}, [])},
    "add_registry": {"team": ("changed", {("added", CR), ("changed", WS)}, [])},
    # the VM size comes from a parameter: still create-only (D001); idle shutdown and SSH are not re-applied (D007)
    "recreate_instance": {"team": ("changed", {("changed", CP)}, ["D007", "D007", "D001"])},
    "flip_hbi": {"team": ("changed", {("changed", WS)}, ["D001"])},
    "drop_registry": {"team": ("changed", {("removed", CR), ("changed", WS)}, ["D002"])},
    "move_location": {"team": ("changed", set(), ["D004"])},
    "public_network_access": {"team": ("changed", {("changed", ST), ("changed", KV), ("changed", CR), ("changed", WS)},
                                       [])},
    "rename_workspace": {"team": ("changed", {(s, t) for s in ("added", "removed") for t in (
        ST, KV, CR, WS, "Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components")},
                                  ["D003", "D002", "D002", "D002", "D002"])},
    "reorder_keys": {"team": ("unchanged", set(), [])},
    "storage_existing": {"team": ("changed", {("changed", WS)}, ["D001"])},
    "storage_sku": {"team": ("changed", {("changed", ST)}, [])},
    # turning the managed network off also reopens the dependents it had closed (the dependents follow it)
    "managed_network_off": {"team": ("changed", {("changed", WS), ("changed", ST), ("changed", KV), ("changed", CR)},
                                     ["D010"])},
    "identity_narrowed": {"team": ("changed", {("changed", WS)}, ["D011"])},
    "datastore_repointed": {"team": ("changed", {("changed", diff.DATASTORE)}, ["D012"])},
    "service_side_encryption": {"team": ("changed", {("changed", WS)}, ["D001"])},
    "cluster_recreated": {"team": ("changed", {("changed", CP)}, ["D001", "D001", "D001"])},
}


def _generate_into(specs: Path, work: Path, side: str) -> Path:
    """Generate a side's specs with the real pipeline into work/<side>; the spec root has the same name on both
    sides (as in a repository), so only the specs' content differs."""
    root = work / "src" / side / "specs"
    shutil.copytree(specs, root)
    cfg = config.Config((root,), work / side, None)
    spec_files, empty = config.discover([root], cfg)
    result = pipeline.generate(spec_files, empty)
    assert result.ok, [f.text() for f in result.findings]
    output.write_all(result.files, work / side)
    return work / side


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """Per case: a folder holding old/ and new/, the two generated trees."""
    made = {}
    for case in CASES:
        work = tmp_path_factory.mktemp(case)
        for side in ("old", "new"):
            _generate_into(CASES_DIR / case / side, work, side)
        made[case] = work
    return made


@pytest.fixture
def amlgen(run_main):
    """Run the real `amlgen` main() in-process (diff comes through the real, lazy command group)."""

    def run(*args: str, cwd: Path):
        return run_main(*args, cwd=cwd)

    return run


def check_golden(path: Path, actual: str) -> None:
    if UPDATE:
        path.write_bytes(actual.encode("utf-8"))
        return
    rel = path.relative_to(CASES_DIR.parent).as_posix()
    if not path.exists():
        pytest.fail(f"tests/{rel} is missing: run AMLGEN_UPDATE_GOLDEN=1 python3 -m pytest tests/test_diff.py "
                    "and review it", pytrace=False)
    expected = path.read_text(encoding="utf-8")
    if expected != actual:
        shown = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                             f"tests/{rel} (expected)", "amlgen diff (actual)"))
        pytest.fail(f"the report differs from tests/{rel}; if the change is intended, regenerate with "
                    f"AMLGEN_UPDATE_GOLDEN=1 and review the diff:\n{shown}", pytrace=False)


# --- golden reports, through the real CLI -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(EXTENSIONS))
@pytest.mark.parametrize("case", CASES)
def test_report_matches_golden(case, fmt, trees, amlgen):
    result = amlgen("diff", "old", "new", "--format", fmt, cwd=trees[case])
    assert result.code == 0, result.err
    assert result.err == ""
    check_golden(CASES_DIR / case / f"expected.{EXTENSIONS[fmt]}", result.out)


def test_every_case_has_expectations():
    assert sorted(EXPECT) == CASES


@pytest.mark.parametrize("case", CASES)
def test_case_shows_the_expected_changes_and_warnings(case, trees):
    rep = diff.diff_folders(trees[case] / "old", trees[case] / "new")
    got = {ws.folder: (ws.status, {(r.status, r.type) for r in ws.resources}, [w.code for w in ws.warnings])
           for ws in rep.workspaces}
    assert got == EXPECT[case]


def test_reordered_keys_flow_style_and_comments_are_no_change(trees):
    rep = diff.diff_folders(trees["reorder_keys"] / "old", trees["reorder_keys"] / "new")
    assert rep.changed == []
    assert "no infrastructure changes in 1 workspace" in report.render_text(rep)


def test_storage_sku_between_redundancy_kinds_is_a_change_without_warning(trees):
    ws = diff.diff_folders(trees["storage_sku"] / "old", trees["storage_sku"] / "new").workspaces[0]
    (storage,) = ws.resources
    assert [(c.path, c.old, c.new) for c in storage.changes] == [("sku.name", "Standard_LRS", "Standard_GZRS")]
    assert ws.warnings == []


def test_changing_the_existing_storage_account_warns_that_azure_refuses_it(trees):
    ws = diff.diff_folders(trees["storage_existing"] / "old", trees["storage_existing"] / "new").workspaces[0]
    (warning,) = ws.warnings
    assert warning.code == "D001" and warning.path == "properties.storageAccount"
    assert "refuses" in warning.message and "replaced" in warning.message
    # an existing resource is drawn as a referenced node, and the switch as one edge removed, one added
    states = {(ws.nodes[e.target].name, e.status) for e in ws.edges}
    assert {("stplatformml", "removed"), ("stplatformmlv2", "added"), ("kv-platform-ml", "unchanged")} <= states
    assert {n.name: n.status for n in ws.nodes}["stplatformmlv2"] == "existing"


def test_renamed_workspace_is_remove_and_add_with_one_rename_warning(trees):
    ws = diff.diff_folders(trees["rename_workspace"] / "old", trees["rename_workspace"] / "new").workspaces[0]
    assert (ws.old_name, ws.new_name) == ("churn-dev", "churn-experiments")
    assert "Azure cannot rename a workspace" in ws.warnings[0].message
    assert not [w for w in ws.warnings if w.code == "D002" and w.type == WS]  # D003 already says it
    assert all("replaced by the new" in w.message for w in ws.warnings if w.code == "D002")


def test_committed_out_compared_with_itself_has_no_changes():
    rep = diff.diff_folders(OUT, OUT)
    assert len(rep.workspaces) == len(list(OUT.rglob("main.json"))) > 0
    assert {w.status for w in rep.workspaces} == {"unchanged"}


# --- the comparison itself --------------------------------------------------------------------------------------


def _tree(resources: list[dict], location: str | None = None, folder: str = "ws") -> dict[str, str]:
    params = {"$schema": "p", "contentVersion": "1.0.0.0", "parameters": {}}
    if location:
        params["parameters"]["location"] = {"value": location}
    return {f"{folder}/main.json": json.dumps({"resources": resources}),
            f"{folder}/main.parameters.json": json.dumps(params)}


def _ws(props: dict | None = None, **top) -> dict:
    return {"type": WS, "name": "w", "kind": "Default", "properties": props or {}, **top}


def test_arrays_of_named_objects_are_matched_by_name_not_position():
    old = [{"name": "a", "x": 1}, {"name": "b", "x": 2}, {"name": "c", "x": 3}]
    new = [{"name": "c", "x": 3}, {"name": "a", "x": 1}, {"name": "b", "x": 5}, {"name": "d", "x": 4}]
    changes = diff.compare({"rules": old}, {"rules": new})
    assert [(c.path, c.kind, c.old, c.new) for c in changes] == [
        ("rules[name=b].x", "changed", 2, 5),
        ("rules[name=d]", "added", diff.MISSING, {"name": "d", "x": 4}),
    ]


def test_key_order_and_formatting_are_not_changes_but_true_is_not_1():
    a = {"resources": [_ws({"a": 1, "b": {"c": [1, 2], "d": True}})]}
    b = {"resources": [{"properties": {"b": {"d": True, "c": [1, 2]}, "a": 1.0}, "kind": "Default", "name": "w",
                        "type": WS}]}
    rep = diff.diff_trees({"ws/main.json": json.dumps(a)}, {"ws/main.json": json.dumps(b, indent=7)})
    assert rep.workspaces[0].status == "unchanged"
    assert diff.compare({"x": True}, {"x": 1}) == [diff.Change(("x",), True, 1)]


def test_positional_arrays_of_scalars_are_one_change_with_both_lists():
    (change,) = diff.compare({"ports": ["80", "443"]}, {"ports": ["443", "80"]})
    assert (change.path, change.old, change.new) == ("ports", ["80", "443"], ["443", "80"])


def test_paths_quote_keys_that_are_not_plain_names():
    assert diff.format_path(("properties", "a.b", 0, diff.Named("x"), "c-d")) == 'properties["a.b"][0][name=x].c-d'


@pytest.mark.parametrize("change, path", [
    ({"kind": "FeatureStore"}, "kind"),
    ({"properties": {"hbiWorkspace": True}}, "properties.hbiWorkspace"),
    ({"properties": {"encryption": {"status": "Enabled"}}}, "properties.encryption"),
    ({"properties": {"keyVault": "/subscriptions/x/kv2"}}, "properties.keyVault"),
])
def test_workspace_create_only_properties_warn(change, path):
    old = _ws({"keyVault": "/subscriptions/x/kv"})
    new = json.loads(json.dumps(old))
    for key, value in change.items():
        new[key] = {**new[key], **value} if isinstance(value, dict) else value
    ws = diff.diff_trees(_tree([old]), _tree([new])).workspaces[0]
    assert [(w.code, w.path) for w in ws.warnings] == [("D001", path)]
    assert "workspace must be replaced" in ws.warnings[0].message


@pytest.mark.parametrize("before, after, warns", [
    ({"sku": {"name": "Standard_LRS"}}, {"sku": {"name": "Standard_RAGZRS"}}, False),
    ({"sku": {"name": "Standard_LRS"}}, {"sku": {"name": "Premium_LRS"}}, True),
    ({"kind": "StorageV2"}, {"kind": "BlockBlobStorage"}, True),
    ({"properties": {"isHnsEnabled": False}}, {"properties": {"isHnsEnabled": True}}, True),
    ({"properties": {"minimumTlsVersion": "TLS1_0"}}, {"properties": {"minimumTlsVersion": "TLS1_2"}}, False),
])
def test_storage_redundancy_changes_are_fine_but_kind_and_tier_are_not(before, after, warns):
    base = {"type": ST, "name": "st"}
    ws = diff.diff_trees(_tree([{**base, **before}]), _tree([{**base, **after}])).workspaces[0]
    assert [w.code for w in ws.warnings] == (["D001"] if warns else [])


def test_every_create_only_model_field_is_known_to_the_diff():
    marked = {f"{cls.__name__}.{f.name}" for cls in vars(model).values()
              if isinstance(cls, type) and is_dataclass(cls) and cls.__module__ == model.__name__
              for f in fields(cls) if f.metadata.get("create_only")}
    assert marked, "model.py marks no field create_only"
    missing = marked - set(diff.CREATE_ONLY_FIELDS)
    assert not missing, (f"model fields {sorted(missing)} are create_only but the diff does not know where they land "
                         "in the template: add them to diff.CREATE_ONLY_FIELDS")
    for name, (rtype, path) in diff.CREATE_ONLY_FIELDS.items():
        assert path in diff.CREATE_ONLY[rtype], f"{name}: {path} is not in diff.CREATE_ONLY[{rtype!r}]"


@pytest.mark.parametrize("before, after, warns", [
    ({"properties": {"properties": {"vmSize": "Standard_DS3_v2"}}},
     {"properties": {"properties": {"vmSize": "Standard_NC6s_v3"}}}, True),
    ({"properties": {"properties": {"scaleSettings": {"maxNodeCount": 2}}}},
     {"properties": {"properties": {"scaleSettings": {"maxNodeCount": 8}}}}, False),
])
def test_compute_vm_size_is_create_only_but_scale_is_not(before, after, warns):
    base = {"type": diff.COMPUTE, "name": "[format('{0}/{1}', 'w', 'cpu')]"}
    ws = diff.diff_trees(_tree([{**base, **before}]), _tree([{**base, **after}])).workspaces[0]
    assert [w.code for w in ws.warnings] == (["D001"] if warns else [])
    assert ws.resources[0].display == "w/cpu"
    if warns:
        assert "compute 'w/cpu'" in ws.warnings[0].message and "delete it first" in ws.warnings[0].message


@pytest.mark.parametrize("before, after, codes", [
    ({"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}, {}, ["D010"]),  # the section dropped
    ({"managedNetwork": {"isolationMode": "AllowInternetOutbound"}},
     {"managedNetwork": {"isolationMode": "Disabled"}}, ["D010"]),
    ({"managedNetwork": {"isolationMode": "AllowInternetOutbound"}},
     {"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}}, []),  # tightening is an update
    ({"managedNetwork": {"isolationMode": "AllowOnlyApprovedOutbound"}},
     {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}, []),  # no source says Azure refuses it
    ({}, {"managedNetwork": {"isolationMode": "AllowInternetOutbound"}}, []),  # turning it on
])
def test_managed_network_isolation_can_be_turned_on_but_not_off(before, after, codes):
    old, new = _ws({"keyVault": "/subscriptions/x/kv", **before}), _ws({"keyVault": "/subscriptions/x/kv", **after})
    ws = diff.diff_trees(_tree([old]), _tree([new])).workspaces[0]
    assert [w.code for w in ws.warnings] == codes
    assert all("cannot be disabled" in w.message for w in ws.warnings)


@pytest.mark.parametrize("before, after, codes", [
    ("SystemAssigned,UserAssigned", "SystemAssigned", ["D011"]),
    ("SystemAssigned, UserAssigned", "systemassigned", ["D011"]),
    ("SystemAssigned", "SystemAssigned,UserAssigned", []),  # adding user-assigned identities is allowed
    ("SystemAssigned,UserAssigned", "SystemAssigned,UserAssigned", []),
])
def test_identity_can_gain_user_assigned_identities_but_not_lose_them(before, after, codes):
    old = {**_ws({"keyVault": "/subscriptions/x/kv"}), "identity": {"type": before}}
    new = {**_ws({"keyVault": "/subscriptions/x/kv"}), "identity": {"type": after}}
    ws = diff.diff_trees(_tree([old]), _tree([new])).workspaces[0]
    assert [w.code for w in ws.warnings] == codes


def test_a_datastore_renamed_in_place_is_not_re_pointed_but_a_new_container_is():
    base = {"type": diff.DATASTORE, "name": "[format('{0}/{1}', 'w', 'raw')]"}
    props = {"datastoreType": "AzureBlob", "accountName": "st1", "containerName": "raw", "description": "a"}
    described = diff.diff_trees(_tree([{**base, "properties": props}]),
                                _tree([{**base, "properties": {**props, "description": "b"}}])).workspaces[0]
    assert described.warnings == []
    moved = diff.diff_trees(_tree([{**base, "properties": props}]),
                            _tree([{**base, "properties": {**props, "containerName": "raw2"}}])).workspaces[0]
    assert [(w.code, w.name) for w in moved.warnings] == [("D012", base["name"])]
    assert "azureml://datastores/raw/paths/" in moved.warnings[0].message


def test_role_assignments_are_shown_by_role_and_principal():
    resource = {"type": diff.ROLE_ASSIGNMENT, "name": "[guid(toLower(resourceGroup().id), toLower('p'), toLower('r'))]",
                "properties": {"roleDefinitionId": "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
                                                   "'f6c7c914-8db3-469d-8ca1-694a8f32e121')]",
                               "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "Group"}}
    assert diff.display_name(resource) == "AzureML Data Scientist for Group 33333333-3333-3333-3333-333333333333"
    changed = json.loads(json.dumps(resource))
    changed["properties"]["principalId"] = "44444444-4444-4444-4444-444444444444"
    ws = diff.diff_trees(_tree([resource]), _tree([changed])).workspaces[0]
    assert [(w.code, w.path) for w in ws.warnings] == [("D001", "properties.principalId")]


def test_a_renamed_dependent_is_a_replacement_with_data_warning():
    old = [{"type": KV, "name": "kv1"}, _ws({"keyVault": "[resourceId('Microsoft.KeyVault/vaults', 'kv1')]"})]
    new = [{"type": KV, "name": "kv2"}, _ws({"keyVault": "[resourceId('Microsoft.KeyVault/vaults', 'kv2')]"})]
    ws = diff.diff_trees(_tree(old), _tree(new)).workspaces[0]
    assert [w.code for w in ws.warnings] == ["D001", "D002"]
    assert "replaced by the new 'kv2'" in ws.warnings[1].message


def test_location_parameter_change_warns_and_a_first_location_says_where_from():
    ws = diff.diff_trees(_tree([_ws()], "westeurope"), _tree([_ws()], "eastus")).workspaces[0]
    assert [(c.path, c.old, c.new) for c in ws.parameters] == [("location", "westeurope", "eastus")]
    assert ws.warnings[0].code == "D004"
    ws = diff.diff_trees(_tree([_ws()]), _tree([_ws()], "eastus")).workspaces[0]
    assert "from the resource group's region to eastus" in ws.warnings[0].message


def test_references_read_resource_id_calls_and_literal_ids():
    resource = {"type": WS, "name": "w", "properties": {
        "a": "[resourceId('Microsoft.Storage/storageAccounts', 'it''s')]",
        "b": "[reference(resourceId('Microsoft.Web/sites/config', 'app', 'web'), '2020-01-01')]",
        "c": ("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
              "Microsoft.KeyVault/vaults/kv"),
        "d": "[[resourceId('Not.An/expression', 'x')]",
    }, "dependsOn": ["[resourceId('Microsoft.Storage/storageAccounts', 'it''s')]"]}
    assert diff.references(resource) == [("Microsoft.Storage/storageAccounts", "it's"),
                                         ("Microsoft.Web/sites/config", "app/web"), (KV, "kv")]


def test_unreadable_template_is_a_usage_error_naming_the_file(tmp_path, amlgen):
    for side in ("old", "new"):
        (tmp_path / side / "ws").mkdir(parents=True)
        (tmp_path / side / "ws" / "main.json").write_text('{"resources": [}' if side == "new" else "{}")
    result = amlgen("diff", "old", "new", cwd=tmp_path)
    assert result.code == 2
    assert result.err.strip() == "amlgen: new/ws/main.json:1:16: not valid JSON: Expecting value"


@pytest.mark.parametrize("args, message", [
    (("only-one",), "give two generated folders"),
    (("a", "b", "c"), "give two generated folders"),
    (("missing", "also-missing"), "missing: not a folder of generated templates"),
    (("--format", "yaml", "a", "b"), "Invalid value for '--format'"),
])
def test_usage_errors_exit_2(args, message, tmp_path, amlgen):
    result = amlgen("diff", *args, cwd=tmp_path)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err


# --- Markdown that renders --------------------------------------------------------------------------------------


def _markdown_tokens(text: str):
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        require(False, "markdown-it-py is not installed (pip install -e '.[test]')")
    return MarkdownIt("commonmark").enable("table").parse(text)


@pytest.mark.parametrize("case", [c for c in CASES if c != "reorder_keys"])
def test_markdown_report_has_a_summary_table_and_a_mermaid_node_per_resource(case, trees):
    old, new = trees[case] / "old", trees[case] / "new"
    rep = diff.diff_folders(old, new, "old", "new")
    tokens = _markdown_tokens(report.render_markdown(rep))

    headers = []
    for i, tok in enumerate(tokens):
        if tok.type == "th_open":
            headers.append(tokens[i + 1].content)
        if tok.type == "table_close":
            break
    assert headers == ["Workspace", "Folder", "Added", "Changed", "Removed", "Warnings"]
    body_rows = sum(t.type == "tr_open" for t in tokens[:next(i for i, t in enumerate(tokens)
                                                              if t.type == "table_close")]) - 1
    assert body_rows == len(rep.changed)

    fences = [t.content for t in tokens if t.type == "fence" and t.info.strip() == "mermaid"]
    assert len(fences) == len(rep.changed)
    for ws, block in zip(rep.changed, fences):
        assert block.startswith("flowchart ")
        declared = dict(re.findall(r'^\s*(n\d+)\["(?:.*?)<br/>(.*?)"\]$', block, re.M))
        names = set()
        for side in (old, new):
            path = side / ws.folder / "main.json"
            if path.exists():
                names |= {diff.display_name(r) for r in json.loads(path.read_text())["resources"]}
        assert names <= set(declared.values()), f"{ws.folder}: nodes missing for {names - set(declared.values())}"
        for r in ws.resources:  # each added / changed / removed resource carries its class
            node = next(n for n, name in declared.items() if name == r.display)
            assert re.search(rf"^\s*class (?:\S+,)*{node}(?:,\S+)* {r.status}$", block, re.M), (r.name, r.status)
    summaries = [t.content for t in tokens if t.type == "html_block" and "<summary><b>" in t.content]
    assert len(summaries) == len(rep.changed)  # one collapsible section per changed workspace


def test_markdown_escapes_table_cells_and_mermaid_labels():
    old = [{"type": ST, "name": 'a"b', "tags": {"x": "p|q`r"}}]
    new = [{"type": ST, "name": 'a"b', "tags": {"x": "<s>"}}]
    text = report.render_markdown(diff.diff_trees(_tree(old), _tree(new)))
    assert '"p\\|q`r"' in text and "``" in text  # pipe escaped, backtick inside a longer code fence
    assert "a#quot;b" in text and "<s>" not in text.split("```mermaid")[1].split("```")[0]


# --- --base in a real repository --------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    require(shutil.which("git") is not None, "git is not installed")
    root = tmp_path / "repo"
    (root / "specs" / "team").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.amlgen]\nspecs = ["specs"]\noutput = "out"\n')
    (root / "specs" / "team" / "dev.yaml").write_text("name: churn-dev\nlocation: westeurope\n")
    (root / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: westeurope\ncontainerRegistry: false\n")
    _git(root, "init", "-q", "-b", "main")
    cfg, targets = config.resolve((), None, cwd=root)
    output.write_all(pipeline.generate(config.discover(targets, cfg)[0]).files, root / "out")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    return root


def test_base_reports_the_spec_change_without_touching_the_working_tree(repo, amlgen):
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: westeurope\n")  # adds a registry
    (repo / "specs" / "new.yaml").write_text("name: churn-new\n")  # untracked: only in the working tree
    head, status = _git(repo, "rev-parse", "HEAD"), _git(repo, "status", "--porcelain")
    result = amlgen("diff", "--base", "main", "--format", "json", cwd=repo / "specs" / "team")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["old"], data["new"]) == ("main", "working tree")
    assert {w["folder"]: w["status"] for w in data["workspaces"]} == {
        "new": "added", "prod": "changed", "team/dev": "unchanged"}
    prod = next(w for w in data["workspaces"] if w["folder"] == "prod")
    assert [(r["status"], r["type"]) for r in prod["resources"]] == [("added", CR), ("changed", WS)]
    # the second section: out/ was not regenerated after the spec change
    assert data["drift"]["clean"] is False
    assert "prod/main.json" in data["drift"]["changed"] and "new/main.json" in data["drift"]["missing"]
    assert (_git(repo, "rev-parse", "HEAD"), _git(repo, "status", "--porcelain")) == (head, status)


def test_base_with_regenerated_output_reports_it_up_to_date(repo, amlgen):
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: northeurope\ncontainerRegistry: false\n")
    assert amlgen("generate", cwd=repo).code == 0
    result = amlgen("diff", "--base", "HEAD", cwd=repo)
    assert result.code == 0, result.err
    assert "WARNING D004 location changes from westeurope to northeurope" in result.out
    assert result.out.rstrip().endswith("out/ is up to date with the working-tree specs")
    md = amlgen("diff", "--base", "HEAD", "--format", "markdown", cwd=repo)
    assert "#### Generated output" in md.out and "✅" in md.out


@pytest.mark.parametrize("path", ["specs/team/dev.yaml", "specs/team"])
def test_base_reads_specs_only_from_the_given_paths(path, repo, amlgen):
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: westeurope\n")
    result = amlgen("diff", "--base", "HEAD", path, "--format", "json", cwd=repo)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert [w["folder"] for w in data["workspaces"]] == ["team/dev"]
    assert data["drift"] == {"output": "out", "clean": True, "changed": [], "missing": [], "stale": []}


def test_base_where_the_spec_folder_did_not_exist_yet_shows_everything_added(repo, amlgen):
    (repo / "more").mkdir()
    (repo / "more" / "x.yaml").write_text("name: churn-x\n")
    result = amlgen("diff", "--base", "HEAD", "more", "--format", "json", cwd=repo)
    assert result.code == 0, result.err
    assert [(w["folder"], w["status"]) for w in json.loads(result.out)["workspaces"]] == [("x", "added")]


def test_base_follows_extends_to_a_base_file_outside_the_spec_folders(repo, amlgen):
    (repo / "bases").mkdir()
    (repo / "bases" / "common.yaml").write_text("base: true\ntags: {team: churn}\n")
    (repo / "specs" / "prod.yaml").write_text("extends: ../bases/common.yaml\nname: churn-prod\n"
                                              "location: westeurope\ncontainerRegistry: false\n")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "extends")
    (repo / "bases" / "common.yaml").write_text("base: true\ntags: {team: pricing}\n")  # only the base changes
    result = amlgen("diff", "--base", "HEAD", "--format", "json", cwd=repo)
    assert result.code == 0, result.err
    prod = next(w for w in json.loads(result.out)["workspaces"] if w["folder"] == "prod")
    assert prod["status"] == "changed"
    assert {(c["path"], c["old"], c["new"]) for r in prod["resources"] for c in r["changes"]} == {
        ("tags.team", "churn", "pricing")}


def test_base_with_spec_errors_names_the_ref_and_exits_1(repo, amlgen):
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: westeurope\nworkspace: {sku: Gold}\n")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "bad")
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\n")
    result = amlgen("diff", "--base", "HEAD", cwd=repo)
    assert result.code == 1
    assert result.out == ""
    assert "HEAD:specs/prod.yaml:3:" in result.err and "S104" in result.err
    assert "no diff: fix the spec errors above" in result.err


@pytest.mark.parametrize("ref, message", [
    ("no-such-branch", "amlgen: unknown git ref 'no-such-branch': check the name, or fetch it first"),
    ("--all", "amlgen: --base '--all': not a git ref"),
])
def test_base_unknown_ref_is_one_line_usage_error(ref, message, repo, amlgen):
    result = amlgen("diff", f"--base={ref}", cwd=repo)
    assert result.code == 2
    assert result.err.startswith(message) and result.err.count("\n") == 1


def test_base_outside_a_repository_is_a_usage_error(tmp_path, amlgen):
    require(shutil.which("git") is not None, "git is not installed")
    (tmp_path / "pyproject.toml").write_text('[tool.amlgen]\nspecs = ["specs"]\n')
    result = amlgen("diff", "--base", "main", cwd=tmp_path)
    assert result.code == 2
    assert "is not inside a git repository" in result.err and result.err.count("\n") == 1


def test_base_through_python_m_generator_style_subprocess(repo):
    """The real entry point in a fresh interpreter: the lazy command group loads diff, then main() runs it."""
    (repo / "specs" / "prod.yaml").write_text("name: churn-prod\nlocation: westeurope\n")
    code = ("import sys, generator.cli as c; "
            "sys.argv = ['amlgen', 'diff', '--base', 'HEAD', '--format', 'markdown']; c.main()")
    env = {k: v for k, v in os.environ.items() if k != "AMLGEN_DEBUG"}
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(report.MARKER) and "```mermaid" in done.stdout


def test_generated_trees_on_disk_equal_the_in_memory_generation(trees):
    """The golden cases compare trees written to disk; --base compares in memory: the two agree."""
    work = trees["add_registry"]
    on_disk = diff.diff_folders(work / "old", work / "new", "old", "new")
    in_memory = diff.diff_trees(tree(work / "old"), tree(work / "new"), "old", "new")
    assert report.render_json(on_disk) == report.render_json(in_memory)


# --- out/<spec>/README.md ---------------------------------------------------------------------------------------


def _readme(folder: str, **kwargs) -> str:
    template = json.loads((OUT / folder / "main.json").read_text(encoding="utf-8"))
    params = json.loads((OUT / folder / "main.parameters.json").read_text(encoding="utf-8"))
    return report.workspace_readme(template, params, f"examples/{folder}.yaml", folder, **kwargs)


@pytest.mark.parametrize("folder", sorted(p.parent.relative_to(OUT).as_posix() for p in OUT.rglob("main.json")))
def test_workspace_readme_lists_every_resource_draws_it_and_says_how_to_deploy(folder):
    text = _readme(folder)
    assert text == _readme(folder)  # deterministic
    tokens = _markdown_tokens(text)
    resources = diff.resource_list(json.loads((OUT / folder / "main.json").read_text(encoding="utf-8")), folder)
    rows = [tokens[i + 2].content for i, t in enumerate(tokens) if t.type == "tr_open"]  # first cell of each row
    assert rows[1:len(resources) + 1] == [diff.type_label(r["type"]) for r in resources]
    (block,) = [t.content for t in tokens if t.type == "fence" and t.info == "mermaid"]
    declared = {label.replace("#lt;", "<").replace("#gt;", ">").replace("#quot;", '"').replace("#amp;", "&")
                for label in re.findall(r'<br/>(.*?)"\]$', block, re.M)}
    assert {diff.display_name(r) for r in resources} <= declared
    for how in ("az deployment group create", "New-AzResourceGroupDeployment", "amlgen deploy", "Azure portal"):
        assert how in text
    assert "Deploy to Azure" not in text  # no button without a raw base URL


def test_workspace_readme_has_a_deploy_button_with_a_raw_base_url():
    text = _readme("secure", raw_base_url="https://example.com/org/repo/main/out/")
    assert ("[![Deploy to Azure](https://aka.ms/deploytoazurebutton)](https://portal.azure.com/#create/"
            "Microsoft.Template/uri/https%3A%2F%2Fexample.com%2Forg%2Frepo%2Fmain%2Fout%2Fsecure%2Fmain.json)") in text
    assert "| Storage account | `stdatalake` |" in text  # the private endpoint's target, an existing resource
    assert "private (public access disabled)" in text


def _generated_tree(spec: dict, folder: str = "dev") -> dict[str, str]:
    return {f"{folder}/{name}": text
            for name, text in pipeline.render_spec(model.build(spec, "examples/dev.yaml")).items()}


def test_a_role_assignment_given_to_another_principal_warns_that_the_old_one_keeps_access():
    base = {"name": "churn-dev", "roleAssignments": [
        {"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333", "principalType": "User"}]}
    moved = {**base, "roleAssignments": [{**base["roleAssignments"][0],
                                          "principalId": "44444444-4444-4444-4444-444444444444"}]}
    (ws,) = diff.diff_trees(_generated_tree(base), _generated_tree(moved)).workspaces
    assert [(r.status, r.type) for r in ws.resources] == [("added", "Microsoft.Authorization/roleAssignments"),
                                                         ("removed", "Microsoft.Authorization/roleAssignments")]
    assert [w.code for w in ws.warnings] == ["D005"]
    assert "the principal keeps this access" in ws.warnings[0].message


def test_moving_a_spec_to_another_resource_group_warns_and_adding_one_does_not():
    plain = {"name": "churn-dev"}
    first = {**plain, "resourceGroup": "rg-one"}
    second = {**plain, "resourceGroup": "rg-two"}
    (added,) = diff.diff_trees(_generated_tree(plain), _generated_tree(first)).workspaces
    assert [c.path for c in added.parameters] == ["resourceGroup"] and added.warnings == []
    (moved,) = diff.diff_trees(_generated_tree(first), _generated_tree(second)).workspaces
    assert [w.code for w in moved.warnings] == ["D006"]
    assert "rg-one to rg-two" in moved.warnings[0].message
