"""The rule catalogue: every rule the code can report is listed, with its level and its Microsoft source."""

from __future__ import annotations

import json
import re

from conftest import ROOT, run_cli
from generator.findings import RULES

# A rule ID as the code writes it when it reports a finding: "R123", "S101", "L007"
_RULE_LITERAL = re.compile(r"""["']([LSR]\d{3})["']""")


def _rules_reported_by_code() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "generator").rglob("*.py")):
        if path.name == "findings.py":
            continue
        for rule in _RULE_LITERAL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(rule, path.relative_to(ROOT).as_posix())
    return found


def test_every_rule_the_code_reports_is_in_the_catalogue_with_a_source():
    reported = _rules_reported_by_code()
    assert len(reported) > 30  # the scan finds the rules (a broken regex would make this test pass vacuously)
    missing = {rule: where for rule, where in reported.items() if rule not in RULES}
    assert not missing, f"rules reported but not in generator/findings.py RULES: {missing}"


def test_every_azure_rule_names_a_microsoft_source():
    for rule_id, rule in RULES.items():
        assert rule.summary.endswith("."), rule_id
        assert rule.level in ("error", "warning", "error, warning"), rule_id
        if rule_id.startswith("R"):
            # a Learn page, or a path in a Microsoft repository (AVM, azure-ai-ml, azure-rest-api-specs)
            assert re.match(r"https://(learn\.microsoft\.com/|github\.com/Azure/)", rule.source), (rule_id, rule.source)


def test_rules_command_prints_the_catalogue():
    text = run_cli("rules")
    assert text.returncode == 0, text.stderr
    for rule_id, rule in RULES.items():
        assert f"{rule_id}  {rule.level}" in text.stdout
        assert f"source: {rule.source}" in text.stdout
    as_json = run_cli("rules", "--format", "json")
    rows = json.loads(as_json.stdout)
    assert [r["id"] for r in rows] == sorted(RULES)  # in ID order, whatever order they were added in
    assert {r["id"]: r["source"] for r in rows}["R205"] == RULES["R205"].source
