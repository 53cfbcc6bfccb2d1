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


@dataclass(frozen=True)
class ScannerSkips:
    """Not an expression: checks of a security scanner (checkov) that are wrong for a resource as the spec designs
    it, each "ID: reason". ARM carries them in the resource's `metadata.checkov`, Bicep as `// checkov:skip=ID:
    reason` lines inside the resource: the forms checkov reads."""

    skips: tuple[str, ...]


def references(value) -> list[Ref]:
    """Every Ref inside a value (and inside its keys), depth first, in order."""
    found: list[Ref] = []
    _collect_references(value, found)
    return found


def _collect_references(value, found: list) -> None:
    # one list filled in place (speed: called for every resource of every plan; a list per level cost more)
    if isinstance(value, (str, int, float)) or value is None:
        return
    if isinstance(value, Ref):
        found.append(value)
    elif isinstance(value, Call):
        for item in value.args:
            _collect_references(item, found)
    elif isinstance(value, dict):
        for key, item in value.items():
            # a key can be an expression too: a user-assigned identity's ID in `userAssignedIdentities`
            _collect_references(key, found)
            _collect_references(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_references(item, found)


@dataclass(frozen=True)
class ResourceGroupScope(Expr):
    """A resource group by subscription and name: the scope of a resource brought by ID (Bicep `existing`)."""

    subscription: str
    resource_group: str


@dataclass(frozen=True)
class Equals(Expr):
    """`left == right` (ARM equals()): the condition of a resource deployed only in one of the places a shared
    module is deployed to."""

    left: object
    right: object


@dataclass(frozen=True)
class Deployed(Expr):
    """A property of the subscription or resource group being deployed to: `subscription().subscriptionId`,
    `subscription().id`, `resourceGroup().name` (function: subscription | resourceGroup)."""

    function: str
    attr: str


@dataclass(frozen=True)
class SubscriptionScope(Expr):
    """A subscription by ID: the scope of a nested deployment at subscription scope (Bicep `subscription('...')`)."""

    subscription: str
