"""Import from an exported ARM template (`az group export`, the portal's "Export template"): its resources, with
the export's parameters resolved to their default values, become the ARM-shaped resources `mapping` reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator import naming
from generator.importers import evaluate
from generator.importers.mapping import ImportProblem, read_text



def _scope_of(template: dict) -> evaluate.Scope:
    """The export's subscription and group: exports pass the IDs of their own resources as `*_externalid`
    parameters; the first full ID that names a resource of the template tells where the template was exported
    from. Without one, placeholders stand in (and IDs of the template's own resources still match each other)."""
    defined = set()
    for resource in _flatten(template.get("resources") or [], None):
        name = resource.get("name")
        if isinstance(name, str) and not name.startswith("["):
            defined.add(name.split("/")[-1].lower())
    scope = evaluate.Scope()
    for param in (template.get("parameters") or {}).values():
        value = param.get("defaultValue") if isinstance(param, dict) else None
        rid = naming.parse_resource_id(value) if isinstance(value, str) else None
        if rid and rid.name.lower() in defined:
            scope.subscription_id, scope.resource_group = rid.subscription, rid.resource_group
            break
    return scope


def _flatten(resources: list, parent: dict | None) -> list[dict]:
    """Resources with nested `resources` flattened, children given their full type and name."""
    out = []
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        resource = dict(resource)
        if parent is not None:
            rtype = str(resource.get("type", ""))
            if "/" not in rtype.split(".", 1)[-1] or not rtype.lower().startswith(str(parent["type"]).lower()):
                resource["type"] = f"{parent['type']}/{rtype}"
            name = resource.get("name")
            parent_name = str(parent["name"])
            if isinstance(name, str) and not name.startswith("[") and "/" not in name:
                resource["name"] = f"[concat({parent_name[1:-1]}, '/{name}')]" if parent_name.startswith("[") \
                    else f"{parent_name}/{name}"
        children = resource.pop("resources", None)
        out.append(resource)
        if isinstance(children, list):
            out.extend(_flatten(children, resource))
    return out


def resources_from_template(template: dict, source: str, scope: evaluate.Scope | None = None,
                            depth: int = 0) -> tuple[list[dict], list[str]]:
    """(ARM-shaped resources with IDs, lines about what could not be resolved). Nested deployments with an inline
    template are followed into their own subscription and resource group."""
    if not isinstance(template, dict) or not isinstance(template.get("resources"), (list, dict)):
        raise ImportProblem(f"{source}: not an ARM template (no resources)")
    scope = scope or _scope_of(template)
    for key, param in (template.get("parameters") or {}).items():
        secure = isinstance(param, dict) and str(param.get("type", "")).lower() in ("securestring", "secureobject")
        if isinstance(param, dict) and "defaultValue" in param and key not in scope.parameters and not secure:
            scope.parameters[key] = param["defaultValue"]
    scope.variables = dict(template.get("variables") or {})
    raw = template["resources"]
    raw = list(raw.values()) if isinstance(raw, dict) else raw  # languageVersion 2.0: symbolic names
    problems: list[str] = []
    out = []
    for resource in _flatten(raw, None):
        if str(resource.get("type", "")).lower() == "microsoft.resources/deployments":
            inner, inner_problems = _nested(resource, scope, source, depth)
            out += inner
            problems += inner_problems
            continue
        resolved = evaluate.resolve({k: v for k, v in resource.items() if k not in ("dependsOn", "condition")},
                                    scope)
        rtype, name = resolved.get("type"), resolved.get("name")
        if not isinstance(rtype, str) or not isinstance(name, str):
            problems.append(f"a resource of type {resource.get('type')!r} named {resource.get('name')!r}: its type or "
                            "name is an expression amlgen cannot evaluate offline")
            continue
        unresolved = evaluate.unresolved_paths(resolved)
        if unresolved:  # anywhere: location, sku, identity, tags, properties
            problems.append(f"{rtype}/{name}: {', '.join(unresolved[:3])} use expressions amlgen cannot evaluate "
                            "offline (reference(), list*(), resourceGroup().location ...): left out")
            resolved = _drop_unresolved(resolved)
        names = name.split("/")
        types = rtype.split("/")
        if len(types) - 1 != len(names):
            problems.append(f"{rtype}/{name}: the name does not fit the type")
            continue
        scope_id = resolved.pop("scope", None)
        if isinstance(scope_id, str) and scope_id.startswith("/"):
            resolved["id"] = f"{scope_id}/providers/{rtype}/{name}"
            if rtype.lower() == "microsoft.authorization/roleassignments":  # Azure returns a grant's scope
                resolved.setdefault("properties", {}).setdefault("scope", scope_id)
        else:
            resolved["id"] = evaluate.call("resourceId", [rtype, *names], scope, 0)
        resolved["name"] = names[-1]
        out.append(resolved)
    return out, problems


def _nested(resource: dict, scope: evaluate.Scope, source: str, depth: int) -> tuple[list[dict], list[str]]:
    props = resource.get("properties") or {}
    template = props.get("template")
    if not isinstance(template, dict) or depth > 5:
        return [], [f"nested deployment {resource.get('name')!r}: only inline templates are read"]
    if str((props.get("expressionEvaluationOptions") or {}).get("scope", "outer")).lower() != "inner":
        return [], [f"nested deployment {resource.get('name')!r}: outer-scope templates are not read"]
    sub = evaluate.resolve(resource.get("subscriptionId", scope.subscription_id), scope)
    group = evaluate.resolve(resource.get("resourceGroup", scope.resource_group), scope)
    inner = evaluate.Scope(str(sub), str(group), scope.location, scope.tenant_id, references=scope.references)
    for key, value in (props.get("parameters") or {}).items():
        if isinstance(value, dict) and "value" in value:
            resolved = evaluate.resolve(value["value"], scope)
            # location from reference(<network>).location: unknowable offline; the outer location stands in
            inner.parameters[key] = scope.location if resolved is evaluate.UNRESOLVED and key == "location" \
                else resolved
    return resources_from_template(template, source, inner, depth + 1)


def _drop_unresolved(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_unresolved(v) for k, v in value.items()
                if v is not evaluate.UNRESOLVED and k is not evaluate.UNRESOLVED}
    if isinstance(value, list):
        return [_drop_unresolved(v) for v in value if v is not evaluate.UNRESOLVED]
    return value


def read(path: Path) -> tuple[list[dict], list[str]]:
    text = read_text(path)
    try:
        template = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ImportProblem(f"{path}: not JSON ({err})") from None
    return resources_from_template(template, str(path))
