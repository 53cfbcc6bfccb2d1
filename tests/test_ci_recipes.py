"""The CI recipes in docs/ci/ are parsed, not run: every `amlgen ...` line they hold names a real command and real
options of it (and a valid choice where an option has choices), and each recipe has the steps docs/ci.md promises."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from conftest import ROOT
from generator import cli as cli_core
from generator import cli_diff, diff, report

RECIPES = ROOT / "docs" / "ci"
GITHUB = RECIPES / "github-actions.yml"
AZURE = RECIPES / "azure-pipelines.yml"
DOC = ROOT / "docs" / "ci.md"

# Commands a recipe may use before they are registered on the group, with the options they will have. Empty now:
# what-if and deploy come from generator.cli_deploy. Move a command here only with an issue that adds it.
PLANNED: dict[str, set[str]] = {}

SCRIPT_KEYS = ("run", "script", "bash", "inlineScript")  # GitHub `run`, Azure Pipelines script / bash / AzureCLI@2
_CI_EXPRESSION = re.compile(r"\$\{\{.*?\}\}|\$\((?:[^()]|\([^()]*\))*\)")  # ${{ github.x }}, $(Var), $(az ...)
_AMLGEN = re.compile(r"(?:^|[\s;&|(])amlgen\s+(?=\S)")


def _group() -> click.Group:
    group = click.Group("amlgen", commands=dict(cli_core.cli.commands))
    cli_diff.register(group)
    try:
        from generator import cli_deploy
    except ImportError:  # pragma: no cover - the deploy extra is part of the test install
        pass
    else:
        cli_deploy.register(group)
    return group


def _scripts(node):
    """Every shell script in a pipeline document: values of run / script / bash / inlineScript keys."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCRIPT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _scripts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item)


def amlgen_invocations(script: str) -> list[list[str]]:
    """The argument lists of the amlgen commands in a shell script (continuation lines joined; CI expressions
    and command substitutions replaced by a placeholder; stopped at a redirection, pipe or command separator)."""
    text = _CI_EXPRESSION.sub("VALUE", script.replace("\\\n", " "))
    found = []
    for line in text.splitlines():
        match = _AMLGEN.search(line)
        if not match:
            continue
        lexer = shlex.shlex(line[match.end():], posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        args = []
        for token in lexer:
            if token and set(token) <= set("();<>|&"):
                break
            args.append(token)
        found.append(args)
    return found


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def group() -> click.Group:
    return _group()


@pytest.mark.parametrize("recipe", [GITHUB, AZURE], ids=lambda p: p.name)
def test_every_amlgen_line_uses_a_real_command_and_real_options(recipe, group):
    invocations = [args for script in _scripts(_load(recipe)) for args in amlgen_invocations(script)]
    assert invocations, f"{recipe.name}: no amlgen command found"
    problems = []
    for args in invocations:
        shown = "amlgen " + " ".join(args)
        name, rest = args[0], args[1:]
        if name in PLANNED:
            unknown = [a.split("=")[0] for a in rest if a.startswith("-") and a.split("=")[0] not in PLANNED[name]]
            problems += [f"{shown}: {o} is not a planned option of {name}" for o in unknown]
            continue
        command = group.commands.get(name)
        if command is None:
            problems.append(f"{shown}: no command '{name}' (commands: {', '.join(sorted(group.commands))})")
            continue
        options = {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts + p.secondary_opts}
        options["--help"] = options["-h"] = None
        for i, token in enumerate(rest):
            if not token.startswith("-"):
                continue
            opt, _, inline = token.partition("=")
            if opt not in options:
                problems.append(f"{shown}: {name} has no option {opt}")
                continue
            param = options[opt]
            if param is not None and isinstance(param.type, click.Choice):
                value = inline or (rest[i + 1] if i + 1 < len(rest) else "")
                if "$" not in value and "VALUE" not in value and value not in param.type.choices:
                    problems.append(f"{shown}: {opt} {value!r} is not one of {list(param.type.choices)}")
    assert not problems, "\n".join(problems)


def _steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def test_github_recipe_runs_the_review_on_pull_requests_and_deploys_from_main():
    doc = _load(GITHUB)
    on = doc.get("on", doc.get(True))  # PyYAML reads a bare `on:` key as the boolean true (YAML 1.1)
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    jobs = doc["jobs"]
    review = jobs["review"]
    uses = [s.get("uses", "") for s in _steps(review)]
    runs = "\n".join(s.get("run", "") for s in _steps(review))
    checkout = next(s for s in _steps(review) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0, "--base needs the base branch's history"
    assert "amlgen validate --format sarif" in runs
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    assert review["permissions"]["security-events"] == "write"
    assert "amlgen generate --check" in runs
    assert re.search(r'amlgen diff --base "origin/\$BASE_REF" --format markdown', runs)
    base_env = next(s["env"]["BASE_REF"] for s in _steps(review) if "BASE_REF" in s.get("env", {}))
    assert base_env == "${{ github.base_ref }}"
    comment = next(s for s in _steps(review) if "comment" in s.get("uses", ""))
    assert comment["with"]["path"] == "amlgen-diff.md" and review["permissions"]["pull-requests"] == "write"

    for name in ("what-if", "deploy"):
        job = jobs[name]
        login = next(s for s in _steps(job) if s.get("uses", "").startswith("azure/login@"))
        assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}, "OIDC: no client secret"
        assert job["permissions"]["id-token"] == "write"
        assert f"amlgen {name} " in "\n".join(s.get("run", "") for s in _steps(job))
    assert "pull_request" in jobs["what-if"]["if"] and "vars.AZURE_CLIENT_ID" in jobs["what-if"]["if"]
    assert jobs["deploy"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert "--yes" in next(s["run"] for s in _steps(jobs["deploy"]) if "amlgen deploy" in s.get("run", ""))


def test_azure_pipelines_recipe_has_the_same_steps():
    doc = _load(AZURE)
    assert doc["trigger"]["branches"]["include"] == ["main"] and doc["pr"]["branches"]["include"] == ["main"]
    stages = {s["stage"]: s for s in doc["stages"]}
    assert set(stages) == {"review", "deploy"}
    scripts = {stage: "\n".join(_scripts(stages[stage])) for stage in stages}
    review_jobs = {j.get("job"): j for j in stages["review"]["jobs"]}
    checkout = next(s for s in review_jobs["review"]["steps"] if s.get("checkout") == "self")
    assert checkout["fetchDepth"] == 0
    for needed in ("amlgen validate --format sarif", "amlgen generate --check", "amlgen diff --base",
                   "--format markdown", "pullRequests/", "amlgen what-if"):
        assert needed in scripts["review"], needed
    assert any(s.get("artifact") == "CodeAnalysisLogs" for s in review_jobs["review"]["steps"])
    post = next(s for s in review_jobs["review"]["steps"] if "pullRequests/" in s.get("script", ""))
    assert post["env"]["SYSTEM_ACCESSTOKEN"] == "$(System.AccessToken)"
    assert "amlgen deploy" in scripts["deploy"] and "--yes" in scripts["deploy"]
    assert "refs/heads/main" in stages["deploy"]["condition"]
    def job_steps(job: dict) -> list[dict]:
        return job.get("steps", []) + job.get("strategy", {}).get("runOnce", {}).get("deploy", {}).get("steps", [])

    tasks = [step.get("task", "") for stage in doc["stages"] for job in stage["jobs"] for step in job_steps(job)]
    assert tasks.count("AzureCLI@2") == 2  # what-if and deploy sign in through the service connection


def test_the_line_parser_finds_commands_options_and_stops_at_shell_operators():
    script = ('amlgen diff --base "origin/$BASE_REF" --format markdown > out.md\n'
              "x=1; amlgen what-if specs -g $(resourceGroup) \\\n  --auth cli | tee log\n"
              "pip install amlgen-diff.md\n"
              'echo "${{ github.base_ref }}" && amlgen validate  # comment --nope\n')
    assert amlgen_invocations(script) == [
        ["diff", "--base", "origin/$BASE_REF", "--format", "markdown"],
        ["what-if", "specs", "-g", "VALUE", "--auth", "cli"],
        ["validate"],
    ]


def test_docs_describe_the_recipes_and_every_key_of_the_json_report():
    text = DOC.read_text(encoding="utf-8")
    for name in ("docs/ci/github-actions.yml", "docs/ci/azure-pipelines.yml"):
        assert name in text
    cases = ROOT / "tests" / "diff_cases"
    keys: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            keys.update(node)
            for key, value in node.items():
                if not ("change" in node and key in ("old", "new")):  # a changed value is any JSON
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for golden in cases.glob("*/expected.json"):
        walk(json.loads(golden.read_text(encoding="utf-8")))
    sample = diff.diff_trees({}, {})
    sample.drift = diff.Drift("out")
    walk(report.to_data(sample))
    assert {"version", "summary", "workspaces", "resources", "changes", "graph", "edges"} <= keys
    for key in sorted(keys):
        assert f"`{key}`" in text, f"docs/ci.md does not document the JSON report's `{key}`"
    for code in diff.WARNINGS:
        assert code in text, f"docs/ci.md does not list warning {code}"


def test_docs_example_is_the_golden_report_it_names():
    text = DOC.read_text(encoding="utf-8")
    examples = re.findall(r"<!-- example: (\S+) -->\n```\n(.*?)```\n<!-- end example -->", text, re.S)
    assert examples
    for path, shown in examples:
        assert shown == (ROOT / path).read_text(encoding="utf-8"), (
            f"docs/ci.md shows an old {path}: paste the current file between the example markers")
