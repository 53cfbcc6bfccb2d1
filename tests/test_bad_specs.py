"""Bad input: every spec in tests/bad_specs/ goes through the real CLI and gives exactly its expected findings.

Each case is `tests/bad_specs/<case>.yaml` with a sibling `<case>.expected`, one line per finding, in the order
the CLI prints them (file order):

    RULE LINE:COL [(warning)] [text the message must contain]

`#` starts a comment line. A line `xfail: <reason>` marks a known bug: the expectation states what is right,
the case is an expected failure until the bug is fixed (strict, so the fix shows up as XPASS and the marker goes).
Line and column were worked out by reading each file, not copied from the tool.

The specs run in a few batched `amlgen validate` calls (one process per spec costs ~0.35 s each) and the
findings are split by file; the cases that only warn run in their own call, which must exit 0. Batching puts
unrelated cases in one run, where many share a name (L012, two specs of one run with one name): that finding
counts only for the cases that expect it.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

BAD_SPECS = Path(__file__).resolve().parent / "bad_specs"
EXPECTED_LINE = re.compile(r"^(?P<rule>[LSR]\d{3}) (?P<line>\d+):(?P<column>\d+)(?P<warning> \(warning\))?(?: (?P<text>.+))?$")
# The text form of one finding: `file:line:col: RULE [(warning)] [path:] message` (file-level findings, whose
# line is 0, print `file: RULE message`).
TEXT_LINE = re.compile(r"^(?P<file>[^:\n]+)(?::(?P<line>[1-9]\d*):(?P<column>[1-9]\d*))?: (?P<rule>[LSR]\d{3})"
                       r"(?P<warning> \(warning\))? (?P<rest>.+)$")


@dataclass(frozen=True)
class Expected:
    rule: str
    line: int
    column: int
    severity: str
    text: str | None

    def key(self) -> str:
        return f"{self.rule} {self.line}:{self.column}" + (" (warning)" if self.severity == "warning" else "")


@dataclass(frozen=True)
class Case:
    name: str
    spec: Path
    expected: tuple[Expected, ...]
    xfail: str | None

    @property
    def only_warnings(self) -> bool:
        return all(e.severity == "warning" for e in self.expected)


def _read_case(spec: Path) -> Case:
    expected_file = spec.with_suffix(".expected")
    assert expected_file.is_file(), f"{spec.name} has no {expected_file.name}"
    findings, xfail = [], None
    for number, raw in enumerate(expected_file.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("xfail:"):
            xfail = line[len("xfail:"):].strip()
            continue
        m = EXPECTED_LINE.match(line)
        assert m, f"{expected_file.name}:{number}: expected `RULE LINE:COL [(warning)] [text]`, got {raw!r}"
        findings.append(Expected(m["rule"], int(m["line"]), int(m["column"]),
                                 "warning" if m["warning"] else "error", m["text"]))
    assert findings, f"{expected_file.name} lists no finding: a bad spec must give at least one"
    return Case(spec.stem, spec, tuple(findings), xfail)


CASES = [_read_case(p) for p in sorted(BAD_SPECS.glob("*.yaml"))]


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _by_file(findings: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for f in findings:
        out.setdefault(f["file"], []).append(f)
    return out


@pytest.fixture(scope="module")
def runs() -> dict:
    """The bad specs through `amlgen validate` in three calls: JSON for the error cases, JSON for the
    warning-only cases, text for all of them."""
    error_cases = [c for c in CASES if not c.only_warnings]
    warning_cases = [c for c in CASES if c.only_warnings]
    json_errors = run_cli("validate", *(_relative(c.spec) for c in error_cases), "--format", "json")
    json_warnings = run_cli("validate", *(_relative(c.spec) for c in warning_cases), "--format", "json")
    text = run_cli("validate", *(_relative(c.spec) for c in CASES))
    return {"json_errors": json_errors, "json_warnings": json_warnings, "text": text}


_EXPECT_L012 = {_relative(c.spec) for c in CASES if any(e.rule == "L012" for e in c.expected)}


def _batching_artifact(f: dict) -> bool:
    """An L012 (same name as another spec of the run) that only batching unrelated cases into one run caused."""
    return f["rule"] == "L012" and f["file"] not in _EXPECT_L012


@pytest.fixture(scope="module")
def findings(runs) -> dict[str, list[dict]]:
    """JSON findings of every bad spec, by the file name the CLI printed."""
    out = {}
    for name in ("json_errors", "json_warnings"):
        result = runs[name]
        assert "Traceback" not in result.stderr, result.stderr
        out.update(_by_file([f for f in json.loads(result.stdout) if not _batching_artifact(f)]))
    return out


def test_there_are_at_least_25_bad_specs():
    assert len(CASES) >= 25, [c.name for c in CASES]
    orphans = sorted(p.name for p in BAD_SPECS.glob("*.expected") if not p.with_suffix(".yaml").is_file())
    assert not orphans, f"expectations without a spec: {orphans}"


def test_no_run_shows_a_traceback_or_an_internal_error(runs):
    for name, result in runs.items():
        assert "Traceback" not in result.stderr, f"{name}:\n{result.stderr}"
        assert "internal error" not in result.stderr, f"{name}:\n{result.stderr}"


def test_specs_with_errors_exit_1(runs):
    result = runs["json_errors"]
    assert result.returncode == 1, result.stdout + result.stderr


def test_specs_with_only_warnings_exit_0(runs):
    result = runs["json_warnings"]
    own = [f for f in json.loads(result.stdout) if not _batching_artifact(f)]
    assert {f["severity"] for f in own} == {"warning"}
    # one spec of its own has no name to share: warnings alone exit 0
    alone = run_cli("validate", _relative(next(c for c in CASES if c.only_warnings).spec), "--format", "json")
    assert alone.returncode == 0, alone.stdout + alone.stderr
    assert result.returncode == (1 if len(own) < len(json.loads(result.stdout)) else 0), result.stderr


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(reason=c.xfail, strict=True)]
                                               if c.xfail else []) for c in CASES])
def test_bad_spec_gives_its_expected_findings(case: Case, findings):
    got = findings.get(_relative(case.spec), [])
    want_keys = [e.key() for e in case.expected]
    got_keys = [f"{f['rule']} {f['line']}:{f['column']}" + (" (warning)" if f["severity"] == "warning" else "")
                for f in got]
    if got_keys != want_keys:
        printed = "".join(f"  {k}  " + (f"{f['path']}: " if f["path"] else "") + f"{f['message']}\n"
                          for k, f in zip(got_keys, got))
        diff = "".join(difflib.unified_diff([k + "\n" for k in want_keys], [k + "\n" for k in got_keys],
                                            f"{case.name}.expected", f"amlgen validate {case.spec.name}"))
        pytest.fail(f"findings differ for {_relative(case.spec)}:\n{diff}\nwhat amlgen printed:\n{printed}")
    for want, f in zip(case.expected, got):
        if want.text:
            assert want.text in f["message"], (
                f"{case.name}: {want.key()}: the message should contain {want.text!r}; it is {f['message']!r}")


def test_every_case_is_an_error_unless_it_only_warns(findings):
    """Each error case would exit 1 on its own: it has at least one error finding of its own."""
    for case in CASES:
        severities = {f["severity"] for f in findings.get(_relative(case.spec), [])}
        if case.only_warnings:
            assert severities == {"warning"}, case.name
        else:
            assert "error" in severities, case.name


def _shown(text: str) -> str:
    """Text as the text format shows it: nothing a terminal would act on (controls, line and paragraph
    separators, bidirectional overrides) reaches it raw."""
    def one(char: str) -> str:
        code = ord(char)
        if char in "\n\r\t":
            return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char]
        if code < 0x20 or 0x7f <= code < 0xa0:
            return f"\\x{code:02x}"
        if code in (0x2028, 0x2029) or 0x202a <= code <= 0x202e or 0x2066 <= code <= 0x2069:
            return f"\\u{code:04x}"
        return char
    return "".join(one(c) for c in text)


def test_text_output_prints_one_line_per_finding_in_the_documented_form(runs, findings):
    result = runs["text"]
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stdout.splitlines()
             if not (TEXT_LINE.match(line) and _batching_artifact(TEXT_LINE.match(line).groupdict()))]
    bad = [line for line in lines if not TEXT_LINE.match(line)]
    assert not bad, "lines not of the form `file:line:col: RULE path: message`:\n" + "\n".join(bad)
    # The same findings as the JSON, in the same order, each with its path when it has one.
    every = sorted((f for fs in findings.values() for f in fs),
                   key=lambda f: (f["file"], f["line"], f["column"], f["rule"], f["path"], f["message"]))
    wanted = []
    for f in every:
        label = f["rule"] + (" (warning)" if f["severity"] == "warning" else "")
        path = f" {_shown(f['path'])}:" if f["path"] else ""
        wanted.append(f"{f['file']}:{f['line']}:{f['column']}: {label}{path} {_shown(f['message'])}")
    assert lines == wanted, "\n".join(difflib.unified_diff(wanted, lines, "from the JSON", "text output", lineterm=""))
    assert re.search(r"^\d+ error\(s\), \d+ warning\(s\)$", result.stderr, re.M), result.stderr


def test_sarif_output_has_the_rule_id_and_region_of_each_finding():
    case = next(c for c in CASES if c.name == "several_schema_findings")
    result = run_cli("validate", _relative(case.spec), "--format", "sarif")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    sarif = json.loads(result.stdout)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    got = [(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"]) for r in run["results"]]
    want = [(e.rule, e.severity, _relative(case.spec), e.line, e.column) for e in case.expected]
    assert got == want
    described = {r["id"] for r in run["tool"]["driver"]["rules"]}
    assert described == {e.rule for e in case.expected}
    assert all(r["shortDescription"]["text"] for r in run["tool"]["driver"]["rules"])



def test_sarif_rules_link_their_microsoft_source():
    from generator.findings import RULES

    case = next(c for c in CASES if c.name == "private_dns_zones_incomplete")
    result = run_cli("validate", _relative(case.spec), "--format", "sarif")
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["R222"]
    assert rules[0]["helpUri"] == "https://learn.microsoft.com/azure/dns/private-dns-virtual-network-links"
    assert RULES["R222"].source.startswith(rules[0]["helpUri"])


def test_folder_without_specs_is_reported(tmp_path):
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "README.md").write_text("specs go here\n", encoding="utf-8")
    result = run_cli("validate", str(folder), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    got = [(f["rule"], f["line"], f["column"], f["file"]) for f in json.loads(result.stdout)]
    assert got == [("L005", 0, 0, folder.resolve().as_posix())]
    text = run_cli("validate", str(folder))
    assert text.stdout.splitlines() == [f"{folder.resolve().as_posix()}: L005 this folder holds no spec files (*.yaml, *.yml)"]


def test_two_files_for_the_same_output_folder_are_reported(tmp_path):
    (tmp_path / "a.yaml").write_text("name: churn-dev\n", encoding="utf-8")
    (tmp_path / "a.yml").write_text("name: churn-prod\n", encoding="utf-8")
    result = run_cli("validate", str(tmp_path), "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    found = json.loads(result.stdout)
    assert [(f["rule"], f["line"], f["column"], Path(f["file"]).name) for f in found] == [("L007", 0, 0, "a.yml")]
    assert "'a/'" in found[0]["message"] and "a.yaml" in found[0]["message"], found[0]["message"]


def test_self_referencing_alias_is_a_yaml_finding(tmp_path):
    spec = tmp_path / "loop.yaml"
    spec.write_text("name: churn-dev\ntags: &t [*t]\n", encoding="utf-8")
    result = run_cli("validate", str(spec), "--format", "json")
    assert "internal error" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    assert [f["rule"] for f in json.loads(result.stdout)] == ["L001"]


def test_a_value_with_a_newline_still_prints_one_text_line(tmp_path):
    spec = tmp_path / "block.yaml"
    spec.write_text("name: churn-dev\nstorage:\n  name: |\n    stchurn\n", encoding="utf-8")
    result = run_cli("validate", str(spec))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and TEXT_LINE.match(lines[0]), lines
