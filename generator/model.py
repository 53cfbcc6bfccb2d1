"""The workspace model: frozen dataclasses built from validated spec data (no Jinja, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.naming import ResourceId, ScopeId, derived_name, parse_resource_id, parse_scope_id
from generator.spec.defaults import (GRANT_DEPENDENTS, MANAGED_MODES, allow_list_only,
                                     dependents_access as _dependents_access, existing_workspace, primary_identity,
                                     private_endpoint_targets, registry_sku)
from generator.roles import role_guid
from generator.spec import vnet
from generator.spec.vnet import is_name, resolve_subnet
from generator.vmsizes import DEFAULT_VM_SIZE

# Properties Azure fixes when the workspace is created: changing one means a new workspace (or a refusal).
# Marked on the fields with create_only() so the diff and the rules can warn before it happens.


def create_only(default=None):
    return field(default=default, metadata={"create_only": True})


@dataclass(frozen=True)
class Existing:
    """A resource the spec brings instead of creating (referenced by ID, never modified)."""

    ref: ResourceId

    @property
    def id(self) -> str:
        return self.ref.id


@dataclass(frozen=True)
class StorageAccount:
    name: str
    sku: str
    public_network_access: str
    hierarchical_namespace: bool = create_only(False)  # a FeatureStore's storage is its offline store (ADLS Gen2)


@dataclass(frozen=True)
class KeyVault:
    name: str
    sku: str
    soft_delete_retention_days: int
    public_network_access: str
    create_mode: str | None = None  # "recover": bring back the soft-deleted vault of this name (one deployment only)


@dataclass(frozen=True)
class LogAnalytics:
    name: str
    retention_days: int


@dataclass(frozen=True)
class ApplicationInsights:
    name: str
    log_analytics: LogAnalytics | Existing


@dataclass(frozen=True)
class ContainerRegistry:
    name: str
    sku: str
    public_network_access: str


@dataclass(frozen=True)
class OutboundRule:
    name: str
    type: str  # FQDN | ServiceTag | PrivateEndpoint
    destination: str | None = None
    service_tag: str | None = None
    protocol: str | None = None
    port_ranges: str | None = None
    resource_id: str | None = None
    subresource: str | None = None
    spark_enabled: bool = False


@dataclass(frozen=True)
class ManagedNetwork:
    isolation_mode: str
    firewall_sku: str | None
    outbound_rules: tuple[OutboundRule, ...]
    provision_now: bool = False


@dataclass(frozen=True)
class ServerlessCompute:
    subnet: "str | CreatedSubnet | None"
    no_public_ip: bool


@dataclass(frozen=True)
class UserIdentity:
    """A user-assigned identity: one the spec creates (by name) or brings (by ID)."""

    name: str
    existing: Existing | None = None

    @property
    def key(self) -> str:
        """How the spec refers to it in `primary` and `encryption.identity`: its name or its ID."""
        return self.existing.id if self.existing else self.name


@dataclass(frozen=True)
class Identity:
    type: str  # SystemAssigned | UserAssigned | SystemAssigned,UserAssigned
    user_assigned: tuple[UserIdentity, ...] = ()
    primary: UserIdentity | None = None

    @property
    def system_assigned(self) -> bool:
        return self.type.startswith("SystemAssigned")

    @property
    def workspace_user_identity(self) -> UserIdentity | None:
        """The user-assigned identity that is the workspace identity: the primary one, when the workspace has no
        system-assigned identity (with one, the system-assigned identity is the workspace identity)."""
        return None if self.system_assigned else self.primary


@dataclass(frozen=True)
class Encryption:
    key_vault: str
    key_uri: str
    identity: UserIdentity | None
    service_side: bool = create_only(False)  # enableServiceSideCMKEncryption: chosen at creation, like the key


@dataclass(frozen=True)
class FeatureStore:
    spark_runtime_version: str
    offline_store_connection: str | None
    online_store_connection: str | None


@dataclass(frozen=True)
class WorkspaceSettings:
    friendly_name: str | None
    description: str | None
    sku: str
    public_network_access: str
    image_build_compute: str | None
    managed_network: ManagedNetwork | None
    hbi: bool = create_only(False)
    serverless: ServerlessCompute | None = None
    kind: str = create_only("Default")
    hub: str | None = None
    feature_store: FeatureStore | None = None
    identity: Identity = Identity("SystemAssigned")
    encryption: Encryption | None = create_only(None)
    datastores_auth_mode: str = "Identity"
    ip_allowlist: tuple[str, ...] = ()
    allow_role_assignment_on_rg: bool | None = None
    network_acls: tuple[str, tuple[str, ...]] | None = None  # (default action, allowed CIDR ranges)
    allow_list_only: bool = False  # open to the public network, but only to an IP allow-list

    @property
    def preview_properties(self) -> tuple[str, ...]:
        """The properties that exist only in a preview API version of the workspace."""
        used = (("ipAllowlist", bool(self.ip_allowlist)),
                ("allowRoleAssignmentOnRG", self.allow_role_assignment_on_rg is not None),
                ("networkAcls", self.network_acls is not None))
        return tuple(name for name, on in used if on)


@dataclass(frozen=True)
class ComputeCluster:
    name: str
    vm_size: str
    priority: str
    min_nodes: int
    max_nodes: int
    idle_minutes: int
    subnet: str | None
    public_ip: bool | None  # None: decided at deployment (a compute added to an existing workspace)
    identity: UserIdentity | str | None = None  # "SystemAssigned", one of the workspace's user-assigned, or none


@dataclass(frozen=True)
class ComputeInstance:
    name: str
    vm_size: str
    assigned_user: tuple[str, str] | None  # (object ID, tenant ID)
    idle_minutes: int
    ssh: bool
    setup_script: str | None
    subnet: str | None
    public_ip: bool | None  # as for clusters
    identity: UserIdentity | str | None = None  # as for clusters
    ssh_public_key: str | None = None  # with ssh: the key to log in with (None: the assigned user adds one later)


@dataclass(frozen=True)
class AttachedCompute:
    """An existing compute attached to the workspace (attaching is not idempotent: see plan.py)."""

    name: str
    type: str  # kubernetes | databricks | synapseSpark
    resource_id: str
    namespace: str | None
    identity: UserIdentity | str | None = None  # kubernetes only: one system- or one user-assigned identity


@dataclass(frozen=True)
class Datastore:
    name: str
    type: str  # blob | fileShare | adlsGen2
    account: ResourceId
    container: str | None  # container (blob), file share (fileShare) or file system (adlsGen2)
    credentials: str  # none | accountKey | sas
    description: str | None


@dataclass(frozen=True)
class RoleAssignment:
    role: str  # as written in the spec (name or GUID)
    role_guid: str
    principal_id: str | None  # None: the principal is `identity`, known only at deployment
    principal_type: str
    scope: str  # workspace | storage | keyVault | containerRegistry | resourceGroup | "id" (see target)
    description: str | None
    # outside this template's resources: the subscription, resource group or resource the grant is on, deployed
    # by a nested deployment into its group (or subscription); None: a resource of this template or its group
    target: ScopeId | None = None
    # the principal when it is an identity: "workspace" (the workspace's system-assigned identity) or a
    # user-assigned identity of workspace.identity (the primary one for {identity: workspace} without a system one)
    identity: UserIdentity | str | None = None


@dataclass(frozen=True)
class CreatedSubnet:
    """A subnet of the virtual network the spec creates, named in `subnet:`: its ID exists only in the template."""

    name: str


@dataclass(frozen=True)
class Subnet:
    name: str
    prefix: str
    nat_gateway: bool


@dataclass(frozen=True)
class VirtualNetwork:
    """The virtual network the spec creates (network.create), in the deployment's resource group and region."""

    name: str
    address_space: tuple[str, ...]
    subnets: tuple[Subnet, ...]


@dataclass(frozen=True)
class PrivateEndpoints:
    subnet: str | CreatedSubnet
    targets: tuple[str, ...]  # workspace | storageBlob | storageFile | keyVault | containerRegistry
    dns: str | dict  # "create" | "none" | {zone name: existing zone ID or "create"} (every needed zone listed)
    resource_group: str | None = None  # where the endpoints deploy; None: the subnet's resource group
    location: str | None = None  # None: the virtual network's region, read at deployment


@dataclass(frozen=True)
class ModelDeployment:
    name: str
    model_format: str
    model_name: str
    model_version: str | None
    sku: str
    capacity: int
    rai_policy: str | None = None


@dataclass(frozen=True)
class AIServices:
    """An AI Services / Azure OpenAI account the spec creates (local auth off, custom subdomain, system identity)."""

    name: str
    kind: str  # AIServices | OpenAI
    sku: str
    custom_subdomain: str
    public_network_access: str
    deployments: tuple[ModelDeployment, ...] = ()
    restore: bool = False  # recover the soft-deleted account of this name (one deployment only)


@dataclass(frozen=True)
class AISearch:
    name: str
    sku: str
    replicas: int
    partitions: int
    public_network_access: str


@dataclass(frozen=True)
class Connection:
    """A workspace connection. `target` is a URL, "aiServices" / "aiSearch" (the spec's own), or Existing."""

    name: str
    category: str
    auth: str
    target: str | Existing
    identity: UserIdentity | None = None  # auth ManagedIdentity
    keys: tuple[str, ...] = ()  # auth CustomKeys
    metadata: tuple[tuple[str, str], ...] = ()
    shared_to_all: bool = True


@dataclass(frozen=True)
class Spec:
    """One deployable workspace: everything the renderers need, nothing from the YAML text."""

    source: str  # spec path relative to its spec root, POSIX form, e.g. "team-a/dev.yaml"
    name: str
    location: str | None
    cloud: str
    resource_group: str | None
    tags: tuple[tuple[str, str], ...]
    workspace: WorkspaceSettings
    storage: StorageAccount | Existing | None = create_only()  # None: a project uses its hub's
    key_vault: KeyVault | Existing | None = create_only()
    application_insights: ApplicationInsights | Existing | None = None
    container_registry: ContainerRegistry | Existing | None = None
    computes: tuple[ComputeCluster | ComputeInstance | AttachedCompute, ...] = ()
    role_assignments: tuple[RoleAssignment, ...] = ()
    private_endpoints: PrivateEndpoints | None = None
    datastores: tuple[Datastore, ...] = ()
    diagnostics: str | None = None  # None: off; "self": the spec's Log Analytics; else a Log Analytics ID
    lock: str | None = None  # CanNotDelete | ReadOnly
    network: VirtualNetwork | None = None  # network.create (network.existing only resolves subnet names)
    existing_workspace: Existing | None = None  # workspace.existing: the spec only adds to this workspace

    @property
    def workspace_name(self) -> str:
        """The Azure name of the workspace the template's resources belong to: the spec's name, or the name of
        the existing workspace it adds to (the spec's name then names only the deployment and the output)."""
        return self.existing_workspace.ref.name if self.existing_workspace else self.name
    ai_services: AIServices | Existing | None = None
    ai_search: AISearch | Existing | None = None
    connections: tuple[Connection, ...] = ()


def _existing(section: dict) -> Existing | None:
    if isinstance(section, dict) and "existing" in section:
        ref = parse_resource_id(section["existing"])
        assert ref is not None, "rules refuse malformed IDs before the model is built"
        return Existing(ref)
    return None


def _name(section: dict, kind: str, spec_name: str, seed: str | None) -> str:
    return section.get("name") or derived_name(kind, spec_name, seed)


def _compute_identity(c: dict, by_key: dict) -> UserIdentity | str | None:
    """A compute's managed identity: system-assigned unless the spec says otherwise ("None": no identity). The
    registry amlgen creates has its admin user off, and then Azure ML pulls images with the compute's identity
    (Learn, how-to-identity-based-service-authentication, "Scenario: Azure Container Registry without admin user":
    "create machine learning compute cluster with system-assigned managed identity enabled ... A managed identity is
    automatically granted ACRPull role on workspace ACR"), so a compute without one cannot pull environment images.
    Attached Kubernetes takes one system- or one user-assigned identity (same page, Limitations)."""
    value = c.get("identity", "SystemAssigned")
    if value == "None":
        return None
    return by_key.get(value, value)


def _subnet(data: dict, value: str | None) -> str | CreatedSubnet | None:
    """A `subnet:` of the spec: an ID as given; a name, a subnet of the network the spec creates or brings."""
    resolved = resolve_subnet(data, value)
    return CreatedSubnet(resolved) if resolved is not None and is_name(resolved) else resolved


def _virtual_network(data: dict) -> VirtualNetwork | None:
    create = vnet.created(data)
    if create is None:
        return None
    return VirtualNetwork(create.get("name") or derived_name("virtualNetwork", data["name"], data.get("nameSeed")),
                          tuple(vnet.address_space(data)),
                          tuple(Subnet(name, s["prefix"], bool(s.get("natGateway", False)))
                                for name, s in sorted(create["subnets"].items())))


def _role_assignment(ra: dict, data: dict, identity: Identity, by_key: dict) -> RoleAssignment:
    """A spec role assignment. A scope outside the template (an ID, {existing: <dependent>}, or the keyword of a
    dependent the spec brings) becomes the `target` of a nested deployment; an identity principal is resolved."""
    scope, target = ra.get("scope", "workspace"), None
    if isinstance(scope, dict):
        scope = scope["existing"]
    section = data.get(scope) if scope in GRANT_DEPENDENTS else None
    if isinstance(section, dict) and "existing" in section:
        target = parse_scope_id(section["existing"])
    elif scope.startswith("/"):
        target = parse_scope_id(scope)
    if target is not None:
        scope = "id"
    principal = ra["principalId"]
    who = None
    if isinstance(principal, dict):
        key = principal["identity"]
        who = by_key[key] if key != "workspace" else "workspace" if identity.system_assigned else identity.primary
    return RoleAssignment(ra["role"], role_guid(ra["role"]), principal.lower() if isinstance(principal, str) else None,
                          ra.get("principalType", "ServicePrincipal"), scope, ra.get("description"), target, who)


@dataclass(frozen=True)
class _Context:
    """What several sections of the spec read: the raw data and the values decided once for all of them."""

    data: dict
    name: str
    seed: str | None
    ws: dict  # the workspace section
    dependents_access: str  # the default publicNetworkAccess of created dependents (spec.defaults)
    by_key: dict  # user-assigned identities by the key the spec names them with
    owned_elsewhere: bool  # a Project or a spec adding to an existing workspace: no dependents of its own


def _managed_network(ws: dict) -> ManagedNetwork | None:
    mn = ws.get("managedNetwork")
    if mn is None:
        return None
    rules = tuple(
        OutboundRule(
            name=rule_name,
            type=r["type"],
            destination=r.get("destination"),
            service_tag=r.get("serviceTag"),
            protocol=r.get("protocol", "TCP") if r["type"] == "ServiceTag" else None,
            port_ranges=r.get("portRanges", "443") if r["type"] == "ServiceTag" else None,
            resource_id=r.get("resourceId"),
            subresource=r.get("subresource"),
            spark_enabled=bool(r.get("sparkEnabled", False)),
        )
        for rule_name, r in sorted(mn.get("outboundRules", {}).items())
    )
    mode = mn.get("isolationMode", "Disabled")
    # Provisioned with the workspace unless the spec says otherwise: Learn (how-to-managed-network, "Manually
    # provision a managed VNet") recommends it, since the first compute otherwise waits ~30 minutes for the
    # network and can time out, and the workspace's private endpoints exist only once it is provisioned.
    return ManagedNetwork(mode, mn.get("firewallSku"), rules, bool(mn.get("provisionNetworkNow", mode in MANAGED_MODES)))


def _user_identities(ws: dict) -> tuple[UserIdentity, ...]:
    return tuple(UserIdentity(u["name"]) if "name" in u else
                 UserIdentity(parse_resource_id(u["existing"]).name, Existing(parse_resource_id(u["existing"])))
                 for u in ws.get("identity", {}).get("userAssigned", []))


def _workspace_settings(cx: _Context, managed: ManagedNetwork | None) -> WorkspaceSettings:
    data, ws = cx.data, cx.ws
    public = ws.get("publicNetworkAccess", "Enabled")
    ident = ws.get("identity", {})
    # identity is never guessed (spec.defaults.primary_identity)
    identity = Identity(ident.get("type", "SystemAssigned"), tuple(cx.by_key.values()),
                        cx.by_key.get(primary_identity(data)))
    enc = ws.get("encryption")
    encryption = Encryption(enc["keyVault"], enc["keyUri"], cx.by_key.get(enc.get("identity")),
                            bool(enc.get("serviceSide", False))) if enc else None
    feature_store = None
    if ws.get("kind") == "FeatureStore":
        fs = ws.get("featureStore") or {}
        feature_store = FeatureStore(fs.get("sparkRuntimeVersion", "3.4"), fs.get("offlineStoreConnectionName"),
                                     fs.get("onlineStoreConnectionName"))
    sc = ws.get("serverlessCompute")
    serverless = ServerlessCompute(_subnet(data, sc.get("subnet")), sc.get("noPublicIp", public == "Disabled")) \
        if sc is not None else None
    return WorkspaceSettings(
        friendly_name=ws.get("friendlyName"),
        description=ws.get("description"),
        sku=ws.get("sku", "Basic"),
        public_network_access=public,
        image_build_compute=ws.get("imageBuildCompute"),
        managed_network=managed,
        hbi=bool(ws.get("hbi", False)),
        serverless=serverless,
        kind=ws.get("kind", "Default"),
        hub=ws.get("hub"),
        feature_store=feature_store,
        identity=identity,
        encryption=encryption,
        datastores_auth_mode=ws.get("systemDatastoresAuthMode", "Identity"),
        ip_allowlist=tuple(ws.get("ipAllowlist", ())),
        allow_role_assignment_on_rg=ws.get("allowRoleAssignmentOnRG"),
        network_acls=(ws["networkAcls"]["defaultAction"], tuple(ws["networkAcls"].get("ipRules", ())))
        if "networkAcls" in ws else None,
        allow_list_only=allow_list_only(data),
    )


def _computes(cx: _Context, node_public_ip: bool | None) -> tuple:
    data, by_key = cx.data, cx.by_key
    computes = []
    for compute_name, c in sorted((data.get("computes") or {}).items()):
        if c["type"] in ("kubernetes", "databricks", "synapseSpark"):
            computes.append(AttachedCompute(compute_name, c["type"], c["resourceId"],
                                            c.get("namespace", "default") if c["type"] == "kubernetes" else None,
                                            _compute_identity(c, by_key) if c["type"] == "kubernetes" else None))
        elif c["type"] == "cluster":
            computes.append(ComputeCluster(compute_name, c.get("vmSize", DEFAULT_VM_SIZE),
                                           c.get("priority", "Dedicated"), c.get("minNodes", 0),
                                           c.get("maxNodes", 4), c.get("idleMinutesBeforeScaleDown", 2),
                                           _subnet(data, c.get("subnet")), node_public_ip,
                                           _compute_identity(c, by_key)))
        else:
            user = c.get("assignedUser")
            ssh = c.get("ssh", False)
            computes.append(ComputeInstance(compute_name, c.get("vmSize", DEFAULT_VM_SIZE),
                                            (user["objectId"], user["tenantId"]) if user else None,
                                            c.get("idleMinutesBeforeShutdown", 60), bool(ssh),
                                            c.get("setupScript"), _subnet(data, c.get("subnet")), node_public_ip,
                                            _compute_identity(c, by_key),
                                            ssh.get("publicKey") if isinstance(ssh, dict) else None))
    return tuple(computes)


def _storage(cx: _Context) -> StorageAccount | Existing | None:
    if cx.owned_elsewhere:
        return None
    st = cx.data.get("storage", {})
    return _existing(st) or StorageAccount(
        _name(st, "storage", cx.name, cx.seed), st.get("sku", "Standard_LRS"),
        st.get("publicNetworkAccess", cx.dependents_access),
        # azure-ai-ml makes a feature store's own storage account its offline store when none is given
        # (_workspace_operations_base.py: offline_store_storage_account_name = storageAccountName), and an offline
        # store is ADLS Gen2 only (Learn, reference-yaml-feature-store: "Only data lake gen2 type of storage is
        # supported"): a hierarchical namespace, which can only be chosen when the account is created. (Learn's
        # concept-workspace refuses a hierarchical namespace on a Default workspace's storage; azure-ai-ml creates a
        # separate offline-store account only when a feature store brings its own default storage.)
        hierarchical_namespace=cx.ws.get("kind") == "FeatureStore")


def _key_vault(cx: _Context) -> KeyVault | Existing | None:
    if cx.owned_elsewhere:
        return None
    kv = cx.data.get("keyVault", {})
    return _existing(kv) or KeyVault(
        _name(kv, "keyVault", cx.name, cx.seed), kv.get("sku", "standard"), kv.get("softDeleteRetentionInDays", 90),
        kv.get("publicNetworkAccess", cx.dependents_access), kv.get("createMode"))


def _application_insights(cx: _Context) -> ApplicationInsights | Existing | None:
    if cx.owned_elsewhere:
        return None
    ai = cx.data.get("applicationInsights", {})
    app_insights = _existing(ai)
    if app_insights is None:
        la = ai.get("logAnalytics", {})
        log_analytics = _existing(la) or LogAnalytics(_name(la, "logAnalytics", cx.name, cx.seed),
                                                      la.get("retentionInDays", 30))
        app_insights = ApplicationInsights(_name(ai, "applicationInsights", cx.name, cx.seed), log_analytics)
    return app_insights


def _container_registry(cx: _Context) -> ContainerRegistry | Existing | None:
    cr = cx.data.get("containerRegistry", {})
    if cr is False or cx.owned_elsewhere:
        return None
    # Premium where the registry is closed or the managed network reaches it through a private endpoint
    return _existing(cr) or ContainerRegistry(_name(cr, "containerRegistry", cx.name, cx.seed),
                                              registry_sku(cx.data), cr.get("publicNetworkAccess", cx.dependents_access))


def _private_endpoints(data: dict) -> PrivateEndpoints | None:
    pe = data.get("privateEndpoints")
    if pe is None:
        return None
    targets = tuple(private_endpoint_targets(data))
    dns = pe["privateDnsZones"]  # required by rule R222: no default, a network's DNS is the spec's choice
    return PrivateEndpoints(_subnet(data, pe["subnet"]), targets,
                            dict(sorted(dns.items())) if isinstance(dns, dict) else dns,
                            pe.get("resourceGroup"), pe.get("location"))


def _datastores(data: dict) -> tuple[Datastore, ...]:
    return tuple(
        Datastore(ds_name, d["type"], parse_resource_id(d["account"]), d.get("container") or d.get("fileShare"),
                  d.get("credentials", "none"), d.get("description"))
        for ds_name, d in sorted((data.get("datastores") or {}).items()))


def _diagnostics(data: dict) -> str | None:
    diag = data.get("diagnostics", False)
    return diag["logAnalytics"] if isinstance(diag, dict) else ("self" if diag else None)


def build(data: dict, source: str) -> Spec:
    """Build the model from schema-valid, rule-clean spec data. Defaults live here, in one place: one function per
    section of the spec (adding a section means adding a function and a field of Spec)."""
    ws = data.get("workspace", {})
    adding = _existing(ws) if existing_workspace(data) else None
    users = _user_identities(ws)
    cx = _Context(data, data["name"], data.get("nameSeed"), ws,
                  # Closing the workspace closes the dependents the spec creates (trusted Azure services stay
                  # allowed), and so does a managed network, as azure-ai-ml does (spec.defaults.dependents_access).
                  _dependents_access(data), {u.key: u for u in users},
                  # a Project's dependents are its hub's; an existing workspace's are its owner's
                  ws.get("kind") == "Project" or adding is not None)
    managed = _managed_network(ws)
    workspace = _workspace_settings(cx, managed)
    # Nodes get no public IP when the workspace is closed, or when a managed network carries their traffic; an
    # existing workspace's network is known only at deployment: None defers it to a template parameter.
    isolated = workspace.public_network_access == "Disabled" or (
        managed is not None and managed.isolation_mode != "Disabled")
    node_public_ip = None if adding else not isolated
    ai_services, ai_search, connections = _ai(data, cx.name, cx.seed, cx.dependents_access, cx.by_key)
    return Spec(
        source=source,
        name=cx.name,
        location=data.get("location"),
        cloud=data.get("cloud", "AzureCloud"),
        resource_group=data.get("resourceGroup"),
        tags=tuple(sorted(data.get("tags", {}).items())),
        workspace=workspace,
        storage=_storage(cx),
        key_vault=_key_vault(cx),
        application_insights=_application_insights(cx),
        container_registry=_container_registry(cx),
        computes=_computes(cx, node_public_ip),
        role_assignments=tuple(_role_assignment(ra, data, workspace.identity, cx.by_key)
                               for ra in data.get("roleAssignments", [])),
        private_endpoints=_private_endpoints(data),
        datastores=_datastores(data),
        diagnostics=_diagnostics(data),
        lock=data.get("locks"),
        network=_virtual_network(data),
        existing_workspace=adding,
        ai_services=ai_services,
        ai_search=ai_search,
        connections=connections,
    )


def _ai(data: dict, name: str, seed: str | None, dependents_access: str, by_key: dict):
    """The AI Services account, the Search service and the connections (docs/ai-hubs.md). Both resources follow the
    workspace's network like the other dependents (spec.defaults.dependents_access)."""
    ai_services = ai_search = None
    ais = data.get("aiServices")
    if isinstance(ais, dict):
        account = _name(ais, "aiServices", name, seed)
        ai_services = _existing(ais) or AIServices(
            account, ais.get("kind", "AIServices"), ais.get("sku", "S0"),
            # the subdomain is the account's name unless the spec says otherwise, as in Microsoft's AI Foundry
            # quickstarts (customSubDomainName: aiServicesName)
            ais.get("customSubDomain", account), ais.get("publicNetworkAccess", dependents_access),
            tuple(ModelDeployment(d_name, d["model"]["format"], d["model"]["name"], d["model"].get("version"),
                                  d["sku"]["name"], d["sku"]["capacity"], d.get("raiPolicy"))
                  for d_name, d in sorted((ais.get("deployments") or {}).items())),
            bool(ais.get("restore", False)))
    srch = data.get("aiSearch")
    if isinstance(srch, dict):
        ai_search = _existing(srch) or AISearch(
            _name(srch, "aiSearch", name, seed), srch.get("sku", "basic"), srch.get("replicaCount", 1),
            srch.get("partitionCount", 1), srch.get("publicNetworkAccess", dependents_access))
    connections = tuple(
        Connection(c_name, c["category"], c["auth"],
                   _existing(c["target"]) if isinstance(c["target"], dict) else c["target"],
                   by_key.get(c.get("identity")), tuple(c.get("keys", ())),
                   tuple(sorted((c.get("metadata") or {}).items())), bool(c.get("sharedToAll", True)))
        for c_name, c in sorted((data.get("connections") or {}).items()))
    return ai_services, ai_search, connections
