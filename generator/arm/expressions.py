"""ARM template-language syntax: escaping of literal text and the expressions amlgen emits (quotes doubled here)."""

from __future__ import annotations

from generator.expressions import (Call, DeploymentLocation, DeploymentOutput, Expr, Param, Ref, ResourceGroupId,
                                   ResourceGroupLocation, TenantId)


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


class ArmExpressions:
    """Renders plan values into ARM JSON values for one template (it knows the template's resources)."""

    def __init__(self, resources, scope: str = "resourceGroup"):
        self.by_symbol = {r.symbol: r for r in resources}
        self.scope = scope

    def resource_id_of(self, symbol: str) -> str:
        r = self.by_symbol[symbol]
        scope = r.values.get("scope")
        if isinstance(scope, Ref) and scope.attr == "resource" and r.existing is None and self.scope != "subscription":
            # an extension resource (a role assignment the workspace waits for): its ID hangs off its scope's
            name = self.expression(r.name) if isinstance(r.name, Expr) else quote(r.name)
            return f"extensionResourceId({self.expression(scope)}, {quote(r.type)}, {name})"
        if self.scope == "subscription":
            if r.type == "Microsoft.Resources/deployments":  # a deployment into the spec's resource group
                group = quote(r.values["resourceGroupName"])
                return f"resourceId({group}, {quote(r.type)}, {quote(r.name)})"
            return f"subscriptionResourceId({quote(r.type)}, {quote(r.name)})"
        return resource_id(r.type, r.name)

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
        if isinstance(expr, DeploymentLocation):
            return "deployment().location"
        if isinstance(expr, DeploymentOutput):
            r = self.by_symbol[expr.symbol]
            return (f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)})"
                    f".outputs.{expr.output}.value")
        if isinstance(expr, Call):
            args = ", ".join(quote(a) if isinstance(a, str) else self.expression(a) for a in expr.args)
            return f"{expr.function}({args})"
        if isinstance(expr, Ref):
            r = self.by_symbol[expr.symbol]
            if r.existing is not None and expr.attr in ("id", "resource"):
                return quote(r.existing.id)
            if expr.attr in ("id", "resource"):
                return self.resource_id_of(expr.symbol)
            if expr.attr == "name":
                return quote(r.name)
            if expr.attr in ("clientId", "identityPrincipalId"):
                target = quote(r.existing.id) if r.existing is not None else self.resource_id_of(expr.symbol)
                prop = "clientId" if expr.attr == "clientId" else "principalId"
                return f"reference({target}, {quote(r.api_version)}).{prop}"
            if expr.attr == "principalId":
                return (f"reference({self.resource_id_of(expr.symbol)}, {quote(r.api_version)}, 'full')"
                        ".identity.principalId")
        raise TypeError(f"no ARM form for {expr!r}")

    def _key(self, key) -> str:
        """An object key: literal text is escaped like any string; an expression key (a user-assigned
        identity's ID) is evaluated, as ARM does for property names."""
        value = self.value(key)
        return value if isinstance(value, str) else str(value)

    def value(self, value):
        """A plan value as a JSON-ready ARM value: literals escaped, expressions in brackets."""
        if isinstance(value, Ref) and value.attr == "name":
            return literal(self.by_symbol[value.symbol].name)  # names are known before deployment
        if isinstance(value, Ref) and value.attr == "id" and self.by_symbol[value.symbol].existing is not None:
            return literal(self.by_symbol[value.symbol].existing.id)
        if isinstance(value, Expr):
            return "[" + self.expression(value) + "]"
        if isinstance(value, str):
            return literal(value)
        if isinstance(value, dict):
            return {self._key(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value
