"""Semantic diff of two generated trees: per workspace folder, the resources added, removed and changed, with warnings.

Only main.json and main.parameters.json are read (main.bicep and main.bicepparam describe the same deployment).
Resources are matched by (type, name), property values compared as JSON data: key order and formatting are never
changes, and arrays of named objects are matched by name, not position. `dependsOn` is deployment ordering, not
resource state: it feeds the dependency graph, not the property changes.

The result is plain data (`Report`); generator.report renders it as text, Markdown or JSON.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from generator.arm.expressions import parameter_reference, parameter_values
from generator.errors import UsageError
from generator.naming import parse_resource_id
from generator.roles import role_name

TEMPLATE = "main.json"
PARAMETERS = "main.parameters.json"
SUBSCRIPTION = "subscription.json"  # only its resource group is compared: the rest is main.json again
DIFF_FILES = (TEMPLATE, PARAMETERS, SUBSCRIPTION)

WORKSPACE = "Microsoft.MachineLearningServices/workspaces"
STORAGE = "Microsoft.Storage/storageAccounts"
KEY_VAULT = "Microsoft.KeyVault/vaults"
REGISTRY = "Microsoft.ContainerRegistry/registries"
LOG_ANALYTICS = "Microsoft.OperationalInsights/workspaces"
APP_INSIGHTS = "Microsoft.Insights/components"
COMPUTE = "Microsoft.MachineLearningServices/workspaces/computes"
DATASTORE = "Microsoft.MachineLearningServices/workspaces/datastores"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"
DEPLOYMENT = "Microsoft.Resources/deployments"
OUTBOUND_RULE = "Microsoft.MachineLearningServices/workspaces/outboundRules"

# How people call each type in a report.
TYPE_LABELS = {
    WORKSPACE: "ML workspace",
    STORAGE: "Storage account",
    KEY_VAULT: "Key vault",
    REGISTRY: "Container registry",
    LOG_ANALYTICS: "Log Analytics",
    APP_INSIGHTS: "Application Insights",
    COMPUTE: "Compute",
    ROLE_ASSIGNMENT: "Role assignment",
    DEPLOYMENT: "Nested deployment",
    "Microsoft.Network/privateEndpoints": "Private endpoint",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "Private endpoint DNS",
    "Microsoft.Network/privateDnsZones": "Private DNS zone",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "Private DNS zone link",
    "Microsoft.Network/virtualNetworks": "Virtual network",
    "Microsoft.Network/virtualNetworks/subnets": "Subnet",
    OUTBOUND_RULE: "Managed network rule",
    "Microsoft.Network/networkSecurityGroups": "Network security group",
    "Microsoft.Network/natGateways": "NAT gateway",
    "Microsoft.Network/publicIPAddresses": "Public IP address",
    "Microsoft.MachineLearningServices/workspaces/connections": "Connection",
    "Microsoft.CognitiveServices/accounts": "AI Services account",
    "Microsoft.CognitiveServices/accounts/deployments": "Model deployment",
    "Microsoft.Search/searchServices": "AI Search service",
}

# How a sentence names each type.
TYPE_NOUNS = {
    WORKSPACE: "workspace",
    STORAGE: "storage account",
    KEY_VAULT: "key vault",
    REGISTRY: "container registry",
    LOG_ANALYTICS: "Log Analytics workspace",
    APP_INSIGHTS: "Application Insights component",
    COMPUTE: "compute",
    DATASTORE: "datastore",
    ROLE_ASSIGNMENT: "role assignment",
    DEPLOYMENT: "nested deployment",
    OUTBOUND_RULE: "managed network outbound rule",
    "Microsoft.MachineLearningServices/workspaces/connections": "connection",
    "Microsoft.CognitiveServices/accounts": "AI Services account",
    "Microsoft.CognitiveServices/accounts/deployments": "model deployment",
    "Microsoft.Search/searchServices": "search service",
}

# Resources whose removal loses something that a redeploy does not bring back.
DATA_HOLDERS = {
    WORKSPACE: "its jobs, models, environments and data assets",
    STORAGE: "its blobs, files, queues and tables (the workspace's default datastores)",
    KEY_VAULT: "its secrets, keys and certificates",
    REGISTRY: "its container images (the workspace's environments)",
    LOG_ANALYTICS: "its collected logs",
    "Microsoft.Search/searchServices": "its indexes, indexers and data sources",
}

# Stable warning codes (CI may filter on them; never renumber).
WARNINGS = {
    "D001": "create-only property changed",
    "D002": "resource holding data removed",
    "D003": "workspace renamed",
    "D004": "location changed",
    "D005": "removed resource stays in Azure",
    "D006": "resource group changed",
    "D007": "not applied to an existing instance",
    "D010": "managed network isolation turned off",
    "D011": "workspace identity type narrowed",
    "D012": "datastore points at other storage",
}

# Resources that an incremental deployment leaves in place when the template stops naming them, and what that
# means (data holders are D002).
LINGERING = {
    "Microsoft.Authorization/roleAssignments": "the principal keeps this access",
    "Microsoft.MachineLearningServices/workspaces/computes": "it keeps running and, for instances, billing",
}

# Paths (as segment tuples) Azure fixes when a resource is created: a change at or below one is refused.
CREATE_ONLY: dict[str, tuple[tuple, ...]] = {
    WORKSPACE: (("kind",), ("properties", "storageAccount"), ("properties", "keyVault"),
                ("properties", "hbiWorkspace"), ("properties", "encryption"),
                # where CMK-encrypted metadata lives (Microsoft-managed resources "automatically created and
                # configured when you create your Azure Machine Learning workspace", or service-side) is set up at
                # creation; Learn describes no switch for an existing workspace
                # (https://learn.microsoft.com/azure/machine-learning/concept-customer-managed-keys)
                ("properties", "enableServiceSideCMKEncryption"),
                # "The data isolation setting can only be configured when creating a workspace."
                # (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication)
                ("properties", "enableDataIsolation")),
    # a vault's retention is fixed at creation, and purge protection cannot be turned off once on
    "Microsoft.KeyVault/vaults": (("properties", "softDeleteRetentionInDays"), ("properties", "enablePurgeProtection")),
    STORAGE: (("kind",), ("properties", "isHnsEnabled"),
              ("properties", "encryption", "requireInfrastructureEncryption")),
    COMPUTE: (("properties", "computeType"), ("properties", "properties", "vmSize"),
              ("properties", "properties", "vmPriority"), ("properties", "properties", "osType"),
              # a cluster's update body (ClusterUpdateParameters) carries only its scale settings: its subnet, like its
              # VM size and priority, stays as created (https://learn.microsoft.com/rest/api/azureml/compute/update)
              ("properties", "properties", "subnet")),
    # RoleAssignmentUpdateNotPermitted: the principal, role and scope of an assignment never change
    ROLE_ASSIGNMENT: (("scope",), ("properties", "roleDefinitionId"), ("properties", "principalId")),
    "*": (("location",),),
}

# The model fields marked create_only() (generator/model.py) and where each lands in the template.
# tests/test_diff.py fails when a marked field is missing here, or its path is not in CREATE_ONLY.
CREATE_ONLY_FIELDS: dict[str, tuple[str, tuple]] = {
    "Spec.storage": (WORKSPACE, ("properties", "storageAccount")),
    "Spec.key_vault": (WORKSPACE, ("properties", "keyVault")),
    "WorkspaceSettings.hbi": (WORKSPACE, ("properties", "hbiWorkspace")),
    "WorkspaceSettings.kind": (WORKSPACE, ("kind",)),
    "WorkspaceSettings.encryption": (WORKSPACE, ("properties", "encryption")),
    "Encryption.service_side": (WORKSPACE, ("properties", "enableServiceSideCMKEncryption")),
    "StorageAccount.hierarchical_namespace": (STORAGE, ("properties", "isHnsEnabled")),
}

# One-way settings: a change in one direction is refused, the other is fine.
# "Once you enable managed virtual network isolation of your workspace, you can't disable it."
# (https://learn.microsoft.com/azure/machine-learning/how-to-managed-network#limitations); switching between
# AllowInternetOutbound and AllowOnlyApprovedOutbound is an update the service accepts.
MANAGED_NETWORK = ("properties", "managedNetwork")
ISOLATION_OFF = "Disabled"
# "Once a workspace is created with SAI identity type, it can be updated to SAI+UAI, but not back from SAI+UAI
# to SAI." (https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication)
IDENTITY_TYPE = ("identity", "type")
# What a datastore points at: changing one keeps the datastore's name, so every data asset and job path
# azureml://datastores/<name>/paths/... reads the new place (the URI names the datastore, not the storage:
# https://learn.microsoft.com/azure/machine-learning/concept-data)
DATASTORE_TARGET = ("datastoreType", "accountName", "containerName", "filesystem", "fileShareName",
                    "subscriptionId", "resourceGroup", "endpoint")


class _Missing:
    """The value on a side where the key (or the named item) does not exist."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True)
class Named:
    """A path segment: the item of an array whose "name" is `name`."""

    name: str


@dataclass(frozen=True)
class Change:
    """One value that differs: where (a path inside a resource or file) and the old and new values."""

    segments: tuple
    old: object = MISSING
    new: object = MISSING

    @property
    def kind(self) -> str:
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"

    @property
    def path(self) -> str:
        return format_path(self.segments)


@dataclass(frozen=True)
class ResourceDiff:
    status: str  # added | removed | changed
    type: str
    name: str
    changes: tuple[Change, ...] = ()
    display: str = ""  # the name as people read it (names that are ARM expressions, made readable)

    @property
    def label(self) -> str:
        return type_label(self.type)


@dataclass(frozen=True)
class DiffWarning:
    code: str
    message: str
    type: str | None = None
    name: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class Node:
    type: str
    name: str
    status: str  # added | removed | changed | unchanged | existing (referenced by ID, not in the template)
    display: str = ""


@dataclass(frozen=True)
class Edge:
    source: int  # index into nodes: the resource that depends
    target: int  # index into nodes: the resource it depends on or references
    status: str  # added | removed | unchanged


@dataclass
class WorkspaceDiff:
    folder: str
    status: str  # added | removed | changed | unchanged
    old_name: str | None
    new_name: str | None
    resources: list[ResourceDiff] = field(default_factory=list)
    parameters: list[Change] = field(default_factory=list)  # main.parameters.json values, path = parameter name
    template: list[Change] = field(default_factory=list)  # template parameters, outputs, metadata
    warnings: list[DiffWarning] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.new_name or self.old_name or self.folder

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.resources)


@dataclass
class Drift:
    """Committed output compared with what the working-tree specs generate (generator.output.compare)."""

    output: str
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.stale)


@dataclass
class Report:
    old_label: str
    new_label: str
    workspaces: list[WorkspaceDiff] = field(default_factory=list)
    drift: Drift | None = None

    @property
    def changed(self) -> list[WorkspaceDiff]:
        return [w for w in self.workspaces if w.status != "unchanged"]

    @property
    def warnings(self) -> list[tuple[WorkspaceDiff, DiffWarning]]:
        return [(w, warning) for w in self.workspaces for warning in w.warnings]


def type_label(rtype: str) -> str:
    return TYPE_LABELS.get(rtype, rtype.rsplit("/", 1)[-1])


def type_noun(rtype: str) -> str:
    return TYPE_NOUNS.get(rtype, rtype.rsplit("/", 1)[-1])


_RESOURCE_ID_CALL = re.compile(r"resourceId\(((?:\s*'(?:[^']|'')*'\s*,?)+)\)")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_ENVIRONMENT = re.compile(r"environment\(\)\.suffixes\.(\w+)")
# format() whose arguments are all literals: folded to its text for display
_LITERAL_FORMAT = re.compile(r"format\('((?:[^']|'')*)'((?:\s*,\s*'(?:[^']|'')*')*)\)")
_GUID_IN = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
# reference() of a user-assigned identity, by resourceId() or by its literal ID: group 1 is its name
_IDENTITY_REF = re.compile(r"^\[reference\(.*userAssignedIdentities(?:'\s*,\s*'|/)((?:[^'/]|'')+)'", re.I)


def display_name(resource: dict) -> str:
    """A resource's name as people read it: `[format('{0}/{1}', 'ws', 'cpu')]` is ws/cpu; a role assignment (its
    name a guid() expression) is its role and principal. Display only: resources are matched by their real name."""
    name = str(resource.get("name", ""))
    if not name.startswith("[") or name.startswith("[["):
        return name[1:] if name.startswith("[[") else name
    if resource.get("type") == ROLE_ASSIGNMENT:
        props = resource.get("properties") or {}
        found = _GUID_IN.findall(str(props.get("roleDefinitionId", "")))
        role = role_name(found[-1]) or found[-1] if found else "role"
        identity = _IDENTITY_REF.search(str(props.get("principalId", "")))
        if identity:  # a user-assigned identity's principal, known only at deployment: name the identity and scope
            scope = _QUOTED.findall(str(resource.get("scope", "")))
            on = f" on {scope[-1].replace(chr(39) * 2, chr(39))}" if scope else ""
            return f"{role}{on} for identity {identity.group(1).replace(chr(39) * 2, chr(39))}"
        who = " ".join(str(p) for p in (props.get("principalType"), props.get("principalId")) if p)
        return f"{role} for {who}" if who else role
    # the cloud's suffixes are known only at deployment: shown as a placeholder; then format() of literals is
    # folded, innermost first (a zone link is format('{0}/{1}', format('privatelink.blob.{0}', ...), 'link'))
    name = _ENVIRONMENT.sub(lambda m: f"'<{m.group(1)} suffix>'", name)
    while True:
        folded = _LITERAL_FORMAT.sub(lambda m: "'" + _fold_format(m).replace("'", "''") + "'", name)
        if folded == name:
            break
        name = folded
    if re.fullmatch(r"\['(?:[^']|'')*'\]", name):
        return name[2:-2].replace("''", "'")
    return name


_BARE_KEY = re.compile(r"[A-Za-z_$][\w$-]*")


def format_path(segments) -> str:
    """`properties.networkAcls.defaultAction`, `[0]` for positions, `[name=x]` for named items, `["a.b"]` otherwise."""
    out = ""
    for seg in segments:
        if isinstance(seg, Named):
            out += f"[name={seg.name}]"
        elif isinstance(seg, int):
            out += f"[{seg}]"
        elif _BARE_KEY.fullmatch(seg):
            out += f".{seg}" if out else seg
        else:
            out += "[" + json.dumps(seg, ensure_ascii=False) + "]"
    return out


# --- comparing JSON values --------------------------------------------------------------------------------------


def same(a, b) -> bool:
    """JSON equality: dict key order is not a difference; true is not 1 (Python's == says it is)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b  # 1 and 1.0 are the same JSON number
    return type(a) is type(b) and a == b


def _named(items: list) -> bool:
    names = [i.get("name") for i in items if isinstance(i, dict)]
    return (len(names) == len(items) and all(isinstance(n, str) for n in names)
            and len(set(names)) == len(names))


def compare(old, new, segments: tuple = ()) -> list[Change]:
    """Every path where `old` and `new` differ, the values there (whole values where a key appears or goes)."""
    if same(old, new):
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[Change] = []
        for key in sorted(set(old) | set(new)):
            if key not in new:
                out.append(Change(segments + (key,), old[key], MISSING))
            elif key not in old:
                out.append(Change(segments + (key,), MISSING, new[key]))
            else:
                out.extend(compare(old[key], new[key], segments + (key,)))
        return out
    if isinstance(old, list) and isinstance(new, list):
        if (old or new) and _named(old) and _named(new):
            before = {i["name"]: i for i in old}
            after = {i["name"]: i for i in new}
            out = []
            for name in sorted(set(before) | set(after)):
                here = segments + (Named(name),)
                if name in before and name in after:
                    out.extend(compare(before[name], after[name], here))
                else:
                    out.append(Change(here, before.get(name, MISSING), after.get(name, MISSING)))
            return out
        if len(old) == len(new) and all(isinstance(i, dict) for i in old + new):
            return [c for i, (a, b) in enumerate(zip(old, new)) for c in compare(a, b, segments + (i,))]
    return [Change(segments, old, new)]


# --- reading trees ------------------------------------------------------------------------------------------------


def read_tree(folder: Path) -> dict[str, str]:
    """main.json and main.parameters.json below a generated folder, by POSIX path relative to it."""
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of generated templates")
    files = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.name in DIFF_FILES and path.is_file() and not any(p.startswith(".") for p in rel.parts):
            try:
                files[rel.as_posix()] = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{path}: cannot read it: {exc}") from exc
    return files


def _split(files: dict[str, str]) -> dict[str, dict[str, str]]:
    """Workspace folders (those holding a main.json) -> their diffed files."""
    folders: dict[str, dict[str, str]] = {}
    for rel in files:
        folder, _, name = rel.rpartition("/")
        if name == TEMPLATE:
            folders[folder] = {}
    for rel, text in files.items():
        folder, _, name = rel.rpartition("/")
        if folder in folders and name in DIFF_FILES:
            folders[folder][name] = text
    return folders


def _resource_group(text: str | None, where: str) -> str | None:
    """The resource group a subscription.json creates (None without one)."""
    if text is None:
        return None
    groups = [r.get("name") for r in _parse(text, where).get("resources", [])
              if isinstance(r, dict) and r.get("type") == "Microsoft.Resources/resourceGroups"]
    return groups[0] if groups else None


def _parse(text: str | None, where: str) -> dict:
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from exc
    except RecursionError:  # the JSON decoder recurses once per level of nesting
        raise UsageError(f"{where}: nested more than {MAX_DEPTH} levels deep: not a file amlgen generates") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: not an ARM template or parameters file (a JSON object)")
    _check_depth(data, where)
    if where.endswith(PARAMETERS):
        _expect(data.get("parameters", {}), dict, where, "parameters", "an object")
    else:
        _check_template(data, where)
    return data


# Deeper than any template amlgen generates (a nested deployment's resource is about 10 levels down); comparing
# recurses once or twice per level, so a deeper file would end in RecursionError instead of a message.
MAX_DEPTH = 64


def _check_depth(data, where: str) -> None:
    """UsageError when `data` nests deeper than MAX_DEPTH (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise UsageError(f"{where}: nested more than {MAX_DEPTH} levels deep: not a file amlgen generates")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def _expect(value, kind: type, where: str, path: str, what: str) -> None:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise UsageError(f"{where}: {path} is {_json_type(value)}, not {what}: not an ARM template amlgen generates")


def _json_type(value) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "an array",
            dict: "an object"}.get(type(value), type(value).__name__)


def _check_template(template: dict, where: str, at: str = "") -> None:
    """The shape the diff relies on: `resources` an array of objects with a string type and name, `properties` an
    object, a nested deployment's inline template a template; parameters, variables and outputs objects."""
    for key in ("parameters", "variables", "outputs"):
        _expect(template.get(key, {}), dict, where, f"{at}{key}", "an object")
    resources = template.get("resources", [])
    _expect(resources, list, where, f"{at}resources", "an array")
    for index, item in enumerate(resources):
        here = f"{at}resources[{index}]"
        _expect(item, dict, where, here, "an object")
        for key in ("type", "name"):
            if key not in item:
                raise UsageError(f"{where}: {here} has no {key}: not an ARM template amlgen generates")
            _expect(item[key], str, where, f"{here}.{key}", "a string")
        props = item.get("properties", {})
        _expect(props, dict, where, f"{here}.properties", "an object")
        if item["type"] == DEPLOYMENT and "template" in props:
            _expect(props["template"], dict, where, f"{here}.properties.template", "an object")
            _check_template(props["template"], where, f"{here}.properties.template.")


def _key(resource: dict) -> tuple[str, str]:
    """Azure resource types and names are case-insensitive."""
    return str(resource.get("type", "")).lower(), str(resource.get("name", "")).lower()


def resource_list(template: dict, where: str) -> list[dict]:
    """The resources a template deploys, in order: a nested deployment's inline template (private endpoints in
    the network's group) contributes its resources, and the deployment stays, without its template."""
    out: list[dict] = []
    for item in template.get("resources", []):
        if not isinstance(item, dict) or "type" not in item or "name" not in item:
            raise UsageError(f"{where}: a resource without a type or a name")
        nested = item.get("properties", {}).get("template") if isinstance(item.get("properties"), dict) else None
        if item["type"] == DEPLOYMENT and isinstance(nested, dict):
            out.append({**item, "properties": {k: v for k, v in item["properties"].items() if k != "template"}})
            passed = item["properties"].get("parameters") or {}
            out.extend(_principal_passed(r, passed) for r in resource_list(nested, f"{where} ({item['name']})"))
        else:
            out.append(item)
    return out


def _principal_passed(resource: dict, passed: dict) -> dict:
    """A role assignment of a nested deployment (the role-assignments module) takes its principal from a module
    parameter: shown with the value the deployment passes (an identity's reference()), so the diff names the
    identity instead of the parameter."""
    props = resource.get("properties")
    name = parameter_reference(props.get("principalId")) if resource.get("type") == ROLE_ASSIGNMENT and \
        isinstance(props, dict) else None
    entry = passed.get(name) if name else None
    if not isinstance(entry, dict) or "value" not in entry:
        return resource
    return {**resource, "properties": {**props, "principalId": entry["value"]}}


def deployed_resources(template: dict, where: str) -> dict[tuple[str, str], dict]:
    """resource_list by (type, name)."""
    return {_key(item): item for item in resource_list(template, where)}


def _workspace_name(resources: dict) -> str | None:
    names = [r["name"] for r in resources.values() if r["type"] == WORKSPACE]
    return names[0] if names else None


# --- references (for the graph) -------------------------------------------------------------------------------


def texts(value, out: list | None = None) -> list[str]:
    """Every text inside a value, in order (one list filled in place: a generator per level cost more)."""
    out = [] if out is None else out
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            texts(v, out)
    elif isinstance(value, list):
        for v in value:
            texts(v, out)
    return out


def references(resource: dict) -> list[tuple[str, str]]:
    """(type, name) of every resource this one depends on or references: resourceId() calls and literal IDs."""
    found: list[tuple[str, str]] = []
    # speed: only texts that can hold a reference are looked at (the regular expression needs "resourceId(")
    candidates = [t for t in texts({k: v for k, v in resource.items() if k not in ("type", "name")})
                  if "resourceId(" in t or t.startswith("/subscriptions/")]
    for text in candidates:
        if text.startswith("[") and not text.startswith("[["):
            for call in _RESOURCE_ID_CALL.finditer(text):
                args = [a.replace("''", "'") for a in _QUOTED.findall(call.group(1))]
                typed = next((i for i, a in enumerate(args) if "/" in a and "." in a.split("/")[0]), None)
                if typed is not None and len(args) > typed + 1:
                    found.append((args[typed], "/".join(args[typed + 1:])))
        elif text.startswith("/subscriptions/"):
            ref = parse_resource_id(text)
            if ref is not None:
                found.append((ref.type, ref.name))
    unique: list[tuple[str, str]] = []
    for item in found:
        if item not in unique:
            unique.append(item)
    return unique


def _graph(ws: WorkspaceDiff, old: dict, new: dict) -> None:
    status = {(r.type.lower(), r.name.lower()): r.status for r in ws.resources}
    keys = list(new) + [k for k in old if k not in new]
    nodes: list[Node] = []
    index: dict[tuple[str, str], int] = {}
    for key in keys:
        r = new.get(key) or old[key]
        index[key] = len(nodes)
        nodes.append(Node(r["type"], r["name"], status.get(key, "unchanged"), display_name(r)))

    def edges_of(side: dict) -> list[tuple[tuple, tuple, tuple[str, str]]]:
        return [(src, (t.lower(), n.lower()), (t, n)) for src, r in side.items() for t, n in references(r)
                if (t.lower(), n.lower()) != src]

    old_edges = edges_of(old)
    new_edges = old_edges if new is old else edges_of(new)  # one template's graph (a README): read it once
    external = sorted({shown for _, dst, shown in old_edges + new_edges if dst not in index},
                      key=lambda s: (s[0].lower(), s[1].lower()))
    for t, n in external:
        if (t.lower(), n.lower()) not in index:
            index[(t.lower(), n.lower())] = len(nodes)
            nodes.append(Node(t, n, "existing", n))
    old_pairs = {(index[s], index[d]) for s, d, _ in old_edges}
    new_pairs = {(index[s], index[d]) for s, d, _ in new_edges}
    edges = []
    for pair in sorted(old_pairs | new_pairs):
        state = "unchanged" if pair in old_pairs and pair in new_pairs else "added" if pair in new_pairs else "removed"
        edges.append(Edge(pair[0], pair[1], state))
    ws.nodes, ws.edges = nodes, edges


# --- the diff ---------------------------------------------------------------------------------------------------


def _under(segments: tuple, prefix: tuple) -> bool:
    return segments[:len(prefix)] == prefix


def _create_only(rdiff: ResourceDiff, change: Change) -> str | None:
    """Why Azure refuses this change to an existing resource, or None."""
    rules = CREATE_ONLY.get(rdiff.type, ()) + CREATE_ONLY["*"]
    label = type_noun(rdiff.type)
    if change.kind == "removed" and change.old is False:
        return None  # an omitted flag is false: no longer sending a false one (a Project's hbiWorkspace) keeps it
    if any(_under(change.segments, rule) for rule in rules):
        if change.segments[0] == "location":
            return (f"Azure cannot move the {label} '{rdiff.display or rdiff.name}' to another region: "
                    "the deployment fails; "
                    "the resource must be recreated (a new name) in the new region")
        if rdiff.type == WORKSPACE:
            return (f"{change.path} of workspace '{rdiff.name}' is fixed when the workspace is created: Azure refuses "
                    "the deployment; the workspace must be replaced (a new workspace name), or keep the old value")
        how = "a new name, its data copied over" if rdiff.type in DATA_HOLDERS else "a new name, or delete it first"
        return (f"{change.path} of {label} '{rdiff.display or rdiff.name}' is fixed when it is created: Azure refuses "
                f"the deployment; the {label} must be replaced ({how})")
    if rdiff.type == STORAGE and change.segments == ("sku", "name") and change.kind == "changed":
        old_tier, new_tier = str(change.old).split("_")[0], str(change.new).split("_")[0]
        if old_tier != new_tier:
            return (f"storage account '{rdiff.name}' would change performance tier ({change.old} -> {change.new}): "
                    "Azure converts redundancy (LRS, ZRS, GRS, GZRS) in place but never Standard <-> Premium; "
                    "the storage account must be replaced")
    return None


def _isolation(value) -> str:
    """The isolation mode a managedNetwork value (or its isolationMode) stands for; no managed network is off."""
    if isinstance(value, dict):
        value = value.get("isolationMode", ISOLATION_OFF)
    return value if isinstance(value, str) else ISOLATION_OFF


def _identity_kinds(value) -> set[str]:
    return {part.strip().lower() for part in value.split(",")} if isinstance(value, str) else set()


def _one_way(rdiff: ResourceDiff) -> list[DiffWarning]:
    """Warnings for settings Azure lets go one way only (D010, D011), and datastores re-pointed (D012)."""
    if rdiff.status != "changed":
        return []
    out: list[DiffWarning] = []
    if rdiff.type == WORKSPACE:
        for change in rdiff.changes:
            if change.segments in (MANAGED_NETWORK, MANAGED_NETWORK + ("isolationMode",)):
                before, after = _isolation(change.old), _isolation(change.new)
                if before != ISOLATION_OFF and after == ISOLATION_OFF:
                    out.append(DiffWarning(
                        "D010", f"workspace '{rdiff.name}' would turn managed network isolation off ({before} -> "
                                f"{after}): once enabled it cannot be disabled, so Azure refuses the deployment; keep "
                                "isolationMode (AllowInternetOutbound is the most open mode), or replace the workspace",
                        rdiff.type, rdiff.name, change.path))
            if change.segments == IDENTITY_TYPE:
                before, after = _identity_kinds(change.old), _identity_kinds(change.new)
                if {"systemassigned", "userassigned"} <= before and "userassigned" not in after:
                    out.append(DiffWarning(
                        "D011", f"workspace '{rdiff.name}' would go from identity type {change.old} to {change.new}: "
                                "a workspace can add user-assigned identities to its system-assigned one but never go "
                                "back, so Azure refuses the deployment; keep the user-assigned identities, or replace "
                                "the workspace", rdiff.type, rdiff.name, change.path))
    if rdiff.type == DATASTORE:
        moved = [c for c in rdiff.changes if len(c.segments) == 2 and c.segments[0] == "properties"
                 and c.segments[1] in DATASTORE_TARGET]
        if moved:
            what = ", ".join(f"{c.segments[1]} {_shown(c.old)} -> {_shown(c.new)}" for c in moved)
            name = (rdiff.display or rdiff.name).split("/")[-1]
            out.append(DiffWarning(
                "D012", f"datastore '{rdiff.display or rdiff.name}' would point at other storage ({what}): it keeps its "
                        f"name, so data assets and jobs that read azureml://datastores/{name}/paths/... read the new "
                        "place, and the old data is not copied; register a datastore under a new name instead if "
                        "the old paths must keep working", rdiff.type, rdiff.name))
    return out


def _shown(value) -> str:
    return "(none)" if value is MISSING else json.dumps(value, ensure_ascii=False)


def diff_workspace(folder: str, old_files: dict[str, str] | None, new_files: dict[str, str] | None,
                   old_label: str = "old", new_label: str = "new") -> WorkspaceDiff:
    old_template = _parse((old_files or {}).get(TEMPLATE), f"{old_label}/{folder}/{TEMPLATE}")
    new_template = _parse((new_files or {}).get(TEMPLATE), f"{new_label}/{folder}/{TEMPLATE}")
    old_params = _parse((old_files or {}).get(PARAMETERS), f"{old_label}/{folder}/{PARAMETERS}")
    new_params = _parse((new_files or {}).get(PARAMETERS), f"{new_label}/{folder}/{PARAMETERS}")
    old = deployed_resources(old_template, f"{old_label}/{folder}/{TEMPLATE}")
    new = deployed_resources(new_template, f"{new_label}/{folder}/{TEMPLATE}")
    ws = WorkspaceDiff(folder, "changed", _workspace_name(old), _workspace_name(new))

    for key in list(new) + [k for k in old if k not in new]:
        if key not in old:
            ws.resources.append(ResourceDiff("added", new[key]["type"], new[key]["name"],
                                             display=display_name(new[key])))
        elif key not in new:
            ws.resources.append(ResourceDiff("removed", old[key]["type"], old[key]["name"],
                                             display=display_name(old[key])))
        else:
            strip = ("type", "name", "dependsOn")
            changes = compare({k: v for k, v in old[key].items() if k not in strip},
                              {k: v for k, v in new[key].items() if k not in strip})
            if changes:
                ws.resources.append(ResourceDiff("changed", new[key]["type"], new[key]["name"], tuple(changes),
                                                 display_name(new[key])))

    def values(params: dict) -> dict:
        entries = params.get("parameters", {})
        return {k: (v["value"] if isinstance(v, dict) and "value" in v else v) for k, v in entries.items()}

    ws.parameters = compare(values(old_params), values(new_params)) if old_files and new_files else []
    old_group = _resource_group((old_files or {}).get(SUBSCRIPTION), f"{old_label}/{folder}/{SUBSCRIPTION}")
    new_group = _resource_group((new_files or {}).get(SUBSCRIPTION), f"{new_label}/{folder}/{SUBSCRIPTION}")
    if old_files and new_files and old_group != new_group:
        ws.parameters += compare({"resourceGroup": old_group} if old_group else {},
                                 {"resourceGroup": new_group} if new_group else {})
    if old_files and new_files:
        ws.template = compare({k: v for k, v in old_template.items() if k != "resources"},
                              {k: v for k, v in new_template.items() if k != "resources"})

    if old_files is None:
        ws.status = "added"
    elif new_files is None:
        ws.status = "removed"
    elif not (ws.resources or ws.parameters or ws.template):
        ws.status = "unchanged"

    _warn(ws)
    _compute_warnings(ws, old, new, parameter_values(old_params, old_template),
                      parameter_values(new_params, new_template))
    _graph(ws, old, new)
    return ws


# Compute instance properties that Azure takes only when the instance is created: a PUT on an existing instance
# leaves them as they were, without an error, so a redeploy looks fine and changes nothing. Under
# properties.properties of a ComputeInstance, with how to make the change instead.
#   idleTimeBeforeShutdown: Learn how-to-create-compute-instance#configure-idle-shutdown ("ARM Templates: only
#     configurable during new compute instance creation").
#   sshSettings: same page, Enable SSH access ("SSH access can't be enabled or disabled after creation").
#   setupScripts: Learn how-to-customize-compute-instance ("a Creation script, which will run once when the compute
#     instance is created").
NOT_APPLIED_TO_INSTANCE = {
    "idleTimeBeforeShutdown": "change it on the instance (studio: Schedules > Edit, or the REST action "
                              "updateIdleShutdownSetting)",
    "sshSettings": "SSH is fixed at creation: delete and recreate the instance to change it",
    "setupScripts": "the creation script ran when the instance was created: run the new script on the instance, "
                    "or recreate it",
}
def _resolved(value, values: dict):
    """`value` with every `[parameters('x')]` string replaced by what x resolves to (left as is when unknown)."""
    if isinstance(value, dict):
        return {k: _resolved(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, values) for v in value]
    name = parameter_reference(value)
    return values[name] if name is not None and name in values else value


def _compute_warnings(ws: WorkspaceDiff, old: dict, new: dict, old_values: dict, new_values: dict) -> None:
    """Computes whose template values come from parameters (the VM size), compared with the parameters resolved,
    so a size changed in the spec is still a create-only change (D001); and instance properties a redeploy does
    not apply (D007)."""
    if ws.status != "changed":
        return
    strip = ("type", "name", "dependsOn")
    for key in new:
        if key not in old or new[key].get("type") != COMPUTE:
            continue
        before = {k: v for k, v in _resolved(old[key], old_values).items() if k not in strip}
        after = {k: v for k, v in _resolved(new[key], new_values).items() if k not in strip}
        changes = compare(before, after)
        rdiff = ResourceDiff("changed", COMPUTE, new[key]["name"], tuple(changes), display_name(new[key]))
        literal = {c.segments for c in compare({k: v for k, v in old[key].items() if k not in strip},
                                               {k: v for k, v in new[key].items() if k not in strip})}
        instance = (new[key].get("properties") or {}).get("computeType") == "ComputeInstance"
        for change in changes:
            if change.segments not in literal:  # changed through a parameter only: _warn has not seen it
                reason = _create_only(rdiff, change)
                if reason:
                    ws.warnings.append(DiffWarning("D001", reason, COMPUTE, rdiff.name, change.path))
            inner = change.segments[2] if change.segments[:2] == ("properties", "properties") and \
                len(change.segments) > 2 else None
            if instance and inner in NOT_APPLIED_TO_INSTANCE:
                ws.warnings.append(DiffWarning(
                    "D007", f"{change.path} of compute instance '{rdiff.display or rdiff.name}' is set only when the "
                            "instance is created: not applied to an existing instance (a redeploy succeeds and leaves "
                            f"the old value); {NOT_APPLIED_TO_INSTANCE[inner]}", COMPUTE, rdiff.name, change.path))


def _fold_format(match: re.Match) -> str:
    """The text of format('...', '...', ...) with literal arguments (a placeholder it has no argument for stays)."""
    args = [a.replace("''", "'") for a in _QUOTED.findall(match.group(2))]
    text = match.group(1).replace("''", "'")
    return re.sub(r"\{(\d+)\}", lambda m: args[int(m.group(1))] if int(m.group(1)) < len(args) else m.group(0), text)


def graph_of(template: dict, folder: str) -> WorkspaceDiff:
    """One template's resources and dependencies as an unchanged workspace (for its README's diagram)."""
    resources = deployed_resources(template, f"{folder}/{TEMPLATE}")
    ws = WorkspaceDiff(folder, "unchanged", _workspace_name(resources), _workspace_name(resources))
    _graph(ws, resources, resources)
    return ws


def _warn(ws: WorkspaceDiff) -> None:
    renamed = ws.status == "changed" and ws.old_name and ws.new_name and ws.old_name.lower() != ws.new_name.lower()
    if renamed:
        ws.warnings.append(DiffWarning(
            "D003", f"the workspace is renamed from '{ws.old_name}' to '{ws.new_name}': Azure cannot rename a "
                    f"workspace, so '{ws.new_name}' is created empty beside '{ws.old_name}' (removed below); "
                    "jobs, models and data assets stay in the old one", WORKSPACE, ws.new_name))
    for change in ws.parameters:
        if change.segments == ("location",) and ws.status == "changed":
            before = "the resource group's region" if change.old is MISSING else change.old
            after = "the resource group's region" if change.new is MISSING else change.new
            ws.warnings.append(DiffWarning(
                "D004", f"location changes from {before} to {after}: Azure cannot move existing resources to another "
                        "region; where the region differs, the deployment fails for every resource that already exists",
                path="location"))
    for change in ws.parameters:
        if change.segments == ("resourceGroup",) and change.old is not MISSING and change.new is not MISSING:
            ws.warnings.append(DiffWarning(
                "D006", f"the spec moves from resource group {change.old} to {change.new}: subscription.json then "
                        f"creates the workspace again in {change.new} (globally unique names collide with the ones "
                        f"in {change.old}); move the resources first (az resource move) or keep the group",
                path="resourceGroup"))
    for rdiff in ws.resources:
        if rdiff.status == "removed" and rdiff.type in LINGERING and ws.status == "changed":
            ws.warnings.append(DiffWarning(
                "D005", f"{type_noun(rdiff.type)} '{rdiff.display or rdiff.name}' is no longer in the template, but "
                        f"an incremental deployment leaves it in Azure: {LINGERING[rdiff.type]}; delete it "
                        "deliberately (or deploy with --complete)", rdiff.type, rdiff.name))
        for change in rdiff.changes:
            reason = _create_only(rdiff, change)
            if reason:
                ws.warnings.append(DiffWarning("D001", reason, rdiff.type, rdiff.name, change.path))
        ws.warnings.extend(_one_way(rdiff))
    if ws.status == "removed":
        held = [r for r in ws.resources if r.type in DATA_HOLDERS]
        if held:
            ws.warnings.append(DiffWarning(
                "D002", f"the spec of workspace '{ws.old_name or ws.folder}' is gone, so nothing deploys it any more: "
                        "its resources stay in Azure until someone deletes them, with their data: "
                        + "; ".join(f"{type_noun(r.type)} '{r.name}' ({DATA_HOLDERS[r.type]})" for r in held)
                        + ". Delete them deliberately, after a backup, or restore the spec",
                WORKSPACE, ws.old_name))
        return
    added_types = {r.type for r in ws.resources if r.status == "added"}
    for rdiff in ws.resources:
        if rdiff.status != "removed" or rdiff.type not in DATA_HOLDERS or (renamed and rdiff.type == WORKSPACE):
            continue
        replaced = [r.name for r in ws.resources if r.status == "added" and r.type == rdiff.type]
        what = f"replaced by the new '{replaced[0]}'" if rdiff.type in added_types else "removed from the template"
        ws.warnings.append(DiffWarning(
            "D002", f"{type_noun(rdiff.type)} '{rdiff.name}' holds {DATA_HOLDERS[rdiff.type]} and is {what}: "
                    "an incremental deployment leaves it in Azure unmanaged, a complete-mode deployment deletes it; "
                    "nothing is copied to a new resource", rdiff.type, rdiff.name))


def diff_trees(old_files: dict[str, str], new_files: dict[str, str],
               old_label: str = "old", new_label: str = "new") -> Report:
    """Compare two generated trees ({relative path: text}); the workspaces come sorted by folder."""
    old_folders, new_folders = _split(old_files), _split(new_files)
    report = Report(old_label, new_label)
    for folder in sorted(set(old_folders) | set(new_folders)):
        report.workspaces.append(diff_workspace(folder, old_folders.get(folder), new_folders.get(folder),
                                                old_label, new_label))
    return report


def diff_folders(old_dir: Path, new_dir: Path, old_label: str | None = None, new_label: str | None = None) -> Report:
    return diff_trees(read_tree(old_dir), read_tree(new_dir), old_label or str(old_dir), new_label or str(new_dir))
