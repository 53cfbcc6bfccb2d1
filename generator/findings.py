"""Findings: what validation found in a spec, where, and how it is printed (text, JSON, SARIF)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"

# Stable rule IDs. The letter says the stage that found it: L = loading the file, S = the JSON Schema,
# R = the semantic rules. Never renumber one: CI configurations and SARIF baselines refer to them.
RULES: dict[str, str] = {
    "L001": "The file is not valid YAML.",
    "L002": "A key is written twice in the same mapping.",
    "L003": "The file is empty.",
    "L004": "The spec is not a mapping of keys to values.",
    "L005": "A folder holds no spec files.",
    "L006": "The file cannot be read.",
    "L007": "Two spec files would write the same output folder.",
    "L008": "A spec extends a file that does not exist or cannot be used as a base.",
    "L009": "A chain of extends comes back to a file already in it.",
    "L010": "A chain of extends is more than 5 files deep.",
    "S101": "A key is not part of the spec.",
    "S102": "A value has the wrong type.",
    "S103": "A required key is missing.",
    "S104": "A value is not one of the allowed values.",
    "S105": "A value does not have the required form.",
    "S106": "A value is too long, too short, too small or too large.",
    "S107": "A value breaks a rule of the spec's schema.",
    "R201": "A resource name breaks Azure's naming rules for its type.",
    "R202": "An existing-resource ID is not a well-formed Azure resource ID.",
    "R203": "An existing-resource ID names a resource of the wrong type.",
    "R204": "A SKU the workspace cannot use.",
    "R205": "A managed-network outbound rule is not allowed by the isolation mode.",
    "R206": "A setting conflicts with bringing an existing resource.",
    "R207": "A dependent resource cannot be closed to the public network with its SKU.",
    "R208": "A container registry behind a private network needs an image build compute.",
    "R210": "A role is neither a built-in role name nor a role definition GUID.",
    "R211": "A role assignment's scope is a resource the spec does not create.",
    "R212": "A compute's settings contradict each other or the workspace's.",
    "R213": "A private endpoint is asked for a resource the spec does not create, or cannot have one.",
    "R214": "Customer-managed key encryption is set up in a way Azure refuses (or cannot be checked).",
    "R215": "A setting does not fit the workspace's kind (Default, Hub, Project, FeatureStore).",
    "R216": "A property exists only in a preview API version: the workspace uses that version.",
    "R217": "The workspace identity settings contradict each other.",
    "R218": "A lock or diagnostic setting that cannot work as asked.",
    "R219": "A datastore's settings do not fit its type, or the workspace's storage.",
    "R220": "The template would exceed an Azure Resource Manager limit.",
    "R221": "A workspace closed to the public network that nobody can reach.",
}


@dataclass(frozen=True, order=True)
class Finding:
    """One thing wrong (or worth a warning) in one spec, located at file:line:column."""

    file: str
    line: int
    column: int
    rule: str
    path: str
    message: str
    severity: str = ERROR

    def text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        label = self.rule if self.severity == ERROR else f"{self.rule} (warning)"
        path = f" {self.path}:" if self.path else ""
        # one finding, one line: control characters from a value are shown escaped
        return f"{where}: {label}{_printable(path)} {_printable(self.message)}"


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7f]} | {0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t"}


def _printable(text: str) -> str:
    """One finding, one line, and nothing a terminal would act on: control characters shown escaped."""
    return text.translate(_CONTROL)


def has_errors(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def format_text(findings) -> str:
    return "".join(f.text() + "\n" for f in sorted(findings))


def format_json(findings) -> str:
    return json.dumps([asdict(f) for f in sorted(findings)], indent=2) + "\n"


def format_sarif(findings, tool_version: str) -> str:
    """SARIF 2.1.0, the format GitHub code scanning reads to annotate pull requests."""
    used = sorted({f.rule for f in findings})
    results = []
    for f in sorted(findings):
        region = {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)}
        results.append({
            "ruleId": f.rule,
            "level": "error" if f.severity == ERROR else "warning",
            "message": {"text": f"{f.path}: {f.message}" if f.path else f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": f.file}, "region": region}}],
        })
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "amlgen",
                "version": tool_version,
                "informationUri": "https://github.com/amlgen/amlgen",
                "rules": [{"id": r, "shortDescription": {"text": RULES[r]}} for r in used],
            }},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"
