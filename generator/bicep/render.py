"""Render the plan into Bicep: one Jinja fragment per resource, every value through the Bicep literal filter."""

from __future__ import annotations

import re

import jinja2

from generator import templating
from generator.templating import header, make_environment
from generator.errors import RenderError
from generator.expressions import (Call, Deployed, DeploymentLocation, DeploymentOutput, Environment, Equals, Expr,
                                   Param, Ref, ResourceGroupId, ResourceGroupLocation, ResourceGroupScope,
                                   ScannerSkips, SubscriptionScope, TenantId)
from generator.plan import Plan, Resource

INDENT = "  "
# A property whose value is None is not set: the filter writes this marker and the line is dropped.
_OMIT = "__amlgen_omit__"
_OMIT_LINE = re.compile(rf"^[ ]*(?:[A-Za-z_][A-Za-z0-9_]*: )?{_OMIT}\n", re.M)  # a key's line, or a lone value's
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NEEDS_ESCAPE = re.compile(r"[\\'\x00-\x1f]|\$\{")  # a character string() changes (see _ESCAPES)
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "$": "$"}


def string(text: str) -> str:
    r"""A single-quoted Bicep literal that carries `text` unchanged: backslash, quote, `${` and control
    characters escaped (Bicep interpolates `${` inside single quotes). `${` is written `\u{24}{` and a final
    backslash `\u{5C}`: both mean the same to Bicep, and pycep (the parser of checkov's Bicep scan) misreads
    the short forms `\${` and `\\'`."""
    if not _NEEDS_ESCAPE.search(text):  # speed: most text has nothing to escape
        return "'" + text + "'"
    end = len(text)

    def escaped(m: re.Match) -> str:
        ch = m.group()
        if ch == "${":
            return "\\u{24}{"
        if ch == "\\" and m.end() == end:
            return "\\u{5C}"
        return _ESCAPES.get(ch) or f"\\u{{{ord(ch):X}}}"
    return "'" + _NEEDS_ESCAPE.sub(escaped, text) + "'"


def _comment(text: str) -> str:
    r"""Text for a `//` comment line: control characters shown escaped, so nothing can end the comment."""
    return "".join(f"\\u{{{ord(ch):X}}}" if ord(ch) < 0x20 or ch in "\u2028\u2029\x85" else ch for ch in text)


def identifier(name: str) -> str:
    if not _IDENT.match(name):
        raise RenderError(f"'{name}' is not a Bicep identifier (symbols are generated, never taken from a spec)")
    return name


def _key(key) -> str:
    if isinstance(key, Expr):  # an expression as a key: '${...}' (e.g. a user-assigned identity's ID)
        return "'${" + expression(key) + "}'"
    return key if _IDENT.match(key) else string(key)


def expression(expr: Expr) -> str:
    if isinstance(expr, Param):
        return identifier(expr.name)
    if isinstance(expr, ResourceGroupLocation):
        return "resourceGroup().location"
    if isinstance(expr, TenantId):
        return "subscription().tenantId"
    if isinstance(expr, ResourceGroupId):
        return "resourceGroup().id"
    if isinstance(expr, Deployed):
        return f"{identifier(expr.function)}().{identifier(expr.attr)}"
    if isinstance(expr, Equals):
        return " == ".join(string(x) if isinstance(x, str) else expression(x) for x in (expr.left, expr.right))
    if isinstance(expr, DeploymentLocation):
        return "deployment().location"
    if isinstance(expr, Environment):
        return ".".join(("environment()", *(identifier(p) for p in expr.path)))
    if isinstance(expr, DeploymentOutput):
        return f"{identifier(expr.symbol)}.outputs.{identifier(expr.output)}"
    if isinstance(expr, Call):
        return f"{identifier(expr.function)}({', '.join(string(a) if isinstance(a, str) else expression(a) for a in expr.args)})"
    if isinstance(expr, SubscriptionScope):
        return f"subscription({string(expr.subscription)})"
    if isinstance(expr, ResourceGroupScope):
        return f"resourceGroup({string(expr.subscription)}, {string(expr.resource_group)})"
    if isinstance(expr, Ref):
        if expr.attr == "resource":
            return identifier(expr.symbol)
        if expr.attr.startswith("properties."):  # a property read at deployment, e.g. properties.endpoint
            return ".".join((identifier(expr.symbol), *(identifier(p) for p in expr.attr.split("."))))
        attr = {"id": "id", "name": "name", "principalId": "identity.principalId",
                "clientId": "properties.clientId", "identityPrincipalId": "properties.principalId",
                "location": "location"}[expr.attr]
        return f"{identifier(expr.symbol)}.{attr}"
    raise TypeError(f"no Bicep form for {expr!r}")


def value(v, indent: int = 0) -> str:
    """A plan value as Bicep syntax; nested lines are indented by `indent` spaces plus their depth."""
    if type(v) is str:  # speed: the common case first (the checks below would give the same)
        return string(v)
    pad = " " * indent
    if v is None:
        return _OMIT
    if isinstance(v, Expr):
        return expression(v)
    if isinstance(v, ScannerSkips):
        return ("\n" + pad).join(f"// checkov:skip={_comment(s)}" for s in v.skips)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return string(v)
    if isinstance(v, dict):
        items = [(k, x) for k, x in v.items() if x is not None]
        if not items:
            return "{}"
        body = "".join(f"{pad}{INDENT}{_key(k if isinstance(k, Expr) else str(k))}: {value(x, indent + 2)}\n"
                       for k, x in items)
        return "{\n" + body + pad + "}"
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        body = "".join(f"{pad}{INDENT}{value(x, indent + 2)}\n" for x in v)
        return "[\n" + body + pad + "]"
    raise TypeError(f"no Bicep literal for {type(v).__name__}")


_FILTERS = {"bicep": value, "ident": identifier}
_ENV = make_environment("bicep", _FILTERS)
_SPLIT: dict = {}  # templating.Fragment -> its text split at the placeholders


def render_resource(resource: Resource) -> str:
    fragment = f"{resource.kind}.bicep.jinja"
    try:
        frag = templating.fragment(_ENV, fragment)
        raw = frag.values(_ENV, resource)
    except jinja2.TemplateError as exc:
        raise RenderError(f"templates/bicep/{fragment}: {exc}") from exc
    chunks = _SPLIT.get(frag)
    if chunks is None:  # text, slot index, text, ..., text
        chunks = _SPLIT[frag] = templating.MARK_SPLIT.split(frag.text)
    parts = list(chunks)
    for i, (_, _, name, args) in enumerate(frag.slots):
        parts[2 * i + 1] = _FILTERS[name](raw[i], *args)
    return _OMIT_LINE.sub("", "".join(parts))


def _description(text: str) -> str:
    return f"@description({string(text)})\n"


def render_template(plan: Plan) -> str:
    parts = [
        f"// {_comment(header(plan.source))}\n",
        "targetScope = 'subscription'\n" if plan.scope == "subscription" else "",
        f"metadata description = {string(header(plan.source))}\n",
    ]
    for p in plan.parameters:
        kind = {"securestring": "string", "secureobject": "object"}.get(p.type.lower(), p.type)
        secure = "@secure()\n" if p.type.lower() in ("securestring", "secureobject") else ""
        default = f" = {value(p.default)}" if p.default is not None else ""
        parts.append(f"\n{_description(p.description)}{secure}param {identifier(p.name)} {kind}{default}\n")
    for r in plan.resources:
        parts.append("\n" + render_resource(r))
    for o in plan.outputs:
        parts.append(f"\n{_description(o.description)}output {identifier(o.name)} {o.type} = {value(o.value)}\n")
    return "".join(parts)


def render_parameters(plan: Plan) -> str:
    """main.bicepparam: the values the spec chose, for `az deployment group create --parameters main.bicepparam`."""
    lines = ["using 'main.bicep'\n"]
    for p in plan.parameters:
        if p.value is not None:
            lines.append(f"\nparam {identifier(p.name)} = {value(p.value)}\n")
    return "".join(lines)
