"""Azure naming rules, the names amlgen derives, and resource IDs: the only module that knows them."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """One resource type's naming rule, with the words a person reads when a name breaks it."""

    min_len: int
    max_len: int
    pattern: str
    words: str
    globally_unique: bool = False

    def problem(self, name: str) -> str | None:
        """Why `name` breaks the rule, or None."""
        if not self.min_len <= len(name) <= self.max_len:
            return f"'{name}' has {len(name)} characters; {self.words}"
        if not re.fullmatch(self.pattern, name):
            return f"'{name}' is not allowed; {self.words}"
        if "--" in name and self is RULES["keyVault"]:
            return f"'{name}' has two hyphens in a row; {self.words}"
        return None


RULES: dict[str, NameRule] = {
    "workspace": NameRule(3, 33, r"[a-zA-Z0-9][a-zA-Z0-9_-]*",
                          "a workspace name has 3-33 letters, digits, hyphens and underscores, starting with a letter or digit"),
    "storage": NameRule(3, 24, r"[a-z0-9]+", "a storage account name has 3-24 lowercase letters and digits", True),
    "keyVault": NameRule(3, 24, r"[a-zA-Z](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?",
                         "a key vault name has 3-24 letters, digits and hyphens, starts with a letter, ends with a "
                         "letter or digit, and has no two hyphens in a row", True),
    "containerRegistry": NameRule(5, 50, r"[a-zA-Z0-9]+", "a container registry name has 5-50 letters and digits", True),
    "logAnalytics": NameRule(4, 63, r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?",
                             "a Log Analytics workspace name has 4-63 letters, digits and hyphens, starting and ending "
                             "with a letter or digit"),
    # Learn (how-to-create-compute-instance, Compute name): "If - character is used, then it needs to be followed
    # by at least one letter later in the name": so 'gpu-cluster-', 'x-1-' and 'gpu-1' are all refused.
    "compute": NameRule(3, 24, r"[a-zA-Z](?![a-zA-Z0-9-]*-[0-9-]*$)[a-zA-Z0-9-]*",
                        "a compute name has 3-24 letters, digits and hyphens, starts with a letter, and every hyphen "
                        "is followed by a letter somewhere later in the name"),
    # Cognitive Services accounts and their custom subdomain (the subdomain is globally unique), and search services:
    # https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules
    # (#microsoftcognitiveservices, #microsoftsearch)
    "aiServices": NameRule(2, 64, r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?",
                           "an AI Services account name (and custom subdomain) has 2-64 letters, digits and hyphens, "
                           "starting and ending with a letter or digit", True),
    "aiSearch": NameRule(2, 60, r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*",
                         "a search service name has 2-60 lowercase letters, digits and hyphens, starts and ends with a "
                         "letter or digit, and has no two hyphens in a row", True),
    "applicationInsights": NameRule(1, 255, r"[^%&\\?/]*[^%&\\?/. ]",
                                    "an Application Insights name has 1-255 characters, none of % & \\ ? /, and does "
                                    "not end with a period or a space"),
    # https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftnetwork
    "virtualNetwork": NameRule(2, 64, r"[a-zA-Z0-9](?:[a-zA-Z0-9_.-]*[a-zA-Z0-9_])?",
                               "a virtual network name has 2-64 letters, digits, underscores, periods and hyphens, "
                               "starting with a letter or digit and ending with a letter, digit or underscore"),
}

# Prefixes from the Cloud Adoption Framework's abbreviations, so derived names read like hand-made ones.
PREFIXES = {"storage": "st", "keyVault": "kv-", "containerRegistry": "cr", "logAnalytics": "log-",
            "applicationInsights": "appi-", "virtualNetwork": "vnet-", "aiServices": "ais-", "aiSearch": "srch-"}
SUFFIX_LEN = 8


def suffix(name: str, seed: str | None) -> str:
    """A short deterministic suffix: the same spec always gets the same global names (never random: a
    redeploy must update, not collide with its own soft-deleted vault), and `nameSeed` tells apart two
    organisations that use the same spec."""
    digest = hashlib.sha256(f"{name}\n{seed or ''}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:SUFFIX_LEN]


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _hyphenated(text: str) -> str:
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-zA-Z0-9-]", "-", text)).strip("-")


def derived_name(kind: str, workspace_name: str, seed: str | None) -> str:
    """The name amlgen gives a resource of `kind` when the spec does not name it."""
    rule, prefix = RULES[kind], PREFIXES[kind]
    if kind in ("storage", "containerRegistry"):
        room = rule.max_len - len(prefix) - SUFFIX_LEN
        return prefix + _alnum(workspace_name)[:room] + suffix(workspace_name, seed)
    if kind in ("keyVault", "aiServices", "aiSearch"):  # globally unique, hyphens allowed
        room = rule.max_len - len(prefix) - SUFFIX_LEN - 1
        stem = _hyphenated(workspace_name.lower())[:room].strip("-")
        return f"{prefix}{stem}-{suffix(workspace_name, seed)}" if stem else prefix + suffix(workspace_name, seed)
    return (prefix + _hyphenated(workspace_name.lower()))[: rule.max_len].rstrip("-")


def deployment_name(workspace_name: str) -> str:
    """The stable deployment name of a workspace's template (so a redeploy updates one deployment record):
    used by subscription.json for its nested deployment and by `amlgen deploy`."""
    name = "amlgen-" + re.sub(r"[^\w.()-]", "-", workspace_name)
    if len(name) > 64:
        name = name[:55] + "-" + hashlib.sha256(workspace_name.encode()).hexdigest()[:8]
    return name


def module_deployment_name(workspace_name: str, module: str) -> str:
    """The stable name of a nested deployment (a Bicep module) of a workspace's template, e.g. its private
    endpoints deployed into the network's resource group: unique per workspace there, at most 64 characters."""
    return deployment_name(f"{workspace_name}-{module}")


# --- resource IDs --------------------------------------------------------------------------------------

_ID = re.compile(
    r"/subscriptions/(?P<sub>[0-9a-fA-F-]{36})/resourceGroups/(?P<rg>[-\w._()]{1,90})"
    r"/providers/(?P<ns>[A-Za-z][\w.]*)/(?P<rest>[^?#]+)", re.IGNORECASE)


@dataclass(frozen=True)
class ResourceId:
    """A parsed Azure resource ID of a resource in a resource group."""

    id: str
    subscription: str
    resource_group: str
    type: str  # e.g. Microsoft.Storage/storageAccounts (child types joined with '/')
    name: str  # the last name segment
    names: tuple[str, ...] = ()  # every name segment, parent first (a subnet: the network's, then its own)


def parse_resource_id(text: str) -> ResourceId | None:
    m = _ID.fullmatch(text)
    if not m:
        return None
    parts = m["rest"].strip("/").split("/")
    if len(parts) % 2 or any(not p for p in parts):
        return None
    types = parts[0::2]
    names = parts[1::2]
    return ResourceId(text, m["sub"], m["rg"], m["ns"] + "/" + "/".join(types), names[-1], tuple(names))


ID_FORM = "/subscriptions/<subscription GUID>/resourceGroups/<group>/providers/<namespace>/<type>/<name>"


_SUBSCRIPTION_ID = re.compile(r"/subscriptions/(?P<sub>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})"
                              r"(?:/resourceGroups/(?P<rg>[-\w._()]{1,90}))?/?", re.IGNORECASE)


@dataclass(frozen=True)
class ScopeId:
    """The scope of a role assignment given by ID: a subscription, a resource group, or a resource in a group."""

    id: str
    subscription: str
    resource_group: str | None = None  # None: the subscription itself
    resource: ResourceId | None = None  # None: the resource group (or subscription) itself

    @property
    def kind(self) -> str:
        return "resource" if self.resource else "resourceGroup" if self.resource_group else "subscription"


def parse_scope_id(text: str) -> ScopeId | None:
    """A subscription ID, a resource group ID or a resource ID: the scopes a role assignment can have below a
    management group (https://learn.microsoft.com/azure/role-based-access-control/scope-overview); None for anything
    else. A resource group name does not end with a period
    (https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules)."""
    m = _SUBSCRIPTION_ID.fullmatch(text)
    if m:
        if m["rg"] and m["rg"].endswith("."):
            return None
        return ScopeId(text, m["sub"], m["rg"])
    ref = parse_resource_id(text)
    if ref is None or ref.resource_group.endswith("."):
        return None
    return ScopeId(text, ref.subscription, ref.resource_group, ref)


SCOPE_ID_FORMS = ("/subscriptions/<subscription GUID>, /subscriptions/<subscription GUID>/resourceGroups/<group>, "
                  f"or a resource ID {ID_FORM}")
