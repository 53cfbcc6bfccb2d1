"""Output that other tools read, through the real CLI: SARIF URIs, machine formats alone on stdout, the shell and
PowerShell commands of the generated README, exit code 2 for every bad option value, and the exit codes in --help."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from urllib.parse import unquote

import click
import pytest

from conftest import ROOT, run_cli
from test_cli import _write

# RFC 3986 section 2: unreserved and reserved characters, and `%` of a percent-encoding; nothing else in a URI
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / ".git").mkdir()
    _write(tmp_path / "amlgen.toml", 'specs = ["specs"]\noutput = "out"\n')
    return tmp_path


# --- SARIF ---------------------------------------------------------------------------------------------------


AWKWARD_NAMES = ["sp ace#1.yaml", "spéc ü.yaml", "100%?.yaml", "a:b.yaml"]


@pytest.mark.parametrize("command", ["validate", "generate"])
def test_sarif_artifact_uris_are_percent_encoded_uri_references(project, command):
    for i, name in enumerate(AWKWARD_NAMES):
        _write(project / "specs" / "sub dir" / name, f"name: ws-{i}\nworkspce: {{}}\n")  # one S101 each
    result = run_cli(command, "--format", "sarif", cwd=project)
    assert result.returncode == 1, result.stderr
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for r in json.loads(result.stdout)["runs"][0]["results"])
    assert len(uris) == len(AWKWARD_NAMES)
    for uri in uris:
        assert _URI_CHARS.fullmatch(uri), uri
        assert ":" not in uri.split("/")[0]  # a relative reference: its first segment never reads as a scheme
    assert sorted(unquote(u) for u in uris) == sorted(f"specs/sub dir/{n}" for n in AWKWARD_NAMES)
    assert "specs/sub%20dir/sp%20ace%231.yaml" in uris
    assert "specs/sub%20dir/sp%C3%A9c%20%C3%BC.yaml" in uris


def test_sarif_uri_of_an_absolute_path_is_a_file_uri(tmp_path):
    spec = _write(tmp_path / "a b" / "ws#.yaml", "name: ws\nworkspce: {}\n")
    result = run_cli("validate", str(spec), "--format", "sarif", cwd=ROOT)  # outside the current folder
    assert result.returncode == 1, result.stderr
    uri = json.loads(result.stdout)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == Path(spec).as_uri()
    assert uri.startswith("file:///") and "%20" in uri and "%23" in uri


# --- machine formats: the document alone on stdout ---------------------------------------------------------------


def _one_document(stdout: str):
    """stdout holds exactly one JSON document (json.loads refuses anything before or after it)."""
    return json.loads(stdout)


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_generate_machine_format_is_stdout_alone_progress_on_stderr(project, fmt):
    _write(project / "specs" / "dev.yaml", "name: ws-dev\n")
    _write(project / "specs" / "warn.yaml", "name: ws-warn\nworkspace: {imageBuildCompute: nowhere}\n")  # R231
    result = run_cli("generate", "--format", fmt, cwd=project)
    assert result.returncode == 0, result.stderr
    doc = _one_document(result.stdout)
    rules = [f["rule"] for f in doc] if fmt == "json" else [r["ruleId"] for r in doc["runs"][0]["results"]]
    assert rules == ["R231"]
    assert "wrote out/dev/main.json" in result.stderr and "file(s) changed" in result.stderr

    again = run_cli("generate", "--format", fmt, "specs/dev.yaml", cwd=project)  # no findings: still a document
    assert again.returncode == 0, again.stderr
    assert _one_document(again.stdout) == ([] if fmt == "json" else _one_document(again.stdout))
    if fmt == "sarif":
        assert _one_document(again.stdout)["runs"][0]["results"] == []


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_generate_check_diff_goes_to_stderr_with_a_machine_format(project, fmt):
    _write(project / "specs" / "dev.yaml", "name: ws-dev\n")
    assert run_cli("generate", cwd=project).returncode == 0
    _write(project / "specs" / "dev.yaml", "name: ws-dev\ntags: {team: a}\n")
    result = run_cli("generate", "--check", "--format", fmt, cwd=project)
    assert result.returncode == 1
    _one_document(result.stdout)
    assert "--- a/out/dev/main.json" in result.stderr and "+++ b/out/dev/main.json" in result.stderr
    assert "out/ is stale" in result.stderr
    text = run_cli("generate", "--check", cwd=project)  # text: the diff stays on stdout, as before
    assert text.returncode == 1 and text.stdout.startswith("--- a/out/")


def test_generate_machine_format_with_errors_is_the_report_alone(project):
    _write(project / "specs" / "bad.yaml", "name: ws-bad\nworkspce: {}\n")
    result = run_cli("generate", "--format", "json", cwd=project)
    assert result.returncode == 1
    assert [f["rule"] for f in _one_document(result.stdout)] == ["S101"]
    assert "nothing written" in result.stderr


def test_every_machine_format_of_every_command_is_one_document_on_stdout(project):
    _write(project / "specs" / "dev.yaml", "name: ws-dev\n")
    assert run_cli("generate", cwd=project).returncode == 0
    _write(project / "old" / "placeholder", "")
    subprocess.run(["cp", "-r", str(project / "out"), str(project / "old")], check=True)
    runs = {
        ("validate", "json"): run_cli("validate", "--format", "json", cwd=project),
        ("validate", "sarif"): run_cli("validate", "--format", "sarif", cwd=project),
        ("rules", "json"): run_cli("rules", "--format", "json", cwd=project),
        ("diff", "json"): run_cli("diff", "old/out", "out", "--format", "json", cwd=project),
    }
    for (command, fmt), result in runs.items():
        assert result.returncode == 0, (command, result.stderr)
        _one_document(result.stdout)


# --- the generated README: spec-derived text quoted for the shell and PowerShell --------------------------------

HOSTILE = "sub$(touch pwned)`touch pwned2`;touch pwned3 'q’"


def _blocks(readme: str, info: str) -> list[str]:
    return re.findall(rf"^```{info}\n(.*?)^```$", readme, re.S | re.M)


def _powershell_words(line: str) -> list[str]:
    """Split a PowerShell command line the way its tokenizer reads single-quoted strings (about_Quoting_Rules:
    the text is verbatim, a doubled quote is one quote; U+2018..U+201B count as single quotes). Bare words must
    hold nothing PowerShell would expand or treat specially."""
    quotes = "'\u2018\u2019\u201a\u201b"
    words, i = [], 0
    while i < len(line):
        if line[i] == " ":
            i += 1
            continue
        if line[i] in quotes:
            word, i = "", i + 1
            while True:
                assert i < len(line), f"unterminated string in {line!r}"
                if line[i] in quotes:
                    if i + 1 < len(line) and line[i + 1] in quotes:
                        word, i = word + line[i], i + 2
                        continue
                    i += 1
                    break
                word, i = word + line[i], i + 1
            words.append(word)
        else:
            end = line.find(" ", i)
            end = len(line) if end < 0 else end
            bare = line[i:end]
            assert re.fullmatch(r"[A-Za-z0-9_./:-]+", bare), f"unquoted special text {bare!r} in {line!r}"
            words.append(bare)
            i = end
    return words


def test_generated_readme_quotes_spec_paths_in_shell_and_powershell(project):
    spec_name = HOSTILE + ".yaml"
    _write(project / "specs" / spec_name, "name: ws-hostile\nresourceGroup: rg(a)\nlocation: westeurope\n")
    result = run_cli("generate", cwd=project)
    assert result.returncode == 0, result.stderr
    folder = f"out/{HOSTILE}"
    readme = (project / folder / "README.md").read_text(encoding="utf-8")

    sh_lines = [ln for block in _blocks(readme, "sh") for ln in block.splitlines() if not ln.startswith("#")]
    assert len(sh_lines) == 3  # az deployment sub create, az deployment group create, amlgen deploy
    run_dir = project / "run"
    run_dir.mkdir()
    for line in sh_lines:
        # run each command as a user would paste it, with az / amlgen replaced by a printer of its arguments
        program, _, rest = line.partition(" ")
        script = f"printf '%s\\n' {rest}"
        done = subprocess.run(["bash", "-c", script], cwd=run_dir, capture_output=True, text=True, check=True)
        assert list(run_dir.iterdir()) == [], f"{line!r} ran something"
        assert done.stdout.splitlines() == shlex.split(rest)
    args = {ln.split(" ")[0] + " " + ln.split(" ")[2]: shlex.split(ln) for ln in sh_lines}
    sub = args["az sub"]
    assert sub[sub.index("--template-file") + 1] == f"{folder}/subscription.json"
    assert sub[sub.index("--parameters") + 1] == f"@{folder}/main.parameters.json"
    group = args["az group"]
    assert group[group.index("--resource-group") + 1] == "rg(a)"
    assert group[group.index("--template-file") + 1] == f"{folder}/main.json"
    deploy = next(v for k, v in args.items() if k.startswith("amlgen"))
    assert deploy[2] == f"specs/{spec_name}"
    bicep = next(ln for block in _blocks(readme, "sh") for ln in block.splitlines() if ln.startswith("# or the Bicep"))
    assert shlex.split(bicep.split(":", 1)[1])[1] == f"{folder}/main.bicep"

    (ps_line,) = [ln for block in _blocks(readme, "powershell") for ln in block.splitlines()]
    words = _powershell_words(ps_line)
    assert words[words.index("-ResourceGroupName") + 1] == "rg(a)"
    assert words[words.index("-TemplateFile") + 1] == f"{folder}/main.json"
    assert words[words.index("-TemplateParameterFile") + 1] == f"{folder}/main.parameters.json"


def test_powershell_and_shell_quoting_leave_plain_paths_alone_and_guard_leading_dashes():
    from generator.report import ps_word, sh_word

    assert ps_word("out/secure/main.json") == "out/secure/main.json" == sh_word("out/secure/main.json")
    assert ps_word("it’s") == "'it’’s'"
    assert ps_word("$(x)") == "'$(x)'"
    assert ps_word("-x.yaml") == "./-x.yaml" == sh_word("-x.yaml")


# --- exit codes -------------------------------------------------------------------------------------------------


def _bad_values(param: click.Parameter) -> list[str]:
    kind = param.type
    if kind is click.STRING or isinstance(kind, click.Path):
        more = {"subscription": ["not-a-guid"], "resource_group": ["a b", "rg."]}.get(param.name, [])
        if isinstance(kind, click.Path) and not kind.file_okay:
            more.append("README.md")  # a file where a folder is wanted
        elif isinstance(kind, click.Path) and not kind.dir_okay:
            more.append("docs")  # a folder where a file is wanted
        return ["", *more]  # an empty value names nothing: never "the current folder"
    if isinstance(kind, click.Choice):
        return ["no-such-choice"]
    if isinstance(kind, (click.IntRange, click.FloatRange)):
        low = kind.min if kind.min is not None else 0
        return [str(low - 1), "not-a-number"]
    if isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
        return ["not-a-number"]
    return []


def _commands():
    from generator.cli import cli

    ctx = click.Context(cli)
    return {name: cli.get_command(ctx, name) for name in cli.list_commands(ctx)}


def test_every_bad_option_value_of_every_command_exits_2(run_main, monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.delenv("AMLGEN_ARM_ENDPOINT", raising=False)
    cases = []
    for name, command in _commands().items():
        for param in command.params:
            if isinstance(param, click.Option) and not param.is_flag:
                cases += [(name, param.opts[0], bad) for bad in _bad_values(param)]
    assert {c[0] for c in cases} >= {"validate", "generate", "rules", "diff", "deploy", "what-if", "schema"}
    failures = []
    for name, option, bad in cases:
        # deploy and what-if would stop before Azure anyway (no -g for a spec without resourceGroup, no --yes
        # without a terminal), with a different message: only click's "Invalid value", or the option's own one-line
        # check naming it ("amlgen: --subscription ..."), proves the value was refused
        extra = []
        if name in ("deploy", "what-if"):
            extra = ["examples/defaults.yaml"]
            if option != "--subscription":
                extra += ["-s", "00000000-0000-0000-0000-000000000000"]
        result = run_main(name, option, bad, *extra)  # in-process: the real main(), ~50 runs in a second
        refused = "Invalid value for" in result.err or result.err.startswith(f"amlgen: {option} ")
        if result.code != 2 or "Traceback" in result.err or not refused:
            failures.append(f"amlgen {name} {option} {bad!r}: exit {result.code}: {result.err[-300:]}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("args", [["validate", ""], ["generate", "examples", ""], ["diff", "", "out"],
                                  ["what-if", "", "-s", "00000000-0000-0000-0000-000000000000"]])
def test_an_empty_path_argument_is_a_usage_error(args):
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "an empty value names nothing" in result.stderr and "Traceback" not in result.stderr


def test_top_level_help_lists_every_exit_code_the_readme_lists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paragraph = re.search(r"^Exit codes of every command:.*?(?:\n\n|\Z)", readme, re.S | re.M).group(0)
    codes = re.findall(r"`(\d+)`", paragraph)
    assert set(codes) >= {"0", "1", "2", "3", "130"}
    helped = run_cli("--help")
    assert helped.returncode == 0
    listed = re.findall(r"^\s+(\d+)\s{2,}\S", helped.stdout, re.M)
    assert sorted(listed, key=int) == sorted(codes, key=int), helped.stdout


# --- amlgen schema ----------------------------------------------------------------------------------------------


def test_schema_command_writes_the_published_schema_and_refuses_to_overwrite(tmp_path):
    published = (ROOT / "schemas" / "workspace.schema.json").read_text(encoding="utf-8")
    shown = run_cli("schema", cwd=tmp_path)
    assert shown.returncode == 0 and shown.stdout == published

    written = run_cli("schema", "-o", "schemas/workspace.schema.json", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    target = tmp_path / "schemas" / "workspace.schema.json"
    assert target.read_text(encoding="utf-8") == published
    assert "wrote schemas/workspace.schema.json" in written.stderr

    target.write_text("{}", encoding="utf-8")
    refused = run_cli("schema", "-o", "schemas/workspace.schema.json", cwd=tmp_path)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert target.read_text(encoding="utf-8") == "{}"
    forced = run_cli("schema", "-o", "schemas/workspace.schema.json", "--force", cwd=tmp_path)
    assert forced.returncode == 0 and target.read_text(encoding="utf-8") == published

    for bad in (["-o", ""], ["-o", "schemas"], ["--force"], ["--frobnicate"]):
        result = run_cli("schema", *bad, cwd=tmp_path)
        assert result.returncode == 2, (bad, result.stderr)
        assert "Traceback" not in result.stderr


def test_deploy_button_url_encodes_the_folder_then_the_template_url(project):
    from urllib.parse import unquote as decode

    (project / "amlgen.toml").write_text('specs = ["specs"]\noutput = "out"\n'
                                         'readme-base-url = "https://raw.example.com/o/r/main/out"\n')
    _write(project / "specs" / "a b#(1).yaml", "name: ws-button\n")
    result = run_cli("generate", cwd=project)
    assert result.returncode == 0, result.stderr
    readme = (project / "out" / "a b#(1)" / "README.md").read_text(encoding="utf-8")
    (link,) = re.findall(r"\]\((https://portal\.azure\.com/#create/Microsoft\.Template/uri/[^)\s]+)\)", readme)
    template_url = decode(link.rsplit("/", 1)[1])
    assert template_url == "https://raw.example.com/o/r/main/out/a%20b%23%281%29/main.json"
    assert decode(template_url).endswith("/out/a b#(1)/main.json")
