"""Render a diff Report (generator.diff) as text for a terminal, Markdown for a pull-request comment, or JSON;
and a generated workspace's README (its resources, diagram and the ways to deploy it).

The JSON structure (version 1) is a contract for scripts; docs/ci.md documents it. Everything here is a pure
function of the Report: the same report gives the same bytes.
"""

from __future__ import annotations

import html
import json
import re
import shlex
from urllib.parse import quote

from generator import DO_NOT_EDIT, GENERATED_BY
from generator import diff as diff_module
from generator.arm.expressions import parameter_reference, parameter_values
from generator.diff import MISSING, WARNINGS, Change, Report, WorkspaceDiff, type_label
from generator.naming import parse_resource_id

JSON_VERSION = 1
MARKER = "<!-- amlgen-diff -->"  # lets CI find and update its earlier comment instead of adding one per push
SYMBOL = {"added": "+", "removed": "-", "changed": "~"}


def _value(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _counts(ws: WorkspaceDiff) -> str:
    return f"{ws.count('added')} added, {ws.count('changed')} changed, {ws.count('removed')} removed"


def _title(ws: WorkspaceDiff) -> str:
    if ws.old_name and ws.new_name and ws.old_name != ws.new_name:
        return f"{ws.old_name} -> {ws.new_name}"
    return ws.name


def summary_line(report: Report) -> str:
    total = len(report.workspaces)
    changed = report.changed
    if not changed:
        return f"no infrastructure changes in {_plural(total, 'workspace')}"
    added = sum(w.count("added") for w in changed)
    modified = sum(w.count("changed") for w in changed)
    removed = sum(w.count("removed") for w in changed)
    return (f"{len(changed)} of {_plural(total, 'workspace')} changed: {_plural(added, 'resource')} added, "
            f"{modified} changed, {removed} removed; {_plural(len(report.warnings), 'warning')}")


def _drift_lines(report: Report) -> list[str]:
    d = report.drift
    if d is None:
        return []
    if d.clean:
        return [f"{d.output}/ is up to date with the working-tree specs"]
    lines = [f"{d.output}/ differs from what the working-tree specs generate: {len(d.changed)} changed, "
             f"{len(d.missing)} missing, {len(d.stale)} stale file(s); run `amlgen generate` and commit the result"]
    for kind, items in (("changed", d.changed), ("missing", d.missing), ("stale", d.stale)):
        lines += [f"{kind}: {d.output}/{rel}" for rel in items]
    return lines


# --- text ------------------------------------------------------------------------------------------------------


def _change_text(change: Change) -> str:
    old = "(absent)" if change.old is MISSING else _value(change.old)
    new = "(absent)" if change.new is MISSING else _value(change.new)
    return f"{change.path}: {old} -> {new}"


def render_text(report: Report) -> str:
    lines = [f"amlgen diff: {report.old_label} -> {report.new_label}", summary_line(report)]
    for ws in report.changed:
        lines += ["", f"{ws.folder} ({_title(ws)}): workspace {ws.status}; {_counts(ws)}"]
        for warning in ws.warnings:
            lines.append(f"  WARNING {warning.code} {warning.message}")
        for r in ws.resources:
            lines.append(f"  {SYMBOL[r.status]} {r.label} {r.display or r.name} ({r.type})")
            lines += [f"      {_change_text(c)}" for c in r.changes]
        if ws.parameters:
            lines.append("  parameters (main.parameters.json):")
            lines += [f"      {_change_text(c)}" for c in ws.parameters]
        if ws.template:
            lines.append("  template parameters and outputs:")
            lines += [f"      {_change_text(c)}" for c in ws.template]
    unchanged = [w for w in report.workspaces if w.status == "unchanged"]
    if unchanged:
        lines += ["", "unchanged: " + ", ".join(f"{w.folder} ({w.name})" for w in unchanged)]
    drift = _drift_lines(report)
    if drift:
        lines += ["", *drift]
    return "\n".join(lines) + "\n"


# --- Markdown --------------------------------------------------------------------------------------------------


def _code(text: str) -> str:
    """An inline code span that survives backticks in the text, and a table cell (| escaped)."""
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}".replace("|", "\\|")


def _cell(value) -> str:
    return "—" if value is MISSING else _code(_value(value))


def _text(text: str) -> str:
    """Plain text in Markdown: HTML and Markdown punctuation made literal."""
    escaped = html.escape(text, quote=False)
    for ch in "\\`*_[]|#":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


_CLASSES = {
    "added": "fill:#dafbe1,stroke:#1a7f37,color:#1f2328",
    "changed": "fill:#fff8c5,stroke:#9a6700,color:#1f2328",
    "removed": "fill:#ffebe9,stroke:#cf222e,color:#1f2328,stroke-dasharray:5 3",
    "unchanged": "fill:#ffffff,stroke:#8c959f,color:#1f2328",
    "existing": "fill:#f6f8fa,stroke:#8c959f,color:#57606a,stroke-dasharray:2 2",
}
_EDGE_STYLES = {"added": "stroke:#1a7f37,stroke-width:2px", "removed": "stroke:#cf222e,stroke-dasharray:5 3"}


def _mermaid_label(text: str) -> str:
    return text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid(ws: WorkspaceDiff) -> str:
    """A flowchart of the workspace's resources (old and new) and their dependencies, changes marked by class."""
    lines = ["flowchart LR"]
    for i, node in enumerate(ws.nodes):
        state = "" if node.status == "unchanged" else f" ({node.status})"
        label = _mermaid_label(f"{type_label(node.type)}{state}") + "<br/>" + _mermaid_label(node.display or node.name)
        lines.append(f'  n{i}["{label}"]')
    for edge in ws.edges:
        lines.append(f"  n{edge.source} --> n{edge.target}")
    for status, style in _EDGE_STYLES.items():
        indexes = [str(i) for i, e in enumerate(ws.edges) if e.status == status]
        if indexes:
            lines.append(f"  linkStyle {','.join(indexes)} {style}")
    for status, style in _CLASSES.items():
        members = [f"n{i}" for i, n in enumerate(ws.nodes) if n.status == status]
        if members:
            lines.append(f"  classDef {status} {style}")
            lines.append(f"  class {','.join(members)} {status}")
    return "\n".join(lines)


def _change_table(changes: list[Change] | tuple[Change, ...], first: str = "Property") -> list[str]:
    rows = [f"| {first} | Old | New |", "| --- | --- | --- |"]
    rows += [f"| {_code(c.path)} | {_cell(c.old)} | {_cell(c.new)} |" for c in changes]
    return rows


def render_markdown(report: Report) -> str:
    out = [MARKER, f"### amlgen diff: {_code(report.old_label)} → {_code(report.new_label)}", ""]
    changed = report.changed
    warnings = report.warnings
    out.append(("**" + summary_line(report) + "**") if warnings else summary_line(report))
    out.append("")
    if changed:
        out += ["| Workspace | Folder | Added | Changed | Removed | Warnings |",
                "| --- | --- | ---: | ---: | ---: | ---: |"]
        for ws in changed:
            flag = f"⚠️ {len(ws.warnings)}" if ws.warnings else "0"
            status = "" if ws.status == "changed" else f" ({ws.status})"
            title = _text(_title(ws).replace(" -> ", " → "))
            out.append(f"| {title}{status} | {_code(ws.folder)} | {ws.count('added')} "
                       f"| {ws.count('changed')} | {ws.count('removed')} | {flag} |")
        out.append("")
    if warnings:
        out += ["> [!WARNING]", "> Changes Azure will refuse, or that lose data:", ">"]
        for ws, w in warnings:
            out.append(f"> - **{_text(ws.name)}** `{w.code}` {WARNINGS[w.code]}: {_text(w.message)}")
        out.append("")
    unchanged = [w for w in report.workspaces if w.status == "unchanged"]
    if unchanged and changed:
        out += ["Unchanged: " + ", ".join(f"{_code(w.folder)} ({_text(w.name)})" for w in unchanged), ""]
    for ws in changed:
        out += ["<details>", f"<summary><b>{html.escape(_title(ws))}</b> (<code>{html.escape(ws.folder)}</code>): "
                f"workspace {ws.status}; {_counts(ws)}</summary>", ""]
        out += ["```mermaid", mermaid(ws), "```", ""]
        listed = [r for r in ws.resources if r.status != "changed"]
        if listed:
            out += ["| | Resource | Name | Type |", "| --- | --- | --- | --- |"]
            out += [f"| {r.status} | {r.label} | {_code(r.display or r.name)} | {_code(r.type)} |" for r in listed]
            out.append("")
        for r in ws.resources:
            if r.status == "changed":
                out += [f"**{r.label}** {_code(r.display or r.name)} changed:", "", *_change_table(r.changes), ""]
        if ws.parameters:
            out += ["**Parameter values** (`main.parameters.json`):", "",
                    *_change_table(ws.parameters, "Parameter"), ""]
        if ws.template:
            out += ["<details>", f"<summary>Template parameters and outputs: {len(ws.template)} change(s)</summary>",
                    "", *_change_table(ws.template, "Path"), "", "</details>", ""]
        out += ["</details>", ""]
    drift = _drift_lines(report)
    if drift:
        d = report.drift
        icon = "✅" if d.clean else "❌"
        out += ["#### Generated output", "", f"{icon} {_text(drift[0])}"]
        if not d.clean:
            out.append("")
            out += [f"- {kind} {_code(rest)}" for kind, _, rest in (line.partition(": ") for line in drift[1:])]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


# --- JSON ------------------------------------------------------------------------------------------------------


def _change_json(change: Change) -> dict:
    out: dict = {"path": change.path, "change": change.kind}
    if change.old is not MISSING:
        out["old"] = change.old
    if change.new is not MISSING:
        out["new"] = change.new
    return out


def to_data(report: Report) -> dict:
    changed = report.changed
    return {
        "version": JSON_VERSION,
        "old": report.old_label,
        "new": report.new_label,
        "summary": {
            "workspaces": {s: sum(w.status == s for w in report.workspaces)
                           for s in ("added", "changed", "removed", "unchanged")},
            "resources": {s: sum(w.count(s) for w in changed) for s in ("added", "changed", "removed")},
            "warnings": len(report.warnings),
        },
        "workspaces": [{
            "folder": ws.folder,
            "status": ws.status,
            "name": {"old": ws.old_name, "new": ws.new_name},
            "counts": {"added": ws.count("added"), "changed": ws.count("changed"), "removed": ws.count("removed"),
                       "warnings": len(ws.warnings)},
            "resources": [{"status": r.status, "type": r.type, "name": r.name, "display": r.display or r.name,
                           "changes": [_change_json(c) for c in r.changes]} for r in ws.resources],
            "parameters": [_change_json(c) for c in ws.parameters],
            "template": [_change_json(c) for c in ws.template],
            "warnings": [{"code": w.code, "title": WARNINGS[w.code], "type": w.type, "name": w.name, "path": w.path,
                          "message": w.message} for w in ws.warnings],
            "graph": {
                "nodes": [{"type": n.type, "name": n.name, "display": n.display or n.name, "status": n.status}
                          for n in ws.nodes],
                "edges": [{"from": e.source, "to": e.target, "status": e.status} for e in ws.edges],
            },
        } for ws in report.workspaces],
        "drift": None if report.drift is None else {
            "output": report.drift.output, "clean": report.drift.clean, "changed": report.drift.changed,
            "missing": report.drift.missing, "stale": report.drift.stale},
    }


def render_json(report: Report) -> str:
    return json.dumps(to_data(report), indent=2, ensure_ascii=False) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(report: Report, fmt: str) -> str:
    return RENDERERS[fmt](report)


# --- out/<spec>/README.md ----------------------------------------------------------------------------------------

DEPLOY_BUTTON = "https://aka.ms/deploytoazurebutton"
PORTAL_CREATE = "https://portal.azure.com/#create/Microsoft.Template/uri/"


def _sku(resource: dict, values: dict | None = None) -> str | None:
    props = resource.get("properties") or {}
    for holder in (resource.get("sku"), props.get("sku")):
        if isinstance(holder, dict) and holder.get("name"):
            return str(holder["name"])
    inner = props.get("properties") if isinstance(props.get("properties"), dict) else {}
    if inner.get("vmSize"):
        priority = inner.get("vmPriority")
        size = inner["vmSize"]
        parameter = parameter_reference(size)
        if parameter is not None:  # a template parameter (the Deploy to Azure form can change it)
            size = f"{(values or {}).get(parameter, '?')}, parameter {parameter}"
        return f"{size}" + (f" ({priority})" if priority and priority != "Dedicated" else "")
    return None


def _exposure(resource: dict) -> str | None:
    """How the resource is reached from the public internet, in a few words."""
    props = resource.get("properties") or {}
    inner = props.get("properties") if isinstance(props.get("properties"), dict) else {}
    if "enableNodePublicIp" in inner:
        if parameter_reference(inner["enableNodePublicIp"]):  # set at deployment from the existing workspace
            return "public IP unless the workspace is closed or has a managed network"
        return "public IP" if inner["enableNodePublicIp"] else "no public IP"
    access = props.get("publicNetworkAccess")
    if access is None:
        return None
    if access == "Disabled":
        return "private (public access disabled)"
    rules = props.get("networkAcls") or props.get("networkRuleSet") or {}
    if rules.get("defaultAction") == "Deny":
        return "public, firewall denies by default"
    return "public"


def _workspace_resource(template: dict) -> dict | None:
    return next((r for r in template.get("resources", []) if r.get("type") == diff_module.WORKSPACE), None)


def _argument(text: str) -> str:
    """A path as a command argument: one starting with `-` would read as an option, so it gets `./`."""
    return "./" + text if text.startswith("-") else text


def sh_word(text: str) -> str:
    """One word of a POSIX shell command: spec-derived text (file names, the output folder) quoted with
    shlex.quote, so a file named `sub$(touch x).yaml` stays a file name for whoever copies the command."""
    return shlex.quote(_argument(text))


# PowerShell reads U+2018..U+201B as single quotes too; its own escaper doubles each of them
# (PowerShell/PowerShell src/System.Management.Automation/engine/parser/CodeGeneration.cs,
# EscapeSingleQuotedStringContent: "if (CharExtensions.IsSingleQuote(c)) sb.Append(c)").
_PS_SINGLE_QUOTES = "'\u2018\u2019\u201a\u201b"
_PS_PLAIN = re.compile(r"[A-Za-z0-9_./][A-Za-z0-9_./:-]*")


def ps_word(text: str) -> str:
    """One argument of a PowerShell command: plain paths as they are, anything else a single-quoted string
    (verbatim in PowerShell: no `$(...)`, no backtick escapes) with every kind of single quote doubled."""
    text = _argument(text)
    if _PS_PLAIN.fullmatch(text):
        return text
    return "'" + "".join(c * 2 if c in _PS_SINGLE_QUOTES else c for c in text) + "'"


def workspace_readme(template: dict, parameters: dict, source: str, folder: str,
                     raw_base_url: str | None = None, output: str = "out", resource_group: str | None = None,
                     existing_workspace: str | None = None) -> str:
    """out/<folder>/README.md: what the workspace contains, its diagram, and the ways to create it.

    `source` is the spec as the template's metadata names it, `output` the output folder as the commands should
    name it (relative to where they are run). `raw_base_url` is where the output folder is served raw (a public
    repository's raw URL of out/ on main): with it, the README has a "Deploy to Azure" button (the portal fetches
    main.json from that URL, so it must be readable without signing in). Deterministic: no dates, no absolute paths.
    """
    ws = _workspace_resource(template)
    name = ws["name"] if ws else folder
    resources = diff_module.resource_list(template, folder)
    graph = diff_module.graph_of(template, folder)
    location = (parameters.get("parameters", {}).get("location") or {}).get("value")
    out = [f"# {_text(name)}", "",
           f"{GENERATED_BY}{_code(source)}. {DO_NOT_EDIT}", "",
           "## Resources", "",
           f"Region: {_text(location) if location else 'the resource group’s region'} "
           "(the `location` parameter).", "",
           "| Resource | Name | SKU / size | Network |", "| --- | --- | --- | --- |"]
    values = parameter_values(parameters, template)
    for r in resources:
        out.append(f"| {type_label(r['type'])} | {_code(diff_module.display_name(r))} | {_text(_sku(r, values) or '—')} "
                   f"| {_text(_exposure(r) or '—')} |")
    existing = [n for n in graph.nodes if n.status == "existing"]
    if existing:
        out += ["", "Existing resources it uses (referenced by ID, not created or changed):", "",
                "| Resource | Name |", "| --- | --- |"]
        out += [f"| {type_label(n.type)} | {_code(n.name)} |" for n in existing]
    group = resource_group or "RG"
    here = f"{output.rstrip('/')}/{folder}"
    out += ["", "```mermaid", mermaid(graph), "```", "", "## Create it", ""]
    adds_to = parse_resource_id(existing_workspace) if existing_workspace else None
    if adds_to is not None:
        group = adds_to.resource_group
        out += [f"It adds to the existing workspace `{_text(adds_to.name)}` and deploys into the workspace's resource "
                f"group, `{_text(group)}` in subscription `{_text(adds_to.subscription)}` (the spec's "
                "`workspace.existing`); it changes nothing of the workspace itself. Deployed by hand, pass the "
                "workspace's region as `location` and `nodePublicIp=false` if the workspace is closed or has a "
                "managed network (`amlgen deploy` reads both from the workspace).", ""]
    elif resource_group:
        out += [f"The spec names its resource group, `{resource_group}`: `subscription.json` (or `subscription.bicep`) "
                "creates it and deploys the workspace into it, at subscription scope:", "", "```sh",
                f"az deployment sub create --location {sh_word(location) if location else 'LOCATION'} "
                f"--template-file {sh_word(here + '/subscription.json')} "
                f"--parameters {sh_word('@' + here + '/main.parameters.json')}", "```", "",
                f"Once `{resource_group}` exists, any of these deploys the same template into it.", ""]
    else:
        out += ["Any of these deploys the same template into an existing resource group (`RG`).", ""]
    if raw_base_url:
        # the folder percent-encoded inside the template's URL, then that URL encoded whole as the portal's parameter
        template_url = f"{raw_base_url.rstrip('/')}/{quote(folder, safe='/')}/main.json"
        out += ["**Azure portal**:", "",
                f"[![Deploy to Azure]({DEPLOY_BUTTON})]({PORTAL_CREATE}{quote(template_url, safe='')})", ""]
    else:
        out += ["**Azure portal**: *Deploy a custom template* > *Build your own template in the editor* > *Load file*: "
                "`main.json`, then *Edit parameters* > *Load file*: `main.parameters.json`.", ""]
    # a group named by the spec or by an existing workspace's ID is spec text: quoted; the placeholder RG is not
    named = resource_group or (group if group != "RG" else None)
    sh_group = sh_word(named) if named else group
    ps_group = ps_word(named) if named else group
    out += ["**Azure CLI**:", "", "```sh",
            f"az deployment group create --resource-group {sh_group} --template-file {sh_word(here + '/main.json')} "
            f"--parameters {sh_word('@' + here + '/main.parameters.json')}",
            f"# or the Bicep: --template-file {sh_word(here + '/main.bicep')} "
            f"--parameters {sh_word(here + '/main.bicepparam')}",
            "```", "", "**Azure PowerShell**:", "", "```powershell",
            f"New-AzResourceGroupDeployment -ResourceGroupName {ps_group} -TemplateFile {ps_word(here + '/main.json')} "
            f"-TemplateParameterFile {ps_word(here + '/main.parameters.json')}",
            "```", "", f"**amlgen** (checks that {_code(output.rstrip('/') + '/')} is up to date, shows a what-if, asks "
            "before deploying):", "",
            "```sh", f"amlgen deploy {sh_word(source)}" + ("" if adds_to else " --subscription SUBSCRIPTION_ID"
                                                           + ("" if resource_group else " --resource-group RG")),
            "```"]
    return "\n".join(out) + "\n"
