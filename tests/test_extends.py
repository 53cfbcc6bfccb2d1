"""Environments: `extends` merges a spec over its bases, findings name the file that wrote the value, and a
`base: true` file is checked through the specs that extend it but generates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, run_cli, tree
from generator import pipeline
from generator.config import SpecFile
from generator.spec.extends import MAX_DEPTH, merge


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A folder of specs that is also the current folder, so findings name files as `base.yaml`."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _validate(folder: Path, *names: str) -> pipeline.Result:
    return pipeline.validate([SpecFile((folder / n).resolve(), folder.resolve()) for n in names])


def _found(result: pipeline.Result) -> list[tuple]:
    return sorted((f.file, f.line, f.column, f.rule, f.path) for f in result.findings)


def _merged(result: pipeline.Result, name: str) -> dict:
    (item,) = [c for c in result.checked + result.bases if c.spec_file.path.name == name]
    return item.document.data


BASE = """\
base: true
tags:
  team: data-science
  environment: dev
  autoShutdown: "true"
workspace:
  friendlyName: Churn
  description: Churn models.
  managedNetwork:
    isolationMode: AllowOnlyApprovedOutbound
    outboundRules:
      pypi: {type: FQDN, destination: pypi.org}
keyVault:
  sku: standard
roleAssignments:
  - {role: Reader, principalId: 33333333-3333-3333-3333-333333333333, principalType: Group}
  - {role: Contributor, principalId: 44444444-4444-4444-4444-444444444444, principalType: Group}
"""


# --- merge semantics ---------------------------------------------------------------------------------------------


def test_mappings_merge_deeply_and_the_overlay_wins():
    base = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": 4}
    overlay = {"a": {"c": {"d": 20}, "g": 5}}
    assert merge(base, overlay) == {"a": {"c": {"d": 20, "e": 3}, "g": 5, "b": 1}, "f": 4}
    assert base == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": 4}  # the inputs are not changed


def test_lists_are_replaced_whole_not_merged_by_index():
    assert merge({"l": [1, 2, 3], "k": 1}, {"l": [9]}) == {"l": [9], "k": 1}


def test_an_explicit_null_in_the_overlay_removes_the_key():
    assert merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": None}, "d": None, "x": None}) == {"a": {"c": 2}}


def test_a_value_of_another_kind_replaces_the_base_value():
    assert merge({"a": {"b": 1}}, {"a": False}) == {"a": False}
    assert merge({"a": False}, {"a": {"b": 1, "c": None}}) == {"a": {"b": 1}}


def test_spec_over_a_base_merges_tags_key_by_key_replaces_lists_and_removes_nulls(here):
    _write(here, "base.yaml", BASE)
    _write(here, "prod.yaml", """\
extends: base.yaml
name: churn-prod
tags:
  environment: prod
  autoShutdown: null
workspace:
  description: null
  managedNetwork:
    outboundRules:
      cran: {type: FQDN, destination: cloud.r-project.org}
keyVault:
  sku: premium
roleAssignments:
  - {role: Reader, principalId: 55555555-5555-5555-5555-555555555555, principalType: User}
""")
    result = _validate(here, "base.yaml", "prod.yaml")
    # the only finding: the managed network closes the registry, and nothing is set to build images on it
    assert [(f.rule, f.severity) for f in result.findings] == [("R208", "warning")]
    data = _merged(result, "prod.yaml")
    assert data["tags"] == {"environment": "prod", "team": "data-science"}
    assert data["workspace"] == {
        "managedNetwork": {"outboundRules": {"cran": {"type": "FQDN", "destination": "cloud.r-project.org"},
                                             "pypi": {"type": "FQDN", "destination": "pypi.org"}},
                           "isolationMode": "AllowOnlyApprovedOutbound"},
        "friendlyName": "Churn"}
    assert data["keyVault"] == {"sku": "premium"}
    assert data["roleAssignments"] == [
        {"role": "Reader", "principalId": "55555555-5555-5555-5555-555555555555", "principalType": "User"}]
    assert "extends" not in data and "base" not in data
    # The model is built from the merge: it is what gets generated.
    (prod,) = result.checked
    assert prod.spec is not None and prod.spec.name == "churn-prod"


def test_a_chain_of_two_bases_merges_in_order_and_locates_each_value_in_its_file(here):
    _write(here, "common/root.yaml", "base: true\ntags:\n  a: root\n  b: root\n  c: root\nkeyVault:\n  sku: standard\n")
    _write(here, "common/team.yaml", "base: true\nextends: root.yaml\ntags:\n  b: team\n  c: team\n")
    _write(here, "envs/prod.yaml", "extends: ../common/team.yaml\nname: churn-prod\ntags:\n  c: prod\n")
    result = _validate(here, "envs/prod.yaml")
    assert result.findings == []
    (prod,) = result.checked
    doc = prod.document
    assert doc.data["tags"] == {"c": "prod", "b": "team", "a": "root"}
    assert doc.chain == ("common/team.yaml", "common/root.yaml")
    assert doc.where(("tags", "c")) == ("envs/prod.yaml", 4, 6)
    assert doc.where(("tags", "b")) == ("common/team.yaml", 4, 6)
    assert doc.where(("tags", "a")) == ("common/root.yaml", 3, 6)
    assert doc.where(("tags", "a"), key=True) == ("common/root.yaml", 3, 3)
    assert doc.where(("keyVault", "sku")) == ("common/root.yaml", 7, 8)
    assert doc.where(("keyVault", "name")) == ("common/root.yaml", 7, 3)  # unwritten: its nearest written parent
    assert doc.where(("name",)) == ("envs/prod.yaml", 2, 7)


# --- findings in the file that wrote the value -------------------------------------------------------------------


def test_a_schema_finding_about_a_base_value_names_the_base_file_and_line(here):
    _write(here, "base.yaml", "base: true\ntags:\n  team: ds\nkeyVault:\n  sku: gold\nworkspace:\n  frendlyName: x\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    result = _validate(here, "prod.yaml")
    assert _found(result) == [("base.yaml", 5, 8, "S104", "keyVault.sku"),
                              ("base.yaml", 7, 3, "S101", "workspace.frendlyName")]
    assert "did you mean 'friendlyName'" in [f for f in result.findings if f.rule == "S101"][0].message
    assert result.checked[0].spec is None


def test_a_rule_finding_about_a_base_value_names_the_base_file_and_line(here):
    _write(here, "base.yaml", "base: true\nkeyVault:\n  name: kv--churn-dev\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    assert _found(_validate(here, "prod.yaml")) == [("base.yaml", 3, 9, "R201", "keyVault.name")]


def test_an_overlay_value_that_replaces_a_base_value_is_located_in_the_overlay(here):
    _write(here, "base.yaml", "base: true\nkeyVault:\n  sku: standard\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\nkeyVault:\n  sku: Gold\n")
    assert _found(_validate(here, "prod.yaml")) == [("prod.yaml", 4, 8, "S104", "keyVault.sku")]


def test_a_duplicate_key_in_a_base_is_reported_in_the_base(here):
    _write(here, "base.yaml", "base: true\ntags:\n  team: a\n  team: b\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    assert _found(_validate(here, "prod.yaml")) == [("base.yaml", 4, 3, "L002", "tags.team")]


def test_a_base_shared_by_two_specs_reports_its_finding_once(here):
    _write(here, "base.yaml", "base: true\nkeyVault:\n  sku: gold\n  colour: blue\n")
    _write(here, "dev.yaml", "name: churn-dev\nextends: base.yaml\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    result = _validate(here, "base.yaml", "dev.yaml", "prod.yaml")
    assert _found(result) == [("base.yaml", 3, 8, "S104", "keyVault.sku"),
                              ("base.yaml", 4, 3, "S101", "keyVault.colour")]


def test_a_base_on_its_own_is_checked_only_for_unknown_keys(here):
    # No name (S103) and a wrong SKU are for the specs that extend it to report; an unknown key is wrong anywhere.
    _write(here, "base.yaml", "base: true\nkeyVault:\n  sku: gold\nstorage:\n  skew: Standard_LRS\n")
    result = _validate(here, "base.yaml")
    assert _found(result) == [("base.yaml", 5, 3, "S101", "storage.skew")]
    assert result.checked == [] and [b.spec_file.path.name for b in result.bases] == ["base.yaml"]


def test_a_missing_base_is_reported_at_the_extends_line(here):
    _write(here, "prod.yaml", "name: churn-prod\ntags:\n  team: ds\nextends: bases/nowhere.yaml\n")
    result = _validate(here, "prod.yaml")
    assert _found(result) == [("prod.yaml", 4, 10, "L008", "extends")]
    assert "bases/nowhere.yaml" in result.findings[0].message
    assert result.checked[0].document is None and result.checked[0].spec is None


def test_a_base_that_is_not_yaml_is_reported_in_the_base_and_at_the_link(here):
    _write(here, "base.yaml", "tags: [unclosed\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    got = [(f, line, rule) for f, line, _, rule, _ in _found(_validate(here, "prod.yaml"))]
    assert got == [("base.yaml", 1, "L001"), ("prod.yaml", 2, "L008")]


def test_a_cycle_is_refused_where_the_chain_comes_back(here):
    _write(here, "a.yaml", "name: churn-a\nextends: b.yaml\n")
    _write(here, "b.yaml", "base: true\ntags:\n  team: ds\nextends: ./a.yaml\n")
    result = _validate(here, "a.yaml")
    assert _found(result) == [("b.yaml", 4, 10, "L009", "extends")]
    assert "a.yaml -> b.yaml -> a.yaml" in result.findings[0].message


def test_a_chain_deeper_than_the_limit_is_refused(here):
    _write(here, "spec.yaml", "name: churn-deep\nextends: b1.yaml\n")
    for i in range(1, MAX_DEPTH + 2):
        _write(here, f"b{i}.yaml", f"base: true\ntags:\n  level{i}: x\nextends: b{i + 1}.yaml\n")
    _write(here, f"b{MAX_DEPTH + 1}.yaml", "base: true\ntags:\n  last: x\n")
    result = _validate(here, "spec.yaml")
    assert _found(result) == [(f"b{MAX_DEPTH}.yaml", 4, 10, "L010", "extends")]
    # the limit itself is allowed
    _write(here, f"b{MAX_DEPTH}.yaml", "base: true\ntags:\n  last: x\n")
    assert _validate(here, "spec.yaml").findings == []


def test_extends_of_the_wrong_type_is_a_schema_finding_and_nothing_is_followed(here):
    _write(here, "prod.yaml", "name: churn-prod\nextends: [a.yaml, b.yaml]\n")
    assert _found(_validate(here, "prod.yaml")) == [("prod.yaml", 2, 10, "S102", "extends")]


def test_base_is_not_inherited(here):
    # A spec over a base is deployable: `base: true` describes the file it is written in.
    _write(here, "base.yaml", "base: true\ntags:\n  team: ds\n")
    _write(here, "prod.yaml", "name: churn-prod\nextends: base.yaml\n")
    result = _validate(here, "base.yaml", "prod.yaml")
    assert [c.spec_file.path.name for c in result.checked] == ["prod.yaml"]
    assert [c.spec_file.path.name for c in result.bases] == ["base.yaml"]


# --- through the command line ------------------------------------------------------------------------------------


def test_validate_show_merged_prints_the_merge_with_the_file_of_each_key(here):
    _write(here, "base.yaml", BASE)
    _write(here, "prod.yaml", "extends: base.yaml\nname: churn-prod\ntags:\n  environment: prod\n")
    result = run_cli("validate", "--show-merged", "prod.yaml", cwd=here)
    assert result.returncode == 0, result.stderr
    merged = yaml.safe_load(result.stdout)
    assert merged["name"] == "churn-prod" and "extends" not in merged and "base" not in merged
    assert merged["tags"] == {"environment": "prod", "team": "data-science", "autoShutdown": "true"}
    assert merged["roleAssignments"][1]["role"] == "Contributor"
    lines = result.stdout.splitlines()
    assert lines[:2] == ["# prod.yaml", "#   extends base.yaml"]
    assert lines[lines.index("name: churn-prod") - 1] == "# from prod.yaml"
    assert lines[lines.index("tags:") - 1] == "# from prod.yaml, base.yaml"
    assert lines[lines.index("keyVault:") - 1] == "# from base.yaml"


def test_validate_show_merged_exits_1_with_findings_on_stderr_and_the_merge_on_stdout(here):
    _write(here, "base.yaml", "base: true\nkeyVault:\n  sku: gold\n")
    _write(here, "prod.yaml", "extends: base.yaml\nname: churn-prod\n")
    result = run_cli("validate", "--show-merged", "prod.yaml", "--format", "json", cwd=here)
    assert result.returncode == 1, result.stderr
    assert yaml.safe_load(result.stdout) == {"name": "churn-prod", "keyVault": {"sku": "gold"}}
    (finding,) = json.loads(result.stderr)
    assert (finding["file"], finding["line"], finding["rule"]) == ("base.yaml", 3, "S104")


def test_show_merged_of_the_example_names_both_files():
    result = run_cli("validate", "--show-merged", "examples/env-prod.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# examples/env-prod.yaml\n#   extends examples/env-base.yaml\n")
    merged = yaml.safe_load(result.stdout)
    assert merged["tags"]["environment"] == "prod" and "autoShutdown" not in merged["tags"]
    assert set(merged["workspace"]["managedNetwork"]["outboundRules"]) == {"cran", "pypi", "pythonhosted"}


def test_a_base_generates_no_folder_and_is_not_reported_stale(here):
    _write(here, "specs/base.yaml", BASE)
    _write(here, "specs/prod.yaml", "extends: base.yaml\nname: churn-prod\n")
    made = run_cli("generate", "specs", "-o", "out", cwd=here)
    assert made.returncode == 0, made.stderr
    assert sorted({rel.split("/")[0] for rel in tree(here / "out")}) == ["prod"]
    assert "1 spec(s)" in made.stderr
    check = run_cli("generate", "specs", "-o", "out", "--check", cwd=here)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == ""
    alone = run_cli("generate", "specs/base.yaml", "-o", "out", "--check", cwd=here)
    assert alone.returncode == 0 and alone.stdout == "", alone.stdout + alone.stderr


def test_the_example_base_has_no_output_folder(generated):
    assert (EXAMPLES / "env-base.yaml").is_file()
    assert not (generated / "env-base").exists()
    assert (generated / "env-prod" / "main.json").is_file()
