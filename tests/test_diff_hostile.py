"""amlgen diff against hostile input: crafted git trees for --base, malformed generated files for OLD NEW.

Everything goes through the real CLI (main() in-process); each case must end in one line naming the file or the
tree entry, with the documented exit code, never a traceback, and nothing written outside amlgen's own temp folder.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from test_diff import repo  # noqa: F401 - a committed repository: specs/team/dev.yaml and specs/prod.yaml


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, input=data)
    return done.stdout.decode().strip()


def _raw_tree(repo: Path, entries: list[tuple[str, bytes, str]]) -> str:
    """A tree object written byte for byte (`git hash-object --literally`): names git mktree would refuse."""
    body = b"".join(mode.encode() + b" " + name + b"\0" + bytes.fromhex(oid) for mode, name, oid in entries)
    return _git(repo, "hash-object", "-t", "tree", "-w", "--literally", "--stdin", data=body)


def _crafted_commit(repo: Path, hostile: list[tuple[str, bytes, str]]) -> str:
    """HEAD's tree plus `hostile` entries at its top, committed on no branch."""
    head_tree = _git(repo, "rev-parse", "HEAD^{tree}")
    entries = []
    for line in _git(repo, "ls-tree", head_tree).splitlines():
        meta, name = line.split("\t", 1)
        mode, _, oid = meta.split()
        entries.append((mode if mode != "040000" else "40000", name.encode(), oid))
    tree = _raw_tree(repo, sorted(entries + hostile, key=lambda e: e[1]))
    return _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit-tree", tree, "-m", "crafted")


def _files_below(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


@pytest.mark.parametrize("kind", ["dotdot-folder", "dotdot-name", "absolute", "dot", "backslash"])
def test_base_refuses_a_tree_entry_that_leaves_the_folder_and_writes_nothing_outside(kind, repo, tmp_path,
                                                                                      run_main, monkeypatch):
    temp = tmp_path / "temp"  # amlgen's temporary folder lands in here: an escape would land beside it
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    escape = tmp_path / "escaped.yaml"
    blob = _git(repo, "hash-object", "-w", "--stdin", data=b"name: churn-evil\n")
    if kind == "dotdot-folder":  # git mktree accepts a folder named '..'
        inner = _raw_tree(repo, [("100644", b"escaped.yaml", blob)])
        hostile = [("40000", b"..", inner)]
    elif kind == "dotdot-name":
        hostile = [("100644", b"../escaped.yaml", blob)]
    elif kind == "absolute":
        hostile = [("100644", str(escape).encode(), blob)]
    elif kind == "dot":
        inner = _raw_tree(repo, [("100644", b"x.yaml", blob)])
        hostile = [("40000", b".", inner)]
    else:
        hostile = [("100644", b"..\\escaped.yaml", blob)]
    commit = _crafted_commit(repo, hostile)
    before = _files_below(tmp_path)

    result = run_main("diff", "--base", commit, cwd=repo)

    assert result.code == 1, result.err
    assert result.out == ""
    assert result.err.startswith(f"amlgen: {commit}:") and result.err.count("\n") == 1, result.err
    assert "names a path that leaves the repository" in result.err
    assert "Traceback" not in result.err
    assert not escape.exists()
    assert _files_below(tmp_path) - before == set(), "diff --base wrote outside its temporary folder"
    assert list(temp.iterdir()) == []  # and cleaned up its own


def test_base_refuses_a_tree_naming_one_path_twice(repo, run_main):
    blob = _git(repo, "hash-object", "-w", "--stdin", data=b"name: churn-twice\n")
    commit = _crafted_commit(repo, [("100644", b"twice.yaml", blob), ("100644", b"twice.yaml", blob)])
    result = run_main("diff", "--base", commit, cwd=repo)
    assert result.code == 1
    assert result.err.startswith(f"amlgen: {commit}:'twice.yaml': cannot read the specs at {commit}")
    assert result.err.count("\n") == 1


def test_base_still_reads_an_ordinary_crafted_tree(repo, run_main):
    """The check refuses only unsafe names: a tree built the same way with a normal name is diffed."""
    blob = _git(repo, "hash-object", "-w", "--stdin", data=b"name: churn-more\n")
    commit = _crafted_commit(repo, [("100644", b"more.yaml", blob)])
    result = run_main("diff", "--base", commit, "--format", "json", cwd=repo)
    assert result.code == 0, result.err
    assert [w["folder"] for w in json.loads(result.out)["workspaces"]] == ["prod", "team/dev"]


# -- amlgen diff OLD NEW: generated files that are not what amlgen writes ---------------------------------------

GOOD = {"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0", "resources": [
            {"type": "Microsoft.MachineLearningServices/workspaces", "name": "mlw", "apiVersion": "2024-10-01",
             "properties": {"friendlyName": "x"}}]}


def _deep(levels: int) -> str:
    return '{"resources": ' + "[" * levels + "]" * levels + "}"


def _with_resource(**fields) -> str:
    return json.dumps({**GOOD, "resources": [{**GOOD["resources"][0], **fields}]})


MALFORMED = {
    "top level an array": ("main.json", "[1, 2]", "new/ws/main.json: not an ARM template or parameters file"),
    "top level a string": ("main.json", '"x"', "new/ws/main.json: not an ARM template or parameters file"),
    "resources an object": ("main.json", json.dumps({"resources": {"a": 1}}),
                            "new/ws/main.json: resources is an object, not an array"),
    "resources a string": ("main.json", json.dumps({"resources": "x"}),
                           "new/ws/main.json: resources is a string, not an array"),
    "resource a number": ("main.json", json.dumps({"resources": [3]}),
                          "new/ws/main.json: resources[0] is a number, not an object"),
    "type a list": ("main.json", _with_resource(type=["Microsoft.Storage/storageAccounts"]),
                    "new/ws/main.json: resources[0].type is an array, not a string"),
    "type null": ("main.json", _with_resource(type=None), "new/ws/main.json: resources[0].type is null, not a string"),
    "name a number": ("main.json", _with_resource(name=7), "new/ws/main.json: resources[0].name is a number"),
    "name an object": ("main.json", _with_resource(name={"a": "b"}), "resources[0].name is an object"),
    "no type": ("main.json", json.dumps({"resources": [{"name": "x"}]}), "resources[0] has no type"),
    "properties a list": ("main.json", _with_resource(properties=[1]), "resources[0].properties is an array"),
    "properties a string": ("main.json", _with_resource(properties="p"), "resources[0].properties is a string"),
    "parameters a list": ("main.json", json.dumps({**GOOD, "parameters": [1]}), "new/ws/main.json: parameters is an "
                                                                                "array, not an object"),
    "outputs a string": ("main.json", json.dumps({**GOOD, "outputs": "o"}), "outputs is a string"),
    "nested template a list": ("main.json", json.dumps({"resources": [
        {"type": "Microsoft.Resources/deployments", "name": "d", "properties": {"template": [1]}}]}),
        "resources[0].properties.template is an array"),
    "nested resource type a number": ("main.json", json.dumps({"resources": [
        {"type": "Microsoft.Resources/deployments", "name": "d", "properties": {"template": {
            "resources": [{"type": 1, "name": "x"}]}}}]}),
        "resources[0].properties.template.resources[0].type is a number"),
    "100k deep": ("main.json", _deep(100_000), "new/ws/main.json: nested more than 64 levels deep"),
    "deep below the decoder's limit": ("main.json", _deep(900), "new/ws/main.json: nested more than 64 levels deep"),
    "deep property": ("main.json", _with_resource(properties=json.loads('{"a":' * 200 + "1" + "}" * 200)),
                      "nested more than 64 levels deep"),
    "parameters file a list": ("main.parameters.json", "[]", "new/ws/main.parameters.json: not an ARM template or "
                                                             "parameters file"),
    "parameters file parameters a list": ("main.parameters.json", json.dumps({"parameters": ["location"]}),
                                          "new/ws/main.parameters.json: parameters is an array, not an object"),
    "subscription resources an object": ("subscription.json", json.dumps({"resources": {"rg": 1}}),
                                         "new/ws/subscription.json: resources is an object"),
    "subscription name a list": ("subscription.json", json.dumps({"resources": [
        {"type": "Microsoft.Resources/resourceGroups", "name": ["rg"]}]}), "new/ws/subscription.json: resources[0]."
                                                                            "name is an array"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_generated_file_is_one_line_naming_it(case, tmp_path, run_main):
    name, text, message = MALFORMED[case]
    for side in ("old", "new"):
        (tmp_path / side / "ws").mkdir(parents=True)
        (tmp_path / side / "ws" / "main.json").write_text(json.dumps(GOOD))
    (tmp_path / "new" / "ws" / name).write_text(text)
    result = run_main("diff", "old", "new", cwd=tmp_path)
    assert result.code == 2, result.err
    assert result.out == ""
    assert result.err.startswith("amlgen: ") and result.err.count("\n") == 1, result.err
    assert message in result.err
    assert "Traceback" not in result.err and "This is a bug" not in result.err


def test_the_malformed_cases_differ_from_a_good_file_only_where_they_say(tmp_path, run_main):
    """The same two folders with the good file on both sides are diffed (exit 0): the cases above fail for the
    malformed file, not for the setup."""
    for side in ("old", "new"):
        (tmp_path / side / "ws").mkdir(parents=True)
        (tmp_path / side / "ws" / "main.json").write_text(json.dumps(GOOD))
    (tmp_path / "new" / "ws" / "main.json").write_text(_with_resource(properties={"friendlyName": "y"}))
    result = run_main("diff", "old", "new", cwd=tmp_path)
    assert result.code == 0, result.err
    assert "properties.friendlyName" in result.out
