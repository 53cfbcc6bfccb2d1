"""Reading what people give amlgen, hardened (issue 10): every spec a folder holds is read or reported, only
regular files are opened (a FIFO must not hang validate), symbolic link loops are findings, extends: and the
configured folders stay inside the project, schema patterns are matched as JSON Schema means them, control
characters stay out of names and IDs, and a huge value is not echoed whole. Each class runs through the real CLI."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import EXAMPLES, run_cli
from generator import pipeline, readfile
from generator.config import SpecFile
from generator.spec.extends import is_base
from generator.spec.schema import FREE_TEXT, _ecma_pattern

GOOD = "name: {name}\nlocation: westeurope\n"
FIFO_TIMEOUT = 30  # seconds: a read that blocks on a FIFO fails the test instead of hanging the suite


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """A project with a configuration, two specs in specs/ and nothing above it to find."""
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "amlgen.toml", 'specs = ["specs"]\noutput = "out"\n')
    _write(tmp_path / "specs" / "a.yaml", GOOD.format(name="churn-a"))
    _write(tmp_path / "specs" / "b.yaml", GOOD.format(name="churn-b"))
    return tmp_path


def _findings(stdout: str) -> list[tuple]:
    return [(f["file"], f["line"], f["column"], f["rule"]) for f in json.loads(stdout)]


def _refuse_open(monkeypatch, victim: Path, code: int = errno.EACCES) -> None:
    """os.open fails for one file, as chmod 000 would for a user who is not root (CI runs as root)."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if Path(path).name == victim.name and Path(path).resolve() == victim.resolve():
            raise PermissionError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(readfile.os, "open", fake_open)


# --- 1. an unreadable spec inside a spec folder is never skipped ---------------------------------------------------


def test_an_unreadable_spec_in_a_folder_is_a_finding_and_validate_does_not_say_valid(project, monkeypatch, run_main):
    _refuse_open(monkeypatch, project / "specs" / "b.yaml")
    result = run_main("validate", cwd=project)
    assert result.code == 1, result.out + result.err
    assert result.out.splitlines() == ["specs/b.yaml: L006 cannot read the file: permission denied; make it readable "
                                       "(chmod a+r)"]
    assert "valid" not in result.err and "Traceback" not in result.err


def test_generate_prune_deletes_nothing_when_a_spec_cannot_be_read(project, monkeypatch, run_main):
    assert run_main("generate", cwd=project).code == 0
    before = sorted(p.relative_to(project).as_posix() for p in (project / "out").rglob("*") if p.is_file())
    assert "out/b/main.json" in before
    _refuse_open(monkeypatch, project / "specs" / "b.yaml")
    result = run_main("generate", "--prune", cwd=project)
    assert result.code == 1, result.err
    assert "specs/b.yaml: L006" in result.err and "deleted" not in result.err
    after = sorted(p.relative_to(project).as_posix() for p in (project / "out").rglob("*") if p.is_file())
    assert after == before


def test_a_folder_that_cannot_be_listed_is_a_finding(project, monkeypatch, run_main):
    _write(project / "specs" / "team" / "c.yaml", GOOD.format(name="churn-c"))
    real_scandir = os.scandir

    def fake_scandir(path="."):
        if Path(path).name == "team":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("generator.config.os.scandir", fake_scandir)
    result = run_main("validate", "--format", "json", cwd=project)
    assert result.code == 1, result.err
    found = json.loads(result.out)
    assert [(f["file"], f["rule"]) for f in found] == [("specs/team", "L021")]
    assert "cannot list the folder: permission denied" in found[0]["message"]


def test_a_spec_that_is_not_utf8_in_a_folder_is_a_finding(project):
    (project / "specs" / "latin1.yaml").write_bytes(b"name: caf\xe9\n")
    result = run_cli("validate", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("specs/latin1.yaml", 1, 10, "L001")]


def test_a_linked_folder_of_specs_is_a_finding_not_a_silent_skip(project, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("team-specs")
    _write(elsewhere / "c.yaml", GOOD.format(name="churn-c"))
    (project / "specs" / "team").symlink_to(elsewhere, target_is_directory=True)
    result = run_cli("validate", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(f["file"], f["rule"]) for f in found] == [("specs/team", "L021")]
    assert "does not follow linked folders" in found[0]["message"]
    # a linked folder without specs (docs, scripts) is no business of amlgen's
    (project / "specs" / "team").unlink()
    (project / "specs" / "docs").symlink_to(tmp_path_factory.mktemp("docs"), target_is_directory=True)
    assert run_cli("validate", cwd=project).returncode == 0


# --- 2. only regular files are opened; link loops are findings -----------------------------------------------------


@pytest.mark.parametrize("where", ["command line", "folder"])
def test_a_fifo_named_as_a_spec_is_a_finding_not_a_hang(project, where):
    fifo = project / "specs" / "pipe.yaml"
    os.mkfifo(fifo)
    args = ("validate", "specs/pipe.yaml") if where == "command line" else ("validate",)
    result = run_cli(*args, "--format", "json", cwd=project, timeout=FIFO_TIMEOUT)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(f["file"], f["rule"]) for f in found] == [("specs/pipe.yaml", "L006")]
    assert "a named pipe (FIFO), not a regular file" in found[0]["message"]


def test_a_socket_and_a_device_are_refused_without_reading(project):
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(project / "specs" / "sock.yaml"))
        # /dev/zero never ends: reading it would exhaust memory, not just hang (outside the project: allowed here)
        _write(project / "specs" / "a.yaml", "name: churn-a\nextends: /dev/zero\n")
        result = run_cli("validate", "--allow-outside", "--format", "json", cwd=project, timeout=FIFO_TIMEOUT)
    finally:
        sock.close()
    assert result.returncode == 1, result.stderr
    found = {(f["file"], f["rule"]): f["message"] for f in json.loads(result.stdout)}
    assert set(found) == {("specs/sock.yaml", "L006"), ("/dev/zero", "L006"), ("specs/a.yaml", "L008")}
    assert "it is a socket, not a regular file" in found[("specs/sock.yaml", "L006")]
    assert "it is a character device, not a regular file" in found[("/dev/zero", "L006")]


def test_a_fifo_as_extends_target_is_a_finding_at_the_extends_line(project):
    os.mkfifo(project / "specs" / "base.yaml")
    _write(project / "specs" / "a.yaml", "name: churn-a\nextends: base.yaml\n")
    result = run_cli("validate", "specs/a.yaml", "--format", "json", cwd=project, timeout=FIFO_TIMEOUT)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("specs/a.yaml", 2, 10, "L008"), ("specs/base.yaml", 0, 0, "L006")]


def test_a_fifo_as_configuration_is_a_usage_error_not_a_hang(tmp_path):
    (tmp_path / ".git").mkdir()
    os.mkfifo(tmp_path / "amlgen.toml")
    result = run_cli("validate", cwd=tmp_path, timeout=FIFO_TIMEOUT)
    assert result.returncode == 2, result.stderr
    assert "amlgen.toml: cannot read the amlgen configuration: it is a named pipe (FIFO)" in result.stderr


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_by_fstat(tmp_path, monkeypatch):
    fifo = tmp_path / "swapped.yaml"
    os.mkfifo(fifo)
    real_stat = os.stat
    regular = os.stat_result((stat.S_IFREG | 0o644, *real_stat(tmp_path)[1:]))
    monkeypatch.setattr(readfile.os, "stat", lambda p, *a, **k: regular if Path(p) == fifo else real_stat(p, *a, **k))
    with pytest.raises(readfile.Unreadable, match="named pipe"):
        readfile.read_regular(fifo)  # O_NONBLOCK: the open returns at once, fstat sees the FIFO


def test_symbolic_link_loops_are_findings_on_the_command_line_in_a_folder_and_in_extends(project):
    (project / "specs" / "loop.yaml").symlink_to("loop.yaml")
    (project / "specs" / "ring").symlink_to("ring")
    _write(project / "specs" / "a.yaml", "name: churn-a\nextends: ring/base.yaml\n")
    folder = run_cli("validate", "--format", "json", cwd=project)
    assert folder.returncode == 1 and "Traceback" not in folder.stderr, folder.stderr
    found = {(f["file"], f["rule"]): f["message"] for f in json.loads(folder.stdout)}
    assert set(found) == {("specs/a.yaml", "L008"), ("specs/loop.yaml", "L006")}
    assert "symbolic link loop" in found[("specs/a.yaml", "L008")]
    assert "symbolic link loop" in found[("specs/loop.yaml", "L006")]
    given = run_cli("validate", "specs/loop.yaml", cwd=project)
    assert given.returncode == 1, given.stderr
    assert given.stdout.startswith("specs/loop.yaml: L006 cannot read the file: a symbolic link loop")


def test_a_symbolic_link_loop_as_configuration_is_a_usage_error(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").symlink_to("pyproject.toml")
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "pyproject.toml: cannot read the amlgen configuration: a symbolic link loop" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


# --- 3. extends: and configured paths stay inside the project ------------------------------------------------------


def test_extends_outside_the_project_is_a_located_finding_unless_allowed(project, tmp_path_factory):
    outside = _write(tmp_path_factory.mktemp("elsewhere") / "base.yaml", "location: westeurope\n")
    _write(project / "specs" / "a.yaml", f"name: churn-a\nextends: {outside}\n")
    result = run_cli("validate", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    (found,) = json.loads(result.stdout)
    assert (found["file"], found["line"], found["column"], found["rule"]) == ("specs/a.yaml", 2, 10, "L020")
    assert "outside the project root" in found["message"] and "--allow-outside" in found["message"]
    assert run_cli("validate", "--allow-outside", cwd=project).returncode == 0


def test_extends_through_a_link_that_leads_outside_is_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("bases")
    _write(outside / "base.yaml", "location: westeurope\n")
    (project / "bases").symlink_to(outside, target_is_directory=True)
    _write(project / "specs" / "a.yaml", "name: churn-a\nextends: ../bases/base.yaml\n")
    result = run_cli("validate", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("specs/a.yaml", 2, 10, "L020")]


def test_a_spec_file_linked_from_outside_into_a_spec_folder_is_refused(project, tmp_path_factory):
    outside = _write(tmp_path_factory.mktemp("secret") / "x.yaml", GOOD.format(name="churn-x"))
    (project / "specs" / "x.yaml").symlink_to(outside)
    result = run_cli("validate", "--format", "json", cwd=project)
    assert result.returncode == 1, result.stderr
    assert _findings(result.stdout) == [("specs/x.yaml", 0, 0, "L020")]
    assert run_cli("validate", "--allow-outside", cwd=project).returncode == 0


def test_paths_given_on_the_command_line_stay_the_users_choice(project, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    _write(other / "base.yaml", "location: westeurope\n")
    spec = _write(other / "spec.yaml", "name: churn-o\nextends: base.yaml\n")
    result = run_cli("validate", str(spec), cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path_factory.mktemp("anywhere")
    assert run_cli("generate", "-o", str(out), cwd=project).returncode == 0
    assert (out / "a" / "main.json").is_file()


@pytest.mark.parametrize("setting, words", [
    ('specs = ["../.."]', "specs '../..' is outside the project root"),
    ('specs = ["specs"]\noutput = "/tmp/amlgen-elsewhere"', "output '/tmp/amlgen-elsewhere' is outside the project root"),
    ('specs = ["specs"]\noutput = ""', 'output = "" is an empty path'),
    ('specs = ["specs"]\noutptu = "out"', "unknown amlgen setting 'outptu'; did you mean 'output'?"),
    ('spec = ["specs"]', "unknown amlgen setting 'spec'; did you mean 'specs'?"),
])
def test_configuration_problems_are_usage_errors(project, setting, words):
    _write(project / "amlgen.toml", setting + "\n")
    result = run_cli("validate", cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_key_in_pyproject_tool_amlgen_is_a_usage_error(tmp_path):
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "pyproject.toml", '[tool.amlgen]\nspecs = ["specs"]\nreadme-base-uri = "https://x"\n')
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "unknown amlgen setting 'readme-base-uri'; did you mean 'readme-base-url'?" in result.stderr


def test_a_configured_output_folder_linked_outside_is_a_usage_error_unless_allowed(project, tmp_path_factory):
    (project / "out").symlink_to(tmp_path_factory.mktemp("linked-out"), target_is_directory=True)
    result = run_cli("generate", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "output 'out' is outside the project root" in result.stderr
    assert run_cli("generate", "--allow-outside", cwd=project).returncode == 0


@pytest.mark.parametrize("args", [("generate", "-o", ""), ("validate", ""), ("generate", "specs", " "),
                                  ("diff", "", "out")])
def test_an_empty_path_option_is_a_usage_error(project, args):
    result = run_cli(*args, cwd=project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "empty" in result.stderr and result.returncode == 2
    assert not (project / "main.json").exists() and not (project / "a").exists()


def test_an_empty_write_config_is_a_usage_error(project):
    result = run_cli("deploy", "specs/a.yaml", "-s", "00000000-0000-0000-0000-000000000000", "--yes",
                     "--write-config", "", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "--write-config" in result.stderr and "Traceback" not in result.stderr


def test_allow_outside_is_offered_by_every_command_that_reads_specs(run_main):
    for command in ("validate", "generate", "diff", "what-if", "deploy"):
        result = run_main(command, "--help")
        assert result.code == 0 and "--allow-outside" in result.out, command


# --- 4. patterns as JSON Schema means them; control characters ----------------------------------------------------


def test_dollar_means_the_end_of_the_text_as_in_ecma_262():
    assert _ecma_pattern("^[a-z]+$").search("churn") and not _ecma_pattern("^[a-z]+$").search("churn\n")
    # a `$` in a character class or escaped stays a dollar sign
    assert _ecma_pattern("^[$]x$").search("$x") and _ecma_pattern(r"^\$x$").search("$x")
    assert not _ecma_pattern(r"^\$x$").search("$x\n")


def _scalars(node, path=()):
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from _scalars(value, path + (key.value,))
    elif isinstance(node, yaml.SequenceNode):
        for index, value in enumerate(node.value):
            yield from _scalars(value, path + (index,))
    elif isinstance(node, yaml.ScalarNode):
        yield path, node


def _is_free_text(path: tuple) -> bool:
    return any(len(path) == len(p) and all(a == "*" or a == b for a, b in zip(p, path)) for p in FREE_TEXT)


def _run(files: list[Path], root: Path) -> pipeline.Result:
    return pipeline.validate([SpecFile(f, root) for f in files])


def _merged(result: pipeline.Result) -> list:
    return [c.document.data if c.document else None for c in result.checked]


def test_a_line_break_added_to_any_string_of_any_example_is_a_finding_at_that_value(tmp_path, monkeypatch):
    """Every text value of every example, one at a time, gets "\\n" appended (rewritten in the YAML text as a
    double-quoted scalar, so the location is the original one): each is an error at that file:line:col, except
    free text (descriptions, display names, tags), which the templates carry escaped, and a base's value that the
    specs extending it override."""
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    monkeypatch.chdir(tmp_path)
    files = sorted(root.rglob("*.yaml"))
    baseline = _run(files, root)
    checked = missed = 0
    for file in files:
        text = file.read_text(encoding="utf-8")
        for path, node in _scalars(yaml.compose(text)):
            if not node.tag.endswith(":str"):
                continue
            value = yaml.safe_load(text[node.start_mark.index:node.end_mark.index])
            mutated = (text[:node.start_mark.index] + json.dumps(value + "\n", ensure_ascii=False)
                       + text[node.end_mark.index:])
            file.write_text(mutated, encoding="utf-8")
            try:
                expected = yaml.safe_load(text)
                target = expected
                for part in path[:-1]:
                    target = target[part]
                target[path[-1]] += "\n"
                assert yaml.safe_load(mutated) == expected, f"the mutation of {file.name} {path} is not the value + \\n"
                base = is_base(expected)
                result = _run([f for f in files if f != file] if base else [file], root)
            finally:
                file.write_text(text, encoding="utf-8")
            where = (file.relative_to(tmp_path).as_posix(), node.start_mark.line + 1, node.start_mark.column + 1)
            at = [f for f in result.findings if (f.file, f.line, f.column) == where and f.severity == "error"]
            checked += 1
            if _is_free_text(path):
                assert not at, f"free text {where} {path}: {at}"
            elif base and _merged(result) == _merged(_run([f for f in files if f != file], root)):
                missed += 1  # every spec extending the base overrides this value: it reaches nothing
            else:
                assert at, f"{where} {path}: {value!r} + a line break gave no error there"
    assert checked > 150 and missed < 10, (checked, missed)
    assert baseline.ok


def test_a_control_character_in_a_name_or_id_is_s108_through_the_cli(tmp_path):
    spec = _write(tmp_path / "ctl.yaml", 'name: "churn-dev\\n"\nlocation: westeurope\nworkspace:\n'
                                         '  description: "two\\nlines are fine here"\n'
                                         'storage:\n  existing: "/subscriptions/0/resourceGroups/rg/providers/'
                                         'Microsoft.Storage/storageAccounts/st\\t"\n'
                                         'computes:\n  "cpu\\u202ecluster": {type: cluster, vmSize: Standard_D4s_v5}\n')
    result = run_cli("validate", str(spec), "--format", "json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    found = json.loads(result.stdout)
    assert [(f["line"], f["column"], f["rule"], f["path"]) for f in found] == [
        (1, 7, "S108", "name"), (6, 13, "S108", "storage.existing"), (8, 3, "S108", "computes.cpu\u202ecluster")]
    assert "holds a line break at its end" in found[0]["message"] and "`|-`" in found[0]["message"]
    text = run_cli("validate", str(spec), cwd=tmp_path)
    assert "\u202e" not in text.stdout and "\\u202e" in text.stdout  # never a raw bidirectional override


# --- 5. a huge value is not echoed whole --------------------------------------------------------------------------


def test_a_5_mb_value_is_clipped_in_text_json_and_sarif(tmp_path):
    big = "x" * (5 * 1024 * 1024)
    # a key that long must be an explicit YAML key (`? key`): a plain one may have at most 1024 characters
    spec = _write(tmp_path / "big.yaml", f"name: {big}\n? {big}\n: 1\n")
    for fmt, limit in (("text", 20_000), ("json", 20_000), ("sarif", 40_000)):
        result = run_cli("validate", str(spec), "--format", fmt, cwd=tmp_path)
        assert result.returncode == 1, result.stderr[:2000]
        assert len(result.stdout) < limit and len(result.stderr) < 2000, (fmt, len(result.stdout))
        assert result.stdout.count("(5242880 characters)") == 2, fmt
        if fmt != "text":
            json.loads(result.stdout)


def test_diff_base_refuses_extends_outside_the_repository_on_both_sides(project, tmp_path_factory):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (project / ".git").rmdir()
    outside = _write(tmp_path_factory.mktemp("elsewhere") / "base.yaml", "location: westeurope\n")
    _write(project / "specs" / "a.yaml", f"name: churn-a\nextends: {outside}\n")
    for args in (("init", "-q", "-b", "main"), ("add", "-A"),
                 ("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    result = run_cli("diff", "--base", "main", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "main:specs/a.yaml:2:10: L020" in result.stderr  # the specs as they are at the ref
    assert "\nspecs/a.yaml:2:10: L020" in result.stderr  # the working tree
    allowed = run_cli("diff", "--base", "main", "--allow-outside", cwd=project)
    assert allowed.returncode == 0, allowed.stderr


def test_a_nul_in_an_extends_path_is_a_finding_not_a_crash(tmp_path):
    spec = tmp_path / "n.yaml"
    spec.write_text('extends: "a\\0b.yaml"\nname: ws-nul\n', encoding="utf-8")
    result = run_cli("validate", str(spec), cwd=tmp_path)
    assert result.returncode == 1 and "L008" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_check_does_not_hang_on_a_fifo_in_the_output_folder(tmp_path):
    import os

    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "zzz.yaml").write_text("name: zzz\n", encoding="utf-8")
    (tmp_path / "out" / "zzz").mkdir(parents=True)
    os.mkfifo(tmp_path / "out" / "zzz" / "main.json")
    result = run_cli("generate", "specs/zzz.yaml", "-o", "out", "--check", cwd=tmp_path, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
