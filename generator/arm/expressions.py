"""ARM template-language syntax: escaping of literal text and the expressions amlgen emits (quotes doubled here)."""

from __future__ import annotations

import re

from generator.expressions import (Call, Deployed, DeploymentLocation, DeploymentOutput, Environment, Equals, Expr,
                                   Param, Ref, ResourceGroupId, ResourceGroupLocation, ResourceGroupScope,
                                   ScannerSkips, TenantId)


def literal(text: str) -> str:
    """A string ARM keeps as it is. ARM evaluates a string that starts with '[' and ends with ']'; the
    documented escape is one more '[' at the start (ARM removes it). Other strings are never evaluated."""
    if text.startswith("[") and text.endswith("]"):
        return "[" + text
    return text


def quote(text: str) -> str:
    """A string literal inside an expression: single quotes, a quote doubled."""
    return "'" + text.replace("'", "''") + "'"


def resource_id(resource_type: str, name: str) -> str:
    """resourceId() for a resource of this template; a child's name 'parent/child' becomes two segments."""
    segments = ", ".join(quote(part) for part in name.split("/"))
    return f"resourceId({quote(resource_type)}, {segments})"


_PARAMETER_REFERENCE = re.compile(r"^\[parameters\('([A-Za-z_][A-Za-z0-9_]*)'\)\]$")


def parameter_reference(value) -> str | None:
    """The parameter name when `value` is exactly `[parameters('name')]` (a value a generated template takes from
    a parameter: its location, a compute's VM size), else None."""
    m = _PARAMETER_REFERENCE.match(value) if isinstance(value, str) else None
    return m.group(1) if m else None


def parameter_values(parameters: dict, template: dict) -> dict:
    """What each parameter of a template resolves to: the value a parameters file (`{"parameters": {name:
    {"value": ...}}}`) gives it, else its default (which may itself be an expression)."""
    values = {name: p["defaultValue"] for name, p in (template.get("parameters") or {}).items()
              if isinstance(p, dict) and "defaultValue" in p}
    for name, entry in (parameters.get("parameters") or {}).items():
        if isinstance(entry, dict) and "value" in entry:
            values[name] = entry["value"]
    return values


def existing_id(ref) -> str:
    """The ID of a resource brought by ID (a parsed ResourceId), built with resourceId() from its parts, never
    a literal (arm-ttk: "IDs Should Be Derived From ResourceIDs"); what Bicep compiles `existing.id` to."""
    parts = (ref.subscription, ref.resource_group, ref.type, *ref.names)
    return f"resourceId({', '.join(quote(p) for p in parts)})"


def _name_segments(name) -> list:
    """A resource's name as resourceId() segments: 'a/b' and format('{0}/{1}', a, b) are two."""
    if isinstance(name, str):
        return name.split("/")
    if isinstance(name, Call) and name.function == "format" and name.args[:1] == ("{0}/{1}",):
        return [*_name_segments(name.args[1]), *_name_segments(name.args[2])]
    return [name]


class ArmExpressions:
    """Renders plan values into ARM JSON values for one template (it knows the template's resources)."""

    def __init__(self, resources, scope: str = "resourceGroup"):
        self.by_symbol = {r.symbol: r for r in resources}
        self.scope = scope
        self._ids: dict[str, str] = {}  # speed: a resource's ID expression is built once per template

    def resource_id_of(self, symbol: str) -> str:
        found = self._ids.get(symbol)
        if found is None:
            found = self._ids[symbol] = self._resource_id_of(symbol)
        return found

    def _resource_id_of(self, symbol: str) -> str:
        r = self.by_symbol[symbol]
        scope = r.values.get("scope")
        if isinstance(scope, Ref) and scope.attr == "resource" and r.existing is None and self.scope != "subscription":
            # an extension resource (a role assignment the workspace waits for): its ID hangs off its scope's
            name = self.expression(r.name) if isinstance(r.name, Expr) else quote(r.name)
            return f"extensionResourceId({self.expression(scope)}, {quote(r.type)}, {name})"
        if r.type == "Microsoft.Resources/deployments" and isinstance(scope, ResourceGroupScope):
            # a nested deployment into another group: its record lives there (what Bicep compiles a module's ID to)
            return (f"resourceId({quote(scope.subscription)}, {quote(scope.resource_group)}, {quote(r.type)}, "
                    f"{quote(r.name)})")
        if self.scope == "subscription":
            if r.type == "Microsoft.Resources/deployments":  # a deployment into the spec's resource group
                group = quote(r.values["resourceGroupName"])
                return f"resourceId({group}, {quote(r.type)}, {quote(r.name)})"
            return f"subscriptionResourceId({quote(r.type)}, {quote(r.name)})"
        if r.existing is not None and scope is None:  # brought, in the group this template deploys to
            return resource_id(r.type, "/".join(r.existing.names))
        if r.existing is not None:
            return existing_id(r.existing)
        segments = _name_segments(r.name)
        if all(isinstance(s, str) for s in segments):
            return resource_id(r.type, "/".join(segments))
        args = ", ".join(quote(s) if isinstance(s, str) else self.expression(s) for s in segments)
        return f"resourceId({quote(r.type)}, {args})"

    def expression(self, expr: Expr) -> str:
        """The expression's text without the enclosing brackets."""
        if isinstance(expr, Param):
            return f"parameters({quote(expr.name)})"
        if isinstance(expr, ResourceGroupLocation):
            return "resourceGroup().location"
        if isinstance(expr, TenantId):
            return "subscription().tenantId"
        if isinstance(expr, ResourceGroupId):
            return "resourceGroup().id"
        if isinstance(expr, Deployed):
            return f"{expr.function}().{expr.attr}"
        if isinstance(expr, Equals):
            return f"equals({self._operand(expr.left)}, {self._operand(expr.right)})"
        if isinstance(expr, DeploymentLocation):
            return "deployment().location"
        if isinstance(expr, Environment):
            return ".".join(("environment()", *expr.path))
        if isinstance(expr, DeploymentOutput):
            r = self.by_symbol[expr.symbol]
            return (f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)})"
                    f".outputs.{expr.output}.value")
        if isinstance(expr, Call):
            args = ", ".join(quote(a) if isinstance(a, str) else self.expression(a) for a in expr.args)
            return f"{expr.function}({args})"
        if isinstance(expr, Ref):
            r = self.by_symbol[expr.symbol]
            if expr.attr in ("id", "resource"):
                return self.resource_id_of(expr.symbol)
            if expr.attr == "name":
                return quote(r.name)
            if expr.attr in ("clientId", "identityPrincipalId"):
                prop = "clientId" if expr.attr == "clientId" else "principalId"
                return f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)}).{prop}"
            if expr.attr == "location":
                return f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)}, 'full').location"
            if expr.attr == "principalId":
                return (f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)}, 'full')"
                        ".identity.principalId")
            if expr.attr.startswith("properties."):
                return (f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)})"
                        f".{expr.attr.removeprefix('properties.')}")
        raise TypeError(f"no ARM form for {expr!r}")

    def _operand(self, value) -> str:
        return quote(value) if isinstance(value, str) else self.expression(value)

    def _key(self, key) -> str:
        """An object key: literal text is escaped like any string; an expression key (a user-assigned
        identity's ID) is evaluated, as ARM does for property names."""
        value = self.value(key)
        return value if isinstance(value, str) else str(value)

    def value(self, value):
        """A plan value as a JSON-ready ARM value: literals escaped, expressions in brackets."""
        kind = type(value)
        if kind is str:  # speed: the common cases first (the checks below would give the same)
            return literal(value)
        if kind is bool or kind is int or value is None:
            return value
        if isinstance(value, ScannerSkips):
            return {"checkov": list(value.skips)}
        if isinstance(value, Ref) and value.attr == "name":
            return literal(self.by_symbol[value.symbol].name)  # names are known before deployment
        if isinstance(value, Expr):
            return "[" + self.expression(value) + "]"
        if isinstance(value, str):
            return literal(value)
        if isinstance(value, dict):
            return {self._key(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value
