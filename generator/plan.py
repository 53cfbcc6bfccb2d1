"""From the model to the deployment plan: the resources, parameters and outputs both renderers emit."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import re

from generator.apiversions import api_version
from generator.expressions import (Call, Deployed, DeploymentLocation, DeploymentOutput, Environment, Equals,
                                   Param, Ref, ResourceGroupId, ResourceGroupLocation, ResourceGroupScope,
                                   ScannerSkips, SubscriptionScope, TenantId, references)
from generator.clouds import PRIVATE_ENDPOINT_GROUPS, STORAGE_ZONE_GROUPS, dns_zones
from generator.model import (AISearch, AIServices, ApplicationInsights, AttachedCompute, ComputeCluster,
                             ComputeInstance, Connection, ContainerRegistry, CreatedSubnet, Datastore, Existing,
                             KeyVault, LogAnalytics, ManagedNetwork, RoleAssignment, Spec, StorageAccount, Subnet,
                             UserIdentity)
from generator import network_rules
from generator.aimodels import ACCOUNT_CATEGORIES, EXISTING_TARGETS, SECRETS
from generator.naming import (ResourceId, ScopeId, deployment_name, module_deployment_name, parse_resource_id,
                              parse_scope_id)
from generator.spec.defaults import AI_OUTBOUND_RULES, MANAGED_MODES, WORKSPACE_RULE_NAME
from generator.roles import AI_CONNECTION_ROLES, WORKSPACE_IDENTITY_ROLES, role_guid

LOCATION = Param("location")


@dataclass(frozen=True)
class Resource:
    """One resource: `kind` picks the fragment; `values` are the fragment's inputs (literals and Exprs)."""

    kind: str
    symbol: str
    type: str
    name: object  # a literal name ('parent/child' for a child resource), or an Expr (role assignments)
    values: dict = field(default_factory=dict)
    existing: ResourceId | None = None  # declared for reference only (Bicep `existing`); ARM uses the ID
    preview: bool = False  # a preview-only property is set: use the type's preview API version
    module: "Plan | None" = None  # a nested deployment's own template (ARM: inline; Bicep: a module file)

    @property
    def api_version(self) -> str:
        return api_version(self.type, self.preview)

    @property
    def type_at_version(self) -> str:
        return f"{self.type}@{self.api_version}"

    def depends_on(self) -> list[str]:
        """Symbols of the resources this one references, in first-reference order."""
        seen: list[str] = []
        for ref in references(self.values):
            if ref.symbol != self.symbol and ref.symbol not in seen:
                seen.append(ref.symbol)
        return seen


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # string | int | bool | object | array | securestring | secureObject
    description: str
    default: object = None  # literal or Expr; None: no default (the caller must pass a value)
    value: object = None  # what the spec chose: written to main.parameters.json when not None


@dataclass(frozen=True)
class Output:
    name: str
    type: str
    value: object
    description: str


@dataclass(frozen=True)
class Plan:
    source: str
    name: str
    resources: tuple[Resource, ...]
    parameters: tuple[Parameter, ...]
    outputs: tuple[Output, ...]
    scope: str = "resourceGroup"  # or "subscription"


def resource_id(text: str | None) -> Call | None:
    """An ID the spec gives, as resourceId() of its parts: templates never carry literal resource IDs
    (arm-ttk "IDs Should Be Derived From ResourceIDs"), and the parts stay readable in a diff."""
    if text is None:
        return None
    ref = parse_resource_id(text)
    return Call("resourceId", (ref.subscription, ref.resource_group, ref.type, *ref.names))


def _tags(spec: Spec) -> dict | None:
    return dict(spec.tags) or None


def _network_acls(public_network_access: str) -> dict:
    """Open: allow all. Closed: deny by default, trusted Azure services (the workspace among them) allowed."""
    return {"bypass": "AzureServices", "defaultAction": "Allow" if public_network_access == "Enabled" else "Deny"}


def _existing(symbol: str, existing: Existing) -> Resource:
    ref = existing.ref
    return Resource(kind="existing", symbol=symbol, type=ref.type, name=ref.name, existing=ref,
                    values={"scope": ResourceGroupScope(ref.subscription, ref.resource_group)})


def _storage(spec: Spec, st: StorageAccount) -> Resource:
    return Resource("storage", "storage", "Microsoft.Storage/storageAccounts", st.name, {
        "location": LOCATION, "tags": _tags(spec), "sku": st.sku,
        "publicNetworkAccess": st.public_network_access,
        "networkAcls": _network_acls(st.public_network_access),
        "isHnsEnabled": st.hierarchical_namespace,
    })


def _key_vault(spec: Spec, kv: KeyVault) -> Resource:
    return Resource("keyvault", "keyVault", "Microsoft.KeyVault/vaults", kv.name, {
        "location": LOCATION, "tags": _tags(spec), "sku": kv.sku, "tenantId": TenantId(),
        "softDeleteRetentionInDays": kv.soft_delete_retention_days,
        # Key Vault's createMode: "recover" restores a soft-deleted vault of the same name
        # (https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview); None leaves it out
        "createMode": kv.create_mode,
        "publicNetworkAccess": kv.public_network_access,
        "networkAcls": _network_acls(kv.public_network_access),
    })


def _log_analytics(spec: Spec, la: LogAnalytics) -> Resource:
    return Resource("loganalytics", "logAnalytics", "Microsoft.OperationalInsights/workspaces", la.name, {
        "location": LOCATION, "tags": _tags(spec), "retentionInDays": la.retention_days,
    })


def _app_insights(spec: Spec, ai: ApplicationInsights) -> Resource:
    return Resource("appinsights", "appInsights", "Microsoft.Insights/components", ai.name, {
        "location": LOCATION, "tags": _tags(spec), "workspaceResourceId": Ref("logAnalytics"),
    })


def _registry(spec: Spec, cr: ContainerRegistry) -> Resource:
    premium = cr.sku == "Premium"
    return Resource("registry", "registry", "Microsoft.ContainerRegistry/registries", cr.name, {
        "location": LOCATION, "tags": _tags(spec), "sku": cr.sku,
        "publicNetworkAccess": cr.public_network_access,
        # network rules, data endpoints and the policies below exist only on Premium registries
        "networkRuleSet": {"defaultAction": "Deny" if cr.public_network_access == "Disabled" else "Allow"}
        if premium else None,
    })


def _managed_network(mn: ManagedNetwork | None) -> dict | None:
    if mn is None:
        return None
    rules = {}
    for rule in mn.outbound_rules:
        if rule.type == "FQDN":
            rules[rule.name] = {"type": "FQDN", "category": "UserDefined", "destination": rule.destination}
        elif rule.type == "ServiceTag":
            rules[rule.name] = {"type": "ServiceTag", "category": "UserDefined", "destination": {
                "serviceTag": rule.service_tag, "protocol": rule.protocol, "portRanges": rule.port_ranges,
                "action": "Allow"}}
        else:
            rules[rule.name] = {"type": "PrivateEndpoint", "category": "UserDefined", "destination": {
                "serviceResourceId": resource_id(rule.resource_id), "subresourceTarget": rule.subresource,
                "sparkEnabled": rule.spark_enabled}}
    out: dict = {"isolationMode": mn.isolation_mode}
    if mn.firewall_sku and mn.isolation_mode == "AllowOnlyApprovedOutbound":
        out["firewallSku"] = mn.firewall_sku
    if rules:
        out["outboundRules"] = rules
    return out


def _identity_symbol(u: UserIdentity) -> str:
    return "identity" + "".join(w[:1].upper() + w[1:] for w in re.split(r"[^A-Za-z0-9]+", u.name) if w)


def _workspace_identity(spec: Spec) -> dict:
    ident = spec.workspace.identity
    out: dict = {"type": ident.type}
    if ident.user_assigned:
        out["userAssignedIdentities"] = {Ref(_identity_symbol(u)): {} for u in ident.user_assigned}
    return out


_KEY_URI = re.compile(r"^https://(?P<vault>[^./]+)\.vault\.[^/]+/(?P<rest>keys/.+)$")


def _key_uri(uri: str) -> object:
    """A key URI with the vault host from the template's environment (arm-ttk: no hard-coded hosts):
    https://<vault><environment().suffixes.keyvaultDns>/keys/<name>[/<version>]."""
    m = _KEY_URI.match(uri)
    if m is None:
        return uri
    return Call("format", ("https://{0}{1}/{2}", m["vault"], Environment(("suffixes", "keyvaultDns")), m["rest"]))


def _encryption(spec: Spec) -> dict | None:
    enc = spec.workspace.encryption
    if enc is None:
        return None
    return {
        "status": "Enabled",
        "keyVaultProperties": {
            "keyVaultArmId": resource_id(enc.key_vault), "keyIdentifier": _key_uri(enc.key_uri),
            "identityClientId": Ref(_identity_symbol(enc.identity), "clientId") if enc.identity else None,
        },
        "identity": {"userAssignedIdentity": Ref(_identity_symbol(enc.identity))} if enc.identity else None,
    }


def _workspace(spec: Spec, has_registry: bool, has_insights: bool) -> Resource:
    ws = spec.workspace
    fs = ws.feature_store
    return Resource("workspace", "workspace", "Microsoft.MachineLearningServices/workspaces", spec.name, {
        "location": LOCATION, "tags": _tags(spec), "sku": ws.sku, "kind": ws.kind,
        "identity": _workspace_identity(spec),
        "primaryUserAssignedIdentity": Ref(_identity_symbol(ws.identity.primary)) if ws.identity.primary else None,
        "friendlyName": ws.friendly_name, "description": ws.description,
        "hubResourceId": resource_id(ws.hub),
        "storageAccount": Ref("storage") if spec.storage else None,
        "keyVault": Ref("keyVault") if spec.key_vault else None,
        "applicationInsights": Ref("appInsights") if has_insights else None,
        "containerRegistry": Ref("registry") if has_registry else None,
        "publicNetworkAccess": ws.public_network_access,
        "imageBuildCompute": ws.image_build_compute,
        "managedNetwork": _managed_network(ws.managed_network),
        "hbiWorkspace": ws.hbi,
        "serverlessComputeSettings": {
            "serverlessComputeCustomSubnet": subnet_id(ws.serverless.subnet) if ws.serverless.subnet else None,
            "serverlessComputeNoPublicIP": ws.serverless.no_public_ip,
        } if ws.serverless else None,
        "encryption": _encryption(spec),
        "enableServiceSideCMKEncryption": ws.encryption.service_side if ws.encryption else None,
        "systemDatastoresAuthMode": ws.datastores_auth_mode,
        "featureStoreSettings": {
            "computeRuntime": {"sparkRuntimeVersion": fs.spark_runtime_version},
            "offlineStoreConnectionName": fs.offline_store_connection,
            "onlineStoreConnectionName": fs.online_store_connection,
        } if fs else None,
        # a workspace property in ARM, though the spec keeps it with the managed network it provisions
        "provisionNetworkNow": _provision_now(ws.managed_network),
        "ipAllowlist": list(ws.ip_allowlist) or None,
        "allowRoleAssignmentOnRG": ws.allow_role_assignment_on_rg,
        "networkAcls": {"defaultAction": ws.network_acls[0],
                        "ipRules": [{"value": ip} for ip in ws.network_acls[1]]} if ws.network_acls else None,
        "checkov": _workspace_scanner_skips(spec),
    }, preview=bool(ws.preview_properties))


# checkov's CKV_AZURE_243 ("Ensure Azure Machine learning workspace is configured with private endpoint") passes
# only on a private-endpoint outbound rule of a managed network (checkov/arm/checks/resource/
# AzureMLWorkspacePrivateEndpoint.py); a workspace in a network the spec creates has no managed network and its
# own private endpoint there instead.
_CUSTOMER_NETWORK_PE = ("CKV_AZURE_243: the workspace has no managed network; people and computes reach it through "
                        "its private endpoint in the virtual network this spec creates")


def _workspace_scanner_skips(spec: Spec) -> ScannerSkips | None:
    pe, mn = spec.private_endpoints, spec.workspace.managed_network
    if (pe is not None and isinstance(pe.subnet, CreatedSubnet) and "workspace" in pe.targets
            and (mn is None or mn.isolation_mode not in MANAGED_MODES)):
        return ScannerSkips((_CUSTOMER_NETWORK_PE,))
    return None


def _provision_now(mn: ManagedNetwork | None) -> bool | None:
    """Sent whenever a managed network is on (true unless the spec says false, see model.build). Harmless on a
    redeploy: "Set to trigger the provisioning of the managed VNet ... when creating a Workspace with the managed
    VNet enabled, or else it does nothing" (the 2026-05-01 REST schema)."""
    if mn is None or (mn.isolation_mode not in MANAGED_MODES and not mn.provision_now):
        return None
    return mn.provision_now


# The properties azure-ai-ml's project template sends (arm_templates/workspace_project.json): a Project takes
# its SKU, network, encryption, dependents and datastores from its hub.
_PROJECT_PROPERTIES = ("location", "tags", "kind", "identity", "primaryUserAssignedIdentity", "friendlyName",
                       "description", "hubResourceId", "publicNetworkAccess", "serverlessComputeSettings")


def _project(workspace: Resource) -> Resource:
    return Resource("workspace-project", workspace.symbol, workspace.type, workspace.name,
                    {k: workspace.values[k] for k in _PROJECT_PROPERTIES}, preview=workspace.preview)


def _workspace_outbound_rule(spec: Spec) -> Resource | None:
    """Learn (how-to-managed-network, "Enable access from selected IP Addresses"): a workspace open only to an IP
    allow-list needs an outbound private-endpoint rule to itself, or computes in the managed network cannot reach
    it; the rule cannot be part of the workspace's creation (the workspace does not exist yet), so it is a child
    resource deployed after the workspace."""
    ws = spec.workspace
    if not (ws.managed_network and ws.managed_network.isolation_mode in MANAGED_MODES and ws.allow_list_only):
        return None
    return Resource("workspace-outbound-rule", "workspaceOutboundRule",
                    "Microsoft.MachineLearningServices/workspaces/outboundRules",
                    _child_name(spec.name, WORKSPACE_RULE_NAME), {
                        "parent": Ref("workspace", "resource"), "childName": WORKSPACE_RULE_NAME,
                        "ruleProperties": {"type": "PrivateEndpoint", "category": "UserDefined", "destination": {
                            "serviceResourceId": Ref("workspace"), "subresourceTarget": "amlworkspace"}}})


def _user_identity(spec: Spec, u: UserIdentity) -> Resource:
    if u.existing:
        return _existing(_identity_symbol(u), u.existing)
    return Resource("identity", _identity_symbol(u), "Microsoft.ManagedIdentity/userAssignedIdentities", u.name,
                    {"location": LOCATION, "tags": _tags(spec)})


def _symbol(prefix: str, name: str, taken: set[str]) -> str:
    """A Bicep identifier made from a spec name (never the raw name), unique within the template."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name) if w]
    base = prefix + "".join(w[:1].upper() + w[1:] for w in words)
    symbol, n = base, 2
    while symbol in taken:
        symbol, n = f"{base}{n}", n + 1
    taken.add(symbol)
    return symbol


def _child_name(parent: str, child: str) -> Call:
    """A child resource's ARM name, 'parent/child', in the form Bicep compiles `parent:` to (the published
    schemas check the child's own name pattern against a literal)."""
    return Call("format", ("{0}/{1}", parent, child))


def _compute_identity(identity: UserIdentity | str | None) -> dict | None:
    if identity is None:
        return None
    if identity == "SystemAssigned":
        return {"type": "SystemAssigned"}
    return {"type": "UserAssigned", "userAssignedIdentities": {Ref(_identity_symbol(identity)): {}}}


def _idle(minutes: int) -> str:
    return f"PT{minutes}M"


def vm_size_parameter(symbol: str) -> str:
    """The template parameter that carries a compute's VM size, derived from the compute's symbol (itself derived
    deterministically from the compute's name), so the portal's Deploy to Azure form can change it at creation."""
    return symbol + "VmSize"


def _vm_size(c: ComputeCluster | ComputeInstance, symbol: str, parameters: list) -> Param:
    name = vm_size_parameter(symbol)
    kind = "compute cluster" if isinstance(c, ComputeCluster) else "compute instance"
    parameters.append(Parameter(name, "string", f"Optional. The VM size of the {kind} '{c.name}' (from the spec). "
                                "Fixed when the compute is created: a new size needs a new compute.",
                                default=c.vm_size, value=c.vm_size))
    return Param(name)


def _ssh_settings(c: ComputeInstance) -> dict:
    """SSH is fixed at creation (Learn, how-to-create-compute-instance: "SSH access can't be enabled or disabled
    after creation"); the key is user text, emitted as a literal. Without a key (only with an assigned user, see
    rules.py) the owner adds theirs later in the studio."""
    if not c.ssh:
        return {"sshPublicAccess": "Disabled"}
    return {"sshPublicAccess": "Enabled", "adminPublicKey": c.ssh_public_key}


def _compute(spec: Spec, c: ComputeCluster | ComputeInstance, symbol: str, parameters: list) -> Resource:
    common = {"parent": Ref("workspace", "resource"), "childName": c.name, "location": LOCATION,
              "tags": _tags(spec), "subnet": {"id": subnet_id(c.subnet)} if c.subnet else None,
              "identity": _compute_identity(c.identity)}
    vm_size = _vm_size(c, symbol, parameters)
    if isinstance(c, ComputeCluster):
        return Resource("compute-cluster", symbol, "Microsoft.MachineLearningServices/workspaces/computes",
                        _child_name(spec.workspace_name, c.name), {**common,
                            "vmSize": vm_size, "vmPriority": c.priority,
                            "enableNodePublicIp": _node_public_ip(c),
                            "scaleSettings": {"minNodeCount": c.min_nodes, "maxNodeCount": c.max_nodes,
                                              "nodeIdleTimeBeforeScaleDown": _idle(c.idle_minutes)}})
    return Resource("compute-instance", symbol, "Microsoft.MachineLearningServices/workspaces/computes",
                    _child_name(spec.workspace_name, c.name), {**common,
                        "vmSize": vm_size, "enableNodePublicIp": _node_public_ip(c),
                        "idleTimeBeforeShutdown": _idle(c.idle_minutes),
                        "sshSettings": _ssh_settings(c),
                        "personalComputeInstanceSettings": {"assignedUser": {
                            "objectId": c.assigned_user[0], "tenantId": c.assigned_user[1]}} if c.assigned_user else None,
                        "setupScripts": {"scripts": {"creationScript": {
                            "scriptSource": "workspaceStorage", "scriptData": c.setup_script}}} if c.setup_script else None})


NODE_PUBLIC_IP_PARAMETER = "nodePublicIp"


def _node_public_ip(c: ComputeCluster | ComputeInstance) -> object:
    """The spec's choice, or (for a compute added to an existing workspace, whose network the spec cannot see)
    the nodePublicIp parameter, which `amlgen deploy` sets from the workspace it reads."""
    return Param(NODE_PUBLIC_IP_PARAMETER) if c.public_ip is None else c.public_ip


_ATTACH = {"kubernetes": "Kubernetes", "databricks": "Databricks", "synapseSpark": "SynapseSpark"}
ATTACH_PARAMETER = "attachComputes"


def _attached(spec: Spec, c: AttachedCompute, symbol: str, secrets: list) -> Resource:
    """Attaching a compute that is already attached fails, so attached computes deploy only when the
    `attachComputes` parameter is true (once); every other deployment of the same files leaves them alone."""
    properties = {"namespace": c.namespace} if c.type == "kubernetes" else None
    if c.type == "databricks":
        token = symbol + "AccessToken"
        secrets.append(Parameter(token, "securestring", f"Required. The access token of the Databricks workspace "
                                 f"attached as '{c.name}' (used only when attachComputes is true; a secure parameter "
                                 "has no default, so pass any value otherwise)."))
        properties = {"databricksAccessToken": Param(token)}
    return Resource("compute-attached", symbol, "Microsoft.MachineLearningServices/workspaces/computes",
                    _child_name(spec.workspace_name, c.name), {
                        "condition": Param(ATTACH_PARAMETER), "parent": Ref("workspace", "resource"),
                        "identity": _compute_identity(c.identity),
                        "childName": c.name, "location": LOCATION, "computeType": _ATTACH[c.type],
                        "resourceId": resource_id(c.resource_id), "properties": properties})


STORAGE_SUFFIX = Environment(("suffixes", "storage"))
_DATASTORE_TYPES = {"blob": ("AzureBlob", "containerName"), "fileShare": ("AzureFile", "fileShareName"),
                    "adlsGen2": ("AzureDataLakeGen2", "filesystem")}


def _datastore(spec: Spec, d: Datastore, symbol: str, secrets: list) -> Resource:
    kind, container_key = _DATASTORE_TYPES[d.type]
    if d.credentials == "none":
        credentials = {"credentialsType": "None"}
    else:
        secret = symbol + ("AccountKey" if d.credentials == "accountKey" else "SasToken")
        secrets.append(Parameter(secret, "securestring", f"Required. The {'account key' if d.credentials == 'accountKey' else 'SAS token'} "
                                 f"of datastore '{d.name}' (never written to a file: pass it at deployment)."))
        credentials = ({"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": Param(secret)}}
                       if d.credentials == "accountKey" else
                       {"credentialsType": "Sas", "secrets": {"secretsType": "Sas", "sasToken": Param(secret)}})
    return Resource("datastore", symbol, "Microsoft.MachineLearningServices/workspaces/datastores",
                    _child_name(spec.workspace_name, d.name), {
                        "parent": Ref("workspace", "resource"), "childName": d.name,
                        "datastoreProperties": {
                            "datastoreType": kind, "description": d.description,
                            "accountName": d.account.name, container_key: d.container,
                            # the cloud's storage suffix, from the template's environment (arm-ttk: no hard-coded hosts)
                            "endpoint": STORAGE_SUFFIX, "protocol": "https",
                            "subscriptionId": d.account.subscription, "resourceGroup": d.account.resource_group,
                            # identity-based: the workspace identity reads data for studio previews and jobs
                            "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity"
                            if d.credentials == "none" and spec.workspace.identity.system_assigned else None,
                            "credentials": credentials}})


# Logs and metrics per resource kind: storage accounts have metrics only at the account level.
_DIAGNOSTICS = {"workspace": (["allLogs"], ["AllMetrics"]), "keyVault": (["allLogs"], ["AllMetrics"]),
                "registry": (["allLogs"], ["AllMetrics"]), "storage": ([], ["Transaction"])}
_LOCKED = ("workspace", "storage", "keyVault", "registry")


def _operations(spec: Spec, created: set[str], taken: set[str]) -> list[Resource]:
    out: list[Resource] = []
    if spec.diagnostics:
        target = Ref("logAnalytics") if spec.diagnostics == "self" else resource_id(spec.diagnostics)
        for symbol, (groups, metrics) in _DIAGNOSTICS.items():
            if symbol in created:
                out.append(Resource("diagnostic-setting", _symbol(symbol, "Diagnostics", taken),
                                    "Microsoft.Insights/diagnosticSettings", "send-to-log-analytics", {
                                        "scope": Ref(symbol, "resource"), "workspaceId": target,
                                        "logs": [{"categoryGroup": g, "enabled": True} for g in groups] or None,
                                        "metrics": [{"category": m, "enabled": True} for m in metrics]}))
    if spec.lock:
        for symbol in _LOCKED:
            if symbol in created:
                out.append(Resource("lock", _symbol(symbol, "Lock", taken), "Microsoft.Authorization/locks",
                                    f"lock-{spec.lock.lower()}", {
                                        "scope": Ref(symbol, "resource"), "level": spec.lock,
                                        "notes": f"Managed by amlgen ({spec.source}): remove it in the spec, not in "
                                                 "the portal."}))
    return out


_SCOPE_SYMBOLS = {"workspace": "workspace", "storage": "storage", "keyVault": "keyVault",
                  "containerRegistry": "registry", "aiServices": "aiServices", "aiSearch": "aiSearch"}


def _principal(identity) -> tuple[str, str] | None:
    """An identity principal as (the symbol of the resource whose identity it is, the Ref attribute of its object
    ID): the workspace's system-assigned identity, or a user-assigned identity."""
    if identity is None:
        return None
    if identity == "workspace":
        return "workspace", "principalId"
    return _identity_symbol(identity), "identityPrincipalId"


def _role_assignment(ra: RoleAssignment, symbol: str) -> Resource:
    scope_symbol = _SCOPE_SYMBOLS.get(ra.scope)
    scope_id = Ref(scope_symbol) if scope_symbol else ResourceGroupId()
    principal, seed = ra.principal_id, ra.principal_id
    if ra.identity is not None:
        # known only at deployment, and ARM allows reference() only in properties: the name takes the resource ID
        # of the identity's resource instead (the workspace's, for its system-assigned identity)
        owner, attr = _principal(ra.identity)
        principal, seed = Ref(owner, attr), Ref(owner)
    # Bicep's getRoleAssignmentName() convention: the same scope, principal and role always give the same
    # name, so a redeploy is a no-op instead of failing with RoleAssignmentExists.
    name = Call("guid", (Call("toLower", (scope_id,)), Call("toLower", (seed,)),
                         Call("toLower", (ra.role_guid,))))
    return _assignment(symbol, name, scope_symbol, ra.role_guid, principal, ra.principal_type, ra.description)


def _assignment(symbol: str, name: Call, scope_symbol: str | None, role: str, principal, principal_type: str,
                description: str | None) -> Resource:
    """A role assignment of `role` (a GUID) on a resource of this template (its symbol), or on the resource group."""
    return Resource("role-assignment", symbol, "Microsoft.Authorization/roleAssignments", name, {
        "scope": Ref(scope_symbol, "resource") if scope_symbol else None,
        "roleDefinitionId": Call("subscriptionResourceId", ("Microsoft.Authorization/roleDefinitions", role)),
        "principalId": principal, "principalType": principal_type, "description": description,
    })


# spec section -> the symbol of the resource amlgen creates for it
_GRANT_SYMBOLS = {"storage": "storage", "keyVault": "keyVault", "containerRegistry": "registry",
                  "applicationInsights": "appInsights", "workspace": "workspace"}


def _identity_grants(spec: Spec, resources: list[Resource], sections: tuple[str, ...]) -> list[Resource]:
    """The roles a user-assigned workspace identity needs (roles.WORKSPACE_IDENTITY_ROLES) on the resources of
    `sections` this template creates. The principal ID exists only at deployment, and ARM allows reference() only
    in properties, so the name is guid(scope, identity resource ID, role), as Microsoft's quickstart
    machine-learning-dependencies-role-assignment names them (a redeploy finds the same assignment)."""
    uai = spec.workspace.identity.workspace_user_identity
    if uai is None:
        return []
    created = {r.symbol for r in resources if r.existing is None}
    taken = {r.symbol for r in resources} | {"location"}
    identity = _identity_symbol(uai)
    out = []
    for section in sections:
        symbol = _GRANT_SYMBOLS[section]
        if symbol not in created:
            continue  # brought by ID: granted through the role-assignments module (_nested_grants)
        for role in WORKSPACE_IDENTITY_ROLES[section]:
            guid = role_guid(role)
            out.append(_assignment(_symbol(symbol, "Grant " + role, taken),
                                   Call("guid", (Ref(symbol), Ref(identity), guid)), symbol, guid,
                                   Ref(identity, "identityPrincipalId"), "ServicePrincipal",
                                   f"{role} for the workspace identity {uai.name}: required for a user-assigned "
                                   "workspace identity (amlgen)"))
    return out


# private endpoint target -> the symbol of the resource it connects to (its group ID: clouds.PRIVATE_ENDPOINT_GROUPS)
_PE_TARGETS = {"workspace": "workspace", "storageBlob": "storage", "storageFile": "storage", "keyVault": "keyVault",
               "containerRegistry": "registry", "aiServices": "aiServices", "aiSearch": "aiSearch"}
_PE_WORDS = {"workspace": "workspace", "storage": "storage account", "keyVault": "key vault",
             "registry": "container registry", "aiServices": "AI Services account", "aiSearch": "search service"}
PRIVATE_ENDPOINTS_MODULE = "private-endpoints"


def _zone_name(zone: str, group: str) -> object:
    """A created zone's name: the storage zones from the template's environment(), the others literal."""
    if group in STORAGE_ZONE_GROUPS:
        return Call("format", (STORAGE_ZONE_GROUPS[group], STORAGE_SUFFIX))
    return zone


def _private_endpoint_resources(spec: Spec, network_name: str, network_id: object, by_symbol: dict,
                                taken: set[str] | None = None) -> tuple[list[Resource], dict]:
    """The resources of the private-endpoints module: the endpoints, their DNS zone groups, and the zones the
    spec creates (with their links to the network). They all live in the network's resource group. Also: the
    module parameter that carries each connected resource's ID, by the resource's symbol in the main template.
    With `taken` (the main template's symbols) they are resources of the main template itself, beside the network
    the spec creates, and connect to the resources by reference."""
    pe = spec.private_endpoints
    inline = taken is not None
    taken = taken if inline else {"location"}
    zones: dict[str, str] = {}  # zone name -> symbol
    out: list[Resource] = []
    connects: dict[str, str] = {}  # symbol of a resource of the main template -> the parameter with its ID
    for target in pe.targets:
        target_symbol, group = _PE_TARGETS[target], PRIVATE_ENDPOINT_GROUPS[target]
        target_param = connects.setdefault(target_symbol, f"{target_symbol}Id")
        target_name = by_symbol[target_symbol].name
        pe_name = f"pe-{target_name}-{group}"[:80]
        pe_symbol = _symbol("pe", target, taken)
        out.append(Resource("private-endpoint", pe_symbol, "Microsoft.Network/privateEndpoints", pe_name, {
            "location": LOCATION, "tags": _tags(spec), "subnetId": subnet_id(pe.subnet),
            "privateLinkServiceConnections": [{"name": f"{target_name}-{group}", "properties": {
                "privateLinkServiceId": Ref(target_symbol) if inline else Param(target_param), "groupIds": [group]}}],
        }))
        if pe.dns == "none":
            continue
        configs = []
        for zone in dns_zones(spec.cloud, group):
            if zone not in zones:
                zone_symbol = _symbol("dnsZone", zone.removeprefix("privatelink."), taken)
                zones[zone] = zone_symbol
                choice = pe.dns.get(zone, "create") if isinstance(pe.dns, dict) else "create"
                if choice != "create":
                    out.append(_existing(zone_symbol, Existing(parse_resource_id(choice))))
                else:
                    zone_name = _zone_name(zone, group)
                    link = f"link-{network_name}"
                    out.append(Resource("private-dns-zone", zone_symbol, "Microsoft.Network/privateDnsZones",
                                        zone_name, {"tags": _tags(spec)}))
                    out.append(Resource("private-dns-link", _symbol("dnsLink", zone.removeprefix("privatelink."), taken),
                                        "Microsoft.Network/privateDnsZones/virtualNetworkLinks",
                                        _child_name(zone_name, link),
                                        {"parent": Ref(zone_symbol, "resource"), "childName": link,
                                         "tags": _tags(spec), "virtualNetworkId": network_id}))
            configs.append({"name": zone.replace(".", "-"), "properties": {"privateDnsZoneId": Ref(zones[zone])}})
        out.append(Resource("private-dns-zone-group", _symbol("pe", target + "DnsZoneGroup", taken),
                            "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", _child_name(pe_name, "default"),
                            {"parent": Ref(pe_symbol, "resource"), "childName": "default",
                             "privateDnsZoneConfigs": configs}))
    return out, connects


def _private_endpoints(spec: Spec, by_symbol: dict, taken: set[str]) -> list[Resource]:
    """A private endpoint must be in its virtual network's region and subscription, which need not be the
    workspace's (azure-notes; https://learn.microsoft.com/azure/private-link/private-endpoint-overview#private-endpoint-properties),
    and `location` cannot hold reference(). So the endpoints deploy as a nested deployment (a Bicep module under
    modules/) into the network's subscription and resource group (or privateEndpoints.resourceGroup), and their
    region is the network's, read at deployment into the module's `location` parameter, unless the spec sets it."""
    pe = spec.private_endpoints
    subnet = parse_resource_id(pe.subnet)
    network = parse_resource_id(pe.subnet.rsplit("/subnets/", 1)[0])
    resources, connects = _private_endpoint_resources(spec, network.name, resource_id(network.id), by_symbol)
    parameters = [Parameter("location", "string", "Required. The region of the endpoints: their virtual network's.")]
    parameters += [Parameter(param, "string", f"Required. The resource ID of the {_PE_WORDS[symbol]} the private "
                                              "endpoints connect to.") for symbol, param in connects.items()]
    module = Plan(spec.source, spec.name, tuple(resources), tuple(parameters), ())
    out: list[Resource] = []
    if pe.location:
        location = pe.location
    else:
        network_symbol = _symbol("privateEndpointNetwork", "", taken)
        out.append(_existing(network_symbol, Existing(network)))
        location = Ref(network_symbol, "location")
    values = {"location": location, **{param: Ref(symbol) for symbol, param in connects.items()}}
    group = pe.resource_group or subnet.resource_group
    out.append(Resource("deployment", _symbol("privateEndpoints", "", taken), "Microsoft.Resources/deployments",
                        module_deployment_name(spec.name, PRIVATE_ENDPOINTS_MODULE), {
                            "scope": ResourceGroupScope(subnet.subscription, group),
                            "subscriptionId": subnet.subscription, "resourceGroupName": group,
                            "path": f"modules/{PRIVATE_ENDPOINTS_MODULE}.bicep",
                            "armParameters": {k: {"value": v} for k, v in values.items()},
                            "bicepParameters": values}, module=module))
    return out


NETWORK = "virtualNetwork"  # the symbol of the virtual network the spec creates
NAT_GATEWAY = "natGateway"


def subnet_id(subnet: str | CreatedSubnet) -> object:
    """A subnet's ID: resourceId() of the parts of an ID the spec gives; for a subnet of the network the spec
    creates, resourceId() of the network's name (a reference, so whatever uses the subnet waits for the network: ARM
    dependsOn, implicit in Bicep) and the subnet's."""
    if isinstance(subnet, CreatedSubnet):
        return Call("resourceId", ("Microsoft.Network/virtualNetworks/subnets", Ref(NETWORK, "name"), subnet.name))
    return resource_id(subnet)


def _security_rules(spec: Spec, subnet: Subnet) -> list[dict]:
    """The NSG rules of a subnet: those network_rules gives for Azure ML compute where computes run in it, none
    (Azure's default rules) elsewhere."""
    here = CreatedSubnet(subnet.name)
    public_ips = [c.public_ip for c in spec.computes if isinstance(c, (ComputeCluster, ComputeInstance))
                  and c.subnet == here]
    serverless = spec.workspace.serverless
    if serverless is not None and serverless.subnet == here:
        # Learn (how-to-secure-training-vnet): the compute requirements "also apply to serverless compute"
        public_ips.append(not serverless.no_public_ip)
    if not public_ips:
        return []
    out = []
    rules = network_rules.rules(spec.cloud, any(public_ips), spec.workspace.hbi)
    for i, rule in enumerate(rules):
        # a regional tag names the workspace's region: the template's location (Microsoft's quickstart
        # machine-learning-end-to-end-secure writes 'Storage.${location}')
        tag = Call("format", (rule.tag + ".{0}", LOCATION)) if rule.regional else rule.tag
        inbound = rule.direction == "Inbound"
        ports = {"destinationPortRange": rule.ports[0]} if len(rule.ports) == 1 else {
            "destinationPortRanges": list(rule.ports)}
        out.append({"name": rule.name, "properties": {
            "description": rule.purpose, "protocol": rule.protocol, "access": "Allow", "direction": rule.direction,
            "priority": network_rules.FIRST_PRIORITY + 10 * i,
            "sourceAddressPrefix": tag if inbound else "VirtualNetwork", "sourcePortRange": "*",
            "destinationAddressPrefix": "VirtualNetwork" if inbound else tag, **ports}})
    return out


def _network(spec: Spec) -> list[Resource]:
    """The virtual network the spec creates: a network security group per subnet, a NAT gateway (with its public
    IP) shared by the subnets that ask for one, and the network with its subnets as properties."""
    net = spec.network
    if net is None:
        return []
    out: list[Resource] = []
    taken: set[str] = {NETWORK, NAT_GATEWAY, "natGatewayPublicIp", "location"}
    if any(s.nat_gateway for s in net.subnets):
        # Cloud Adoption Framework abbreviations: pip- (public IP), ng- (NAT gateway), nsg- (security group)
        out.append(Resource("public-ip", "natGatewayPublicIp", "Microsoft.Network/publicIPAddresses",
                            f"pip-ng-{net.name}"[:80], {"location": LOCATION, "tags": _tags(spec)}))
        out.append(Resource("nat-gateway", NAT_GATEWAY, "Microsoft.Network/natGateways", f"ng-{net.name}"[:80], {
            "location": LOCATION, "tags": _tags(spec), "publicIpAddresses": [{"id": Ref("natGatewayPublicIp")}]}))
    subnets = []
    for s in net.subnets:
        nsg = _symbol("nsg", s.name, taken)
        out.append(Resource("network-security-group", nsg, "Microsoft.Network/networkSecurityGroups",
                            f"nsg-{net.name}-{s.name}"[:80].rstrip(".-"), {
                                "location": LOCATION, "tags": _tags(spec), "securityRules": _security_rules(spec, s)}))
        subnets.append({"name": s.name, "properties": {
            "addressPrefix": s.prefix, "networkSecurityGroup": {"id": Ref(nsg)},
            "natGateway": {"id": Ref(NAT_GATEWAY)} if s.nat_gateway else None,
            # a private subnet: no implicit outbound internet (Learn, virtual-network/ip-services/default-outbound-
            # access, recommends explicit outbound; how-to-secure-training-vnet does not recommend default outbound
            # access for computes): outbound goes through the NAT gateway, else nowhere (rule R295)
            "defaultOutboundAccess": False}})
    out.append(Resource("virtual-network", NETWORK, "Microsoft.Network/virtualNetworks", net.name, {
        "location": LOCATION, "tags": _tags(spec), "addressPrefixes": list(net.address_space), "subnets": subnets}))
    return out


def _existing_workspace(spec: Spec) -> Resource:
    """The workspace a spec adds to, declared for reference only. The template deploys into its resource group,
    so Bicep declares it without a scope (a child of a resource in another scope could not be deployed here);
    ARM refers to it by resourceId() of the ID's parts."""
    ref = spec.existing_workspace.ref
    return Resource(kind="existing", symbol="workspace", type=ref.type, name=ref.name, existing=ref,
                    values={"scope": None})


def _build_existing(spec: Spec) -> Plan:
    """The plan of a spec that adds computes, datastores and role assignments to an existing workspace."""
    resources = [_existing_workspace(spec)]
    secrets, vm_sizes = _workspace_children(spec, resources)
    parameters = [
        Parameter("location", "string",
                  "Optional. The region of the computes: the existing workspace's (amlgen deploy passes it, read "
                  "from the workspace); defaults to the resource group's location.",
                  default=ResourceGroupLocation(), value=spec.location),
    ]
    if any(isinstance(c, (ComputeCluster, ComputeInstance)) for c in spec.computes):
        parameters.append(Parameter(NODE_PUBLIC_IP_PARAMETER, "bool",
                                    "Optional. Whether the computes' nodes get public IPs: false when the workspace "
                                    "is closed to the public network or has a managed network (amlgen deploy sets "
                                    "it from the workspace it reads).", default=True))
    parameters.extend(_attach_parameter(spec))
    parameters.extend(vm_sizes)
    parameters.extend(secrets)
    return Plan(spec.source, spec.name, tuple(resources), tuple(parameters), tuple(_workspace_outputs()))


def _workspace_outputs() -> list[Output]:
    return [Output("workspaceName", "string", Ref("workspace", "name"), "The workspace's name."),
            Output("workspaceId", "string", Ref("workspace"), "The workspace's resource ID.")]


def _attach_parameter(spec: Spec) -> list[Parameter]:
    if not any(isinstance(c, AttachedCompute) for c in spec.computes):
        return []
    return [Parameter(ATTACH_PARAMETER, "bool", "Optional. Attach the existing computes (Kubernetes, "
                      "Databricks, Synapse). Set true once, on the deployment that attaches them: "
                      "attaching an attached compute fails, so other deployments leave them alone.",
                      default=False)]


def _workspace_children(spec: Spec, resources: list[Resource]) -> tuple[list[Parameter], list[Parameter]]:
    """The computes, datastores and role assignments of the spec, appended to `resources`; returns the secure
    and VM-size parameters they take."""
    taken = {r.symbol for r in resources} | {"location"}
    secrets: list[Parameter] = []
    vm_sizes: list[Parameter] = []
    for compute in spec.computes:
        symbol = _symbol("compute", compute.name, taken)
        resources.append(_attached(spec, compute, symbol, secrets) if isinstance(compute, AttachedCompute)
                         else _compute(spec, compute, symbol, vm_sizes))
    for d in spec.datastores:
        resources.append(_datastore(spec, d, _symbol("datastore", d.name, taken), secrets))
    for i, ra in enumerate(spec.role_assignments):
        if ra.target is None:  # the others are granted by the role-assignments module (_grant_deployments)
            resources.append(_role_assignment(ra, _symbol("roleAssignment", str(i + 1), taken)))
    return secrets, vm_sizes


ROLE_ASSIGNMENTS_MODULE = "role-assignments"
ROLE_ASSIGNMENT = "Microsoft.Authorization/roleAssignments"


@dataclass(frozen=True)
class _Grant:
    """A role assignment outside this template's resources, made by the role-assignments module."""

    target: ScopeId
    role: str  # the role definition GUID
    label: str  # the role as people name it (for the symbol)
    principal_id: str | None  # a literal object ID, or None for `identity`
    identity: object  # "workspace" | UserIdentity | None
    principal_type: str
    description: str | None
    before_workspace: bool = False  # a role the workspace identity needs when the workspace is created

    @property
    def group(self) -> tuple[str, str]:
        return self.target.subscription, self.target.resource_group


def _nested_grants(spec: Spec) -> list[_Grant]:
    """The grants the role-assignments module makes: a user-assigned workspace identity's roles on the dependents
    the spec brings (roles.WORKSPACE_IDENTITY_ROLES, as _identity_grants does on the ones it creates), then the
    spec's role assignments whose scope is outside the template."""
    out: list[_Grant] = []
    uai = spec.workspace.identity.workspace_user_identity
    if uai is not None and spec.workspace.kind != "Project":
        brought = {"storage": spec.storage, "keyVault": spec.key_vault,
                   "containerRegistry": spec.container_registry, "applicationInsights": spec.application_insights}
        for section, item in brought.items():
            if isinstance(item, Existing):
                for role in WORKSPACE_IDENTITY_ROLES[section]:
                    out.append(_Grant(parse_scope_id(item.id), role_guid(role), role, None, uai, "ServicePrincipal",
                                      f"{role} for the workspace identity {uai.name}: required for a user-assigned "
                                      "workspace identity (amlgen)", before_workspace=True))
    for ra in spec.role_assignments:
        if ra.target is not None:
            out.append(_Grant(ra.target, ra.role_guid, ra.role, ra.principal_id, ra.identity, ra.principal_type,
                              ra.description))
    return out


def _only_in(subscription: str, group: str | None = None) -> Equals:
    """The condition of a grant in the shared module: true only where the module runs in the grant's subscription
    (and resource group), compared as '<subscription>/<group>' in lower case (names are case-insensitive; a
    literal resource ID would break arm-ttk's "IDs Should Be Derived From ResourceIDs")."""
    if group is None:
        return Equals(Call("toLower", (Deployed("subscription", "subscriptionId"),)), subscription.lower())
    here = Call("format", ("{0}/{1}", Deployed("subscription", "subscriptionId"), Deployed("resourceGroup", "name")))
    return Equals(Call("toLower", (here,)), f"{subscription}/{group}".lower())


def _grant_module(spec: Spec, grants: list[_Grant]) -> tuple[Plan, dict]:
    """The one module every target resource group deploys: all the nested grants, each made only where the module
    runs in its resource group (a Bicep resource scope must be a resource declared in the file's own scope, BCP139,
    so the module declares each target resource `existing` in its group). Also: the module parameter values, by
    parameter name (the identities' object IDs and resource IDs, known only at deployment)."""
    taken: set[str] = {"location"}
    targets: dict[str, str] = {}  # target resource ID (lower case) -> symbol
    existing: list[Resource] = []
    assignments: list[Resource] = []
    parameters: dict[str, Parameter] = {}
    values: dict[str, object] = {}
    for g in grants:
        scope_symbol = None
        if g.target.resource is not None:
            ref = g.target.resource
            key = g.target.id.lower()
            if key not in targets:
                targets[key] = _symbol("target", ref.name, taken)
                existing.append(Resource("existing", targets[key], ref.type, "/".join(ref.names), existing=ref,
                                         values={"scope": None}))
            scope_symbol = targets[key]
        principal, seed = g.principal_id, g.principal_id
        if g.identity is not None:
            owner, attr = _principal(g.identity)
            words = ("the workspace's system-assigned identity" if g.identity == "workspace"
                     else f"the user-assigned identity {g.identity.name}")
            principal, seed = Param(f"{owner}PrincipalId"), Param(f"{owner}Id")
            if principal.name not in parameters:
                parameters[principal.name] = Parameter(principal.name, "string",
                                                       f"Required. The object ID of {words}.")
                parameters[seed.name] = Parameter(seed.name, "string", f"Required. The resource ID of {words}'s "
                                                  "resource: it names the role assignments (deterministic).")
                values[principal.name], values[seed.name] = Ref(owner, attr), Ref(owner)
        scope_id = Ref(scope_symbol) if scope_symbol else ResourceGroupId() if g.target.resource_group else Deployed("subscription", "id")
        name = Call("guid", (Call("toLower", (scope_id,)), Call("toLower", (seed,)), Call("toLower", (g.role,))))
        where = (g.target.resource.name if g.target.resource else g.target.resource_group or
                 f"subscription {g.target.subscription[:8]}")
        assignments.append(Resource("role-assignment-grant", _symbol("grant", f"{where} {g.label}", taken),
                                    ROLE_ASSIGNMENT, name, {
            "condition": _only_in(g.target.subscription, g.target.resource_group),
            "scope": Ref(scope_symbol, "resource") if scope_symbol else None,
            "roleDefinitionId": Call("subscriptionResourceId", ("Microsoft.Authorization/roleDefinitions", g.role)),
            "principalId": principal, "principalType": g.principal_type, "description": g.description}))
    scope = "resourceGroup" if all(g.target.resource_group for g in grants) else "subscription"
    return Plan(spec.source, spec.name, (*existing, *assignments), tuple(parameters.values()), (), scope), values


def _grant_deployments(spec: Spec, taken: set[str]) -> tuple[list[Resource], list[Resource]]:
    """Role assignments outside this template's resource group go through a nested deployment per target resource
    group (ARM Microsoft.Resources/deployments with subscriptionId and resourceGroup; Bicep: a module with
    scope: resourceGroup(sub, rg)): https://learn.microsoft.com/azure/azure-resource-manager/templates/deploy-to-resource-group
    ("To deploy resources to a resource group in a different subscription, add a nested deployment and include the
    subscriptionId and resourceGroup properties"). A grant on a group or resource given by ID goes this way even if
    it is this deployment's own group: the template cannot know which group it is deployed to."""
    grants = _nested_grants(spec)
    if not grants:
        return [], []
    out, before = [], []
    in_groups = [g for g in grants if g.target.resource_group is not None]
    if in_groups:
        module, values = _grant_module(spec, in_groups)
        # one deployment per target group, names compared as Azure compares them (case-insensitively): the first
        # spelling the spec uses names it
        first: dict[tuple[str, str], tuple[str, str]] = {}
        for g in in_groups:
            first.setdefault((g.group[0].lower(), g.group[1].lower()), g.group)
        groups = list(first.values())
        needed = {(g.group[0].lower(), g.group[1].lower()) for g in in_groups if g.before_workspace}
        for sub, group in groups:
            twice = sum(1 for _, other in groups if other.lower() == group.lower()) > 1
            label = f"{group}-{sub[:8]}" if twice else group
            out.append(Resource("deployment", _symbol("grants", label, taken), "Microsoft.Resources/deployments",
                                module_deployment_name(spec.name, f"grants-{label}"), {
                                    "scope": ResourceGroupScope(sub, group), "subscriptionId": sub,
                                    "resourceGroupName": group, "path": f"modules/{ROLE_ASSIGNMENTS_MODULE}.bicep",
                                    "armParameters": {k: {"value": v} for k, v in values.items()},
                                    "bicepParameters": values}, module=module))
            if (sub.lower(), group.lower()) in needed:
                before.append(out[-1])
    # At subscription scope: a nested deployment with subscriptionId and a location ("To deploy resources to a
    # subscription, add a nested deployment and include the subscriptionId property ... Also, set the location
    # property", deploy-to-resource-group#scope-to-subscription); in Bicep a module with scope: subscription(sub),
    # whose file targets the subscription (so a second module file), and whose deployment location Bicep sets to
    # resourceGroup().location (Azure/bicep#1362, #18705).
    at_subscription = [g for g in grants if g.target.resource_group is None]
    if at_subscription:
        module, values = _grant_module(spec, at_subscription)
        for sub in dict.fromkeys(g.target.subscription for g in at_subscription):
            out.append(Resource("subscription-deployment", _symbol("grantsSubscription", sub[:8], taken),
                                "Microsoft.Resources/deployments",
                                module_deployment_name(spec.name, f"grants-{sub[:8]}"), {
                                    "scope": SubscriptionScope(sub), "subscriptionId": sub,
                                    "location": ResourceGroupLocation(),
                                    "path": f"modules/{ROLE_ASSIGNMENTS_MODULE}-subscription.bicep",
                                    "armParameters": {k: {"value": v} for k, v in values.items()},
                                    "bicepParameters": values}, module=module))
    return out, before


def build(spec: Spec) -> Plan:
    if spec.existing_workspace is not None:
        return _build_existing(spec)
    resources: list[Resource] = []

    def add(symbol, item, make):
        resources.append(_existing(symbol, item) if isinstance(item, Existing) else make(spec, item))

    for u in spec.workspace.identity.user_assigned:
        resources.append(_user_identity(spec, u))
    resources.extend(_network(spec))
    if spec.storage is not None:
        add("storage", spec.storage, _storage)
    if spec.key_vault is not None:
        add("keyVault", spec.key_vault, _key_vault)
    ai = spec.application_insights
    if isinstance(ai, ApplicationInsights):
        add("logAnalytics", ai.log_analytics, _log_analytics)
    if ai is not None:
        add("appInsights", ai, _app_insights)
    if spec.container_registry is not None:
        add("registry", spec.container_registry, _registry)
    resources.extend(_ai_resources(spec))
    # a user-assigned workspace identity gets its roles on the dependents before the workspace is created
    grants = _identity_grants(spec, resources, ("storage", "keyVault", "containerRegistry", "applicationInsights"))
    resources.extend(grants)
    workspace = _with_ai_outbound_rules(spec, _workspace(spec, spec.container_registry is not None, ai is not None))
    workspace = replace(workspace, values={**workspace.values, "dependsOn": [
        Ref(g.symbol, "resource") for g in grants] or None})
    resources.append(_project(workspace) if spec.workspace.kind == "Project" else workspace)
    rule = _workspace_outbound_rule(spec)
    if rule is not None:
        resources.append(rule)
    resources.extend(_identity_grants(spec, resources, ("workspace",)))
    secrets, vm_sizes = _workspace_children(spec, resources)
    taken = {r.symbol for r in resources} | {"location"}
    resources.extend(_connections(spec, taken, secrets))
    resources.extend(_ai_grants(spec, {r.symbol for r in resources if r.existing is None}, taken))
    nested_grants, before_workspace = _grant_deployments(spec, taken)
    resources.extend(nested_grants)
    if before_workspace:
        # the workspace identity's roles on the dependents the spec brings are granted before the workspace
        at = next(i for i, r in enumerate(resources) if r.symbol == "workspace")
        ws = resources[at]
        resources[at] = replace(ws, values={**ws.values, "dependsOn": [
            *(ws.values.get("dependsOn") or []), *(Ref(d.symbol, "resource") for d in before_workspace)]})
    if spec.private_endpoints is not None and isinstance(spec.private_endpoints.subnet, CreatedSubnet):
        # in the network the spec creates: beside it, in this template's group and region (no module needed)
        resources.extend(_private_endpoint_resources(spec, spec.network.name, Ref(NETWORK), {
            r.symbol: r for r in resources}, taken)[0])
    elif spec.private_endpoints is not None:
        resources.extend(_private_endpoints(spec, {r.symbol: r for r in resources}, taken))
    resources.extend(_operations(spec, {r.symbol for r in resources if r.existing is None}, taken))

    parameters = [
        Parameter("location", "string",
                  "Optional. The Azure region of every resource; defaults to the resource group's location.",
                  default=ResourceGroupLocation(), value=spec.location),
    ]
    parameters.extend(_attach_parameter(spec))
    parameters.extend(vm_sizes)
    parameters.extend(secrets)
    outputs = _workspace_outputs()
    if spec.workspace.identity.system_assigned:
        outputs.append(Output("workspacePrincipalId", "string", Ref("workspace", "principalId"),
                              "The object ID of the workspace's system-assigned identity (for role assignments)."))
    elif spec.workspace.identity.workspace_user_identity:
        uai = _identity_symbol(spec.workspace.identity.workspace_user_identity)
        outputs.append(Output("workspacePrincipalId", "string", Ref(uai, "identityPrincipalId"),
                              "The object ID of the workspace's user-assigned identity (for role assignments)."))
    if spec.storage is not None:
        outputs.append(Output("storageAccountId", "string", Ref("storage"), "The default storage account's resource ID."))
    if spec.key_vault is not None:
        outputs.append(Output("keyVaultId", "string", Ref("keyVault"), "The key vault's resource ID."))
    if ai is not None:
        outputs.append(Output("applicationInsightsId", "string", Ref("appInsights"),
                              "The Application Insights component's resource ID."))
    if spec.container_registry is not None:
        outputs.append(Output("containerRegistryId", "string", Ref("registry"), "The container registry's resource ID."))
    if isinstance(spec.ai_services, AIServices):
        outputs.append(Output("aiServicesId", "string", Ref("aiServices"), "The AI Services account's resource ID."))
    if isinstance(spec.ai_search, AISearch):
        outputs.append(Output("aiSearchId", "string", Ref("aiSearch"), "The search service's resource ID."))
    return Plan(spec.source, spec.name, tuple(resources), tuple(parameters), tuple(outputs))



# --- AI hubs: the AI Services account, its model deployments, AI Search, connections, their roles (docs/ai-hubs.md)

def _ai_services(spec: Spec, a: AIServices) -> Resource:
    return Resource("ai-services", "aiServices", "Microsoft.CognitiveServices/accounts", a.name, {
        "location": LOCATION, "tags": _tags(spec), "kind": a.kind, "sku": a.sku,
        # Entra ID authentication and private endpoints need a custom subdomain
        # (https://learn.microsoft.com/azure/ai-services/cognitive-services-custom-subdomains)
        "customSubDomainName": a.custom_subdomain,
        "publicNetworkAccess": a.public_network_access,
        "networkAcls": _network_acls(a.public_network_access),
        # a deleted account keeps its name, soft-deleted, for 48 hours: restore brings it back
        # (https://learn.microsoft.com/azure/ai-services/recover-purge-resources); None leaves it out
        "restore": True if a.restore else None,
    })


def _model_deployments(spec: Spec, a: AIServices) -> list[Resource]:
    """One after another: ARM answers parallel deployments on one account with a conflict, so each deployment
    dependsOn the one before it (as Microsoft's AI Foundry samples chain them)."""
    out: list[Resource] = []
    taken: set[str] = set()
    for d in a.deployments:
        out.append(Resource("ai-deployment", _symbol("aiDeployment", d.name, taken),
                            "Microsoft.CognitiveServices/accounts/deployments", _child_name(a.name, d.name), {
                                "parent": Ref("aiServices", "resource"), "childName": d.name,
                                "sku": {"name": d.sku, "capacity": d.capacity},
                                "deploymentProperties": {
                                    "model": {"format": d.model_format, "name": d.model_name,
                                              "version": d.model_version},
                                    "raiPolicyName": d.rai_policy},
                                "dependsOn": [Ref(out[-1].symbol, "resource")] if out else None}))
    return out


def _ai_search(spec: Spec, s: AISearch) -> Resource:
    return Resource("ai-search", "aiSearch", "Microsoft.Search/searchServices", s.name, {
        "location": LOCATION, "tags": _tags(spec), "sku": s.sku,
        "replicaCount": s.replicas, "partitionCount": s.partitions,
        "publicNetworkAccess": s.public_network_access,
        # Closed: only private endpoints and trusted Azure services (the AI Services account among them)
        "networkRuleSet": {"bypass": "AzureServices", "ipRules": []},
    })


def _ai_resources(spec: Spec) -> list[Resource]:
    out: list[Resource] = []
    if isinstance(spec.ai_services, Existing):
        out.append(_existing("aiServices", spec.ai_services))
    elif spec.ai_services is not None:
        out.append(_ai_services(spec, spec.ai_services))
        out.extend(_model_deployments(spec, spec.ai_services))
    if isinstance(spec.ai_search, Existing):
        out.append(_existing("aiSearch", spec.ai_search))
    elif spec.ai_search is not None:
        out.append(_ai_search(spec, spec.ai_search))
    return out


def _with_ai_outbound_rules(spec: Spec, workspace: Resource) -> Resource:
    """Under a managed network, computes reach the AI Services account and Search service the spec creates
    through private-endpoint outbound rules in the workspace's managed network, as Microsoft's network-restricted
    AI Foundry samples declare them (the workspace then waits for both)."""
    mn = workspace.values.get("managedNetwork")
    if mn is None or mn["isolationMode"] not in MANAGED_MODES:
        return workspace
    rules = dict(mn.get("outboundRules") or {})
    for symbol, resource in (("aiServices", spec.ai_services), ("aiSearch", spec.ai_search)):
        if resource is not None and not isinstance(resource, Existing):
            rule_name, subresource = AI_OUTBOUND_RULES[symbol], PRIVATE_ENDPOINT_GROUPS[symbol]
            rules[rule_name] = {"type": "PrivateEndpoint", "category": "UserDefined", "destination": {
                "serviceResourceId": Ref(symbol), "subresourceTarget": subresource, "sparkEnabled": False}}
    if not rules:
        return workspace
    return replace(workspace, values={**workspace.values, "managedNetwork": {**mn, "outboundRules": rules}})


def _connection_target(spec: Spec, c: Connection, symbol: str, extra: list[Resource]) -> tuple[object, object]:
    """The connection's target URL, and the resource ID it connects to (None for a plain URL)."""
    if isinstance(c.target, Existing):
        attr = {t.lower(): a for t, a in EXISTING_TARGETS[c.category].items()}[c.target.ref.type.lower()]
        if attr == "id":  # the target is the resource's ID itself
            return resource_id(c.target.id), resource_id(c.target.id)
        target_symbol = symbol + "Target"
        extra.append(_existing(target_symbol, c.target))
        return Ref(target_symbol, attr), Ref(target_symbol)
    if c.target in ("aiServices", "aiSearch"):
        return Ref(c.target, "properties.endpoint"), Ref(c.target)
    return c.target, None


def _connections(spec: Spec, taken: set[str], secrets: list) -> list[Resource]:
    """Each connection of the spec; its secret, if it has one, is a secure parameter (never in a file)."""
    out: list[Resource] = []
    for c in spec.connections:
        symbol = _symbol("connection", c.name, taken)
        extra: list[Resource] = []
        target, resource = _connection_target(spec, c, symbol, extra)
        credentials = None
        if c.auth in SECRETS:
            suffix, key, words = SECRETS[c.auth]
            secrets.append(Parameter(symbol + suffix, "securestring", f"Required. The {words} of connection "
                                     f"'{c.name}' (never written to a file: pass it at deployment)."))
            credentials = {key: Param(symbol + suffix)}
        elif c.auth == "CustomKeys":
            names = f" ({', '.join(c.keys)})" if c.keys else ""
            secrets.append(Parameter(symbol + "Keys", "secureObject", f"Required. The keys{names} of connection "
                                     f"'{c.name}', as {{\"keys\": {{\"<name>\": \"<value>\"}}}} (never written to a "
                                     "file: pass it at deployment)."))
            credentials = Param(symbol + "Keys")
        elif c.auth == "ManagedIdentity":
            identity = _identity_symbol(c.identity)
            credentials = {"clientId": Ref(identity, "clientId"), "resourceId": Ref(identity)}
        metadata = dict(c.metadata)
        if resource is not None and c.category in (*ACCOUNT_CATEGORIES, "CognitiveSearch"):
            # what Microsoft's AI Foundry quickstarts send: the API type and the connected resource's ID
            metadata = {"ApiType": "Azure", "ResourceId": resource, **metadata}
        out.extend(extra)
        out.append(Resource("connection", symbol, "Microsoft.MachineLearningServices/workspaces/connections",
                            _child_name(spec.name, c.name), {
                                "parent": Ref("workspace", "resource"), "childName": c.name,
                                "connectionProperties": {
                                    "category": c.category, "target": target, "authType": c.auth,
                                    "credentials": credentials, "isSharedToAll": c.shared_to_all,
                                    "metadata": metadata or None}}))
    return out


def _ai_grants(spec: Spec, created: set[str], taken: set[str]) -> list[Resource]:
    """The roles of roles.AI_CONNECTION_ROLES (docs/ai-hubs.md) that apply: AAD connections to the AI Services
    account / Search service this template creates. Service identities: named guid(scope, identity's resource ID,
    role), like the workspace identity's grants; people: Bicep's getRoleAssignmentName() convention, like the
    spec's own assignments (one the spec already makes is not made twice)."""
    aad = {c.target for c in spec.connections if c.auth == "AAD" and isinstance(c.target, str)
           and c.target in ("aiServices", "aiSearch") and c.target in created}
    people = list(dict.fromkeys((ra.principal_id, ra.principal_type) for ra in spec.role_assignments
                                if ra.principal_type in ("User", "Group")))
    given = {(ra.principal_id, ra.role_guid, ra.scope) for ra in spec.role_assignments}
    out: list[Resource] = []
    for principal, role, scope in AI_CONNECTION_ROLES:
        guid = role_guid(role)
        if principal == "people":
            if scope not in aad:
                continue
            for pid, ptype in people:
                if (pid, guid, scope) in given:
                    continue
                out.append(_role_assignment(RoleAssignment(role, guid, pid, ptype, scope,
                                                           f"{role}: Entra ID connections to this resource (amlgen)"),
                                            _symbol(scope, "Grant " + role + " " + pid[:8], taken)))
            continue
        if principal not in aad or (scope != "storage" and scope not in aad) or scope not in created:
            continue
        words = "AI Services account" if principal == "aiServices" else "search service"
        out.append(_assignment(_symbol(scope, f"Grant {role} {principal}", taken),
                               Call("guid", (Ref(scope), Ref(principal), guid)), scope, guid,
                               Ref(principal, "principalId"), "ServicePrincipal",
                               f"{role} for the {words}'s identity: Entra ID connections (amlgen)"))
    return out


def build_subscription(spec: Spec, main: Plan) -> Plan:
    """A subscription-scope plan: create the spec's resource group, then deploy main.json / main.bicep into it.
    Every parameter of the main template passes through under its own name, so main.parameters.json serves both."""
    group = Resource("resource-group", "group", "Microsoft.Resources/resourceGroups", spec.resource_group,
                     {"location": LOCATION, "tags": _tags(spec)})
    deployment = Resource("deployment", "workspaceDeployment", "Microsoft.Resources/deployments",
                          deployment_name(spec.name), {
                              "scope": Ref("group", "resource"), "subscriptionId": None,
                              "resourceGroupName": spec.resource_group,
                              "path": "main.bicep",
                              "armParameters": {p.name: {"value": Param(p.name)} for p in main.parameters},
                              "bicepParameters": {p.name: Param(p.name) for p in main.parameters}})
    parameters = tuple(
        Parameter(p.name, p.type, "Optional. The Azure region of the resource group and every resource; defaults "
                  "to the deployment's location.", DeploymentLocation(), p.value) if p.name == "location" else p
        for p in main.parameters)
    outputs = tuple(Output(o.name, o.type, DeploymentOutput("workspaceDeployment", o.name), o.description)
                    for o in main.outputs)
    return Plan(spec.source, spec.name, (group, deployment), parameters, outputs, "subscription")
