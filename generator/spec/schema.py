"""Check spec data against schemas/workspace.schema.json and turn every violation into a located finding."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from jsonschema import Draft202012Validator, ValidationError, validators

from generator.findings import CONTROL_CHARACTERS, Finding, quoted
from generator.resources import spec_schema
from generator.spec.load import Document

_TYPE_WORDS = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping of keys to values", "array": "a list", "null": "nothing"}


@lru_cache(maxsize=None)
def _ecma_pattern(pattern: str) -> re.Pattern:
    """A schema pattern compiled so that `$` means what it means in ECMA-262, the dialect JSON Schema patterns are
    written in (and editors evaluate): the very end of the text. Python's `$` also matches before a final line
    break, so with jsonschema's own re.search `name: "churn-dev<line break>"` passed `^[a-z0-9-]+$`. Every `$`
    outside a character class becomes `\\Z`; the published schema keeps `$`, which editors read correctly.
    Source: json-schema-org/JSON-Schema-Test-Suite tests/draft2020-12/optional/ecmascript-regex.json, "ECMA 262
    regex $ does not match trailing newline" ("abc\\n" against ^abc$: "matches in Python, but not in ECMA 262").
    (ECMA-262's \\w and \\d are ASCII-only too; Python's Unicode ones are kept: Azure takes Unicode letters in
    resource group names, the one place the schema uses \\w.)"""
    out, i, in_class = [], 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = "\\Z"
        out.append(char)
        i += 1
    return re.compile("".join(out))


def _pattern(validator, pattern: str, instance, schema):
    if validator.is_type(instance, "string") and not _ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{quoted(instance)} does not match {pattern!r}")


@lru_cache(maxsize=None)
def _local(pointer: str):
    """The subschema a local reference (`#/$defs/...`) points to in the spec schema."""
    target = spec_schema()
    for part in pointer[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def _ref(validator, ref: str, instance, schema):
    # Speed: the spec schema's references are all local and it has one base URI; jsonschema resolves each `$ref`
    # anew through `referencing` (a sixth of validating a spec). Anything else goes the standard way.
    if ref.startswith("#/"):
        yield from validator.descend(instance, _local(ref))
    else:
        yield from Draft202012Validator.VALIDATORS["$ref"](validator, ref, instance, schema)


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    # The schema itself is checked against the 2020-12 metaschema by the tests (test_spec_schema_is_valid_2020_12),
    # not on every run: that check alone took longer than validating a spec.
    schema = spec_schema()
    return validators.extend(Draft202012Validator, {"pattern": _pattern, "$ref": _ref})(schema)


def _dotted(path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _describe(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, (dict, list)):
        return _TYPE_WORDS["object" if isinstance(value, dict) else "array"]
    return str(value)


def _kind_of(value) -> str:
    import datetime
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date (YAML reads an unquoted date as one)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, float):
        return "a number"
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, str):
        return "text"
    return _TYPE_WORDS["object" if isinstance(value, dict) else "array"]


def _hint(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


def _allowed_keys(schema: dict) -> list[str]:
    return sorted(schema.get("properties", {}))


def _findings_for(error, doc: Document, out: list[Finding]) -> None:
    path = tuple(error.absolute_path)
    kw = error.validator

    def add(rule, message, at=path, key=False, p=path):
        file, line, col = doc.where(at, key=key)
        out.append(Finding(file, line, col, rule, _dotted(p), message))

    if "propertyNames" in error.schema_path:
        name = error.instance
        if kw == "enum":  # a key that this variant of an object does not take
            allowed = ", ".join(error.validator_value)
            add("S101", f"{quoted(name)} is not used here; this kind takes only: {allowed}", at=path + (name,), key=True,
                p=path + (name,))
        else:
            rule = error.schema.get("description") or error.message
            add("S105", f"the name {quoted(name)} is not allowed: {rule}", at=path + (name,), key=True, p=path + (name,))
        return
    if kw == "additionalProperties":
        allowed = _allowed_keys(error.schema)
        extras = sorted(k for k in error.instance if k not in error.schema.get("properties", {}))
        for key in extras:
            add("S101", f"unknown key {quoted(key)}{_hint(key, allowed)} (allowed here: {', '.join(allowed)})",
                at=path + (key,), key=True, p=path + (key,))
        return
    if kw == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        for key in missing:
            add("S103", f"the key '{key}' is required here")
        return
    if kw == "type":
        expected = error.validator_value
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in ([expected] if isinstance(expected, str) else expected))
        got = _kind_of(error.instance)
        tip = ""
        if expected == "text" and not isinstance(error.instance, (dict, list)):
            tip = "; quote the value so YAML keeps it as text"
        add("S102", f"expected {expected}, got {got}{tip}")
        return
    if kw in ("enum", "const"):
        allowed = error.validator_value if kw == "enum" else [error.validator_value]
        words = ", ".join(_describe(a) for a in allowed)
        hint = _hint(error.instance, [a for a in allowed if isinstance(a, str)]) if isinstance(error.instance, str) else ""
        add("S104", f"{_describe(error.instance)} is not one of {words}{hint}")
        return
    if kw == "pattern":
        what = re.sub(r"^(Required|Optional)\. ", "", error.schema.get("description", ""))
        add("S105", f"{_describe(error.instance)} does not have the required form" + (f": {what}" if what else ""))
        return
    if kw in ("minLength", "maxLength"):
        add("S106", f"{_describe(error.instance)} has {len(error.instance)} characters; "
                    f"{'at least' if kw == 'minLength' else 'at most'} {error.validator_value} are allowed")
        return
    if kw in ("minimum", "maximum"):
        add("S106", f"{error.instance} is {'below the minimum' if kw == 'minimum' else 'above the maximum'} "
                    f"of {error.validator_value}")
        return
    if kw in ("maxProperties", "minProperties"):
        add("S106", f"{len(error.instance)} entries; {'at most' if kw == 'maxProperties' else 'at least'} "
                    f"{error.validator_value} are allowed")
        return
    if kw == "oneOf":
        # A choice of a few words or a mapping (containerRegistry: settings or false; privateDnsZones: create,
        # none or zone IDs). Report what is wrong inside the mapping when a mapping was given.
        if isinstance(error.instance, dict):
            # the mapping branch's errors: everything inside the mapping, and what the mapping itself breaks
            # (not "is not false" / "is not one of create, none" from the other branches)
            depth = len(error.absolute_path)
            for sub in error.context:
                if len(sub.absolute_path) > depth or sub.validator not in ("const", "type", "enum"):
                    _findings_for(sub, doc, out)
            return
        words = [_describe(v) for branch in error.validator_value
                 for v in (branch.get("enum") or ([branch["const"]] if "const" in branch else []))]
        add("S102" if not isinstance(error.instance, str) else "S104",
            f"expected {', '.join(words)} or a mapping of settings, got {_describe(error.instance)}")
        return
    add("S107", error.message)


# Characters no spec value may hold outside free text: C0 and C1 controls (a line break, a tab, ...), DEL, the
# Unicode line and paragraph separators, and the bidirectional overrides and isolates that make text read other
# than it is. Names, IDs, regions, paths, SKUs: Azure reads each as one token, and a pattern without `$` (resource
# IDs: ^/subscriptions/) or no pattern at all (nameSeed, connection names) would let one through to a template.
_CONTROL = CONTROL_CHARACTERS
_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}
# Free text: people's words, carried into the templates as escaped literals whatever they hold (the hostile-text
# tests of tests/test_bicep.py prove it), and a multi-line SSH2 public key. "*" stands for any key or index;
# a path ending in "*" is a mapping whose keys are free text too (tag names).
FREE_TEXT = (("workspace", "friendlyName"), ("workspace", "description"), ("roleAssignments", "*", "description"),
             ("datastores", "*", "description"), ("computes", "*", "ssh", "publicKey"), ("tags", "*"))


def _free(path: tuple) -> bool:
    return any(len(path) == len(pattern) and all(p == "*" or p == part for p, part in zip(pattern, path))
               for pattern in FREE_TEXT)


def _control_message(text: str) -> str:
    m = _CONTROL.search(text)
    char = m.group()
    name = _CONTROL_NAMES.get(char) or (
        f"a bidirectional-text control (U+{ord(char):04X})" if "\u202a" <= char <= "\u2069"
        else f"a control character (U+{ord(char):04X})")
    where = "at its end" if m.start() == len(text) - 1 else f"at character {m.start() + 1}"
    tip = ""
    if char == "\n":
        tip = (" (a YAML block scalar `|` or `>` keeps a final line break: write `|-` or `>-`, or put the value "
               "on one line)")
    return f"{quoted(text)} holds {name} {where}: a name, ID or setting is one line of printable characters; " \
           f"remove it{tip}"


def check_text(doc: Document) -> list[Finding]:
    """Every key and text value outside free text, checked for control characters (S108)."""
    out: list[Finding] = []

    def walk(value, path: tuple) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _CONTROL.search(key) and not _free(path + (key,)):
                    file, line, col = doc.where(path + (key,), key=True)
                    out.append(Finding(file, line, col, "S108", _dotted(path + (key,)),
                                       "the key " + _control_message(key)))
                walk(item, path + (key,))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, path + (index,))
        elif isinstance(value, str) and _CONTROL.search(value) and not _free(path):
            file, line, col = doc.where(path)
            out.append(Finding(file, line, col, "S108", _dotted(path), _control_message(value)))

    walk(doc.data, ())
    return out


def check(doc: Document) -> list[Finding]:
    findings: list[Finding] = []
    for error in _validator().iter_errors(doc.data):
        _findings_for(error, doc, findings)
    text = check_text(doc)
    if text:  # S108 says exactly what is wrong with a value; "does not have the required form" would only echo it
        broken = {f.path for f in text}
        findings = [f for f in findings if not (f.rule in ("S104", "S105") and f.path in broken)] + text
    # One value can break several keywords of the same rule (too short and a bad character): say it once.
    seen, unique = set(), []
    for f in findings:
        key = (f.rule, f.path) if f.rule in ("S105", "S106") else (f.rule, f.path, f.message)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique
