"""Template expressions as values (never strings): each renderer turns them into ARM or Bicep syntax."""

from __future__ import annotations

from dataclasses import dataclass


class Expr:
    """Base of the expression values the plan puts where a literal cannot be known before deployment."""


@dataclass(frozen=True)
class Param(Expr):
    """The value of a template parameter."""

    name: str


@dataclass(frozen=True)
class ResourceGroupLocation(Expr):
    """The location of the resource group being deployed to."""


@dataclass(frozen=True)
class TenantId(Expr):
    """The tenant of the subscription being deployed to."""


@dataclass(frozen=True)
class Ref(Expr):
    """A property of another resource of the same template, by its symbol: `id`, `name`, `principalId`
    (of its system-assigned identity), `clientId` / `identityPrincipalId` (of a user-assigned identity resource:
    its `properties.clientId` / `properties.principalId`, known only at deployment), `location` (of a resource
    declared `existing`, read at deployment), `properties.<path>` (a property read at deployment, e.g. an
    account's `properties.endpoint`) or `resource` (the resource itself: a Bicep `parent` or `scope`; its ID in
    ARM). A reference to a resource the template declares creates the dependency (ARM dependsOn, implicit
    in Bicep)."""

    symbol: str
    attr: str = "id"


@dataclass(frozen=True)
class Environment(Expr):
    """A property of the cloud being deployed to, `environment().<path>`: host name suffixes come from here
    (arm-ttk's "DeploymentTemplate Must Not Contain Hardcoded Uri"), so one template serves every cloud."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class DeploymentLocation(Expr):
    """The location of a subscription-scope deployment (`az deployment sub create -l ...`)."""


@dataclass(frozen=True)
class DeploymentOutput(Expr):
    """An output of a nested deployment (a Bicep module) of the same template."""

    symbol: str
    output: str


@dataclass(frozen=True)
class ResourceGroupId(Expr):
    """The ID of the resource group being deployed to."""


@dataclass(frozen=True)
class Call(Expr):
    """A template function both languages share (guid, toLower, subscriptionResourceId); arguments are
    literals or expressions."""

    function: str
    args: tuple = ()


def references(value) -> list[Ref]:
    """Every Ref inside a value, depth first, in order."""
    found: list[Ref] = []
    if isinstance(value, Ref):
        found.append(value)
    elif isinstance(value, Call):
        found.extend(references(list(value.args)))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(references(key))  # a key can be an expression: a user-assigned identity's ID
            found.extend(references(item))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found.extend(references(item))
    return found


@dataclass(frozen=True)
class ResourceGroupScope(Expr):
    """A resource group by subscription and name: the scope of a resource brought by ID (Bicep `existing`)."""

    subscription: str
    resource_group: str
