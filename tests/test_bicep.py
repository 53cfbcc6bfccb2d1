"""main.bicep parses, says exactly what main.json says, and carries any spec text unchanged (tests/bicep_parity.py
does the comparison; the tests of the test below show it reports a deliberate difference)."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import signal
import threading
from pathlib import Path

import jinja2
import pytest
import yaml

from bicep_parity import (ABSENT, BicepFile, Expression, Unsupported, compare, compare_folder,
                          decode_arm_literal, decode_bicep, is_arm_expression, parse_bicep, read_arm_expression, report,
                          resource_keys, scan_bicep_literal, scan_literals, unescaped_interpolations)
from conftest import EXAMPLES, OUT, ROOT, run_cli
from lark.exceptions import LarkError


def _example_folders() -> list[str]:
    """The out/ folders `amlgen generate` writes for the examples (a `base: true` spec writes none), asked of the
    pipeline itself; the committed out/ folders if the pipeline cannot answer."""
    try:
        from generator import config, pipeline

        cfg, targets = config.resolve((), None, cwd=ROOT)
        result = pipeline.generate(*config.discover(targets, cfg))
        if result.ok and result.files:
            return sorted({path.rsplit("/", 1)[0] for path in result.files if path.endswith("/main.json")})
    except Exception:  # noqa: BLE001 - the golden tests report a broken pipeline; here it only picks folders
        pass
    return sorted(p.parent.relative_to(OUT).as_posix() for p in OUT.rglob("main.json"))


EXAMPLE_IDS = _example_folders()


@contextlib.contextmanager
def time_limit(seconds: float):
    """pycep's string regex can backtrack for minutes on some valid literals: fail instead of hanging."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise TimeoutError(f"pycep took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _folder(example: str) -> Path:
    return OUT / example


def _walk_strings(node, keys=True):
    """Every string in a pycep result or JSON document (object keys too), depth first."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            if keys:
                yield k
            yield from _walk_strings(v, keys)
    elif isinstance(node, list):
        for v in node:
            yield from _walk_strings(v, keys)


# --- 1. every main.bicep parses; main.bicepparam is checked by a regex and pycep ----------------------------------

def test_there_are_examples_and_each_has_bicep_output():
    assert EXAMPLE_IDS, "no example generates an out/ folder"
    for example in EXAMPLE_IDS:
        for name in ("main.bicep", "main.bicepparam", "main.json"):
            assert (_folder(example) / name).is_file(), f"out/{example}/{name} is missing: run `amlgen generate`"


@pytest.mark.parametrize("example", EXAMPLE_IDS)
def test_main_bicep_parses_with_pycep(example):
    text = (_folder(example) / "main.bicep").read_text(encoding="utf-8")
    with time_limit(20):
        parsed = parse_bicep(text=text, robust=False)  # the file exactly as checkov's parser sees it
    assert parsed["globals"]["scope"]["value"] == "resourceGroup"
    assert parsed.get("resources"), "pycep found no resources"
    assert "location" in parsed.get("parameters", {})
    assert parsed.get("outputs")
    # the robust reading (literals lexed by Bicep's rules) finds the same declarations
    assert parse_bicep(text=text).keys() == parsed.keys()
    # every literal is valid: known escapes only, no raw line break; an interpolation (amlgen writes one only for a
    # resource ID as a key, '${identity.id}') holds an expression over declared symbols
    literals = scan_literals(text)
    assert literals
    bicep = BicepFile(parsed)
    for lit in literals:
        value = bicep.string(lit.raw, set())
        assert not isinstance(value, Unsupported), f"literal {lit.raw!r}: {value!r}"
        if lit.interpolated:  # only '${<declared resource>.id}' (an identity's ID as a key; an existing one is a literal)
            ref = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\.id\}", lit.raw)
            assert ref and ref.group(1) in parsed["resources"], lit.raw
            assert isinstance(value, (Expression, str)), lit.raw


_USING = re.compile(r"\Ausing '([^'\\\n]*)'\n")
_STATEMENT = re.compile(r"^param ([A-Za-z_][A-Za-z0-9_]*) = \S", re.M)


def parse_bicepparam(text: str) -> tuple[str, dict]:
    """pycep has no grammar for .bicepparam files (`using` is a syntax error to it). Checked here instead: the
    first line is `using '<file>'`; every other statement starts at column 0 as `param <identifier> = <value>`;
    the values are then parsed by pycep as the values of `var` declarations."""
    m = _USING.match(text)
    assert m, f"main.bicepparam does not start with `using '<file>'`: {text[:80]!r}"
    body = text[m.end():]
    for line in body.splitlines():
        if not line.strip() or line.startswith("//") or line.startswith((" ", "}", "]")):
            continue
        assert _STATEMENT.match(line), f"main.bicepparam: not a `param <name> = <value>` statement: {line!r}"
    parsed = parse_bicep(text=_STATEMENT.sub(lambda s: f"var {s.group(1)} = {s.group(0)[-1]}", body))
    return m.group(1), {name: d["value"] for name, d in (parsed.get("variables") or {}).items()}


@pytest.mark.parametrize("example", EXAMPLE_IDS)
def test_main_bicepparam_is_valid_and_carries_main_parameters_json(example):
    folder = _folder(example)
    using, values = parse_bicepparam((folder / "main.bicepparam").read_text(encoding="utf-8"))
    assert using == "main.bicep"
    declared = BicepFile(parse_bicep(path=folder / "main.bicep"))
    assert set(values) <= set(declared.parameters), "main.bicepparam sets parameters main.bicep does not declare"
    arm_values = json.loads((folder / "main.parameters.json").read_text(encoding="utf-8"))["parameters"]
    # values in a parameters file are data, never evaluated: compared without ARM's '[[' rule
    assert {k: declared.value(v) for k, v in values.items()} == {k: v["value"] for k, v in arm_values.items()}


def test_bicepparam_check_refuses_what_is_not_a_param_statement():
    with pytest.raises(AssertionError, match="not a `param"):
        parse_bicepparam("using 'main.bicep'\n\nvar location = 'x'\n")
    with pytest.raises(AssertionError, match="using"):
        parse_bicepparam("param location = 'x'\n")


# --- 2. parity of main.bicep and main.json ------------------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLE_IDS)
def test_main_bicep_and_main_json_describe_the_same_deployment(example):
    diffs = compare_folder(_folder(example))
    assert not diffs, f"out/{example}: main.bicep and main.json differ:\n{report(diffs)}"


@pytest.mark.parametrize("example", EXAMPLE_IDS)
def test_parity_compared_every_arm_resource(example):
    """The comparison must not pass by comparing nothing: every main.json resource is matched by a Bicep one."""
    folder = _folder(example)
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    arm_keys, bicep_keys = resource_keys(arm, BicepFile(parse_bicep(path=folder / "main.bicep")))
    assert sorted(arm_keys) == sorted(bicep_keys)
    assert len(set(arm_keys)) == len(arm_keys) >= 1


def test_existing_resources_are_absent_from_arm_and_referenced_by_resource_id_of_their_parts():
    folder = _folder("existing-resources")
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    bicep = BicepFile(parse_bicep(path=folder / "main.bicep"))
    existing = [s for s in bicep.resources if bicep.is_existing(s)]
    assert existing, "the existing-resources example declares no `existing` resource"
    for symbol in existing:
        rid = bicep.id_of(symbol)
        assert isinstance(rid, Expression) and rid.arm.startswith("resourceId('00000000-0000-0000-0000-000000000000', ")
        assert not any(r["type"] == bicep.resources[symbol]["type"] for r in arm["resources"])
        assert rid.arm in json.dumps(arm)
    # arm-ttk: no literal resource ID anywhere in the template
    assert "/subscriptions/" not in json.dumps(arm)


# --- 3. tests of the test: a deliberate difference is reported ----------------------------------------------------

def _spec(example: str):
    from generator import pipeline
    from generator.config import SpecFile

    result = pipeline.validate([SpecFile(EXAMPLES / f"{example}.yaml", EXAMPLES)])
    assert result.ok, [str(f) for f in result.findings]
    return result.checked[0].spec


def _render(monkeypatch, spec, edits: dict[str, tuple[str, str]] | None = None) -> list:
    """Render `spec` with the real pipeline, the Bicep fragments edited in the Jinja loader (fragment name ->
    (old, new)), and compare the two templates."""
    from generator import pipeline
    from generator.bicep import render as bicep_render
    from generator.resources import template_text

    edits = edits or {}

    def load(name):
        text = template_text(f"bicep/{name}")
        if name in edits:
            old, new = edits[name]
            assert old in text, f"templates/bicep/{name} no longer contains {old!r}: update this test"
            text = text.replace(old, new)
        return text

    env = bicep_render._ENV.overlay(loader=jinja2.FunctionLoader(load), cache_size=0)
    monkeypatch.setattr(bicep_render, "_ENV", env)
    files = pipeline.render_spec(spec)
    return compare(json.loads(files["main.json"]), parse_bicep(text=files["main.bicep"]),
                   lambda path: parse_bicep(text=files[path]))


def _only(diffs, path_part: str):
    found = [d for d in diffs if path_part in d.path]
    assert found, f"no difference at {path_part!r}; got:\n{report(diffs)}"
    return found


def test_unchanged_fragments_render_with_no_difference(monkeypatch):
    assert _render(monkeypatch, _spec("secure")) == []


def test_a_changed_literal_in_a_bicep_fragment_is_reported(monkeypatch):
    diffs = _render(monkeypatch, _spec("secure"), {
        "storage.bicep.jinja": ("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1_0'")})
    assert len(diffs) == 1, report(diffs)
    (d,) = _only(diffs, ".properties.minimumTlsVersion")
    assert d.path.startswith("resources.storage (Microsoft.Storage/storageAccounts")
    assert (d.arm, d.bicep) == ("TLS1_2", "TLS1_0")


def test_a_reference_to_the_wrong_resource_is_reported(monkeypatch):
    diffs = _render(monkeypatch, _spec("secure"), {
        "workspace.bicep.jinja": ("keyVault: {{ v.keyVault | bicep }}", "keyVault: {{ v.storageAccount | bicep }}")})
    workspace = "resources.workspace (Microsoft.MachineLearningServices/workspaces 'churn-prod')"
    (d,) = _only(diffs, f"{workspace}.properties.keyVault")
    assert isinstance(d.arm, Expression) and d.arm.arm.startswith("resourceId('Microsoft.KeyVault/vaults'")
    assert isinstance(d.bicep, Expression) and d.bicep.arm.startswith("resourceId('Microsoft.Storage/storageAccounts'")
    assert "storage.id" in str(d)
    # main.json still depends on the key vault, which the Bicep workspace no longer references
    (dep,) = _only(diffs, ".dependsOn")
    assert "Microsoft.KeyVault/vaults" in str(dep.arm) and dep.bicep == "no reference to it"


def test_a_wrong_scope_of_an_existing_resource_is_reported(monkeypatch):
    diffs = _render(monkeypatch, _spec("existing-resources"), {
        "existing.bicep.jinja": ("scope: {{ v.scope | bicep }}",
                                 "scope: resourceGroup('00000000-0000-0000-0000-000000000000', 'rg-elsewhere')")})
    paths = {part for d in diffs for part in d.path.split(".")}
    assert {"storageAccount", "keyVault", "applicationInsights", "containerRegistry",
            "storageAccountId", "keyVaultId", "applicationInsightsId", "containerRegistryId"} <= paths, report(diffs)
    assert all("rg-platform" in str(d.arm) and "rg-elsewhere" in str(d.bicep) for d in diffs), report(diffs)


def test_a_property_missing_from_a_bicep_fragment_is_reported(monkeypatch):
    diffs = _render(monkeypatch, _spec("defaults"), {
        "keyvault.bicep.jinja": ("    enablePurgeProtection: true\n", "")})
    (d,) = diffs
    assert d.path.endswith(".properties.enablePurgeProtection") and d.arm is True and d.bicep is ABSENT


def test_an_unescaped_interpolation_in_a_bicep_literal_is_reported(monkeypatch):
    """A Bicep literal filter that forgot `${` makes the description an interpolation: parity says so."""
    from generator import model
    from generator.bicep import render as bicep_render

    spec = model.build({"name": "churn-dev", "workspace": {"description": "cost ${x}"}}, "examples/dev.yaml")
    assert _render(monkeypatch, spec) == []
    real = bicep_render.string
    monkeypatch.setattr(bicep_render, "string", lambda text: real(text).replace("\\u{24}{", "${"))
    (d,) = _only(_render(monkeypatch, spec), ".properties.description")
    assert d.arm == "cost ${x}" and isinstance(d.bicep, Unsupported)  # `x` is no symbol of the template
    spec = model.build({"name": "churn-dev", "workspace": {"description": "in ${location}"}}, "examples/dev.yaml")
    (d,) = _only(_render(monkeypatch, spec), ".properties.description")
    assert d.arm == "in ${location}" and d.bicep == Expression("format('in {0}', parameters('location'))")


def _secure_module(path: str):
    """The module files main.bicep of the secure example names (its private endpoints)."""
    return parse_bicep(path=_folder("secure") / path)


def _secure():
    folder = _folder("secure")
    return (json.loads((folder / "main.json").read_text(encoding="utf-8")),
            (folder / "main.bicep").read_text(encoding="utf-8"))


def _workspace(arm):
    return next(r for r in arm["resources"] if r["type"] == "Microsoft.MachineLearningServices/workspaces")


def _mutate_api_version(arm, bicep):
    _workspace(arm)["apiVersion"] = "2024-04-01"
    return arm, bicep


def _mutate_name(arm, bicep):
    _workspace(arm)["name"] = "churn-prod2"
    return arm, bicep


def _mutate_depends_on(arm, bicep):
    _workspace(arm)["dependsOn"] = _workspace(arm)["dependsOn"][1:]
    return arm, bicep


def _mutate_principal_id_version(arm, bicep):
    value = arm["outputs"]["workspacePrincipalId"]["value"]
    arm["outputs"]["workspacePrincipalId"]["value"] = re.sub(r"'\d{4}-\d{2}-\d{2}'", "'2020-01-01'", value)
    return arm, bicep


def _mutate_parameter_default(arm, bicep):
    arm["parameters"]["location"]["defaultValue"] = "westeurope"
    return arm, bicep


def _mutate_output_missing(arm, bicep):
    del arm["outputs"]["keyVaultId"]
    return arm, bicep


def _mutate_tag_unescaped(arm, bicep):
    # the ARM literal becomes an expression while the Bicep literal stays text
    for r in arm["resources"]:
        if "tags" in r:  # zone groups and other child resources carry no tags
            r["tags"]["team"] = "[parameters('location')]"
    bicep = bicep.replace("team: 'data-science'", "team: '[parameters(\\'location\\')]'")
    return arm, bicep


def _mutate_bicep_output_reference(arm, bicep):
    return arm, bicep.replace("output keyVaultId string = keyVault.id", "output keyVaultId string = storage.id")


def _mutate_bicep_location(arm, bicep):
    return arm, bicep.replace("  location: location\n", "  location: 'westeurope'\n", 1)


MUTATIONS = {
    "api version": (_mutate_api_version, "apiVersion"),
    "resource name": (_mutate_name, "resources"),
    "dependsOn": (_mutate_depends_on, "dependsOn"),
    "principalId reference version": (_mutate_principal_id_version, "outputs.workspacePrincipalId.value"),
    "parameter default": (_mutate_parameter_default, "parameters.location.default"),
    "missing output": (_mutate_output_missing, "outputs.keyVaultId"),
    "ARM text evaluated as an expression": (_mutate_tag_unescaped, ".tags.team"),
    "Bicep output points elsewhere": (_mutate_bicep_output_reference, "outputs.keyVaultId.value"),
    "Bicep literal instead of parameter": (_mutate_bicep_location, ".location"),
}


@pytest.mark.parametrize("case", MUTATIONS)
def test_a_deliberate_difference_in_the_outputs_is_reported(case):
    mutate, path_part = MUTATIONS[case]
    arm, bicep = _secure()
    assert compare(copy.deepcopy(arm), parse_bicep(text=bicep), _secure_module) == []
    arm, bicep = mutate(arm, bicep)
    _only(compare(arm, parse_bicep(text=bicep), _secure_module), path_part)


RBAC_MUTATIONS = {
    "role assignment on the wrong scope": (
        "  scope: storage\n  name: guid(toLower(storage.id)", "  scope: workspace\n  name: guid(toLower(storage.id)",
        "resources.roleAssignment4"),
    "role assignment name from another resource": (
        "name: guid(toLower(storage.id)", "name: guid(toLower(keyVault.id)", "resources.roleAssignment4"),
    "compute without its parent": ("resource computeCpuCluster 'Microsoft.MachineLearningServices/workspaces/"
                                   "computes@2026-05-01' = {\n  parent: workspace\n",
                                   "resource computeCpuCluster 'Microsoft.MachineLearningServices/workspaces/"
                                   "computes@2026-05-01' = {\n", "resources.computeCpuCluster"),
    "role definition": ("'ba92f5b4-2d11-453d-a403-e96b0029c9fe')\n", "'acdd72a7-3385-48ef-bd42-f606fba81ae7')\n",
                        ".properties.roleDefinitionId"),
}


@pytest.mark.parametrize("case", RBAC_MUTATIONS)
def test_a_deliberate_difference_in_child_and_extension_resources_is_reported(case):
    folder = _folder("computes-rbac")
    if not folder.is_dir():
        pytest.skip("no computes-rbac example")
    old, new, path_part = RBAC_MUTATIONS[case]
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    bicep = (folder / "main.bicep").read_text(encoding="utf-8")
    assert compare(arm, parse_bicep(text=bicep), _secure_module) == []
    assert bicep.count(old) == 1, f"out/computes-rbac/main.bicep no longer contains {old!r}: update this test"
    _only(compare(arm, parse_bicep(text=bicep.replace(old, new)), _secure_module), path_part)


def test_an_interpolated_key_naming_the_wrong_resource_is_reported():
    folder = _folder("cmk")
    if not (folder / "main.bicep").is_file():
        pytest.skip("no cmk example")
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    bicep = (folder / "main.bicep").read_text(encoding="utf-8")
    old = "'${identityIdClaimsCmk.id}': {}"
    assert bicep.count(old) == 1, f"out/cmk/main.bicep no longer contains {old!r}: update this test"
    before = {str(d) for d in compare(arm, parse_bicep(text=bicep), _secure_module)}
    after = [d for d in compare(arm, parse_bicep(text=bicep.replace(old, "'${storage.id}': {}")), _secure_module)
             if str(d) not in before]
    paths = {d.path for d in after}
    assert any("userAssignedIdentities.[resourceId('Microsoft.Storage/storageAccounts', " in p for p in paths), report(
        after)


def test_an_escaped_literal_that_means_the_same_text_is_no_difference():
    arm, bicep = _secure()
    bicep = bicep.replace("minimumTlsVersion: 'TLS1_2'", "minimumTlsVersion: 'TLS1\\u{5F}2'")
    _workspace(arm)["properties"]["friendlyName"] = "[[Churn (production)]"  # ARM's escape of "[Churn (production)]"
    bicep = bicep.replace("friendlyName: 'Churn (production)'", "friendlyName: '[Churn (production)]'")
    assert compare(arm, parse_bicep(text=bicep), _secure_module) == []


def test_an_existing_resource_deployed_by_arm_is_reported():
    folder = _folder("existing-resources")
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    arm["resources"].append({"type": "Microsoft.Storage/storageAccounts", "apiVersion": "2026-04-01",
                             "name": "stplatformml", "location": "[parameters('location')]"})
    (d,) = compare(arm, parse_bicep(path=folder / "main.bicep"), lambda path: parse_bicep(path=folder / path))
    assert d.arm == "deployed by main.json" and "existing" in d.bicep


def test_bicep_literal_decoding():
    assert decode_bicep(r"it\'s \\ \n\r\t \${x} \u{1F680} \u{e9}") == "it's \\ \n\r\t ${x} \U0001F680 é"
    for bad in (r"\q", "${x}", "a\nb", "\\"):
        with pytest.raises(ValueError):
            decode_bicep(bad)
    assert unescaped_interpolations(r"a\${b} ${c} \\${d}") == [7, 14]
    assert scan_bicep_literal("x: 'a\\\\' y", 3) == ("a\\\\", 8)
    assert read_arm_expression(" resourceid( 'a','b''c' ).x[0] ") == Expression("resourceId('a', 'b''c').x[0]")
    assert read_arm_expression("format('{0}/{1}', 'ws', 'ci')") == "ws/ci"
    text = "// it's\nvar a = 'x\\\\' /* ' */\nvar b = '${c('}')}' '''m'ulti'''\n"
    assert [(lit.raw, lit.interpolated) for lit in scan_literals(text)] == [("x\\\\", False), ("${c('}')}", True)]
    assert decode_arm_literal("[[x]") == "[x]" and decode_arm_literal("[x") == "[x"
    assert is_arm_expression("[x]") and not is_arm_expression("[[x]") and not is_arm_expression("[x")


# --- 4. hostile text in every free-text field ---------------------------------------------------------------------

HOSTILE = [
    "It's \"quoted\": 'single' \"double\" '' '''triple''' ''",
    "back\\slash C:\\temp\\new \\n \\t \\' \\\" \\${x} \\\\ \\u{41} end",
    "${param} ${'x'} ${resourceGroup().location} $${x} ${ $ {x} $",
    "[parameters('x')]",
    "[abc",
    "[[already escaped]",
    "[concat('a', 'b')] not at the end",
    "]starts with a bracket[",
    "line1\nline2\r\nline3\ttabbed\x0bvertical",
    "é 日本 🚀 \u00a0nbsp ẞ \u2028sep \u202eRTL",
    "\"}], \"evil\": {{ 7*7 }} {% raw %} {# j #} // c /* c */ # c",
    "control \x01 \x1f \x7f end",
    "ends with a backslash \\",
]
FORBIDDEN_IN_TAG_NAMES = "<>%&\\?/"


def _hostile_specs() -> dict[str, dict]:
    tags = {}
    for i, text in enumerate(HOSTILE):
        name = "".join(ch for ch in text if ch not in FORBIDDEN_IN_TAG_NAMES).strip() or f"t{i}"
        tags[name] = text
    tags["[parameters('x')]"] = "[abc"
    tags["${x}"] = "${x}"
    together = " | ".join(HOSTILE)
    return {
        "hostile-a": {"name": "hostile-a", "tags": tags,
                      "workspace": {"friendlyName": HOSTILE[0] + HOSTILE[1], "description": together}},
        "hostile-b": {"name": "hostile-b", "tags": {"a": "[parameters('x')]"},
                      "workspace": {"friendlyName": "[parameters('x')]", "description": "[abc"}},
        "hostile-c": {"name": "hostile-c", "tags": {"b": "[[already escaped]", "c": "\\"},
                      "workspace": {"friendlyName": "${x}", "description": HOSTILE[8] + HOSTILE[9] + HOSTILE[12]}},
        # the free text of role assignments, datastores and compute instances
        "hostile-d": {"name": "hostile-d", "location": "westeurope",
                      "roleAssignments": [{"role": "Reader", "principalId": "33333333-3333-3333-3333-333333333333",
                                           "principalType": "Group", "description": together}],
                      "datastores": {
                          "raw_events": {"type": "blob", "container": "raw", "description": HOSTILE[3],
                                         "account": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups"
                                                    "/rg-data/providers/Microsoft.Storage/storageAccounts/stdatalake"},
                          "curated": {"type": "blob", "container": "curated", "description": HOSTILE[12],
                                      "account": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups"
                                                 "/rg-data/providers/Microsoft.Storage/storageAccounts/stdatalake"}},
                      "computes": {"ci-a": {"type": "instance", "vmSize": "Standard_D4s_v5",
                                            "assignedUser": {"objectId": "11111111-1111-1111-1111-111111111111",
                                                             "tenantId": "22222222-2222-2222-2222-222222222222"},
                                            "setupScript": HOSTILE[0] + HOSTILE[1] + HOSTILE[2]},
                                   # an SSH public key is not a secret, but it is user text: a literal, never code
                                   "ci-b": {"type": "instance",
                                            "ssh": {"publicKey": "ssh-rsa " + HOSTILE[4] + HOSTILE[5] + HOSTILE[6]}}}},
        # the free text of connections: a target URL and metadata values
        "hostile-e": {"name": "hostile-e", "location": "westeurope",
                      "connections": {
                          "feed-a": {"category": "PythonFeed", "auth": "None", "target": "https://x/" + HOSTILE[0],
                                     "metadata": {"a": HOSTILE[3], "b": HOSTILE[2], "c": HOSTILE[12]}},
                          "feed-b": {"category": "Git", "auth": "None", "target": HOSTILE[3] + HOSTILE[1]}}},
    }


def free_texts(data: dict) -> list[str]:
    """Every free-text value of a spec: workspace text, tag names and values, role assignment and datastore
    descriptions, compute setup scripts."""
    texts = [data.get("workspace", {}).get(k) for k in ("friendlyName", "description")]
    texts += [t for pair in data.get("tags", {}).items() for t in pair]
    texts += [r.get("description") for r in data.get("roleAssignments", [])]
    texts += [d.get("description") for d in data.get("datastores", {}).values()]
    texts += [c.get("setupScript") for c in data.get("computes", {}).values()]
    texts += [(c.get("ssh") or {}).get("publicKey") for c in data.get("computes", {}).values()
              if isinstance(c.get("ssh"), dict)]
    texts += [t for c in data.get("connections", {}).values() for t in [c["target"], *c.get("metadata", {}).values()]]
    return [t for t in texts if t is not None]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile specs generated by the real CLI: {name: (spec data, output folder)}."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "specs").mkdir()
    specs = _hostile_specs()
    for name, data in specs.items():
        path = root / "specs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        assert yaml.safe_load(path.read_text(encoding="utf-8")) == data, "the YAML must round-trip the text"
    result = run_cli("generate", "specs", "-o", "out", cwd=root)
    assert result.returncode == 0, result.stdout + result.stderr
    return {name: (data, root / "out" / name) for name, data in specs.items()}


# the ARM expressions amlgen builds for these specs; user text must never produce another
_GENERATED_EXPRESSION = re.compile(
    r"parameters\('location'\)|resourceGroup\(\)\.location|subscription\(\)\.tenantId"
    r"|resourceId\('[A-Za-z./]+'(, '[A-Za-z0-9._-]+')+\)"
    r"|reference\(resourceId\('[A-Za-z./]+'(, '[A-Za-z0-9._-]+')+\), '[0-9a-z-]+', 'full'\)\.identity\.principalId")


def test_hostile_specs_use_every_free_text_field():
    """Keeps this test honest as the schema grows: the free-text fields it knows, and their limits."""
    from generator.resources import spec_schema

    schema = spec_schema()
    workspace = schema["$defs"]["workspace"]["properties"]
    for field_name in ("friendlyName", "description"):
        assert workspace[field_name]["type"] == "string" and "pattern" not in workspace[field_name]
    tag_names = schema["$defs"]["tags"]["propertyNames"]
    for data in _hostile_specs().values():
        for field_name in ("friendlyName", "description"):
            if field_name in data.get("workspace", {}):
                assert len(data["workspace"][field_name]) <= workspace[field_name]["maxLength"]
        assert all(re.search(tag_names["pattern"], name) for name in data.get("tags", {}))
    # the free-text strings of the schema today (no pattern, no enum), each covered by a hostile spec
    covered = {"/$defs/tags/additionalProperties", "/$defs/workspace/properties/friendlyName",
               "/$defs/workspace/properties/description", "/$defs/roleAssignment/properties/description",
               "/$defs/datastore/properties/description", "/$defs/compute/properties/setupScript",
               "/$defs/compute/properties/ssh/properties/publicKey",
               "/$defs/connection/properties/target/oneOf/0",
               "/$defs/connection/properties/metadata/additionalProperties"}
    # names, ids and references: checked by rules (naming, role table, known identities), not free text
    not_free = {"/properties/nameSeed", "/properties/extends", "/$defs/storage/properties/name",
                "/$defs/keyVault/properties/name", "/$defs/applicationInsights/properties/name",
                "/$defs/applicationInsights/properties/logAnalytics/properties/name",
                "/$defs/containerRegistry/properties/name", "/$defs/roleAssignment/properties/role",
                "/$defs/workspace/properties/identity/properties/primary",
                "/$defs/workspace/properties/encryption/properties/identity",
                "/$defs/workspace/properties/featureStore/properties/offlineStoreConnectionName",
                "/$defs/workspace/properties/featureStore/properties/onlineStoreConnectionName",
                "/$defs/roleAssignment/properties/principalId/else/properties/identity",
                "/$defs/aiServices/properties/name", "/$defs/aiServices/properties/customSubDomain",
                "/$defs/aiSearch/properties/name", "/$defs/connection/properties/identity",
                "/$defs/modelDeployment/properties/model/properties/format",
                "/$defs/modelDeployment/properties/sku/properties/name"}
    unconstrained = set(_free_string_paths(schema))
    assert unconstrained - not_free <= covered, (
        f"new free-text fields: {sorted(unconstrained - not_free - covered)}: add them to the hostile specs")


def _free_string_paths(node, path=""):
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "format", "$ref", "const"} & set(node):
            yield path
        for key, value in node.items():
            if key != "if":  # a condition on the value, not a value
                yield from _free_string_paths(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _free_string_paths(value, f"{path}/{i}")


def assert_arm_carries_the_text(arm: dict, data: dict) -> None:
    """Asserts that the spec's free text is in main.json unchanged and never as an expression."""
    ws = _workspace(arm)["properties"]
    for field_name in ("friendlyName", "description"):
        raw = ws[field_name]
        assert not is_arm_expression(raw), f"{field_name} {raw!r} would be evaluated by ARM"
        assert decode_arm_literal(raw) == data["workspace"][field_name]
    assert all("tags" in r for r in arm["resources"]) and arm["resources"]
    for r in arm["resources"]:
        for key, value in r["tags"].items():
            assert not is_arm_expression(key) and not is_arm_expression(value), (key, value)
        assert {decode_arm_literal(k): decode_arm_literal(v) for k, v in r["tags"].items()} == data["tags"]
    # the only expressions anywhere in main.json (values and keys) are the ones amlgen builds
    for text in _walk_strings(arm):
        if is_arm_expression(text):
            value = read_arm_expression(text[1:-1])
            assert isinstance(value, Expression) and _GENERATED_EXPRESSION.fullmatch(value.arm), text


def assert_bicep_carries_the_text(text: str, data: dict) -> None:
    """Asserts that the spec's free text is in main.bicep unchanged, as plain single-quoted literals."""
    # Bicep's own lexing: no literal interpolates, every one decodes
    for lit in scan_literals(text):
        assert not lit.interpolated and unescaped_interpolations(lit.raw) == [], lit.raw
        assert not re.search(r"[\x00-\x1f]", lit.raw), f"raw control character in {lit.raw!r}"
        decode_bicep(lit.raw)
    # Bicep ends a line (a // comment, a literal) only at \n or \r: there is no \r, so no text broke out of one
    assert "\r" not in text
    parsed = parse_bicep(text=text)
    bicep = BicepFile(parsed)
    ws = parsed["resources"]["workspace"]["config"]["properties"]
    for field_name in ("friendlyName", "description"):
        assert type(ws[field_name]) is str, f"{field_name} is not a literal: {ws[field_name]!r}"
        assert decode_bicep(ws[field_name]) == data["workspace"][field_name]
    deployed = [s for s in bicep.resources if not bicep.is_existing(s)]
    assert deployed
    for symbol in deployed:
        assert bicep.value(parsed["resources"][symbol]["config"]["tags"]) == data["tags"], symbol


@pytest.mark.parametrize("name", ["hostile-a", "hostile-b", "hostile-c"])
def test_hostile_text_reaches_arm_unchanged_and_never_as_an_expression(hostile, name):
    data, folder = hostile[name]
    assert_arm_carries_the_text(json.loads((folder / "main.json").read_text(encoding="utf-8")), data)


@pytest.mark.parametrize("name", ["hostile-a", "hostile-b", "hostile-c"])
def test_hostile_text_reaches_bicep_unchanged_as_plain_literals(hostile, name):
    data, folder = hostile[name]
    assert_bicep_carries_the_text((folder / "main.bicep").read_text(encoding="utf-8"), data)


BROKEN_BICEP_LITERALS = ["'", "\\", "\n", "\t", "${"]


@pytest.mark.parametrize("char", BROKEN_BICEP_LITERALS, ids=repr)
def test_the_escaping_checks_catch_a_broken_bicep_literal_filter(monkeypatch, char):
    """Test of the test: the hostile specs rendered (in process, by the real pipeline) with a Bicep literal filter
    that forgets one escape fail the checks above."""
    from generator import model, pipeline
    from generator.bicep import render as bicep_render

    data = _hostile_specs()["hostile-a"]
    spec = model.build(data, "specs/hostile-a.yaml")
    assert_bicep_carries_the_text(pipeline.render_spec(spec)["main.bicep"], data)  # the real filter passes
    if char == "${":
        real = bicep_render.string
        monkeypatch.setattr(bicep_render, "string", lambda text: real(text).replace("\\u{24}{", "${"))
    else:
        monkeypatch.setitem(bicep_render._ESCAPES, char, char)
    with pytest.raises((AssertionError, ValueError, LarkError)):
        assert_bicep_carries_the_text(pipeline.render_spec(spec)["main.bicep"], data)


def test_the_escaping_checks_catch_arm_text_left_unescaped(monkeypatch):
    from generator import model, pipeline
    from generator.arm import expressions as arm_expressions

    data = _hostile_specs()["hostile-b"]
    spec = model.build(data, "specs/hostile-b.yaml")
    assert_arm_carries_the_text(json.loads(pipeline.render_spec(spec)["main.json"]), data)
    monkeypatch.setattr(arm_expressions, "literal", lambda text: text)
    with pytest.raises(AssertionError, match="would be evaluated by ARM"):
        assert_arm_carries_the_text(json.loads(pipeline.render_spec(spec)["main.json"]), data)


@pytest.mark.parametrize("name", list(_hostile_specs()))
def test_hostile_text_keeps_main_bicep_and_main_json_in_parity(hostile, name):
    diffs = compare_folder(hostile[name][1])
    assert not diffs, report(diffs)


@pytest.mark.parametrize("name", list(_hostile_specs()))
def test_every_free_text_is_one_plain_literal_in_both_outputs(hostile, name):
    """Whatever the field: each text is a non-expression ARM string and a plain Bicep literal, as often in one
    file as in the other, and no ARM string equal to a spec text is evaluated."""
    data, folder = hostile[name]
    texts = free_texts(data)
    arm = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    raw_arm = list(_walk_strings(arm))
    arm_texts = [decode_arm_literal(t) for t in raw_arm if not is_arm_expression(t)]
    for raw in raw_arm:
        if is_arm_expression(raw):
            assert raw not in texts, f"spec text {raw!r} is an ARM expression"
            assert isinstance(read_arm_expression(raw[1:-1]), (Expression, str)), raw
    bicep_text = (folder / "main.bicep").read_text(encoding="utf-8")
    literals = scan_literals(bicep_text)
    assert not any(lit.interpolated for lit in literals)
    bicep_texts = [decode_bicep(lit.raw) for lit in literals]
    for text in texts:
        in_bicep = bicep_texts.count(text)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):  # an identifier-like tag name is an unquoted key
            in_bicep += len(re.findall(rf"^ *{text}: ", bicep_text, re.M))
        assert arm_texts.count(text) >= 1, f"{text!r} is not in main.json"
        assert arm_texts.count(text) == in_bicep, (text, arm_texts.count(text), in_bicep)


def test_a_literal_read_by_line_equals_the_original(hostile):
    """An independent reading of the workspace's friendlyName and description: the line, then Bicep's lexing."""
    data, folder = hostile["hostile-a"]
    text = (folder / "main.bicep").read_text(encoding="utf-8")
    for field_name in ("friendlyName", "description"):
        (m,) = re.finditer(rf"^    {field_name}: (?=')", text, re.M)
        raw, end = scan_bicep_literal(text, m.end())
        assert text[end] == "\n" and decode_bicep(raw) == data["workspace"][field_name]


def _render_text(data: dict) -> str:
    from generator import model, pipeline

    return pipeline.render_spec(model.build(data, "examples/dev.yaml"))["main.bicep"]


def test_raw_pycep_parses_a_literal_ending_in_a_backslash():
    with time_limit(20):
        parse_bicep(text=_render_text({"name": "churn-dev", "workspace": {"friendlyName": "a\\"}}), robust=False)


def test_raw_pycep_parses_an_escaped_interpolation_holding_a_quote():
    text = _render_text({"name": "churn-dev", "workspace": {"friendlyName": "${'x'}", "description": "${'x'}"}})
    with time_limit(20):
        parse_bicep(text=text, robust=False)


def test_a_spec_file_name_cannot_inject_bicep_code(tmp_path):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "x\noutput injected string = 'from the file name'\n#disable-next-line x.yaml").write_text(
        "name: churn-dev\n", encoding="utf-8")
    result = run_cli("generate", "specs", "-o", "out", cwd=tmp_path)
    if result.returncode != 0:
        assert "Traceback" not in result.stderr, result.stderr
        return  # refusing such a file name (with a finding) fixes it too
    (folder,) = [p.parent for p in (tmp_path / "out").rglob("main.bicep")]
    diffs = compare_folder(folder)
    assert not diffs, report(diffs)


# --- 4. modules (nested deployments) are followed -----------------------------------------------------------------

def test_a_difference_inside_a_module_file_is_reported():
    arm, bicep = _secure()
    module_text = (_folder("secure") / "modules" / "private-endpoints.bicep").read_text(encoding="utf-8")
    assert compare(arm, parse_bicep(text=bicep), _secure_module) == []
    changed = module_text.replace("'amlworkspace'", "'amlworkspacex'", 1)
    assert changed != module_text
    diffs = compare(arm, parse_bicep(text=bicep), lambda path: parse_bicep(text=changed))
    (d,) = _only(diffs, "modules.privateEndpoints")
    assert "private-endpoints.bicep" in d.path and "groupIds" in d.path


@pytest.mark.parametrize("old, new, path_part", [
    ("    workspaceId: workspace.id\n", "    workspaceId: storage.id\n", "params.workspaceId"),
    ("    location: privateEndpointNetwork.location\n", "    location: 'westeurope'\n", "params.location"),
    ("scope: resourceGroup('00000000-0000-0000-0000-000000000000', 'rg-network')\n  params",
     "scope: resourceGroup('00000000-0000-0000-0000-000000000000', 'rg-other')\n  params", "scope"),
], ids=["parameter to another resource", "location not read from the network", "another resource group"])
def test_a_difference_in_a_module_declaration_is_reported(old, new, path_part):
    arm, bicep = _secure()
    assert old in bicep
    _only(compare(arm, parse_bicep(text=bicep.replace(old, new)), _secure_module), path_part)


def test_a_module_file_that_is_not_read_is_a_difference():
    arm, bicep = _secure()
    _only(compare(arm, parse_bicep(text=bicep)), "template")
