"""amlgen diff against hostile input: crafted git trees for --base, malformed generated files for OLD NEW.

Everything goes through the real CLI (main() in-process); each case must end in one line naming the file or the
tree entry, with the documented exit code, never a traceback, and nothing written outside amlgen's own temp folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import require
from generator import config, output, pipeline


def _git(repo: Path, *args: str, data: bytes | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, input=data)
    return done.stdout.decode().strip()


@pytest.fixture
def repo(tmp_path):
    require(shutil.which("git") is not None, "git is not installed")
    root = tmp_path / "repo"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[tool.amlgen]\nspecs = ["specs"]\noutput = "out"\n')
    (root / "specs" / "dev.yaml").write_text("name: churn-dev\nlocation: westeurope\n")
    _git(root, "init", "-q", "-b", "main")
    cfg, targets = config.resolve((), None, cwd=root)
    output.write_all(pipeline.generate(config.discover(targets, cfg)[0]).files, root / "out")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
    return root


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
    assert [w["folder"] for w in json.loads(result.out)["workspaces"]] == ["dev"]
