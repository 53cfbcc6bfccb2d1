"""The command-line contract: paths and configuration, output layout, all-or-nothing, --check, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, run_cli, tree, write_file as _write

GOOD = "name: {name}\n"


@pytest.fixture
def repo(tmp_path) -> Path:
    """A repository that is not a Python project: amlgen.toml at its root, specs in nested folders."""
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "amlgen.toml", 'specs = ["specs"]\noutput = "generated"\n')
    _write(tmp_path / "specs" / "team-a" / "dev.yaml", GOOD.format(name="team-a-dev"))
    _write(tmp_path / "specs" / "prod.yml", GOOD.format(name="prod-ws"))
    return tmp_path


def test_without_paths_or_configuration_is_a_usage_error(tmp_path):
    (tmp_path / ".git").mkdir()
    result = run_cli("generate", cwd=tmp_path)
    assert result.returncode == 2
    assert "no spec paths given and no configuration found" in result.stderr
    assert "Traceback" not in result.stderr


def test_configuration_from_amlgen_toml_and_layout_mirrors_spec_folders(repo):
    result = run_cli("generate", cwd=repo / "specs" / "team-a")  # found by walking up to the repository root
    assert result.returncode == 0, result.stderr
    names = ["README.md", "main.bicep", "main.bicepparam", "main.json", "main.parameters.json"]
    assert sorted(tree(repo / "generated")) == [f"{folder}/{n}" for folder in ("prod", "team-a/dev") for n in names]
    template = json.loads((repo / "generated" / "team-a" / "dev" / "main.json").read_text())
    workspace = [r for r in template["resources"] if r["type"] == "Microsoft.MachineLearningServices/workspaces"][0]
    assert workspace["name"] == "team-a-dev"  # the Azure name comes from the spec, not the file name
    assert "specs/team-a/dev.yaml" in template["metadata"]["description"]


def test_a_file_inside_a_configured_folder_keeps_its_place_in_the_layout(repo):
    result = run_cli("generate", "specs/team-a/dev.yaml", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "generated" / "team-a" / "dev" / "main.json").is_file()


def test_output_option_overrides_configuration(repo):
    result = run_cli("generate", "-o", "elsewhere", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert (repo / "elsewhere" / "prod" / "main.json").is_file()
    assert not (repo / "generated").exists()


def test_one_bad_spec_means_nothing_is_written(repo):
    assert run_cli("generate", cwd=repo).returncode == 0
    before = tree(repo / "generated")
    _write(repo / "specs" / "prod.yml", "name: prod-ws\nlocation: West Europe\n")
    _write(repo / "specs" / "new.yaml", GOOD.format(name="new-ws"))
    result = run_cli("generate", cwd=repo)
    assert result.returncode == 1
    assert "specs/prod.yml:2:11: S105 location:" in result.stderr
    assert "nothing written" in result.stderr
    assert tree(repo / "generated") == before


def test_check_reports_changed_missing_and_stale_files_with_a_unified_diff(repo):
    assert run_cli("generate", cwd=repo).returncode == 0
    assert run_cli("generate", "--check", cwd=repo).returncode == 0
    _write(repo / "specs" / "prod.yml", "name: prod-ws\ntags: {owner: ml-platform}\n")
    (repo / "specs" / "team-a" / "dev.yaml").rename(repo / "specs" / "team-a" / "test.yaml")
    result = run_cli("generate", "--check", cwd=repo)
    assert result.returncode == 1
    assert "--- a/generated/prod/main.json" in result.stdout
    assert '+        "owner": "ml-platform"' in result.stdout
    assert "+++ b/generated/team-a/test/main.json" in result.stdout
    assert "stale: generated/team-a/dev/main.json" in result.stdout
    # prod: main.json and main.bicep change (README.md shows no tags); team-a/test: 5 new files; team-a/dev: 5 stale
    assert "2 changed, 5 missing, 5 stale" in result.stderr


def test_generate_reports_stale_files_and_prune_deletes_them(repo):
    assert run_cli("generate", cwd=repo).returncode == 0
    (repo / "specs" / "prod.yml").unlink()
    result = run_cli("generate", cwd=repo)
    assert "stale: generated/prod/main.json" in result.stderr
    assert (repo / "generated" / "prod" / "main.json").exists()
    result = run_cli("generate", "--prune", cwd=repo)
    assert result.returncode == 0
    assert not (repo / "generated" / "prod").exists()


def test_nonexistent_path_and_unknown_option_are_usage_errors(repo):
    assert run_cli("validate", "nope.yaml", cwd=repo).returncode == 2
    assert run_cli("validate", "--frobnicate", cwd=repo).returncode == 2
    result = run_cli("validate", "amlgen.toml", cwd=repo)
    assert result.returncode == 2 and "not a spec file" in result.stderr


def test_a_killed_write_leaves_the_old_file(tmp_path, monkeypatch):
    from generator import output
    target = _write(tmp_path / "out" / "main.json", "old\n")

    def boom(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(output.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in target.parent.iterdir()] == ["main.json"]  # no temporary file left behind


def test_validate_and_generate_do_not_import_the_azure_sdk():
    code = ("import sys; from generator import cli; sys.argv=['amlgen','generate','--check']\n"
            "try:\n    cli.cli.main(standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('azure')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_module_entry_point_and_version():
    result = run_cli("--version")
    assert result.returncode == 0 and "amlgen" in result.stdout


def test_wheel_carries_templates_and_schema_and_generates_from_them(tmp_path):
    # Build from a copy, so the build leaves no build/ or egg-info in the repository.
    source = tmp_path / "src"
    source.mkdir()
    for item in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / item, source / item)
    for folder in ("generator", "templates", "schemas"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    wheel_dir = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheel_dir), str(source)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next(wheel_dir.glob("amlgen-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "generator/templates/arm/workspace.json.jinja" in names
    assert "generator/templates/bicep/workspace.bicep.jinja" in names
    assert "generator/schemas/workspace.schema.json" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    out = tmp_path / "out"
    # Run from the extracted wheel only (not the repository): templates must come from the package.
    result = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                             "import generator, runpy; assert generator.__file__.startswith(sys.argv[1]); "
                             "sys.argv = ['amlgen', 'generate', sys.argv[2], '-o', sys.argv[3]]; "
                             "runpy.run_module('generator', run_name='__main__')",
                             str(site), str(ROOT / "examples" / "defaults.yaml"), str(out)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin", "PYTHONNOUSERSITE": "1"})
    assert result.returncode == 0, result.stderr
    expected = {k.removeprefix("defaults/"): v for k, v in tree(ROOT / "out").items() if k.startswith("defaults/")}
    assert tree(out / "defaults") == expected


def test_help_lists_the_lazy_commands_from_a_table_that_matches_their_own_help():
    """`amlgen --help` does not import the deploy, diff and import modules; the short help it shows for them must
    be theirs."""
    import importlib

    import click

    from generator import cli

    group = click.Group()
    for name, (module, short) in cli._LazyGroup.LAZY.items():
        importlib.import_module(module).register(group)
        assert group.commands[name].get_short_help_str(200) == short, name
    help_run = subprocess.run([sys.executable, "-X", "importtime", "-m", "generator", "--help"],
                              capture_output=True, text=True, check=True)
    imported = {line.split("|")[-1].strip() for line in help_run.stderr.splitlines() if "|" in line}
    assert not imported & {"generator.cli_deploy", "generator.cli_diff", "generator.cli_import", "generator.pipeline",
                           "jinja2", "generator.model"}


def test_validate_imports_no_renderer_and_no_jinja():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "generator", "validate", "examples/defaults.yaml"],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines() if "|" in line}
    assert not imported & {"jinja2", "generator.arm.render", "generator.bicep.render", "generator.report",
                           "generator.diff", "azure"}


def test_spec_schema_is_valid_2020_12():
    """The published schema against its metaschema (checked here once, not on every run of amlgen)."""
    from jsonschema import Draft202012Validator

    from generator.resources import spec_schema

    Draft202012Validator.check_schema(spec_schema())
