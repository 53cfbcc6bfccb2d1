"""The one mapping from Azure's view of a workspace (ARM resources, as GET returns them or an export holds them)
to an amlgen spec. Every importer (live, ARM export, az ml YAML) produces ARM-shaped resources and calls
`to_spec`; nothing here knows where they came from.

What amlgen cannot carry over becomes a `Note` (one line: the setting and why); what a deployment of the spec
would change becomes a `Change` (the property, Azure's value, the spec's value): announced before anything runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from generator import clouds, naming, roles
from generator.spec import defaults
from generator.spec.defaults import WORKSPACE_RULE_NAME

WORKSPACE = "microsoft.machinelearningservices/workspaces"
COMPUTE = WORKSPACE + "/computes"
DATASTORE = WORKSPACE + "/datastores"
CONNECTION = WORKSPACE + "/connections"
OUTBOUND_RULE = WORKSPACE + "/outboundrules"
STORAGE = "microsoft.storage/storageaccounts"
KEY_VAULT = "microsoft.keyvault/vaults"
APP_INSIGHTS = "microsoft.insights/components"
LOG_ANALYTICS = "microsoft.operationalinsights/workspaces"
REGISTRY = "microsoft.containerregistry/registries"
ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
LOCK = "microsoft.authorization/locks"
PRIVATE_ENDPOINT = "microsoft.network/privateendpoints"
ZONE_GROUP = PRIVATE_ENDPOINT + "/privatednszonegroups"
IDENTITY = "microsoft.managedidentity/userassignedidentities"
AI_SERVICES = "microsoft.cognitiveservices/accounts"
AI_DEPLOYMENT = AI_SERVICES + "/deployments"
AI_SEARCH = "microsoft.search/searchservices"

# The four datastores every workspace creates for itself (README: "Adopting an existing workspace").
BUILT_IN_DATASTORES = ("workspaceblobstore", "workspacefilestore", "workspaceartifactstore",
                       "workspaceworkingdirectory")

# Resource types an import reads and knows what to do with; anything else in a source is a Note.
KNOWN_TYPES = {WORKSPACE, COMPUTE, DATASTORE, CONNECTION, OUTBOUND_RULE, STORAGE, KEY_VAULT, APP_INSIGHTS,
               LOG_ANALYTICS, REGISTRY, ROLE_ASSIGNMENT, LOCK, PRIVATE_ENDPOINT, ZONE_GROUP, IDENTITY,
               "microsoft.network/privatednszones", "microsoft.network/privatednszones/virtualnetworklinks",
               "microsoft.insights/diagnosticsettings", AI_SERVICES, AI_DEPLOYMENT, AI_SEARCH}


@dataclass(frozen=True)
class Note:
    """A setting the spec does not carry over, and why."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass(frozen=True)
class Change:
    """A property a deployment of the imported spec would change."""

    where: str
    azure: Any
    spec: Any
    why: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: Azure has {_show(self.azure)}, the spec will set {_show(self.spec)}"
        return text + (f" ({self.why})" if self.why else "")


def _show(value: Any) -> str:
    return "nothing" if value is None else repr(value) if isinstance(value, str) else str(value).lower() \
        if isinstance(value, bool) else str(value)


@dataclass
class Imported:
    spec: dict
    notes: list[Note] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # where the spec will need a secure parameter
    source: str = ""


def _low(text: Any) -> str:
    return str(text or "").lower()


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    """A value at `path`, with keys matched case-insensitively (Azure echoes casing it likes)."""
    for key in path:
        if not isinstance(obj, dict):
            return default
        match = next((k for k in obj if k.lower() == key.lower()), None)
        if match is None:
            return default
        obj = obj[match]
    return default if obj is None else obj


def _iso_minutes(text: Any) -> int | None:
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", str(text or ""))
    if not match or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return hours * 60 + minutes + (1 if seconds else 0)


def _enum(value: Any, allowed: Iterable[str]) -> str | None:
    """`value` in the spelling the spec uses (Azure returns some enums in other casings)."""
    return next((a for a in allowed if a.lower() == _low(value)), None)


class _Index:
    def __init__(self, resources: list[dict]):
        # one entry per ID: a role assignment listed with $filter=atScope() comes back at every scope below it
        self.by_id = {_low(r.get("id")): r for r in resources if r.get("id")}
        self.resources = [r for r in resources if not r.get("id")] + list(self.by_id.values())

    def get(self, rid: Any) -> dict | None:
        return self.by_id.get(_low(rid))

    def of_type(self, rtype: str) -> list[dict]:
        return [r for r in self.resources if _low(r.get("type")) == rtype]


def _children(index: _Index, rtype: str, parent_id: str) -> list[dict]:
    prefix = _low(parent_id) + "/"
    return sorted((r for r in index.of_type(rtype) if _low(r.get("id")).startswith(prefix)),
                  key=lambda r: _low(r.get("name")))


def _leaf(resource: dict) -> str:
    return str(resource.get("name") or "").split("/")[-1]


class _Mapper:
    def __init__(self, resources: list[dict], existing_dependents: bool):
        self.index = _Index(resources)
        self.existing_dependents = existing_dependents
        self.notes: list[Note] = []
        self.changes: list[Change] = []
        self.secrets: list[str] = []

    def note(self, where: str, why: str) -> None:
        self.notes.append(Note(where, why))

    def change(self, where: str, azure: Any, spec: Any, why: str = "") -> None:
        if _low(azure) != _low(spec):
            self.changes.append(Change(where, azure, spec, why))

    # --- the workspace ---------------------------------------------------------------------------------
    def workspace(self) -> dict:
        workspaces = self.index.of_type(WORKSPACE)
        if not workspaces:
            raise ImportProblem("no Microsoft.MachineLearningServices/workspaces resource in the source")
        if len(workspaces) > 1:
            self.note("workspaces", f"{len(workspaces)} workspaces in the source; imported the first, "
                      f"{_leaf(workspaces[0])} (import the others one at a time)")
        return workspaces[0]

    def build(self) -> dict:
        ws = self.workspace()
        ws_id = str(ws.get("id") or "")
        self.ws_rid = naming.parse_resource_id(ws_id)
        self.name = _leaf(ws)
        props = _get(ws, "properties", default={})
        spec: dict[str, Any] = {"name": self.name}
        if ws.get("location"):
            spec["location"] = _low(ws["location"]).replace(" ", "")
        if ws.get("tags"):
            spec["tags"] = dict(sorted(ws["tags"].items()))
        spec["workspace"] = self.workspace_settings(ws, props)
        if not spec["workspace"]:
            del spec["workspace"]
        for key, prop, mapper in (("storage", "storageAccount", self.storage),
                                  ("keyVault", "keyVault", self.key_vault),
                                  ("applicationInsights", "applicationInsights", self.app_insights),
                                  ("containerRegistry", "containerRegistry", self.registry)):
            rid = _get(props, prop)
            if rid:
                entry = mapper(str(rid))
                if entry:
                    spec[key] = entry
            elif key in ("storage", "keyVault"):
                self.note(key, f"the source names no {prop}; amlgen will create one")
            elif key == "applicationInsights":
                self.note("applicationInsights", "the workspace has none; amlgen will create one (workspace-based, "
                          "on a new Log Analytics workspace)")
            elif key == "containerRegistry":
                self.note("containerRegistry", "the workspace has none yet (Azure ML creates one on first "
                          "image build); amlgen will create one")
        computes = self.computes(ws_id)
        if computes:
            spec["computes"] = computes
        datastores = self.datastores(ws_id)
        if datastores:
            spec["datastores"] = datastores
        for key, entry in self.ai_resources(ws_id).items():
            spec[key] = entry
        assignments = self.role_assignments(ws, spec)
        if assignments:
            spec["roleAssignments"] = assignments
        endpoints = self.private_endpoints(spec)
        if endpoints:
            spec["privateEndpoints"] = endpoints
        locks = [r for r in self.index.of_type(LOCK) if _low(r.get("id")).startswith(_low(ws_id) + "/")]
        if locks:
            levels = {_get(r, "properties", "level") for r in locks}
            spec["locks"] = "ReadOnly" if "ReadOnly" in levels else "CanNotDelete"
            if len(locks) > 1:
                self.note("locks", f"{len(locks)} locks on the workspace; the spec keeps one, {spec['locks']}")
        diagnostics = self.diagnostics(ws_id, spec)
        if diagnostics is not None:
            spec["diagnostics"] = diagnostics
        connections = self.connections(ws_id)
        if connections:
            spec["connections"] = connections
        for resource in self.index.resources:
            if _low(resource.get("type")) not in KNOWN_TYPES:
                self.note(str(resource.get("type")) + "/" + _leaf(resource), "not a resource amlgen describes")
        return spec

    def workspace_settings(self, ws: dict, props: dict) -> dict:
        out: dict[str, Any] = {}
        friendly = _get(props, "friendlyName")
        if friendly and friendly != self.name:
            out["friendlyName"] = friendly
        if _get(props, "description"):
            out["description"] = _get(props, "description")
        kind = _enum(ws.get("kind"), ("Default", "Hub", "Project", "FeatureStore"))
        if kind:
            out["kind"] = kind
        if ws.get("kind") and not kind:
            self.note("workspace.kind", f"kind {ws.get('kind')!r} is not one amlgen creates")
        if _get(props, "hubResourceId"):
            out["hub"] = _get(props, "hubResourceId")
        access = _enum(_get(props, "publicNetworkAccess"), ("Enabled", "Disabled"))
        if access:
            out["publicNetworkAccess"] = access
        if _get(props, "imageBuildCompute"):
            out["imageBuildCompute"] = _get(props, "imageBuildCompute")
        if _get(props, "hbiWorkspace") is True:
            out["hbi"] = True
        mode = _enum(_get(props, "systemDatastoresAuthMode"), ("Identity", "AccessKey", "UserDelegationSAS"))
        if mode:
            out["systemDatastoresAuthMode"] = mode
        elif not mode:
            self.change("workspace.systemDatastoresAuthMode", _get(props, "systemDatastoresAuthMode") or None,
                        "Identity", "amlgen's default: the workspace reaches its storage with its identity")
        managed = self.managed_network(_get(props, "managedNetwork", default={}), str(ws.get("id") or ""))
        if managed:
            out["managedNetwork"] = managed
        serverless = _get(props, "serverlessComputeSettings", default={})
        settings = {}
        if _get(serverless, "serverlessComputeCustomSubnet"):
            settings["subnet"] = _get(serverless, "serverlessComputeCustomSubnet")
        if _get(serverless, "serverlessComputeNoPublicIP") is True:
            settings["noPublicIp"] = True
        if settings:
            out["serverlessCompute"] = settings
        feature = _get(props, "featureStoreSettings", default={})
        if kind == "FeatureStore" and feature:
            fs = {}
            for key, path in (("sparkRuntimeVersion", ("computeRuntime", "sparkRuntimeVersion")),
                              ("offlineStoreConnectionName", ("offlineStoreConnectionName",)),
                              ("onlineStoreConnectionName", ("onlineStoreConnectionName",))):
                if _get(feature, *path):
                    fs[key] = _get(feature, *path)
            if fs:
                out["featureStore"] = fs
        identity = self.identity(ws.get("identity") or {}, props)
        if identity:
            out["identity"] = identity
        encryption = self.encryption(props)
        if encryption:
            out["encryption"] = encryption
        # preview-only settings (a GET at the stable version may leave them out)
        acls = _get(props, "networkAcls")
        if isinstance(acls, dict) and _get(acls, "defaultAction"):
            out["networkAcls"] = {"defaultAction": _get(acls, "defaultAction")}
            rules = [_get(r, "value") for r in _get(acls, "ipRules", default=[]) if _get(r, "value")]
            if rules:
                out["networkAcls"]["ipRules"] = rules
        if _get(props, "ipAllowlist"):
            out["ipAllowlist"] = list(_get(props, "ipAllowlist"))
        if _get(props, "allowRoleAssignmentOnRG") is False:
            out["allowRoleAssignmentOnRG"] = False
        if _get(props, "v1LegacyMode") is True:
            self.change("workspace.v1LegacyMode", True, False, "amlgen creates v2 workspaces")
        if _get(props, "allowPublicAccessWhenBehindVnet") is True:
            self.note("workspace.allowPublicAccessWhenBehindVnet", "deprecated; use publicNetworkAccess")
        if _get(props, "sharedPrivateLinkResources"):
            self.note("workspace.sharedPrivateLinkResources", "not part of the spec")
        return out

    def managed_network(self, mn: dict, ws_id: str) -> dict:
        mode = _enum(_get(mn, "isolationMode"), ("Disabled", "AllowInternetOutbound", "AllowOnlyApprovedOutbound"))
        if not mode or mode == "Disabled":
            return {}
        out: dict[str, Any] = {"isolationMode": mode}
        firewall = _enum(_get(mn, "firewallSku"), ("Standard", "Basic"))
        if firewall:
            out["firewallSku"] = firewall
        rules: dict[str, dict] = {}
        raw = dict(_get(mn, "outboundRules", default={}))
        for child in _children(self.index, OUTBOUND_RULE, ws_id):
            raw.setdefault(_leaf(child), _get(child, "properties", default={}))
        for name in sorted(raw):
            rule = self.outbound_rule(name, raw[name])
            if rule:
                rules[name] = rule
        if rules:
            out["outboundRules"] = rules
        return out

    def outbound_rule(self, name: str, rule: dict) -> dict | None:
        where = f"workspace.managedNetwork.outboundRules.{name}"
        category = _low(_get(rule, "category") or "userdefined")
        if category != "userdefined":
            return None  # Required / Recommended / Dependency rules are Azure ML's own
        if name == WORKSPACE_RULE_NAME or name in defaults.AI_OUTBOUND_RULES.values():
            return None  # rules amlgen adds itself (computes in the managed network; the AI resources it creates)
        kind = _enum(_get(rule, "type"), ("FQDN", "ServiceTag", "PrivateEndpoint"))
        dest = _get(rule, "destination")
        if kind == "FQDN" and isinstance(dest, str):
            return {"type": "FQDN", "destination": dest}
        if kind == "ServiceTag" and isinstance(dest, dict):
            out = {"type": "ServiceTag", "serviceTag": _get(dest, "serviceTag")}
            for key, spec_key in (("protocol", "protocol"), ("portRanges", "portRanges")):
                if _get(dest, key):
                    out[spec_key] = _get(dest, key)
            return out
        if kind == "PrivateEndpoint" and isinstance(dest, dict):
            out = {"type": "PrivateEndpoint", "resourceId": _get(dest, "serviceResourceId"),
                   "subresource": _get(dest, "subresourceTarget")}
            if _get(dest, "sparkEnabled") is True:
                out["sparkEnabled"] = True
            return out
        self.note(where, f"a {_get(rule, 'type')} rule is not one amlgen describes")
        return None

    def identity(self, identity: dict, props: dict) -> dict:
        kind = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned",
                "systemassigned,userassigned": "SystemAssigned,UserAssigned"}.get(
            _low(identity.get("type")).replace(" ", ""))
        if not kind:
            if identity.get("type"):
                self.change("workspace.identity.type", identity.get("type"), "SystemAssigned")
            return {}
        if kind == "SystemAssigned":
            return {}
        out: dict[str, Any] = {"type": kind}
        users = sorted(identity.get("userAssignedIdentities") or {})
        out["userAssigned"] = [self.user_identity(uid) for uid in users]
        primary = _get(props, "primaryUserAssignedIdentity")
        if primary and len(users) > 1:
            out["primary"] = self.user_identity(primary).get("name") or primary
        return out

    def user_identity(self, uid: str) -> dict:
        rid = naming.parse_resource_id(uid)
        if rid and not self.existing_dependents and self.index.get(uid) and self._same_group(rid):
            return {"name": rid.name}
        return {"existing": uid}

    def encryption(self, props: dict) -> dict:
        enc = _get(props, "encryption", default={})
        if _low(_get(enc, "status")) != "enabled":
            return {}
        out: dict[str, Any] = {"keyVault": _get(enc, "keyVaultProperties", "keyVaultArmId"),
                               "keyUri": _get(enc, "keyVaultProperties", "keyIdentifier")}
        uai = _get(enc, "identity", "userAssignedIdentity")
        if uai:
            rid = naming.parse_resource_id(str(uai))
            out["identity"] = rid.name if rid and self.index.get(uai) and self._same_group(rid) else uai
        if _get(props, "enableServiceSideCMKEncryption") is True:
            out["serviceSide"] = True
        return out

    # --- dependents ------------------------------------------------------------------------------------
    def _same_group(self, rid: naming.ResourceId) -> bool:
        return bool(self.ws_rid) and _low(rid.subscription) == _low(self.ws_rid.subscription) and \
            _low(rid.resource_group) == _low(self.ws_rid.resource_group)

    def _owned(self, key: str, rid_text: str) -> tuple[dict | None, naming.ResourceId | None]:
        """The resource when the spec can own it, else None (and the reason is noted)."""
        rid = naming.parse_resource_id(rid_text)
        resource = self.index.get(rid_text)
        if self.existing_dependents or rid is None or resource is None or not self._same_group(rid):
            return None, rid
        return resource, rid

    def _existing(self, key: str, rid_text: str, why: str | None = None) -> dict:
        if why:
            self.note(key, f"imported as existing: {why}")
        return {"existing": rid_text}

    def storage(self, rid_text: str) -> dict:
        resource, rid = self._owned("storage", rid_text)
        if resource is None:
            return self._existing("storage", rid_text)
        props = _get(resource, "properties", default={})
        if _get(props, "encryption", "requireInfrastructureEncryption") is not True:
            return self._existing("storage", rid_text, "its infrastructure encryption is off, and that is fixed "
                                  "when an account is created (amlgen turns it on)")
        feature_store = _low(self.workspace().get("kind")) == "featurestore"
        if bool(_get(props, "isHnsEnabled")) != feature_store:
            return self._existing("storage", rid_text, "its hierarchical namespace (ADLS Gen2) is "
                                  f"{'off' if feature_store else 'on'}, fixed at creation; amlgen creates it "
                                  f"{'on' if feature_store else 'off'} for this kind of workspace")
        out = {"name": rid.name}
        sku = _get(resource, "sku", "name")
        if sku:
            out["sku"] = sku
        self._access(out, "storage", props)
        for prop, want in (("allowSharedKeyAccess", False), ("allowBlobPublicAccess", False),
                           ("minimumTlsVersion", "TLS1_2")):
            have = _get(props, prop)
            if have is not None and have != want:
                self.change(f"storage.{prop}", have, want, "amlgen's secure default")
        return out

    def _access(self, out: dict, key: str, props: dict) -> None:
        access = _enum(_get(props, "publicNetworkAccess"), ("Enabled", "Disabled"))
        if access:
            out["publicNetworkAccess"] = access

    def key_vault(self, rid_text: str) -> dict:
        resource, rid = self._owned("keyVault", rid_text)
        if resource is None:
            return self._existing("keyVault", rid_text)
        props = _get(resource, "properties", default={})
        if _get(props, "enableRbacAuthorization") is not True:
            return self._existing("keyVault", rid_text, "it uses access policies; amlgen creates RBAC vaults, and "
                                  "switching a vault's permission model breaks whoever relies on its policies")
        if _get(props, "enablePurgeProtection") is not True:
            self.change("keyVault.enablePurgeProtection", _get(props, "enablePurgeProtection"), True,
                        "amlgen turns purge protection on (it cannot be turned off again)")
        out = {"name": rid.name}
        sku = _enum(_get(props, "sku", "name"), ("standard", "premium"))
        if sku:
            out["sku"] = sku
        days = _get(props, "softDeleteRetentionInDays")
        if isinstance(days, int):
            out["softDeleteRetentionInDays"] = days
        self._access(out, "keyVault", props)
        return out

    def app_insights(self, rid_text: str) -> dict:
        resource, rid = self._owned("applicationInsights", rid_text)
        if resource is None:
            return self._existing("applicationInsights", rid_text)
        props = _get(resource, "properties", default={})
        law = _get(props, "WorkspaceResourceId")
        if not law:
            return self._existing("applicationInsights", rid_text, "it is a classic component (no Log Analytics "
                                  "workspace); amlgen creates workspace-based ones, and classic ones are retired")
        out = {"name": rid.name}
        law_resource, law_rid = self._owned("logAnalytics", str(law))
        if law_resource is None:
            out["logAnalytics"] = {"existing": law}
        else:
            entry = {"name": law_rid.name}
            days = _get(law_resource, "properties", "retentionInDays")
            if isinstance(days, int):
                entry["retentionInDays"] = days
            out["logAnalytics"] = entry
        return out

    def registry(self, rid_text: str) -> dict:
        resource, rid = self._owned("containerRegistry", rid_text)
        if resource is None:
            return self._existing("containerRegistry", rid_text)
        props = _get(resource, "properties", default={})
        out = {"name": rid.name}
        sku = _enum(_get(resource, "sku", "name"), ("Basic", "Standard", "Premium"))
        if sku:
            out["sku"] = sku
        self._access(out, "containerRegistry", props)
        if _get(props, "adminUserEnabled") is True:
            self.change("containerRegistry.adminUserEnabled", True, False, "amlgen turns the admin user off; the "
                        "workspace uses its identity")
        return out

    # --- computes, datastores ----------------------------------------------------------------------------
    def computes(self, ws_id: str) -> dict:
        out: dict[str, dict] = {}
        for resource in _children(self.index, COMPUTE, ws_id):
            name = _leaf(resource)
            entry = self.compute(name, resource)
            if entry:
                out[name] = entry
        return out

    def compute(self, name: str, resource: dict) -> dict | None:
        where = f"computes.{name}"
        outer = _get(resource, "properties", default={})
        inner = _get(outer, "properties", default={})
        kind = _low(_get(outer, "computeType"))
        if kind == "amlcompute":
            out: dict[str, Any] = {"type": "cluster"}
            self._vm(out, inner)
            priority = _enum(_get(inner, "vmPriority"), ("Dedicated", "LowPriority"))
            if priority:
                out["priority"] = priority
            scale = _get(inner, "scaleSettings", default={})
            for key, prop in (("minNodes", "minNodeCount"), ("maxNodes", "maxNodeCount")):
                value = _get(scale, prop)
                if isinstance(value, int):
                    out[key] = value
            idle = _iso_minutes(_get(scale, "nodeIdleTimeBeforeScaleDown"))
            if idle:
                out["idleMinutesBeforeScaleDown"] = idle
            self._subnet(out, inner)
            if _get(inner, "enableNodePublicIp") is True:
                self.change(f"{where}.enableNodePublicIp", True, False, "amlgen creates computes without public IPs")
        elif kind == "computeinstance":
            out = {"type": "instance"}
            self._vm(out, inner)
            user = _get(inner, "personalComputeInstanceSettings", "assignedUser")
            if user:
                out["assignedUser"] = {"objectId": _get(user, "objectId"), "tenantId": _get(user, "tenantId")}
            idle = _iso_minutes(_get(inner, "idleTimeBeforeShutdown"))
            if idle:
                out["idleMinutesBeforeShutdown"] = idle
            script = _get(inner, "setupScripts", "scripts", "creationScript", default={})
            if _low(_get(script, "scriptSource")) == "workspacestorage" and _get(script, "scriptData"):
                out["setupScript"] = _get(script, "scriptData")
            elif script:
                self.note(f"{where}.setupScript", "a creation script that is not in the workspace's file share")
            if _low(_get(inner, "sshSettings", "sshPublicAccess")) == "enabled":
                self.note(f"{where}.ssh", "SSH is on; the public key is not in the GET answer: add ssh: "
                          "{publicKey: ...} to the spec (the instance keeps its key until it is re-created)")
            self._subnet(out, inner)
        elif kind in ("kubernetes", "aks", "databricks", "synapsespark"):
            spec_type = {"aks": "kubernetes"}.get(kind, {"synapsespark": "synapseSpark"}.get(kind, kind))
            out = {"type": spec_type}
            target = _get(outer, "resourceId")
            if not target:
                self.note(where, "an attached compute without a resource ID")
                return None
            out["resourceId"] = target
            namespace = _get(inner, "namespace")
            if spec_type == "kubernetes" and namespace:
                out["namespace"] = namespace
        else:
            self.note(where, f"compute type {_get(outer, 'computeType')!r} is not one amlgen describes")
            return None
        identity = resource.get("identity") or {}
        users = sorted(identity.get("userAssignedIdentities") or {})
        if users:
            out["identity"] = self.user_identity(users[0]).get("name") or users[0]
        return out

    def _vm(self, out: dict, inner: dict) -> None:
        size = _get(inner, "vmSize")
        if size:
            out["vmSize"] = size

    def _subnet(self, out: dict, inner: dict) -> None:
        subnet = _get(inner, "subnet", "id")
        if subnet:
            out["subnet"] = subnet

    def datastores(self, ws_id: str) -> dict:
        out: dict[str, dict] = {}
        for resource in _children(self.index, DATASTORE, ws_id):
            name = _leaf(resource)
            if name in BUILT_IN_DATASTORES:
                continue
            entry = self.datastore(name, _get(resource, "properties", default={}))
            if entry:
                out[name] = entry
        return out

    def datastore(self, name: str, props: dict) -> dict | None:
        where = f"datastores.{name}"
        kind = {"azureblob": "blob", "azurefile": "fileShare", "azuredatalakegen2": "adlsGen2"}.get(
            _low(_get(props, "datastoreType")))
        if not kind:
            self.note(where, f"datastore type {_get(props, 'datastoreType')!r} is not one amlgen describes")
            return None
        account = _get(props, "accountName")
        sub = _get(props, "subscriptionId")
        group = _get(props, "resourceGroup")
        if not (account and sub and group):
            self.note(where, "the datastore does not say which subscription and resource group its account is in")
            return None
        out: dict[str, Any] = {"type": kind, "account": f"/subscriptions/{sub}/resourceGroups/{group}/providers/"
                               f"Microsoft.Storage/storageAccounts/{account}"}
        if kind == "fileShare":
            out["fileShare"] = _get(props, "fileShareName")
        else:
            out["container"] = _get(props, "containerName") or _get(props, "filesystem")
        credentials = _low(_get(props, "credentials", "credentialsType"))
        if credentials in ("accountkey", "sas"):
            out["credentials"] = "accountKey" if credentials == "accountkey" else "sas"
            self.secrets.append(f"{where}: the {out['credentials']} is a secure parameter; amlgen never reads it "
                                f"(give it with AMLGEN_SECRET_* at deploy time)")
        elif credentials not in ("", "none"):
            self.note(f"{where}.credentials", f"{_get(props, 'credentials', 'credentialsType')} credentials are "
                      "not part of the spec; the datastore becomes identity-based")
        if _get(props, "description"):
            out["description"] = _get(props, "description")
        return out

    def diagnostics(self, ws_id: str, spec: dict) -> Any:
        settings = _children(self.index, "microsoft.insights/diagnosticsettings", ws_id + "/providers")
        targets = sorted({str(_get(s, "properties", "workspaceId")) for s in settings} - {"None", ""})
        if not targets:
            return None
        appi = self.index.get(_get(self.workspace(), "properties", "applicationInsights"))
        own = _low(_get(appi, "properties", "WorkspaceResourceId")) if appi else ""
        if len(targets) > 1:
            self.note("diagnostics", f"{len(targets)} diagnostic settings; the spec keeps the one to {targets[0]}")
        if own and _low(targets[0]) == own and "existing" not in spec.get("applicationInsights", {}).get(
                "logAnalytics", {}):
            return True
        return {"logAnalytics": targets[0]}

    def ai_resources(self, ws_id: str) -> dict:
        """aiServices / aiSearch: the account and service the workspace's connections name (metadata.ResourceId),
        owned by the spec when they are in the workspace's resource group, else existing."""
        self.ai_owned: dict[str, str] = {}
        out: dict[str, dict] = {}
        for connection in _children(self.index, CONNECTION, ws_id):
            rid_text = _get(connection, "properties", "metadata", "ResourceId")
            rid = naming.parse_resource_id(str(rid_text or ""))
            if rid is None:
                continue
            key = {AI_SERVICES: "aiServices", AI_SEARCH: "aiSearch"}.get(_low(rid.type))
            if key is None or key in out:
                continue
            resource, _ = self._owned(key, rid_text)
            if resource is None:
                out[key] = {"existing": rid_text}
                continue
            out[key] = self.ai_services(resource) if key == "aiServices" else self.ai_search(resource)
            self.ai_owned[key] = rid_text
        return out

    def ai_services(self, resource: dict) -> dict:
        props = _get(resource, "properties", default={})
        name = _leaf(resource)
        out = {"name": name}
        kind = _enum(resource.get("kind"), ("AIServices", "OpenAI"))
        if kind:
            out["kind"] = kind
        sku = _get(resource, "sku", "name")
        if sku:
            out["sku"] = sku
        subdomain = _get(props, "customSubDomainName")
        if subdomain:
            out["customSubDomain"] = subdomain
        self._access(out, "aiServices", props)
        if _get(props, "disableLocalAuth") is not True:
            self.change("aiServices.disableLocalAuth", _get(props, "disableLocalAuth"), True,
                        "amlgen turns key authentication off: Entra ID only")
        deployments = {}
        for d in _children(self.index, AI_DEPLOYMENT, str(resource.get("id"))):
            model = _get(d, "properties", "model", default={})
            entry = {"model": {k: _get(model, k) for k in ("format", "name", "version") if _get(model, k)},
                     "sku": {"name": _get(d, "sku", "name"), "capacity": _get(d, "sku", "capacity")}}
            if _get(d, "properties", "raiPolicyName"):
                entry["raiPolicy"] = _get(d, "properties", "raiPolicyName")
            deployments[_leaf(d)] = entry
        if deployments:
            out["deployments"] = deployments
        return out

    def ai_search(self, resource: dict) -> dict:
        props = _get(resource, "properties", default={})
        out = {"name": _leaf(resource)}
        sku = _get(resource, "sku", "name")
        if sku:
            out["sku"] = sku
        for key in ("replicaCount", "partitionCount"):
            value = _get(props, key)
            if isinstance(value, int):
                out[key] = value
        self._access(out, "aiSearch", props)
        return out

    def connections(self, ws_id: str) -> dict:
        out: dict[str, dict] = {}
        for resource in _children(self.index, CONNECTION, ws_id):
            name = _leaf(resource)
            entry = self.connection(name, _get(resource, "properties", default={}))
            if entry:
                out[name] = entry
        return out

    def connection(self, name: str, props: dict) -> dict | None:
        """A workspace connection in the spec's form (generator/aimodels.py has the category/auth pairs)."""
        where = f"connections.{name}"
        category, auth = _get(props, "category"), _get(props, "authType")
        if not category or not auth:
            self.note(where, "a connection without a category or an authentication type")
            return None
        out: dict[str, Any] = {"category": category, "auth": auth}
        metadata = dict(_get(props, "metadata", default={}) or {})
        target = _get(props, "target")
        resource_id = metadata.pop("ResourceId", None)
        if category in ("AIServices", "CognitiveSearch") and _low(metadata.get("ApiType")) == "azure":
            metadata.pop("ApiType")  # amlgen writes both for an Entra ID connection to an account it knows
        owned = {_low(rid): key for key, rid in self.ai_owned.items()}
        if resource_id and _low(resource_id) in owned:
            out["target"] = owned[_low(resource_id)]
        elif resource_id or str(target or "").startswith("/subscriptions/"):
            out["target"] = {"existing": resource_id or target}
        elif target:
            out["target"] = target
        else:
            self.note(f"{where}.target", "the connection has no target amlgen can read")
            return None
        if auth == "ManagedIdentity":
            uid = _get(props, "credentials", "resourceId")
            rid = naming.parse_resource_id(str(uid or ""))
            out["identity"] = rid.name if rid and self.index.get(uid) and self._same_group(rid) else uid
        if auth in ("ApiKey", "AccountKey", "SAS", "CustomKeys"):
            self.secrets.append(f"{where}: its {auth} is a secure parameter; amlgen never reads it (give it with "
                                "AMLGEN_SECRET_* at deploy time)")
        if auth == "CustomKeys":
            self.note(f"{where}.keys", "Azure does not return the names of custom keys: list them under keys:")
        if metadata:
            out["metadata"] = dict(sorted(metadata.items()))
        if _get(props, "isSharedToAll") is False:
            out["sharedToAll"] = False
        return out

    # --- role assignments, private endpoints ---------------------------------------------------------------
    def role_assignments(self, ws: dict, spec: dict) -> list[dict]:
        scopes = {_low(ws.get("id")): "workspace"}
        for key in ("storage", "keyVault", "containerRegistry"):
            prop = {"storage": "storageAccount"}.get(key, key)
            rid = _get(ws, "properties", prop)
            if rid and "existing" not in spec.get(key, {}):
                scopes[_low(rid)] = key
        # the workspace's identities, and those of the AI resources the spec owns: amlgen derives their grants
        # (roles.WORKSPACE_IDENTITY_ROLES, roles.AI_CONNECTION_ROLES)
        own_principals = {_low(_get(ws, "identity", "principalId"))} | {
            _low(_get(v, "principalId")) for v in (_get(ws, "identity", "userAssignedIdentities", default={})
                                                    or {}).values()} | {
            _low(_get(self.index.get(rid), "identity", "principalId")) for rid in self.ai_owned.values()} - {""}
        out = []
        for resource in sorted(self.index.of_type(ROLE_ASSIGNMENT), key=lambda r: _low(r.get("id"))):
            props = _get(resource, "properties", default={})
            scope = _low(_get(props, "scope")) or _low(str(resource.get("id")).split(
                "/providers/Microsoft.Authorization/")[0])
            keyword = scopes.get(scope)
            if keyword is None:
                if self.ws_rid and scope == _low(f"/subscriptions/{self.ws_rid.subscription}/resourceGroups/"
                                                 f"{self.ws_rid.resource_group}"):
                    self.note(f"roleAssignments ({_get(props, 'principalId')})", "a grant at the resource group's "
                              f"scope ({str(_get(props, 'roleDefinitionId')).rsplit('/', 1)[-1]}): import takes "
                              "only the workspace's and its dependents' grants; add it with scope: resourceGroup "
                              "if the spec should manage it")
                continue  # not on the workspace or a dependent the spec owns
            principal = _low(_get(props, "principalId"))
            guid = str(_get(props, "roleDefinitionId") or "").rsplit("/", 1)[-1].lower()
            if principal in own_principals:
                continue  # the workspace identity's own grants: amlgen derives them
            name = roles.role_name(guid) or guid
            kind = _enum(_get(props, "principalType"), ("User", "Group", "ServicePrincipal"))
            if not kind:
                self.note(f"roleAssignments ({name} for {principal})",
                          f"principal type {_get(props, 'principalType')!r} is not one amlgen grants to")
                continue
            entry = {"role": name, "principalId": principal, "principalType": kind}
            if keyword != "workspace":
                entry["scope"] = keyword
            if _get(props, "description"):
                entry["description"] = _get(props, "description")
            out.append(entry)
        return out

    def private_endpoints(self, spec: dict) -> dict:
        """privateEndpoints from the endpoints connected to the workspace and the dependents the spec owns."""
        ws = self.workspace()
        owners = {"workspace": ws}
        for key, prop in (("storage", "storageAccount"), ("keyVault", "keyVault"),
                          ("containerRegistry", "containerRegistry")):
            resource = self.index.get(_get(ws, "properties", prop))
            if resource is not None and "existing" not in spec.get(key, {}):
                owners[key] = resource
        for key, rid in getattr(self, "ai_owned", {}).items():
            owners[key] = self.index.get(rid)
        groups = {v.lower(): k for k, v in clouds.PRIVATE_ENDPOINT_GROUPS.items()}
        endpoints, targets, unread = [], [], 0
        for key, owner in owners.items():
            found = []
            for connection in _get(owner, "properties", "privateEndpointConnections", default=[]):
                endpoint = self.index.get(_get(connection, "properties", "privateEndpoint", "id"))
                if endpoint is None:
                    unread += 1
                else:
                    found.append(endpoint)
            # an export has the endpoints, not the connections: the endpoint names its target
            found += [e for e in self.index.of_type(PRIVATE_ENDPOINT) if e not in found and any(
                _low(_get(link, "properties", "privateLinkServiceId")) == _low(owner.get("id"))
                for link in _get(e, "properties", "privateLinkServiceConnections", default=[]))]
            for endpoint in found:
                if endpoint in endpoints:
                    continue
                endpoints.append(endpoint)
                for link in _get(endpoint, "properties", "privateLinkServiceConnections", default=[]):
                    for group in _get(link, "properties", "groupIds", default=[]):
                        target = groups.get(_low(group))
                        if target and (target.startswith(key) or key == "workspace" and target == "workspace"):
                            targets.append(target)
        if unread:
            self.note("privateEndpoints", f"{unread} private endpoint connection(s) whose endpoints could not be "
                      "read: check privateEndpoints by hand")
        if not endpoints:
            return {}
        subnets = sorted({_get(e, "properties", "subnet", "id") for e in endpoints} - {None})
        if len(subnets) > 1:
            self.note("privateEndpoints.subnet", f"endpoints in {len(subnets)} subnets; the spec keeps {subnets[0]}")
        out: dict[str, Any] = {"subnet": subnets[0]} if subnets else {}
        endpoint_rid = naming.parse_resource_id(str(endpoints[0].get("id")))
        subnet_rid = naming.parse_resource_id(str(subnets[0])) if subnets else None
        if endpoint_rid and subnet_rid and (_low(endpoint_rid.subscription), _low(endpoint_rid.resource_group)) != \
                (_low(subnet_rid.subscription), _low(subnet_rid.resource_group)):
            out["resourceGroup"] = endpoint_rid.resource_group
        # written always: _minimal leaves it out when it is what spec.defaults.private_endpoint_targets gives
        out["targets"] = [t for t in clouds.PRIVATE_ENDPOINT_GROUPS if t in targets]
        zones: dict[str, str] = {}
        for endpoint in endpoints:
            home = naming.parse_resource_id(str(endpoint.get("id")))
            for group in _children(self.index, ZONE_GROUP, str(endpoint.get("id"))):
                for config in _get(group, "properties", "privateDnsZoneConfigs", default=[]):
                    zone_id = str(_get(config, "properties", "privateDnsZoneId") or "")
                    rid = naming.parse_resource_id(zone_id)
                    if not rid:
                        continue
                    # a zone beside its endpoints is one amlgen creates with them (privateDnsZones: create)
                    beside = home and (_low(rid.subscription), _low(rid.resource_group)) == \
                        (_low(home.subscription), _low(home.resource_group))
                    zones[rid.name] = "create" if beside else zone_id
        if not zones:
            out["privateDnsZones"] = "none"
            self.note("privateEndpoints.privateDnsZones", "no zone groups found on the endpoints: set to none "
                      "(your DNS resolves them); map the zones if amlgen should link them")
        elif set(zones.values()) == {"create"}:
            out["privateDnsZones"] = "create"
        else:
            out["privateDnsZones"] = dict(sorted(zones.items()))
        return out


class ImportProblem(Exception):
    """The source cannot be imported at all (one line for the user)."""


def read_text(path) -> str:
    """A source file's text: a regular file only (a FIFO or device would block; generator.readfile), UTF-8."""
    from generator.readfile import Unreadable, read_regular

    try:
        return read_regular(path).decode("utf-8-sig")
    except Unreadable as err:
        raise ImportProblem(f"{path}: cannot read it: {err}") from None
    except UnicodeDecodeError:
        raise ImportProblem(f"{path}: cannot read it: not UTF-8 text") from None


def _without(spec: dict, path: tuple) -> dict:
    """A copy of `spec` without the key at `path` (copied along the path only)."""
    head, *rest = path
    out = dict(spec)
    if rest:
        out[head] = _without(spec[head], tuple(rest))
    else:
        del out[head]
    return out


def _minimal(spec: dict) -> dict:
    """The spec without what it would say anyway: every setting whose removal leaves model.build's result equal
    is left out (a name amlgen would derive, a SKU or retention that is the default, a dependent's network access
    that follows the workspace ...). The model is the one place for defaults; nothing here repeats them. Lists
    (role assignments, identities) are kept whole."""
    from generator import model

    def build(data: dict):
        try:
            return model.build(data, "import")
        except Exception:  # noqa: BLE001 - a spec the rules would refuse: keep what Azure has, said explicitly
            return None

    target = build(spec)
    if target is None:
        return spec

    def prune(data: dict, path: tuple) -> dict:
        node = data
        for key in path:
            node = node[key]
        for key in list(node):
            if path == () and key == "name":
                continue
            if isinstance(node[key], dict) and node[key]:
                data = prune(data, path + (key,))
            trial = _without(data, path + (key,))
            if build(trial) == target:
                data = trial
        return data

    return prune(spec, ())


def to_spec(resources: list[dict], *, existing_dependents: bool = False, source: str = "") -> Imported:
    mapper = _Mapper(resources, existing_dependents)
    spec = _minimal(mapper.build())
    return Imported(spec, mapper.notes, mapper.changes, mapper.secrets, source)
