"""The README's "A user's day", walked literally: its marked blocks run in order in a fresh git repository, and each
command's exit code and output (stdout and stderr as a terminal shows them, interleaved) must be what the README
shows.

The README marks what the walk does with an HTML comment (invisible on GitHub) right before a fenced block:

    <!-- walk: file PATH -->   the block is the content of PATH (written before the next step)
    <!-- walk: edit PATH -->   a ```diff block: each `-` line of PATH becomes the `+` line after it
    <!-- walk: run -->         a ```console block: `$ COMMAND` lines, each followed by its expected output; a
                               comment starting `# exit code N` on the command line expects exit code N (default 0)

Commands run with bash in the repository, `amlgen` on PATH as this Python's `python -m generator`, with no
network. When amlgen's output changes on purpose, the failure shows a unified diff of the README's block against
what ran: paste the `+` side into the README.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ROOT

README = ROOT / "README.md"
_MARKED = re.compile(r"^<!-- walk: (?P<kind>file|edit|run)(?: (?P<path>\S+))? -->\n"
                     r"(?P<fence>`{3,})[^\n]*\n(?P<body>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
_EXIT = re.compile(r"#\s*exit code (\d+)\b")


@dataclass
class Command:
    line: str  # what follows `$ `
    expected: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        m = _EXIT.search(self.line)
        return int(m.group(1)) if m else 0


@dataclass
class Step:
    kind: str
    path: str | None
    body: str
    line: int  # of the README, for the failure message

    def commands(self) -> list[Command]:
        commands: list[Command] = []
        for text in self.body.splitlines():
            if text.startswith("$ "):
                commands.append(Command(text[2:]))
            else:
                assert commands, f"README.md:{self.line}: a run block starts with output, not a `$ ` command"
                commands[-1].expected.append(text)
        return commands


def walk_steps(text: str) -> list[Step]:
    return [Step(m["kind"], m["path"], m["body"], text.count("\n", 0, m.start()) + 1) for m in _MARKED.finditer(text)]


def apply_edit(path: Path, patch: str, where: str) -> None:
    text = path.read_text(encoding="utf-8")
    removed = [ln[1:] for ln in patch.splitlines() if ln.startswith("-")]
    added = [ln[1:] for ln in patch.splitlines() if ln.startswith("+")]
    assert len(removed) == len(added), f"{where}: an edit block pairs each - line with a + line"
    for old, new in zip(removed, added):
        assert text.count(old + "\n") == 1, f"{where}: {old!r} is not one line of {path.name}"
        text = text.replace(old + "\n", new + "\n")
    path.write_text(text, encoding="utf-8")


def normalise(output: str, repo: Path) -> list[str]:
    """Output as the README shows it: the temporary folder as `.`, no trailing blanks, timings as N."""
    output = output.replace(str(repo) + "/", "").replace(str(repo), ".")
    output = re.sub(r"\b\d+(?:\.\d+)? ?(?:ms|s)\b(?= |$)", "N s", output, flags=re.M)
    return [ln.rstrip() for ln in output.splitlines()]


@pytest.fixture
def user_repo(tmp_path) -> tuple[Path, dict]:
    """A new user's repository (git, nothing else) and the environment of their shell: amlgen on PATH."""
    repo = tmp_path / "repo"
    repo.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "amlgen"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m generator "$@"\n', encoding="utf-8")
    launcher.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMLGEN_", "AZURE_", "GIT_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", PYTHONUNBUFFERED="1", HOME=str(tmp_path),
               GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="A User", GIT_AUTHOR_EMAIL="user@example.com",
               GIT_COMMITTER_NAME="A User", GIT_COMMITTER_EMAIL="user@example.com", LC_ALL="C.UTF-8")
    env.pop("PYTHONPATH", None)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True, capture_output=True)
    return repo, env


def test_the_readme_marks_a_walk_with_every_kind_of_step():
    steps = walk_steps(README.read_text(encoding="utf-8"))
    assert {s.kind for s in steps} == {"file", "edit", "run"}
    lines = [c.line for s in steps if s.kind == "run" for c in s.commands()]
    for needed in ("amlgen schema", "amlgen validate", "amlgen generate", "amlgen generate --check", "amlgen diff"):
        assert any(line.startswith(needed) for line in lines), needed
    assert any(c.exit_code == 1 for s in steps if s.kind == "run" for c in s.commands())


def test_the_readme_walk_runs_as_shown(user_repo):
    repo, env = user_repo
    mismatches: list[str] = []
    for step in walk_steps(README.read_text(encoding="utf-8")):
        where = f"README.md:{step.line}"
        if step.kind == "file":
            target = repo / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.body, encoding="utf-8")
            continue
        if step.kind == "edit":
            apply_edit(repo / step.path, step.body, where)
            continue
        for command in step.commands():
            done = subprocess.run(["bash", "-c", command.line], cwd=repo, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=180)
            got = normalise(done.stdout, repo)
            want = [ln.rstrip() for ln in command.expected]
            if done.returncode != command.exit_code or got != want:
                diff = "\n".join(difflib.unified_diff(want, got, "README.md", "ran", lineterm=""))
                mismatches.append(f"{where}: $ {command.line}\n  exit code {done.returncode} "
                                  f"(README: {command.exit_code})\n{diff}")
    if mismatches:
        pytest.fail("the README's walk differs from what amlgen does (- README, + what ran):\n\n"
                    + "\n\n".join(mismatches), pytrace=False)


def test_the_readme_opening_commands_stay_true():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```\n(.*?)^```$", text, re.S | re.M)
    assert blocks[0].strip() == "python3 -m pip install -e . && amlgen generate"
    assert blocks[1].strip() == "python3 -m pip install -e '.[test]' && python3 -m pytest -q"
    # `amlgen generate` in this checkout writes the bundled examples into out/, which is committed as they are
    done = subprocess.run([sys.executable, "-m", "generator", "generate", "--check"], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "out/ is up to date" in done.stderr


if __name__ == "__main__":  # also a script: python3 tests/test_readme_walk.py
    sys.exit(pytest.main([__file__, "-q"]))
