"""Render the plan into an ARM deployment template: one Jinja fragment per resource, assembled as data."""

from __future__ import annotations

import json

import jinja2

from generator.arm.expressions import ArmExpressions
from generator.errors import RenderError
from generator.plan import Plan, Resource
from generator import templating
from generator.templating import MARK, header, make_environment

TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
SUBSCRIPTION_TEMPLATE_SCHEMA = "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#"
PARAMETERS_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
TOP_LEVEL_ORDER = ("$schema", "contentVersion", "metadata", "parameters", "variables", "resources", "outputs")


_ENV = make_environment("arm", ("arm",))  # `{{ x | arm }}`: x as a JSON value, literals escaped (ArmExpressions.value)


def _drop_nulls(value):
    """null in a fragment means "not set": the key is left out, so Azure applies its own default."""
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


class _Slot:
    """Where a filtered value goes in a fragment's parsed JSON."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


_SKELETONS: dict = {}  # templating.Fragment -> its JSON with a _Slot for each placeholder
_PLACEHOLDER = templating.MARK_SPLIT


def _skeleton(frag, name: str):
    """The fragment's JSON, parsed once ("render one fragment, then json.loads it at once": DESIGN.md 3)."""
    found = _SKELETONS.get(frag)
    if found is None:
        text = _PLACEHOLDER.sub(lambda m: json.dumps(m.group(0)), frag.text)  # each placeholder a JSON string
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RenderError(f"templates/arm/{name}:{exc.lineno}:{exc.colno}: rendered invalid JSON: {exc.msg}") from exc
        if any(args for _, _, _, args in frag.slots):
            raise RenderError(f"templates/arm/{name}: the arm filter takes no arguments")
        found = _SKELETONS[frag] = _slots_in(data, name)
    return found


def _slots_in(node, name: str):
    if isinstance(node, dict):
        if any(_PLACEHOLDER.fullmatch(k) for k in node):
            raise RenderError(f"templates/arm/{name}: a filtered value as an object key; keys are written in the "
                              "fragment")
        return {k: _slots_in(v, name) for k, v in node.items()}
    if isinstance(node, list):
        return [_slots_in(v, name) for v in node]
    if isinstance(node, str) and (m := _PLACEHOLDER.fullmatch(node)):
        return _Slot(int(m.group(1)))
    if isinstance(node, str) and MARK in node:
        raise RenderError(f"templates/arm/{name}: a filtered value inside a string; write `{{{{ x | arm }}}}` alone")
    return node


def _fill(node, values: list):
    """A fresh copy of a skeleton with each slot's value, nulls left out (as _drop_nulls does)."""
    kind = type(node)
    if kind is dict:
        out = {}
        for key, item in node.items():
            item = _fill(item, values)
            if item is not None:
                out[key] = item
        return out
    if kind is list:
        return [_fill(item, values) for item in node]
    if kind is _Slot:
        return values[node.index]
    return node


def render_resource(resource: Resource, arm: ArmExpressions) -> dict:
    fragment = f"{resource.kind}.json.jinja"
    try:
        frag = templating.fragment(_ENV, fragment)
        raw = frag.values(_ENV, resource)
    except jinja2.TemplateError as exc:
        raise RenderError(f"templates/arm/{fragment}: {exc}") from exc
    # the `arm` filter: every value as ARM JSON (a value goes through the JSON round trip, not text: same data)
    data = _fill(_skeleton(frag, fragment), [_drop_nulls(arm.value(v)) for v in raw])
    depends = [arm.resource_id_of(s) for s in resource.depends_on() if arm.by_symbol[s].existing is None]
    if depends:
        data["dependsOn"] = ["[" + d + "]" for d in depends]
    return data


def render_template(plan: Plan, nested: dict | None = None) -> dict:
    """The template of a plan; `nested` is the template a subscription-scope plan deploys into its group."""
    arm = ArmExpressions(plan.resources, plan.scope)
    parameters = {}
    for p in plan.parameters:
        entry = {"type": p.type}
        if p.default is not None:
            entry["defaultValue"] = arm.value(p.default)
        entry["metadata"] = {"description": p.description}
        parameters[p.name] = entry
    # ARM outputs have no description in the published schema; Bicep carries it as @description.
    outputs = {o.name: {"type": o.type, "value": arm.value(o.value)}
               for o in plan.outputs}
    resources = []
    for r in plan.resources:
        if r.existing is None:
            resources.append(render_resource(r, arm))
            if r.module is not None:  # a nested deployment's template, inline, rendered as its own template
                resources[-1]["properties"]["template"] = render_template(r.module)
    if nested is not None:
        # Inserted as data after rendering: it is a finished template, its expressions must stay expressions.
        for resource in resources:
            if resource["type"] == "Microsoft.Resources/deployments":
                resource["properties"]["template"] = nested
    template = {
        "$schema": SUBSCRIPTION_TEMPLATE_SCHEMA if plan.scope == "subscription" else TEMPLATE_SCHEMA,
        "contentVersion": "1.0.0.0",
        "metadata": {"description": header(plan.source)},
        "parameters": parameters,
        "resources": resources,
        "outputs": outputs,
    }
    return {k: template[k] for k in TOP_LEVEL_ORDER if k in template}


def render_parameters(plan: Plan) -> dict:
    # Parameter values are data, never evaluated as expressions: written as the spec gave them.
    values = {p.name: {"value": p.value} for p in plan.parameters if p.value is not None}
    return {"$schema": PARAMETERS_SCHEMA, "contentVersion": "1.0.0.0", "parameters": values}


def dumps(data: dict) -> str:
    """The one serialisation of generated JSON: 2-space indent, UTF-8 text, LF, final newline."""
    # Speed: json.dumps with an indent runs the pure-Python encoder (C only without one). _indented writes the
    # same bytes for the types a template holds, with the C string encoder; anything else goes through json.
    out: list[str] = []
    try:
        _indented(data, "\n", out)
    except _NotPlain:
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    out.append("\n")
    return "".join(out)


class _NotPlain(Exception):
    """A value _indented leaves to json.dumps (a float, a non-text key, another type)."""


_STRING = json.encoder.encode_basestring  # the C function json.dumps(ensure_ascii=False) uses for text


def _indented(value, newline: str, out: list) -> None:
    """json.dumps(value, indent=2, ensure_ascii=False) into `out`; `newline` is a line break plus the
    current indent."""
    if isinstance(value, str):
        out.append(_STRING(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif type(value) is int:
        out.append(int.__repr__(value))
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        sep = "{" + inner
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlain
            out.append(sep)
            out.append(_STRING(key))
            out.append(": ")
            _indented(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _indented(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:
        raise _NotPlain
