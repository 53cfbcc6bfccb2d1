"""Nothing lost, nothing written outside: output-path collisions, all-or-nothing writes that roll back on any OS
error, --prune only when every spec was read, one name per run, and no symbolic link followed below out/.

CI runs as root, where chmod does not make a write fail: the OS errors are injected by patching the calls the
writer makes (os.replace, os.write, os.mkdir), through the real `amlgen` main() in-process (conftest.run_main).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

from conftest import EXAMPLES, run_cli, tree, write_file as _write
from generator import config, pipeline
from generator.spec import load


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository with two specs (amlgen.toml: specs/ -> out/)."""
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "amlgen.toml", 'specs = ["specs"]\noutput = "out"\n')
    _write(tmp_path / "specs" / "a.yaml", "name: ws-a\n")
    _write(tmp_path / "specs" / "b.yaml", "name: ws-b\n")
    return tmp_path


def _everything(folder: Path) -> dict[str, str]:
    """Every entry below a folder, hidden ones and links included, with its kind and content."""
    found = {}
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(top, name)
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[rel] = "link -> " + os.readlink(path)
            elif path.is_dir():
                found[rel] = "folder"
            else:
                found[rel] = path.read_text(encoding="utf-8")
    return found


def _findings(text: str) -> list[tuple[str, str]]:
    return [(f["file"], f["rule"]) for f in json.loads(text)]


# --- 1a. collisions between generated paths ------------------------------------------------------------------

def test_a_file_that_is_also_a_folder_is_a_finding_on_both_specs_and_nothing_is_written(repo):
    _write(repo / "specs" / "a" / "main.json.yaml", "name: ws-c\n")  # out/a/main.json/ beside out/a/main.json
    result = run_cli("validate", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stdout + result.stderr
    assert _findings(result.stdout) == [("specs/a.yaml", "L011"), ("specs/a/main.json.yaml", "L011")]
    assert "'a/main.json' is both a file and a folder" in result.stdout
    generated = run_cli("generate", cwd=repo)
    assert generated.returncode == 1 and "nothing written" in generated.stderr
    assert "specs/a.yaml: L011 its output collides with that of specs/a/main.json.yaml" in generated.stderr
    assert not (repo / "out").exists()


def test_a_collision_only_generation_shows_is_refused_before_writing(repo):
    # cmk.yaml writes modules/private-endpoints.bicep; another spec's output folder takes that path.
    shutil.copy(EXAMPLES / "cmk.yaml", repo / "specs" / "a.yaml")
    _write(repo / "specs" / "a" / "modules" / "private-endpoints.bicep.yaml", "name: ws-c\n")
    assert run_cli("validate", cwd=repo).returncode == 0  # the module file is known only once rendered
    result = run_cli("generate", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert ("specs/a/modules/private-endpoints.bicep.yaml", "L011") in _findings(result.stdout)
    assert "'a/modules/private-endpoints.bicep' is both a file and a folder" in result.stdout
    assert not (repo / "out").exists()


def test_output_folders_that_differ_only_in_case_are_refused(repo):
    _write(repo / "specs" / "A.yaml", "name: ws-upper\n")
    if (repo / "specs" / "a.yaml").read_text() != "name: ws-a\n":
        pytest.skip("this file system ignores case: A.yaml replaced a.yaml")
    result = run_cli("generate", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("specs/A.yaml", "L011"), ("specs/a.yaml", "L011")]
    assert "'A', 'a' differ only in case" in result.stdout
    assert not (repo / "out").exists()


# --- 1b/1c. staged writes, rolled back on any OS error ---------------------------------------------------------

@pytest.fixture
def generated_repo(repo, run_main) -> tuple[Path, dict[str, str]]:
    """The repository generated once, then every spec changed and a third spec added: the next generate replaces
    files in out/a and out/b and creates out/c."""
    assert run_main("generate", cwd=repo).code == 0
    before = _everything(repo / "out")
    _write(repo / "specs" / "a.yaml", "name: ws-a\ntags: {owner: team-a}\n")
    _write(repo / "specs" / "b.yaml", "name: ws-b\ntags: {owner: team-b}\n")
    _write(repo / "specs" / "c.yaml", "name: ws-c\n")
    return repo, before


def _fail_on(monkeypatch, name: str, error: OSError, when) -> list:
    """Make os.<name> raise `error` on the calls `when(args, calls so far)` picks; the others run as usual."""
    real = getattr(os, name)
    calls = []

    def patched(*args, **kwargs):
        calls.append(args)
        if when(args, len(calls)):
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(os, name, patched)
    return calls


def _assert_unchanged(repo: Path, before: dict[str, str], result) -> None:
    assert result.code == 1, result.err
    assert _everything(repo / "out") == before  # nothing replaced, nothing new, no staged or backup file left
    lines = [line for line in result.err.splitlines() if line.startswith("amlgen:")]
    assert len(lines) == 1 and "nothing in out/ was changed" in lines[0], result.err
    assert "internal error" not in result.err and "Traceback" not in result.err


def test_a_read_only_file_met_halfway_puts_back_every_file_already_replaced(generated_repo, monkeypatch, run_main):
    repo, before = generated_repo
    # EACCES on out/b/main.json: out/a/* were replaced already, out/c/* not yet
    calls = _fail_on(monkeypatch, "replace", PermissionError(errno.EACCES, "Permission denied"),
                     lambda args, n: str(args[1]).endswith(os.path.join("b", "main.json")))
    result = run_main("generate", cwd=repo)
    _assert_unchanged(repo, before, result)
    assert "amlgen: cannot write out/b/main.json: Permission denied" in result.err
    assert any(str(a[1]).endswith(os.path.join("a", "main.json")) for a in calls)  # a's files had been replaced


def test_a_full_disk_while_staging_leaves_no_file_and_no_new_folder(generated_repo, monkeypatch, run_main):
    repo, before = generated_repo
    _fail_on(monkeypatch, "write", OSError(errno.ENOSPC, "No space left on device"), lambda args, n: n == 8)
    result = run_main("generate", cwd=repo)
    _assert_unchanged(repo, before, result)
    assert "No space left on device" in result.err
    assert not (repo / "out" / "c").exists()


def test_a_name_taken_while_creating_a_folder_is_one_line_and_exit_1(generated_repo, monkeypatch, run_main):
    repo, before = generated_repo
    _fail_on(monkeypatch, "mkdir", FileExistsError(errno.EEXIST, "File exists"),
             lambda args, n: Path(args[0]).name == "c")
    result = run_main("generate", cwd=repo)
    _assert_unchanged(repo, before, result)
    assert "File exists" in result.err


def test_without_hard_links_the_old_files_are_put_back_from_memory(generated_repo, monkeypatch, run_main):
    repo, before = generated_repo
    _fail_on(monkeypatch, "link", PermissionError(errno.EPERM, "Operation not permitted"), lambda args, n: True)
    _fail_on(monkeypatch, "replace", OSError(errno.EIO, "Input/output error"),
             lambda args, n: str(args[1]).endswith(os.path.join("b", "main.json")))
    result = run_main("generate", cwd=repo)
    _assert_unchanged(repo, before, result)
    assert "cannot write out/b/main.json: Input/output error" in result.err


def test_a_failed_delete_while_pruning_puts_back_what_was_deleted(generated_repo, monkeypatch, run_main):
    repo, _ = generated_repo
    for name in ("a.yaml", "b.yaml", "c.yaml"):
        (repo / "specs" / name).unlink()
    _write(repo / "specs" / "d.yaml", "name: ws-d\n")
    before = _everything(repo / "out")
    _fail_on(monkeypatch, "unlink", PermissionError(errno.EACCES, "Permission denied"),
             lambda args, n: str(args[0]).endswith(os.path.join("b", "main.bicep")))
    result = run_main("generate", "--prune", cwd=repo)
    _assert_unchanged(repo, before, result)
    assert "amlgen: cannot delete out/b/main.bicep: Permission denied" in result.err


def test_an_interrupted_write_is_rolled_back_too(generated_repo, monkeypatch, run_main):
    repo, before = generated_repo
    _fail_on(monkeypatch, "replace", KeyboardInterrupt(), lambda args, n: n == 7)
    result = run_main("generate", cwd=repo)
    assert result.code == 130, result.err
    assert _everything(repo / "out") == before


def test_a_file_where_a_folder_must_be_is_a_finding_before_anything_is_written(generated_repo, run_main):
    repo, before = generated_repo
    _write(repo / "out" / "c", "not a folder\n")
    shutil.rmtree(repo / "out" / "b")
    (repo / "out" / "b" / "main.json").mkdir(parents=True)  # a folder where a generated file goes
    before = _everything(repo / "out")
    result = run_main("generate", "--format", "json", cwd=repo)
    assert result.code == 1, result.err
    assert _findings(result.out) == [("out/b/main.json", "L013"), ("out/c", "L013")]
    assert _everything(repo / "out") == before


# --- 2. --prune never runs when a spec was not read --------------------------------------------------------------

@pytest.fixture
def two_generated(repo) -> Path:
    assert run_cli("generate", cwd=repo).returncode == 0
    return repo


def _syntax_error(repo, monkeypatch):
    _write(repo / "specs" / "b.yaml", "name: [ws-b\n")


def _read_error(repo, monkeypatch):
    real = os.open  # every spec is read through generator.readfile.read_regular, which opens with os.open

    def unreadable(path, *args, **kwargs):
        if Path(path).name == "b.yaml":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", unreadable)


def _skipped_silently(repo, monkeypatch):  # as an unreadable spec in a folder once was
    real = config.discover

    def skips_b(targets, cfg):
        files, empty = real(targets, cfg)
        return [f for f in files if f.path.name != "b.yaml"], empty

    monkeypatch.setattr(config, "discover", skips_b)


@pytest.mark.parametrize("break_b, says", [
    (_syntax_error, "specs/b.yaml:1:7: L001"),
    (_read_error, "specs/b.yaml: L006 cannot read the file: permission denied"),
    (_skipped_silently, "specs/b.yaml: this spec file was not read in this run"),
])
def test_prune_keeps_the_output_of_a_spec_that_was_not_read(two_generated, monkeypatch, run_main, break_b, says):
    repo = two_generated
    (repo / "specs" / "a.yaml").unlink()  # out/a is stale: a clean run would prune it
    before = tree(repo / "out")
    break_b(repo, monkeypatch)
    result = run_main("generate", "--prune", cwd=repo)
    assert result.code == 1, result.err
    assert says in result.err, result.err
    assert tree(repo / "out") == before


def test_prune_still_deletes_the_output_of_a_spec_that_became_a_base(two_generated):
    repo = two_generated
    _write(repo / "specs" / "b.yaml", "base: true\nname: ws-b\n")
    result = run_cli("generate", "--prune", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "deleted out/b/main.json" in result.stderr
    assert not (repo / "out" / "b").exists() and (repo / "out" / "a" / "main.json").is_file()


# --- 3. one name per run -------------------------------------------------------------------------------------

def test_two_specs_with_one_name_in_other_case_are_refused_on_both(repo):
    _write(repo / "specs" / "b.yaml", "name: WS-A\n")
    result = run_cli("generate", "--format", "json", cwd=repo)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)  # a machine format is stdout alone
    assert [(f["file"], f["rule"], f["line"], f["column"]) for f in found] == [
        ("specs/a.yaml", "L012", 1, 7), ("specs/b.yaml", "L012", 1, 7)]
    assert "deploy as 'amlgen-ws-a'" in found[0]["message"]
    assert not (repo / "out").exists()


def test_two_specs_with_one_name_and_different_name_seeds_are_fine(repo):
    _write(repo / "specs" / "a.yaml", "name: wsx\nnameSeed: contoso\n")
    _write(repo / "specs" / "b.yaml", "name: wsx\nnameSeed: fabrikam\n")
    assert run_cli("validate", cwd=repo).returncode == 0


def test_a_base_shares_its_name_with_the_specs_that_extend_it(repo):
    _write(repo / "specs" / "base.yaml", "base: true\nname: ws-a\n")
    _write(repo / "specs" / "a.yaml", "extends: base.yaml\ntags: {env: dev}\n")
    _write(repo / "specs" / "b.yaml", "extends: base.yaml\nname: ws-b\n")
    result = run_cli("validate", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_name_two_specs_inherit_from_one_base_is_refused_on_both_specs(repo):
    _write(repo / "specs" / "base.yaml", "base: true\nname: ws-a\n")
    _write(repo / "specs" / "a.yaml", "extends: base.yaml\n")
    _write(repo / "specs" / "b.yaml", "extends: base.yaml\n")
    result = run_cli("validate", "--format", "json", cwd=repo)
    assert result.returncode == 1
    found = json.loads(result.stdout)
    assert [(f["file"], f["rule"]) for f in found] == [("specs/a.yaml", "L012"), ("specs/b.yaml", "L012")]
    assert "(set in specs/base.yaml)" in found[0]["message"]


def test_specs_adding_to_an_existing_workspace_clash_on_the_name_whatever_their_seeds(tmp_path):
    ws = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/" \
         "Microsoft.MachineLearningServices/workspaces/shared"
    checked = []
    for name, seed in (("a", "one"), ("b", "two")):
        doc, _ = load.parse_text(f"name: add-computes\nnameSeed: {seed}\nworkspace:\n  existing: {ws}\n", f"{name}.yaml")
        checked.append(pipeline.Checked(config.SpecFile(tmp_path / f"{name}.yaml", tmp_path), doc, None))
    assert [(f.file, f.rule) for f in pipeline.check_names(checked)] == [("a.yaml", "L012"), ("b.yaml", "L012")]


# --- 4. symbolic links below out/ ------------------------------------------------------------------------------

@pytest.fixture
def outside(tmp_path) -> Path:
    folder = tmp_path / "outside"
    _write(folder / "main.json", "SECRET outside the repository\n")
    return folder


def test_a_symlinked_output_folder_is_a_finding_and_nothing_is_written_through_it(repo, outside):
    (repo / "out").mkdir()
    (repo / "out" / "a").symlink_to(outside, target_is_directory=True)
    before = _everything(outside)
    for args in (("generate",), ("generate", "--check"), ("generate", "--prune")):
        result = run_cli(*args, cwd=repo)
        assert result.returncode == 1, result.stderr
        assert "out/a: L013 is a symbolic link" in result.stderr, result.stderr
        assert "SECRET" not in result.stdout + result.stderr
        assert _everything(outside) == before
        assert _everything(repo / "out") == {"a": f"link -> {outside}"}


def test_a_symlinked_output_file_is_a_finding_and_its_target_is_untouched(repo, outside):
    assert run_cli("generate", cwd=repo).returncode == 0
    (repo / "out" / "a" / "main.json").unlink()
    (repo / "out" / "a" / "main.json").symlink_to(outside / "main.json")
    result = run_cli("generate", cwd=repo)
    assert result.returncode == 1
    assert "out/a/main.json: L013 is a symbolic link" in result.stderr
    assert (outside / "main.json").read_text() == "SECRET outside the repository\n"
    assert (repo / "out" / "a" / "main.json").is_symlink()


def test_prune_and_check_do_not_follow_a_symlinked_folder_of_generated_files(repo, outside):
    assert run_cli("generate", cwd=repo).returncode == 0
    shutil.copytree(repo / "out" / "b", outside / "b")  # looks generated: its main.json says so
    (repo / "out" / "old").symlink_to(outside / "b", target_is_directory=True)
    before = _everything(outside)
    check = run_cli("generate", "--check", cwd=repo)
    assert check.returncode == 0, check.stdout + check.stderr  # nothing behind the link counts as stale
    result = run_cli("generate", "--prune", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert "deleted" not in result.stderr
    assert _everything(outside) == before
