"""Semantic rules: what the JSON Schema cannot say about a spec (Azure's naming, ID and service rules)."""

from __future__ import annotations

import re

from generator.findings import ERROR, WARNING, Finding
from generator.naming import ID_FORM, RULES, SCOPE_ID_FORMS, derived_name, parse_resource_id, parse_scope_id
from generator.apiversions import API_VERSIONS, PREVIEW_API_VERSIONS
from generator.clouds import MISSING_DNS_ZONES, PRIVATE_ENDPOINT_GROUPS, needed_dns_zones
from generator.aimodels import (ACCOUNT_CATEGORIES, CONNECTION_AUTH, DEPLOYMENT_SKUS, EXISTING_TARGETS, MODEL_FORMATS,
                                TARGET_KEYWORDS)
from generator.roles import BUILT_IN_ROLES, WORKSPACE_IDENTITY_ROLES, role_guid
from generator.spec.defaults import (AI_OUTBOUND_RULES, GRANT_DEPENDENTS, creates, MANAGED_MODES, WORKSPACE_RULE_NAME, allow_list_only,
                                     existing_workspace, isolation_mode, managed, primary_identity,
                                     private_endpoint_targets, registry_access, registry_premium_reason, registry_sku)
from generator.vmsizes import AS_OF, DEFAULT_VM_SIZE, retirement
from generator.spec import vnet
from generator.spec.vnet import is_name as is_subnet_name

WORKSPACE_TYPE = "Microsoft.MachineLearningServices/workspaces"
from generator.spec.load import Document

# spec section -> (naming kind, the ARM type an `existing` ID must have, words for people)
SECTIONS = {
    ("storage",): ("storage", "Microsoft.Storage/storageAccounts", "a storage account"),
    ("keyVault",): ("keyVault", "Microsoft.KeyVault/vaults", "a key vault"),
    ("applicationInsights",): ("applicationInsights", "Microsoft.Insights/components", "an Application Insights component"),
    ("applicationInsights", "logAnalytics"): ("logAnalytics", "Microsoft.OperationalInsights/workspaces",
                                              "a Log Analytics workspace"),
    ("containerRegistry",): ("containerRegistry", "Microsoft.ContainerRegistry/registries", "a container registry"),
    ("aiServices",): ("aiServices", "Microsoft.CognitiveServices/accounts", "an AI Services account"),
    ("aiSearch",): ("aiSearch", "Microsoft.Search/searchServices", "a search service"),
}


class _Report:
    def __init__(self, doc: Document):
        self.doc, self.findings = doc, []

    def add(self, path, rule, message, severity=ERROR, key=False):
        file, line, col = self.doc.where(path, key=key)
        self.findings.append(Finding(file, line, col, rule, ".".join(map(str, path)), message, severity))


def _section(data: dict, path):
    node = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _check_sections(data: dict, report: _Report) -> None:
    name, seed = data["name"], data.get("nameSeed")
    for path, (kind, arm_type, words) in SECTIONS.items():
        section = _section(data, path)
        parent = _section(data, path[:-1]) if len(path) > 1 else data
        if section is False or (isinstance(parent, dict) and "existing" in parent and len(path) > 1):
            continue  # no registry, or a Log Analytics workspace under an existing App Insights (R206 reports it)
        section = section if isinstance(section, dict) else {}
        if "existing" in section:
            ref = parse_resource_id(section["existing"])
            if ref is None:
                report.add(path + ("existing",), "R202",
                           f"'{section['existing']}' is not a resource ID; expected {ID_FORM}")
            elif ref.type.lower() != arm_type.lower():
                report.add(path + ("existing",), "R203",
                           f"this ID names a {ref.type}, but {words} ({arm_type}) is expected here")
            for other in sorted(k for k in section if k != "existing"):
                report.add(path + (other,), "R206",
                           f"'{other}' cannot be set with 'existing': amlgen does not create or change {words} it "
                           f"brings; remove '{other}' or 'existing'", key=True)
            continue
        given = section.get("name")
        target = given if given is not None else derived_name(kind, name, seed)
        problem = RULES[kind].problem(target)
        if problem:
            where = path + ("name",) if given is not None else ("name",)
            how = "choose another name" if given is not None else f"set {'.'.join(path)}.name to a valid name"
            origin = "" if given is not None else f"the name derived for {words} is invalid: "
            report.add(where, "R201", f"{origin}{problem}; {how}")


def _check_storage_sku(data: dict, report: _Report) -> None:
    sku = _section(data, ("storage", "sku"))
    if isinstance(sku, str) and sku.startswith("Premium_"):
        report.add(("storage", "sku"), "R204",
                   f"'{sku}' is a premium account (block blobs or files only); the workspace's default storage needs "
                   "both blob and file services: use Standard_LRS, Standard_ZRS, Standard_GRS or Standard_GZRS")


def _check_managed_network(data: dict, report: _Report) -> None:
    mn = _section(data, ("workspace", "managedNetwork"))
    if not isinstance(mn, dict):
        return
    mode = mn.get("isolationMode", "Disabled")
    for rule_name, rule in sorted((mn.get("outboundRules") or {}).items()):
        path = ("workspace", "managedNetwork", "outboundRules", rule_name)
        kind = rule.get("type")
        if mode == "Disabled":
            report.add(path, "R205", "outbound rules need a managed network; set workspace.managedNetwork."
                                     "isolationMode to AllowInternetOutbound or AllowOnlyApprovedOutbound", key=True)
        elif kind in ("FQDN", "ServiceTag") and mode != "AllowOnlyApprovedOutbound":
            report.add(path + ("type",), "R205",
                       f"{kind} rules are allowed only under AllowOnlyApprovedOutbound (under {mode} all internet "
                       "outbound is open already); change isolationMode or remove the rule")
        if kind == "PrivateEndpoint" and "resourceId" in rule and parse_resource_id(rule["resourceId"]) is None:
            report.add(path + ("resourceId",), "R202",
                       f"'{rule['resourceId']}' is not a resource ID; expected {ID_FORM}")
    if mn.get("firewallSku") and mode != "AllowOnlyApprovedOutbound":
        report.add(("workspace", "managedNetwork", "firewallSku"), "R205",
                   "the firewall SKU applies only under AllowOnlyApprovedOutbound; remove it or change isolationMode",
                   WARNING)


def _check_registry(data: dict, report: _Report) -> None:
    cr = data.get("containerRegistry", {})
    ws = data.get("workspace", {}) or {}
    if cr is False or ws.get("kind") == "Project":
        return
    cr = cr if isinstance(cr, dict) else {}
    # An existing registry's network is managed where it lives; only a closed workspace says it is closed.
    closed = registry_access(data) == "Disabled" if "existing" not in cr else ws.get("publicNetworkAccess") == "Disabled"
    reason = registry_premium_reason(data)
    if "existing" not in cr and reason and registry_sku(data) != "Premium":
        # only an explicit SKU gets here: without one, the default is Premium where Premium is needed
        sku = registry_sku(data)
        can_not = "disable public access" if closed else "have a private endpoint"
        # under AllowInternetOutbound an open registry needs no private endpoint; under AllowOnlyApprovedOutbound
        # every registry does
        opening = ("" if isolation_mode(data) == "AllowOnlyApprovedOutbound" else
                   ", open the registry (containerRegistry.publicNetworkAccess: Enabled)")
        report.add(("containerRegistry", "sku"), "R207" if closed else "R250",
                   f"{reason}, and a {sku} registry cannot {can_not}; set containerRegistry.sku: Premium (the "
                   f"default here){opening} or bring an existing registry")
    if "existing" in cr and isolation_mode(data) == "AllowOnlyApprovedOutbound":
        report.add(("containerRegistry", "existing"), "R250",
                   "amlgen cannot see an existing registry's SKU: under AllowOnlyApprovedOutbound the managed network "
                   "reaches it through a private endpoint, which only a Premium registry can have "
                   "(az acr update --sku Premium)", WARNING)
    if closed and not ws.get("imageBuildCompute"):
        # pointed at the setting that closes the registry
        where = (("workspace", "publicNetworkAccess") if ws.get("publicNetworkAccess") == "Disabled" else
                 ("containerRegistry", "publicNetworkAccess") if "publicNetworkAccess" in cr else
                 ("workspace", "managedNetwork", "isolationMode"))
        report.add(where, "R208",
                   "with the registry behind a private network, Azure ML cannot build environment images on it; set "
                   "workspace.imageBuildCompute to the name of a compute cluster", WARNING)


_SCOPE_SECTIONS = {"storage": "storage", "keyVault": "keyVault", "containerRegistry": "containerRegistry"}


def _scope_key(data: dict, scope) -> str:
    """A role assignment's scope as one comparable text: a dependent the spec brings is its ID, by whichever name."""
    if isinstance(scope, dict):
        scope = scope.get("existing", "")
    section = data.get(scope) if scope in GRANT_DEPENDENTS else None
    if isinstance(section, dict) and "existing" in section:
        scope = section["existing"]
    return scope.lower().rstrip("/")


def _check_role_assignments(data: dict, report: _Report) -> None:
    seen: dict[tuple, int] = {}
    for i, ra in enumerate(data.get("roleAssignments") or []):
        path = ("roleAssignments", i)
        guid = role_guid(ra["role"])
        if guid is None:
            import difflib
            close = difflib.get_close_matches(ra["role"], list(BUILT_IN_ROLES), n=1, cutoff=0.5)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            report.add(path + ("role",), "R210",
                       f"'{ra['role']}' is not a built-in role amlgen knows{hint} (known: {', '.join(BUILT_IN_ROLES)}); "
                       "for another role, give its role definition GUID")
        scope = ra.get("scope", "workspace")
        section = data.get(_SCOPE_SECTIONS.get(scope, ""), {}) if isinstance(scope, str) else {}
        project = (data.get("workspace") or {}).get("kind") == "Project"
        # a brought dependent is granted on through a nested deployment into its group (_check_grant_scope)
        if isinstance(scope, str) and scope in _SCOPE_SECTIONS and (project or section is False):
            what = f"no {scope} of its own (a Project uses its hub's)" if project else "no registry"
            report.add(path + ("scope",), "R211",
                       f"the spec has {what}; give the resource's ID as the scope, or use scope: workspace or "
                       "resourceGroup")
        _check_grant_scope(data, ra, path, report)
        _check_grant_principal(data, ra, path, report)
        principal = ra["principalId"]
        who = principal.lower() if isinstance(principal, str) else f"identity:{principal.get('identity')}"
        key = (guid, who, _scope_key(data, scope))
        if guid and key in seen:
            report.add(path, "R211", f"the same role, principal and scope as roleAssignments[{seen[key]}]; "
                                     "remove one (Azure refuses a duplicate assignment)")
        seen.setdefault(key, i)


def _check_grant_scope(data: dict, ra: dict, path: tuple, report: _Report) -> None:
    """A scope by ID must be a subscription, a resource group or a resource (R280); {existing: X} must name a
    dependent the spec brings (R281)."""
    scope = ra.get("scope")
    if isinstance(scope, str) and scope.startswith("/") and parse_scope_id(scope) is None:
        report.add(path + ("scope",), "R280",
                   f"'{scope}' is not the ID of a subscription, resource group or resource; expected {SCOPE_ID_FORMS} "
                   "(copy it from the resource's JSON view in the portal, or `az resource show --query id`)")
    elif isinstance(scope, str) and scope.startswith("/"):
        target = parse_scope_id(scope)
        if target.resource is not None and target.resource.type not in API_VERSIONS:
            report.add(path + ("scope",), "R284",
                       f"amlgen knows no API version for {target.resource.type} (generator/apiversions.py), which "
                       "Bicep needs to declare the resource the role is assigned on; grant on its resource group, "
                       "or on a resource of a type amlgen knows")
    elif isinstance(scope, dict):
        name = scope["existing"]
        section = data.get(name)
        if not (isinstance(section, dict) and "existing" in section):
            how = (f"the spec creates its {name}: use scope: {name}" if name in _SCOPE_SECTIONS and section is not False
                   and (data.get("workspace") or {}).get("kind") != "Project"
                   else f"give the {name}'s resource ID as the scope")
            report.add(path + ("scope", "existing"), "R281",
                       f"the spec does not bring its {_GRANT_WORDS.get(name, name)} ({name}: {{existing: <ID>}}); "
                       f"{how}")


def _check_grant_principal(data: dict, ra: dict, path: tuple, report: _Report) -> None:
    """{identity: X} names the workspace or one of workspace.identity.userAssigned (R282); such a principal is a
    service principal (a managed identity's principal type, Learn: role-assignments-template "principalType"), so
    another principalType is refused (R283)."""
    principal = ra["principalId"]
    if not isinstance(principal, dict):
        return
    name = principal["identity"]
    users = ((data.get("workspace") or {}).get("identity") or {}).get("userAssigned") or []
    keys = [u.get("name") or u.get("existing") for u in users]
    if name != "workspace" and name not in keys:
        report.add(path + ("principalId", "identity"), "R282",
                   f"'{name}' is neither 'workspace' nor one of workspace.identity.userAssigned "
                   f"({', '.join(map(str, keys)) or 'none listed'}); list the identity there or fix the name")
    if ra.get("principalType", "ServicePrincipal") != "ServicePrincipal":
        report.add(path + ("principalType",), "R283",
                   f"a managed identity's principal type is ServicePrincipal, not {ra['principalType']}; remove "
                   "principalType (it is implied) or set it to ServicePrincipal")


def _check_computes(data: dict, report: _Report) -> None:
    computes = data.get("computes") or {}
    for name, c in sorted(computes.items()):
        path = ("computes", name)
        problem = RULES["compute"].problem(name)
        if problem:
            report.add(path, "R201", f"{problem}; rename the compute", key=True)
        if c["type"] == "cluster" and c.get("minNodes", 0) > c.get("maxNodes", 4):
            report.add(path + ("minNodes",), "R212",
                       f"minNodes ({c.get('minNodes', 0)}) is above maxNodes ({c.get('maxNodes', 4)})")


_PE_SECTIONS = {"storageBlob": "storage", "storageFile": "storage", "keyVault": "keyVault",
                "containerRegistry": "containerRegistry"}


def _check_private_endpoints(data: dict, report: _Report) -> None:
    pe = data.get("privateEndpoints")
    if not isinstance(pe, dict):
        return
    subnet = parse_resource_id(pe["subnet"])
    if is_subnet_name(pe["subnet"]):
        pass  # a subnet of `network`, by name: _check_network
    elif subnet is None:
        report.add(("privateEndpoints", "subnet"), "R202", f"'{pe['subnet']}' is not a resource ID; expected {ID_FORM}")
    elif subnet.type.lower() != "microsoft.network/virtualnetworks/subnets":
        report.add(("privateEndpoints", "subnet"), "R203",
                   f"this ID names a {subnet.type}, but a subnet (Microsoft.Network/virtualNetworks/subnets) is expected")
    for i, target in enumerate(pe.get("targets", [])):
        section = data.get(_PE_SECTIONS.get(target, ""), {})
        if target in _PE_SECTIONS and (section is False or (isinstance(section, dict) and "existing" in section)):
            what = "has no registry" if section is False else f"brings an existing {_PE_SECTIONS[target]}"
            report.add(("privateEndpoints", "targets", i), "R213",
                       f"the spec {what}; give it a private endpoint where it is managed, or remove '{target}'")
        elif target == "containerRegistry" and registry_sku(data) != "Premium":
            report.add(("privateEndpoints", "targets", i), "R213",
                       "only a Premium registry can have a private endpoint; set containerRegistry.sku: Premium")
    zones = pe.get("privateDnsZones")
    _check_dns_choice(data, pe, report)
    if isinstance(zones, dict):
        for zone, zone_id in sorted(zones.items()):
            if zone_id == "create":
                continue
            ref = parse_resource_id(zone_id)
            if ref is None:
                report.add(("privateEndpoints", "privateDnsZones", zone), "R202",
                           f"'{zone_id}' is not a resource ID; expected {ID_FORM}")
            elif ref.type.lower() != "microsoft.network/privatednszones" or ref.name.lower() != zone.lower():
                report.add(("privateEndpoints", "privateDnsZones", zone), "R203",
                           f"this ID names the {ref.type} '{ref.name}', but the private DNS zone '{zone}' is expected")


_DNS_CHOICES = ("choose one: 'create' (amlgen creates each zone beside the endpoints and links it to their "
                "network), 'none' (your DNS already resolves them, e.g. central zones linked by policy), or a "
                "mapping of every zone to an existing zone's resource ID or to 'create'")


def _check_dns_choice(data: dict, pe: dict, report: _Report) -> None:
    """No default for the endpoints' DNS zones: a virtual network links to only one zone of a name, so zones
    created next to a network that already uses central privatelink zones fail the deployment. The spec says."""
    needed = needed_dns_zones(data.get("cloud", "AzureCloud"),
                              [PRIVATE_ENDPOINT_GROUPS[t] for t in private_endpoint_targets(data)])
    zones = pe.get("privateDnsZones")
    if zones is None:
        report.add(("privateEndpoints",), "R222",
                   f"privateDnsZones is required: the endpoints need the zones {', '.join(needed)}; {_DNS_CHOICES}",
                   key=True)
    elif isinstance(zones, dict):
        missing = [z for z in needed if z not in zones]
        if missing:
            report.add(("privateEndpoints", "privateDnsZones"), "R222",
                       f"the mapping leaves out {', '.join(missing)} (needed: {', '.join(needed)}); map each to an "
                       "existing zone's resource ID or to 'create', or use 'create' or 'none' for all", key=True)
        for zone in sorted(z for z in zones if z not in needed):
            report.add(("privateEndpoints", "privateDnsZones", zone), "R222",
                       f"no endpoint of this spec needs the zone '{zone}' (needed: {', '.join(needed)}); remove it "
                       "or fix its name", key=True)


_DEPENDENTS = ("storage", "keyVault", "applicationInsights", "containerRegistry")


def _check_kind(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    kind = ws.get("kind", "Default")
    if kind == "Project":
        if "hub" not in ws:
            report.add(("workspace", "kind"), "R215", "a Project needs its hub: set workspace.hub to the hub's resource ID")
        for section in _DEPENDENTS + ("privateEndpoints",):
            if section in data:
                report.add((section,), "R215", f"a Project uses its hub's {section}; remove '{section}' (or use "
                                               "kind: Default)", key=True)
    elif "hub" in ws:
        report.add(("workspace", "hub"), "R215", f"only a Project has a hub (this workspace is {kind}); remove 'hub' "
                                                 "or set kind: Project", key=True)
    if "hub" in ws:
        ref = parse_resource_id(ws["hub"])
        if ref is None or ref.type.lower() != "microsoft.machinelearningservices/workspaces":
            report.add(("workspace", "hub"), "R203" if ref else "R202",
                       "expected the resource ID of a hub workspace (Microsoft.MachineLearningServices/workspaces)")
    if "featureStore" in ws and kind != "FeatureStore":
        report.add(("workspace", "featureStore"), "R215", "featureStore settings need kind: FeatureStore", key=True)


def _check_identity(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    ident = ws.get("identity") or {}
    kind = ident.get("type", "SystemAssigned")
    users = ident.get("userAssigned", [])
    keys = []
    for i, u in enumerate(users):
        if "existing" in u:
            ref = parse_resource_id(u["existing"])
            if ref is None:
                report.add(("workspace", "identity", "userAssigned", i, "existing"), "R202",
                           f"'{u['existing']}' is not a resource ID; expected {ID_FORM}")
            elif ref.type.lower() != "microsoft.managedidentity/userassignedidentities":
                report.add(("workspace", "identity", "userAssigned", i, "existing"), "R203",
                           f"this ID names a {ref.type}, but a user-assigned identity is expected")
            keys.append(u["existing"])
        else:
            keys.append(u.get("name"))
    if "UserAssigned" in kind and not users:
        report.add(("workspace", "identity", "type"), "R217",
                   f"{kind} needs at least one identity in workspace.identity.userAssigned")
    if users and "UserAssigned" not in kind:
        report.add(("workspace", "identity", "userAssigned"), "R217",
                   "user-assigned identities are listed but type is SystemAssigned; set type: "
                   "SystemAssigned,UserAssigned (or UserAssigned)", key=True)
    compute_identities = [(("computes", name, "identity"), c.get("identity"))
                          for name, c in sorted((data.get("computes") or {}).items())
                          if c.get("identity") not in (None, "SystemAssigned", "None")]
    for path, value in ((("workspace", "identity", "primary"), ident.get("primary")),
                        (("workspace", "encryption", "identity"), (ws.get("encryption") or {}).get("identity")),
                        *compute_identities):
        if value is not None and value not in keys:
            report.add(path, "R217", f"'{value}' is not one of workspace.identity.userAssigned "
                                     f"({', '.join(map(str, keys)) or 'none listed'})")


def _check_encryption(data: dict, report: _Report) -> None:
    enc = (data.get("workspace") or {}).get("encryption")
    if not isinstance(enc, dict):
        return
    path = ("workspace", "encryption")
    ref = parse_resource_id(enc["keyVault"])
    if ref is None:
        report.add(path + ("keyVault",), "R202", f"'{enc['keyVault']}' is not a resource ID; expected {ID_FORM}")
        return
    if ref.type.lower() != "microsoft.keyvault/vaults":
        report.add(path + ("keyVault",), "R203", f"this ID names a {ref.type}, but a key vault is expected")
        return
    host_vault = enc["keyUri"].split("//", 1)[1].split(".", 1)[0]
    if host_vault.lower() != ref.name.lower():
        report.add(path + ("keyUri",), "R214", f"the key is in the vault '{host_vault}', but keyVault names "
                                               f"'{ref.name}'; give the vault that holds the key")
    kv = data.get("keyVault") or {}
    if "existing" not in kv and host_vault.lower() == derived_or_given(data, "keyVault").lower():
        report.add(path + ("keyVault",), "R214", "the key must exist before the workspace is created, so it cannot "
                                                 "live in the key vault this spec creates; keep it in an existing vault")
    else:
        report.add(path + ("keyVault",), "R214",
                   "amlgen cannot see an existing vault's settings: customer-managed keys need soft delete and purge "
                   "protection on it (az keyvault update --enable-purge-protection true)", WARNING)


def _check_encryption_identity(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    enc = ws.get("encryption")
    if not isinstance(enc, dict):
        return
    ident = ws.get("identity") or {}
    users = {u.get("name") or u.get("existing"): u for u in ident.get("userAssigned", [])}
    chosen = enc.get("identity")
    if chosen is None and not ident.get("type", "SystemAssigned").startswith("SystemAssigned"):
        report.add(("workspace", "encryption"), "R214", "the workspace has no system-assigned identity to read the "
                                                        "key: set encryption.identity to a user-assigned identity",
                   key=True)
    elif chosen in users and "existing" not in users[chosen]:
        report.add(("workspace", "encryption", "identity"), "R214",
                   f"'{chosen}' is created by this deployment, so it cannot have access to the key when Azure checks "
                   "it at workspace creation; bring an existing identity (userAssigned: [{existing: <ID>}]) that has "
                   "'Key Vault Crypto Service Encryption User' on the key's vault")


def _check_primary_identity(data: dict, report: _Report) -> None:
    """Identity is never guessed: with several user-assigned identities and no system-assigned one, the spec says
    which is the workspace identity; with a system-assigned identity, that one is (AVM: primaryUserAssignedIdentity
    is "Required if 'userAssignedIdentities' is not empty and may not be used if 'systemAssignedIdentity' is
    enabled")."""
    ident = (data.get("workspace") or {}).get("identity") or {}
    kind = ident.get("type", "SystemAssigned")
    users = ident.get("userAssigned") or []
    keys = [u.get("name") or u.get("existing") for u in users]
    if kind == "UserAssigned" and len(users) > 1 and "primary" not in ident:
        report.add(("workspace", "identity"), "R240",
                   f"{len(users)} user-assigned identities and no system-assigned one: amlgen does not guess which "
                   f"is the workspace identity; set workspace.identity.primary to one of {', '.join(map(str, keys))}",
                   key=True)
    if kind.startswith("SystemAssigned") and "primary" in ident:
        report.add(("workspace", "identity", "primary"), "R240",
                   f"with type {kind} the system-assigned identity is the workspace identity, and Azure takes a "
                   "primary user-assigned identity only without one; remove 'primary' (the user-assigned identities "
                   "stay available to computes and encryption), or set type: UserAssigned", key=True)


# spec section -> the words for it in a message
_GRANT_WORDS = {"storage": "storage account", "keyVault": "key vault", "containerRegistry": "container registry",
                "applicationInsights": "Application Insights component"}


def _workspace_user_identity(data: dict) -> dict | None:
    """The userAssigned entry that is the workspace identity (none with a system-assigned identity)."""
    ident = (data.get("workspace") or {}).get("identity") or {}
    if ident.get("type", "SystemAssigned") != "UserAssigned":
        return None
    key = primary_identity(data)
    return next((u for u in ident.get("userAssigned") or [] if key in (u.get("name"), u.get("existing"))), None)


def _check_identity_grants(data: dict, report: _Report) -> None:
    """A user-assigned workspace identity needs roles on each dependent (roles.WORKSPACE_IDENTITY_ROLES). amlgen
    assigns them on the dependents it creates, and on the ones the spec brings through a nested deployment into
    their resource group, before the workspace; that deployment needs the right to assign roles there."""
    uai = _workspace_user_identity(data)
    if uai is None or (data.get("workspace") or {}).get("kind") == "Project":
        return
    for section, words in _GRANT_WORDS.items():
        brought = data.get(section)
        if not isinstance(brought, dict) or "existing" not in brought:
            continue
        ref = parse_resource_id(brought["existing"])
        if ref is None:
            continue  # R202 reports it
        roles = " and ".join(WORKSPACE_IDENTITY_ROLES[section])
        report.add((section, "existing"), "R241",
                   f"the workspace identity is user-assigned: amlgen grants it {roles} on the {words} the spec "
                   f"brings, through a nested deployment into resource group {ref.resource_group} (subscription "
                   f"{ref.subscription}) before the workspace is created; whoever deploys needs the right to assign "
                   "roles there (Owner, User Access Administrator or Role Based Access Control Administrator)",
                   WARNING)


def _check_cmk_key(data: dict, report: _Report) -> None:
    """Learn's key identifier is the versioned key URL, and service-side encryption refuses a closed vault."""
    enc = (data.get("workspace") or {}).get("encryption")
    if not isinstance(enc, dict):
        return
    path = ("workspace", "encryption")
    key_path = enc["keyUri"].split("/keys/", 1)[1]
    if "/" not in key_path.rstrip("/"):
        report.add(path + ("keyUri",), "R242",
                   "the key URI has no version: the key identifier Azure ML takes is the versioned key URL, "
                   "https://<vault>.vault.azure.net/keys/<key>/<version> (az keyvault key show --vault-name <vault> "
                   "-n <key> --query key.kid prints it), as Microsoft's templates pass it; append the version",
                   WARNING)
    if enc.get("serviceSide"):
        report.add(path + ("serviceSide",), "R243",
                   "service-side encryption does not support a key vault with public network access disabled, and "
                   "amlgen cannot see the settings of the vault that holds the key: keep its public network access "
                   "enabled, or set serviceSide: false", WARNING)
        ws = data.get("workspace") or {}
        if ws.get("kind") == "Hub" and (enc.get("identity") or _workspace_user_identity(data)):
            what = "encryption.identity" if enc.get("identity") else "a user-assigned workspace identity"
            report.add(path + ("serviceSide",), "R244",
                       f"a hub with service-side encryption does not support user-assigned identities (Learn: \"key "
                       f"rotation and user-assigned identity capabilities are not supported\"), and this one has "
                       f"{what}; use the hub's system-assigned identity, or set serviceSide: false")


def derived_or_given(data: dict, kind: str) -> str:
    section = data.get(kind) or {}
    return section.get("name") or derived_name(kind, data["name"], data.get("nameSeed"))


def _check_preview(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    for prop in ("ipAllowlist", "allowRoleAssignmentOnRG", "networkAcls"):
        if prop in ws:
            report.add(("workspace", prop), "R216",
                       f"'{prop}' exists only in preview API versions: the workspace is emitted with "
                       f"{PREVIEW_API_VERSIONS[WORKSPACE_TYPE]} (previews can change without notice)", WARNING, key=True)


_ATTACH_TYPES = {"kubernetes": ("microsoft.containerservice/managedclusters", "microsoft.kubernetes/connectedclusters"),
                 "databricks": ("microsoft.databricks/workspaces",),
                 "synapseSpark": ("microsoft.synapse/workspaces/bigdatapools",)}


def _check_attached(data: dict, report: _Report) -> None:
    for name, c in sorted((data.get("computes") or {}).items()):
        if c.get("type") not in _ATTACH_TYPES or "resourceId" not in c:
            continue
        path = ("computes", name, "resourceId")
        ref = parse_resource_id(c["resourceId"])
        if ref is None:
            report.add(path, "R202", f"'{c['resourceId']}' is not a resource ID; expected {ID_FORM}")
        elif ref.type.lower() not in _ATTACH_TYPES[c["type"]]:
            report.add(path, "R203", f"this ID names a {ref.type}; a {c['type']} compute attaches a "
                                     f"{' or '.join(_ATTACH_TYPES[c['type']])}")


_SYSTEM_DATASTORES = {"workspaceblobstore", "workspacefilestore", "workspaceartifactstore",
                      "workspaceworkingdirectory"}


def _check_datastores(data: dict, report: _Report) -> None:
    needs = {"blob": "container", "adlsGen2": "container", "fileShare": "fileShare"}
    for name, d in sorted((data.get("datastores") or {}).items()):
        path = ("datastores", name)
        ref = parse_resource_id(d["account"])
        if ref is None:
            report.add(path + ("account",), "R202", f"'{d['account']}' is not a resource ID; expected {ID_FORM}")
        elif ref.type.lower() != "microsoft.storage/storageaccounts":
            report.add(path + ("account",), "R203", f"this ID names a {ref.type}, but a storage account is expected")
        key = needs[d["type"]]
        if key not in d:
            report.add(path, "R219", f"a {d['type']} datastore needs '{key}'", key=True)
        other = "fileShare" if key == "container" else "container"
        if other in d:
            report.add(path + (other,), "R219", f"a {d['type']} datastore has no '{other}'; use '{key}'", key=True)
        if name.lower() in _SYSTEM_DATASTORES:
            report.add(path, "R219", f"'{name}' is one of the datastores the workspace creates itself "
                                     f"({', '.join(sorted(_SYSTEM_DATASTORES))}); choose another name", key=True)
        if d["type"] == "adlsGen2" and d.get("credentials", "none") != "none":
            report.add(path + ("credentials",), "R219", "ADLS Gen2 datastores take identity-based access only (or a "
                                                        "service principal): remove credentials")
        if d["type"] == "fileShare" and d.get("credentials", "none") == "none":
            report.add(path + ("type",), "R219", "Azure ML reads file shares with an account key or SAS only; set "
                                                 "credentials: accountKey or sas (passed as a secure parameter)")


def _check_operations(data: dict, report: _Report) -> None:
    if data.get("locks") == "ReadOnly":
        report.add(("locks",), "R218", "a ReadOnly lock makes every later deployment of this template fail "
                                       "(ScopeLocked) and blocks writes Azure ML itself makes (keys, compute scaling, "
                                       "managed network rules); use CanNotDelete")
    diag = data.get("diagnostics")
    ai = data.get("applicationInsights") or {}
    if diag is True and ("existing" in ai or (data.get("workspace") or {}).get("kind") == "Project"):
        report.add(("diagnostics",), "R218", "the spec creates no Log Analytics workspace to send diagnostics to; "
                                             "use diagnostics: {logAnalytics: <resource ID>}")
    if isinstance(diag, dict):
        ref = parse_resource_id(diag["logAnalytics"])
        if ref is None or ref.type.lower() != "microsoft.operationalinsights/workspaces":
            report.add(("diagnostics", "logAnalytics"), "R203" if ref else "R202",
                       "expected the resource ID of a Log Analytics workspace (Microsoft.OperationalInsights/workspaces)")


def _check_datastores_auth(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    storage = data.get("storage") or {}
    if ws.get("systemDatastoresAuthMode") == "AccessKey" and "existing" not in storage and ws.get("kind") != "Project":
        report.add(("workspace", "systemDatastoresAuthMode"), "R219",
                   "the storage account amlgen creates has shared-key access off, so AccessKey datastores cannot sign "
                   "in; use Identity (default) or UserDelegationSAS, or bring an existing storage account")


def _check_compute_network(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    managed = (ws.get("managedNetwork") or {}).get("isolationMode", "Disabled") != "Disabled"
    closed = ws.get("publicNetworkAccess") == "Disabled"
    for name, c in sorted((data.get("computes") or {}).items()):
        if c.get("type") not in ("cluster", "instance"):
            continue
        path = ("computes", name)
        if "subnet" in c:
            ref = parse_resource_id(c["subnet"])
            if is_subnet_name(c["subnet"]):
                pass  # a subnet of `network`, by name: _check_network
            elif ref is None or ref.type.lower() != "microsoft.network/virtualnetworks/subnets":
                report.add(path + ("subnet",), "R203" if ref else "R202",
                           "expected the resource ID of a subnet (Microsoft.Network/virtualNetworks/subnets)")
            if managed:
                report.add(path + ("subnet",), "R212", "with a managed network, computes run in it; remove 'subnet' "
                                                       "(or set managedNetwork.isolationMode: Disabled)", key=True)
        elif closed and not managed:
            report.add(path, "R212", "the workspace is closed, so its computes get no public IP, which Azure ML allows "
                                     "only inside a subnet: set 'subnet', or give the workspace a managed network",
                       key=True)


def _check_reachable(data: dict, report: _Report) -> None:
    ws = data.get("workspace") or {}
    if ws.get("publicNetworkAccess") != "Disabled" or ws.get("kind") == "Project":
        return
    pe = data.get("privateEndpoints")
    if not isinstance(pe, dict) or "workspace" not in pe.get("targets", ["workspace"]):
        allowed = ws.get("ipAllowlist") or (ws.get("networkAcls") or {}).get("ipRules")
        if not allowed:
            report.add(("workspace", "publicNetworkAccess"), "R221",
                       "the workspace is closed to the public network and has no private endpoint, so people reach "
                       "it only through one you create elsewhere; add privateEndpoints (targets: [workspace])",
                       WARNING)


def _check_image_build_compute(data: dict, report: _Report) -> None:
    """Images build on a compute cluster. A name the spec declares must be a cluster (R230); a name it does not
    declare must exist before the first image build (R231): Azure stores the name without checking it, as
    Microsoft's own AVM test does (avm/res/machine-learning-services/workspace/tests/e2e/max: imageBuildCompute:
    'testcompute', a compute the test never creates)."""
    build = (data.get("workspace") or {}).get("imageBuildCompute")
    if not build:
        return
    computes = data.get("computes") or {}
    clusters = sorted(n for n, c in computes.items() if c.get("type") == "cluster")
    path = ("workspace", "imageBuildCompute")
    if build in computes and computes[build].get("type") != "cluster":
        report.add(path, "R230", f"'{build}' is not a compute cluster (type: {computes[build].get('type')}), but images "
                                 f"build on a compute cluster; name a cluster ({', '.join(clusters) or 'this spec declares none'}) or "
                                 "declare one under computes with type: cluster")
    elif build not in computes and RULES["compute"].problem(build):
        report.add(path, "R201", f"{RULES['compute'].problem(build)}; no compute can have this name")
    elif build not in computes:
        report.add(path, "R231", f"'{build}' is not declared under computes, so this deployment does not create it: "
                                 "the compute cluster must exist in the workspace before the first image build (an "
                                 f"environment build fails until then); declare it here with type: cluster"
                                 + (f" (declared clusters: {', '.join(clusters)})" if clusters else ""), WARNING)


def _check_compute_ssh(data: dict, report: _Report) -> None:
    """SSH on a compute instance is fixed at creation and needs a way to log in: a public key, or (for an
    instance created for another user) no key, which the owner adds in the studio afterwards (Learn,
    how-to-create-compute-instance, "Set up an SSH key later")."""
    for name, c in sorted((data.get("computes") or {}).items()):
        ssh = c.get("ssh")
        if c.get("type") != "instance" or ssh in (None, False):
            continue
        path = ("computes", name, "ssh")
        if ssh is True and "assignedUser" not in c:
            report.add(path, "R232", "ssh: true gives no way to log in: the instance belongs to whoever deploys the "
                                     "template (often a pipeline), who cannot add a key later; give the key: "
                                     "ssh: {publicKey: 'ssh-rsa AAAA...'} (or set assignedUser, whose owner adds a "
                                     "key in the studio after creation)")
        elif isinstance(ssh, dict):
            key = ssh.get("publicKey", "")
            if not (key.startswith("ssh-rsa ") or key.startswith("---- BEGIN SSH2 PUBLIC KEY ----")):
                report.add(path + ("publicKey",), "R233",
                           "Azure takes an RSA public key: one line starting with 'ssh-rsa ' (the contents of "
                           "~/.ssh/id_rsa.pub), or the multi-line SSH2 form starting with "
                           "'---- BEGIN SSH2 PUBLIC KEY ----'; generate one with ssh-keygen -t rsa -b 4096")


def _check_vm_sizes(data: dict, report: _Report) -> None:
    """Retired VM sizes cannot be created (R234); sizes announced for retirement still can, until their date (R235).
    Compared with the table's fixed AS_OF date, never today's, so findings do not change from one day to the next."""
    for name, c in sorted((data.get("computes") or {}).items()):
        if c.get("type") not in ("cluster", "instance"):
            continue
        size = c.get("vmSize", DEFAULT_VM_SIZE)
        r = retirement(size)
        if r is None:
            continue
        path = ("computes", name, "vmSize") if "vmSize" in c else ("computes", name)
        if r.retired():
            report.add(path, "R234", f"{size} ({r.series} series) was retired on {r.on.isoformat()}: Azure cannot "
                                     f"create it; choose a current size, e.g. {r.replacement}", key="vmSize" not in c)
        else:
            report.add(path, "R235", f"{size} ({r.series} series) is announced for retirement on {r.on.isoformat()} "
                                     f"(as of {AS_OF.isoformat()}); new subscriptions may not be able to deploy it and "
                                     f"the compute stops on that date; consider {r.replacement}", WARNING,
                       key="vmSize" not in c)


def _check_compute_identity(data: dict, report: _Report) -> None:
    """A compute instance with a managed identity shuts down when idle only if that identity has Contributor on the
    workspace (Learn, how-to-create-compute-instance#configure-idle-shutdown). amlgen gives instances a
    system-assigned identity by default (for image pulls with the registry's admin user off) and grants it
    nothing, so it says so."""
    for name, c in sorted((data.get("computes") or {}).items()):
        if c.get("type") == "instance" and c.get("identity", "SystemAssigned") != "None":
            report.add(("computes", name), "R236",
                       "the instance has a managed identity (system-assigned unless 'identity' says otherwise), so "
                       "idle shutdown only happens once that identity has Contributor on the workspace; grant it "
                       "after deployment, or set identity: None if the instance needs no identity", WARNING,
                       key=True)


def _check_key_vault_recovery(data: dict, report: _Report) -> None:
    # Key Vault's createMode "recover" restores the soft-deleted vault of that name; with no such vault (as on
    # every deployment after the one that recovered it) the request fails: the setting is for one deployment.
    # https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview; "recover - recover an existing
    # soft-deleted KeyVault. Deployment will fail if no soft-deleted KeyVault is found."
    # (https://github.com/Azure/azure-service-operator/blob/main/docs/hugo/content/guide/keyvaults.md)
    kv = data.get("keyVault")
    if isinstance(kv, dict) and kv.get("createMode") == "recover" and "existing" not in kv:
        report.add(("keyVault", "createMode"), "R260",
                   f"key vault '{derived_or_given(data, 'keyVault')}' is recovered from soft delete by the next "
                   "deployment; createMode: recover is one-shot: remove it once that deployment has succeeded, or "
                   "every later deployment fails (there is no deleted vault left to recover)", WARNING)
def _check_managed_network_computes(data: dict, report: _Report) -> None:
    """Learn (how-to-managed-network, "Limitations"): Kubernetes and attached VMs are not supported in a managed
    virtual network (Databricks and Synapse Spark are, through private endpoints)."""
    if not managed(data):
        return
    for name, c in sorted((data.get("computes") or {}).items()):
        if isinstance(c, dict) and c.get("type") == "kubernetes":
            report.add(("computes", name, "type"), "R251",
                       f"Kubernetes computes are not supported in a workspace with a managed network (isolationMode: "
                       f"{isolation_mode(data)}); attach the cluster to a workspace without one, or remove it")


def _check_workspace_outbound_rule(data: dict, report: _Report) -> None:
    if not (managed(data) and allow_list_only(data)):
        return
    rules = ((data.get("workspace") or {}).get("managedNetwork") or {}).get("outboundRules") or {}
    if WORKSPACE_RULE_NAME in rules:
        report.add(("workspace", "managedNetwork", "outboundRules", WORKSPACE_RULE_NAME), "R252",
                   f"the workspace is open only to an IP allow-list, so amlgen adds the outbound rule "
                   f"'{WORKSPACE_RULE_NAME}' (a private endpoint to the workspace, which computes in the managed "
                   "network need); rename this rule", key=True)


_PROJECT_TAKES_FROM_HUB = ("sku", "hbi", "imageBuildCompute", "managedNetwork", "encryption",
                           "systemDatastoresAuthMode", "ipAllowlist", "networkAcls", "allowRoleAssignmentOnRG")


def _check_project_settings(data: dict, report: _Report) -> None:
    """A Project sends only what azure-ai-ml's project template sends (arm_templates/workspace_project.json):
    friendly name, description, identity, hub, public network access and serverless compute."""
    ws = data.get("workspace") or {}
    if ws.get("kind") != "Project":
        return
    for key in _PROJECT_TAKES_FROM_HUB:
        if key in ws:
            report.add(("workspace", key), "R215",
                       f"a Project takes '{key}' from its hub (Azure ML's project template does not send it); "
                       f"remove it here and set it on the hub", key=True)


def _check_feature_store_connections(data: dict, report: _Report) -> None:
    fs = (data.get("workspace") or {}).get("featureStore")
    if not isinstance(fs, dict):
        return
    connections = data.get("connections") or {}
    for key, store in (("offlineStoreConnectionName", "offline"), ("onlineStoreConnectionName", "online")):
        if isinstance(fs.get(key), str) and fs[key] in connections:
            # declared here: amlgen creates it (docs/ai-hubs.md); an offline store is ADLS Gen2 only (Learn,
            # reference-yaml-feature-store: "Only data lake gen2 type of storage is supported")
            if store == "offline" and connections[fs[key]].get("category") != "ADLSGen2":
                report.add(("connections", fs[key], "category"), "R311",
                           f"the feature store's offline store is ADLS Gen2 only, but the connection '{fs[key]}' has "
                           f"category {connections[fs[key]].get('category')}; use category: ADLSGen2")
        elif isinstance(fs.get(key), str):
            report.add(("workspace", "featureStore", key), "R253",
                       f"the {store} store connection '{fs[key]}' is not declared under connections, so it must "
                       "be created in the feature store after deployment (e.g. with the Azure ML SDK or CLI) "
                       "before features are materialized; declare it under connections to have amlgen create it",
                       WARNING)


def _subnet_fields(data: dict):
    """Every `subnet:` of the spec that may name a subnet of `network`: (path, value)."""
    for name, c in sorted((data.get("computes") or {}).items()):
        if isinstance(c, dict) and c.get("type") in ("cluster", "instance") and isinstance(c.get("subnet"), str):
            yield ("computes", name, "subnet"), c["subnet"]
    pe = data.get("privateEndpoints")
    if isinstance(pe, dict) and isinstance(pe.get("subnet"), str):
        yield ("privateEndpoints", "subnet"), pe["subnet"]
    sc = (data.get("workspace") or {}).get("serverlessCompute")
    if isinstance(sc, dict) and isinstance(sc.get("subnet"), str):
        yield ("workspace", "serverlessCompute", "subnet"), sc["subnet"]


def _check_network_ranges(create: dict, report: _Report) -> None:
    """Learn (virtual-network/virtual-networks-faq): the ranges Azure accepts, subnets of at least /29 inside the
    address space, and "Subnet address spaces cannot overlap one another"."""
    import ipaddress
    base = ("network", "create")
    space = create["addressSpace"]
    ranges = [(base + ("addressSpace",), space)] if isinstance(space, str) else [
        (base + ("addressSpace", i), s) for i, s in enumerate(space)]
    spaces: list = []
    for path, text in ranges:
        problem = vnet.cidr_problem(text)
        if problem:
            report.add(path, "R290", f"{problem}; give the address space as <network address>/<prefix length>, "
                                     "e.g. 10.40.0.0/16")
            continue
        net = ipaddress.IPv4Network(text)
        for _, other in spaces:
            if net.overlaps(other):
                report.add(path, "R293", f"the address range {text} overlaps {other} of the same network; remove "
                                         "one or make them disjoint")
        spaces.append((path, net))
    subnets: list = []
    for name, s in sorted(create["subnets"].items()):
        path = base + ("subnets", name, "prefix")
        problem = vnet.cidr_problem(s["prefix"])
        if problem:
            report.add(path, "R290", f"{problem}; give the subnet as <network address>/<prefix length>")
            continue
        net = ipaddress.IPv4Network(s["prefix"])
        if net.prefixlen > vnet.SMALLEST_SUBNET:
            report.add(path, "R291", f"'{s['prefix']}' is a /{net.prefixlen}, but the smallest subnet Azure supports "
                                     f"is a /{vnet.SMALLEST_SUBNET} (8 addresses, 5 of them reserved by Azure); use a "
                                     "shorter prefix length")
        if spaces and not any(net.subnet_of(space) for _, space in spaces):
            report.add(path, "R292", f"{net} is not inside the network's address space "
                                     f"({', '.join(str(space) for _, space in spaces)}); choose a range inside it or "
                                     "widen addressSpace")
        for other_name, other in subnets:
            if net.overlaps(other):
                report.add(path, "R293", f"{net} overlaps subnet '{other_name}' ({other}); subnets of a network "
                                         "cannot share addresses: choose a disjoint range")
        subnets.append((name, net))


def _check_network(data: dict, report: _Report) -> None:
    net = data.get("network")
    if isinstance(net, dict) and "existing" in net:
        ref = parse_resource_id(net["existing"])
        if ref is None:
            report.add(("network", "existing"), "R202", f"'{net['existing']}' is not a resource ID; expected {ID_FORM}")
        elif ref.type.lower() != "microsoft.network/virtualnetworks":
            report.add(("network", "existing"), "R203", f"this ID names a {ref.type}, but a virtual network "
                                                        "(Microsoft.Network/virtualNetworks) is expected")
    create = vnet.created(data)
    if create is not None:
        _check_network_ranges(create, report)
    subnets = vnet.created_subnets(data)
    for path, value in _subnet_fields(data):
        if not is_subnet_name(value):
            continue
        if create is None and vnet.existing_network(data) is None:
            report.add(path, "R294", f"'{value}' names a subnet, but the spec has no `network` whose subnets it could "
                                     "name; give the subnet's resource ID, or declare network.create (or "
                                     "network.existing: <virtual network ID>)")
        elif create is not None and value not in subnets:
            report.add(path, "R294", f"network.create declares no subnet '{value}' (declared: "
                                     f"{', '.join(sorted(subnets))}); name one of them or declare it")
    if create is None:
        return
    ws = data.get("workspace") or {}
    # no public IP on nodes of a closed workspace (model.build); a managed network refuses subnets (R212)
    if ws.get("publicNetworkAccess") == "Disabled" and not managed(data):
        for name, c in sorted((data.get("computes") or {}).items()):
            subnet = c.get("subnet") if c.get("type") in ("cluster", "instance") else None
            if subnet in subnets and not subnets[subnet].get("natGateway", False):
                report.add(("computes", name, "subnet"), "R295",
                           f"the workspace is closed, so '{name}' gets no public IP, and subnet '{subnet}' has no NAT "
                           "gateway: the nodes would have no outbound path to Azure ML, Batch and Storage (amlgen's "
                           f"subnets have no default outbound access); set natGateway: true on subnet '{subnet}'")
    sc = ws.get("serverlessCompute")
    if isinstance(sc, dict) and sc.get("subnet") in subnets and not subnets[sc["subnet"]].get("natGateway", False) \
            and sc.get("noPublicIp", ws.get("publicNetworkAccess") == "Disabled"):
        report.add(("workspace", "serverlessCompute", "subnet"), "R295",
                   f"serverless nodes get no public IP (noPublicIp), and subnet '{sc['subnet']}' has no NAT gateway: "
                   "they would have no outbound path (amlgen's subnets have no default outbound access); set "
                   f"natGateway: true on subnet '{sc['subnet']}'")
    pe = data.get("privateEndpoints")
    if isinstance(pe, dict) and pe.get("subnet") in subnets:
        for key in ("resourceGroup", "location"):
            if key in pe:
                report.add(("privateEndpoints", key), "R296",
                           f"the endpoints go into subnet '{pe['subnet']}' of the network this spec creates, so they "
                           f"deploy beside it, in the deployment's resource group and region; remove '{key}'",
                           key=True)


# -- Specs that add to an existing workspace (workspace.existing) ------------------------------------------------

# Top-level keys that belong to the existing workspace's owner, and why (R270).
_OWNER_SECTIONS = {
    "storage": "the workspace's default storage account is fixed when the workspace is created, by its owner",
    "keyVault": "the workspace's key vault is fixed when the workspace is created, by its owner",
    "applicationInsights": "the workspace's Application Insights component is its owner's",
    "containerRegistry": "the workspace's container registry is its owner's",
    "privateEndpoints": "the workspace's private endpoints are its owner's (in the owner's network)",
    "resourceGroup": "the template deploys into the existing workspace's resource group (from workspace.existing), "
                     "which exists already",
    "nameSeed": "it only seeds the names of the resources created with a workspace, and this spec creates none",
    "diagnostics": "diagnostic settings of the workspace and its dependents are its owner's",
    "locks": "locks on the workspace and its dependents are its owner's",
    # not added to an existing workspace yet (plan._build_existing plans computes, datastores and grants only):
    # refused rather than dropped without a word
    "aiServices": "an AI Services account beside the workspace belongs to its owner's spec",
    "aiSearch": "an AI Search service beside the workspace belongs to its owner's spec",
    "connections": "connections are not added to an existing workspace yet; the owner's spec declares them",
}
_OWNER_WORKSPACE_KEYS = {
    "identity": "the workspace's identity is its owner's (a compute here takes identity: SystemAssigned or None)",
    "encryption": "the workspace's encryption is fixed when it is created, by its owner",
}
_TEAM_WORKSPACE_KEYS = ("existing", "outboundRules")
_CHECKS_NEEDING_THE_WORKSPACE = (
    "whether its computes need a subnet (a closed workspace without a managed network), may not have one or be "
    "Kubernetes (a managed network) and get a public IP, whether its region is the spec's location, and whether "
    "identity-based datastores can read data with its system-assigned identity")


def is_existing_workspace(data: dict) -> bool:
    return existing_workspace(data) is not None


def _check_existing_workspace_id(data: dict, report: _Report) -> None:
    path = ("workspace", "existing")
    ref = parse_resource_id(existing_workspace(data))
    if ref is None:
        report.add(path, "R202", f"'{existing_workspace(data)}' is not a resource ID; expected {ID_FORM}")
    elif ref.type.lower() != WORKSPACE_TYPE.lower():
        report.add(path, "R203", f"this ID names a {ref.type}, but a workspace ({WORKSPACE_TYPE}) is expected")


def _check_owner_keys(data: dict, report: _Report) -> None:
    """A team's spec adds computes, datastores and role assignments to a workspace it does not own: everything
    else is the owner's, and is refused with the reason (R270)."""
    fix = "set it in the workspace owner's spec (this spec only adds computes, datastores and role assignments)"
    for key, why in _OWNER_SECTIONS.items():
        if key in data:
            report.add((key,), "R270", f"'{key}' belongs to the existing workspace's owner: {why}; remove it here "
                                       f"({fix})", key=True)
    if isinstance(data.get("network"), dict) and "create" in data["network"]:
        report.add(("network", "create"), "R270", "a spec that adds to an existing workspace creates no network: its "
                                                  "computes go into the owner's; give their subnet IDs, or name the "
                                                  "subnets of network.existing", key=True)
    for key in sorted(data.get("workspace") or {}):
        if key in _TEAM_WORKSPACE_KEYS:
            continue
        why = _OWNER_WORKSPACE_KEYS.get(key, "it is a setting of the workspace itself, which belongs to its owner")
        report.add(("workspace", key), "R270", f"'{key}' belongs to the existing workspace's owner: {why}; remove it "
                                               f"here ({fix})", key=True)
    for name, c in sorted((data.get("computes") or {}).items()):
        if c.get("identity") not in (None, "SystemAssigned", "None"):
            report.add(("computes", name, "identity"), "R270",
                       f"'{c['identity']}' would be one of the workspace's user-assigned identities "
                       "(workspace.identity), which belong to its owner; use identity: SystemAssigned or None")
    for i, ra in enumerate(data.get("roleAssignments") or []):
        scope = ra.get("scope", "workspace")
        if scope not in ("workspace", "resourceGroup"):
            if isinstance(scope, dict) or str(scope).startswith("/"):
                shown = f"{{existing: {scope['existing']}}}" if isinstance(scope, dict) else f"'{scope}'"
                why = (f"{shown} is outside the workspace: a spec that adds to an existing workspace makes no nested "
                       "deployments; grant it in a spec of its own, or use scope: workspace or resourceGroup")
            else:
                why = (f"'{scope}' is a dependent of the existing workspace, which belongs to its owner and which this "
                       "spec does not know; use scope: workspace or resourceGroup (the workspace's resource group), "
                       "or ask the owner to grant the role")
            report.add(("roleAssignments", i, "scope"), "R270", why)


def _check_team_outbound_rules(data: dict, report: _Report) -> None:
    """Refused, and why (the issue's fallback): a workspace PUT carries managedNetwork.outboundRules as a whole
    dictionary ("Creates or updates a workspace with the specified parameters", Workspaces_CreateOrUpdate in
    azure-rest-api-specs), and neither the REST specs nor Learn's how-to-managed-network say whether the owner's
    next PUT, which lists only the owner's rules, keeps a rule a team created as a workspaces/outboundRules child
    resource (ManagedNetworkSettingsRule_CreateOrUpdate). A rule that can vanish on the owner's next deployment
    is worse than none."""
    rules = (data.get("workspace") or {}).get("outboundRules")
    if rules is None:
        return
    if not is_existing_workspace(data):
        report.add(("workspace", "outboundRules"), "R272",
                   "workspace.outboundRules is for a spec that adds to an existing workspace (workspace.existing); "
                   "a workspace this spec creates takes its rules under workspace.managedNetwork.outboundRules",
                   key=True)
        return
    for name in sorted(rules):
        report.add(("workspace", "outboundRules", name), "R272",
                   "outbound rules cannot be added to an existing workspace yet: the workspace's owner deploys "
                   "managedNetwork.outboundRules as a whole with the workspace, and neither the REST API specs nor "
                   "Learn say whether that keeps a rule added as a workspaces/outboundRules child resource, so the "
                   "owner's next deployment could remove it; ask the owner to add the rule to their spec "
                   "(workspace.managedNetwork.outboundRules)", key=True)


def _check_needs_the_workspace(data: dict, report: _Report) -> None:
    """What depends on the workspace's own settings cannot be checked offline: a warning that says so (R271);
    `amlgen what-if` / `deploy` read the workspace and run the checks (check_live)."""
    computes = sorted(n for n, c in (data.get("computes") or {}).items() if c.get("type") in
                      ("cluster", "instance", "kubernetes"))
    datastores = sorted(n for n, d in (data.get("datastores") or {}).items() if d.get("credentials", "none") == "none")
    if computes or datastores:
        what = "; ".join(part for part in (f"computes {', '.join(computes)}" if computes else "",
                                           f"datastores {', '.join(datastores)}" if datastores else "") if part)
        report.add(("workspace", "existing"), "R271",
                   f"amlgen cannot see the existing workspace offline, so {_CHECKS_NEEDING_THE_WORKSPACE} ({what}) "
                   "is checked only by `amlgen what-if` and `amlgen deploy`, which read the workspace first", WARNING)


def _check_existing(data: dict, report: _Report) -> None:
    """The rules for a spec that adds to an existing workspace: its own ID, the owner's keys refused, and the
    checks of what it adds that need nothing of the workspace."""
    _check_existing_workspace_id(data, report)
    _check_owner_keys(data, report)
    # the owner's settings are refused above: the other checks must not act on them
    data = {**data, "workspace": {k: v for k, v in data["workspace"].items() if k in _TEAM_WORKSPACE_KEYS}}
    _check_needs_the_workspace(data, report)
    _check_role_assignments(data, report)
    _check_computes(data, report)
    _check_compute_ssh(data, report)
    _check_vm_sizes(data, report)
    _check_compute_identity(data, report)
    _check_compute_network(data, report)
    _check_attached(data, report)
    _check_datastores(data, report)
    _check_network(data, report)  # subnet names of a network the spec names (network.existing)


def live_settings(workspace: dict) -> dict:
    """The settings of a workspace GET (ARM JSON) that the spec rules read, in the spec's own form."""
    props = workspace.get("properties") or {}
    mn = props.get("managedNetwork") or {}
    return {"publicNetworkAccess": props.get("publicNetworkAccess") or "Enabled",
            "managedNetwork": {"isolationMode": mn.get("isolationMode") or "Disabled"}}


def check_live(doc: Document, workspace: dict) -> list[Finding]:
    """The checks R271 defers, run against the workspace as Azure has it (its GET, ARM JSON): each finding says
    it comes from the live workspace. Also: the spec's location must be the workspace's region (R273)."""
    report = _Report(doc)
    data = {**doc.data, "workspace": live_settings(workspace)}
    _check_compute_network(data, report)
    _check_managed_network_computes(data, report)
    where = workspace.get("location")
    if where and doc.data.get("location") and doc.data["location"].lower() != where.replace(" ", "").lower():
        # Learn (how-to-create-attach-compute-cluster, Limitations): "Compute clusters can be created in a different
        # region than your workspace. This functionality is in preview, and is only available for compute clusters,
        # not compute instances. This preview isn't available if you're using a private endpoint-enabled workspace."
        instances = sorted(n for n, c in (doc.data.get("computes") or {}).items() if c.get("type") == "instance")
        private = bool((workspace.get("properties") or {}).get("privateEndpointConnections"))
        fix = "remove location (amlgen deploy then takes the workspace's region) or correct it"
        if instances or private:
            why = (f"compute instances ({', '.join(instances)}) must be in the workspace's region" if instances else
                   "a workspace with private endpoints takes computes only in its own region")
            report.add(("location",), "R273", f"the workspace is in {where}, but location says "
                                              f"{doc.data['location']}: {why}; {fix}")
        elif any(c.get("type") == "cluster" for c in (doc.data.get("computes") or {}).values()):
            report.add(("location",), "R273", f"the workspace is in {where}, but location says "
                                              f"{doc.data['location']}: compute clusters in another region are a "
                                              "preview, with more latency and data transfer costs; " + fix, WARNING)
    identity = ((workspace.get("identity") or {}).get("type") or "").replace(" ", "")
    for ds_name, d in sorted((doc.data.get("datastores") or {}).items()):
        if d.get("credentials", "none") == "none" and identity and not identity.lower().startswith("systemassigned"):
            report.add(("datastores", ds_name), "R273",
                       f"the workspace has no system-assigned identity (identity type {identity}), which an "
                       "identity-based datastore reads data with (serviceDataAccessAuthIdentity); use credentials: "
                       "accountKey or sas, or ask the owner for a system-assigned identity", key=True)
    name = workspace.get("name") or "the workspace"
    return [f if f.rule == "R273" else
            Finding(f.file, f.line, f.column, f.rule, f.path, f"{name} as it is in Azure: {f.message}", f.severity)
            for f in report.findings if f.path != "workspace.existing"]


def node_public_ip(workspace: dict) -> bool:
    """Whether computes added to this workspace (its GET) get a public IP: not when it is closed or its managed
    network carries their traffic, as model.build decides for a workspace a spec creates."""
    settings = live_settings(workspace)
    return (settings["publicNetworkAccess"] != "Disabled"
            and settings["managedNetwork"]["isolationMode"] not in MANAGED_MODES)


def check(doc: Document) -> list[Finding]:
    """Findings for schema-valid data (the caller runs the schema first)."""
    report = _Report(doc)
    _check_team_outbound_rules(doc.data, report)
    if is_existing_workspace(doc.data):
        _check_existing(doc.data, report)
        return report.findings
    _check_sections(doc.data, report)
    _check_storage_sku(doc.data, report)
    _check_managed_network(doc.data, report)
    _check_registry(doc.data, report)
    _check_role_assignments(doc.data, report)
    _check_computes(doc.data, report)
    _check_image_build_compute(doc.data, report)
    _check_compute_ssh(doc.data, report)
    _check_vm_sizes(doc.data, report)
    _check_compute_identity(doc.data, report)
    _check_private_endpoints(doc.data, report)
    _check_kind(doc.data, report)
    _check_identity(doc.data, report)
    _check_encryption(doc.data, report)
    _check_encryption_identity(doc.data, report)
    _check_primary_identity(doc.data, report)
    _check_identity_grants(doc.data, report)
    _check_cmk_key(doc.data, report)
    _check_compute_network(doc.data, report)
    _check_datastores_auth(doc.data, report)
    _check_reachable(doc.data, report)
    _check_preview(doc.data, report)
    _check_attached(doc.data, report)
    _check_datastores(doc.data, report)
    _check_operations(doc.data, report)
    _check_key_vault_recovery(doc.data, report)
    _check_managed_network_computes(doc.data, report)
    _check_workspace_outbound_rule(doc.data, report)
    _check_project_settings(doc.data, report)
    _check_feature_store_connections(doc.data, report)
    _check_network(doc.data, report)
    _check_ai_resources(doc.data, report)
    _check_model_deployments(doc.data, report)
    _check_connections(doc.data, report)
    return report.findings


# --- AI hubs (docs/ai-hubs.md) ---------------------------------------------------------------------------------

_AI_WORDS = {"aiServices": "AI Services account", "aiSearch": "search service"}


def _check_ai_resources(data: dict, report: _Report) -> None:
    """The custom subdomain's name; role assignments and private endpoints on an AI resource the spec creates; the
    private DNS zones the cloud lacks; outbound rule names amlgen takes."""
    ais = data.get("aiServices")
    if isinstance(ais, dict) and ais.get("restore") is True and "existing" not in ais:
        report.add(("aiServices", "restore"), "R312",
                   "restore: true brings back the soft-deleted account of this name (a deleted account keeps its "
                   "name for 48 hours); it is for the one deployment that recovers it: deploy once, then remove it",
                   WARNING)
    if isinstance(ais, dict) and isinstance(ais.get("customSubDomain"), str):
        problem = RULES["aiServices"].problem(ais["customSubDomain"])
        if problem:
            report.add(("aiServices", "customSubDomain"), "R201", f"{problem}; choose another subdomain")
    for i, ra in enumerate(data.get("roleAssignments") or []):
        scope = ra.get("scope")
        if isinstance(scope, str) and scope in _AI_WORDS and not creates(data, scope, project_owns=True):
            what = "brings an existing" if isinstance(data.get(scope), dict) else "creates no"
            report.add(("roleAssignments", i, "scope"), "R211",
                       f"the spec {what} {_AI_WORDS[scope]}; assign roles on a brought resource where it is "
                       "managed, or use scope: workspace or resourceGroup")
    pe = data.get("privateEndpoints")
    if isinstance(pe, dict):
        for i, target in enumerate(pe.get("targets", [])):
            if target in _AI_WORDS and not creates(data, target, project_owns=True):
                report.add(("privateEndpoints", "targets", i), "R213",
                           f"the spec does not create the {_AI_WORDS[target]}; give it a private endpoint where it "
                           f"is managed, or remove '{target}'")
        cloud = data.get("cloud", "AzureCloud")
        for target in private_endpoint_targets(data):
            missing = MISSING_DNS_ZONES.get(cloud, {}).get(PRIVATE_ENDPOINT_GROUPS.get(target, ""), ())
            if missing and creates(data, target, project_owns=True):
                report.add(("privateEndpoints",), "R309",
                           f"{cloud} has no private DNS zone like {', '.join(missing)} (Learn's private DNS zone "
                           f"values list none there): the {_AI_WORDS.get(target, target)}'s endpoints of that zone do "
                           "not resolve privately; the endpoint gets the zones the cloud has", WARNING, key=True)
    mn = _section(data, ("workspace", "managedNetwork"))
    if isinstance(mn, dict) and managed(data):
        for symbol, rule_name in AI_OUTBOUND_RULES.items():
            if creates(data, symbol, project_owns=True) and rule_name in (mn.get("outboundRules") or {}):
                report.add(("workspace", "managedNetwork", "outboundRules", rule_name), "R310",
                           f"amlgen adds the outbound rule '{rule_name}' to the {_AI_WORDS[symbol]} the spec "
                           "creates; rename this rule or remove it", key=True)


def _check_model_deployments(data: dict, report: _Report) -> None:
    ais = data.get("aiServices")
    if not isinstance(ais, dict):
        return
    kind = ais.get("kind", "AIServices")
    for name, d in sorted((ais.get("deployments") or {}).items()):
        path = ("aiServices", "deployments", name)
        fmt = d["model"]["format"]
        if fmt not in MODEL_FORMATS[kind]:
            other = [k for k, formats in MODEL_FORMATS.items() if fmt in formats]
            hint = f"; the model needs an account of kind {other[0]}" if other else ""
            report.add(path + ("model", "format"), "R305",
                       f"an account of kind {kind} does not serve '{fmt}' models (it serves: "
                       f"{', '.join(MODEL_FORMATS[kind])}){hint}")
        sku = d["sku"]["name"]
        if sku not in DEPLOYMENT_SKUS:
            import difflib
            close = difflib.get_close_matches(sku, DEPLOYMENT_SKUS, n=1, cutoff=0.6)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            report.add(path + ("sku", "name"), "R306",
                       f"'{sku}' is not a deployment type{hint} (known: {', '.join(DEPLOYMENT_SKUS)})")
        if d["sku"]["capacity"] < 1:
            report.add(path + ("sku", "capacity"), "R307",
                       f"capacity is {d['sku']['capacity']}: a deployment needs at least 1 unit (thousands of tokens "
                       "per minute, or PTUs for provisioned types)")


def _check_connections(data: dict, report: _Report) -> None:
    users = {u.get("name") or u.get("existing")
             for u in ((data.get("workspace") or {}).get("identity") or {}).get("userAssigned", [])}
    for name, c in sorted((data.get("connections") or {}).items()):
        path = ("connections", name)
        category, auth, target = c["category"], c["auth"], c["target"]
        if auth not in CONNECTION_AUTH[category]:
            report.add(path + ("auth",), "R302", f"{category} connections take auth "
                       f"{' or '.join(CONNECTION_AUTH[category])}, not {auth} (docs/ai-hubs.md, Connections)")
        if auth == "ManagedIdentity" and "identity" not in c:
            report.add(path, "R308", "a ManagedIdentity connection needs identity: one of "
                                     "workspace.identity.userAssigned (its name or ID)", key=True)
        elif "identity" in c and auth != "ManagedIdentity":
            report.add(path + ("identity",), "R308", f"identity is used by auth: ManagedIdentity only (this is "
                                                     f"{auth}); remove it", key=True)
        elif "identity" in c and c["identity"] not in users:
            report.add(path + ("identity",), "R308", f"'{c['identity']}' is not one of workspace.identity."
                                                     "userAssigned (its name or ID); declare it there")
        if "keys" in c and auth != "CustomKeys":
            report.add(path + ("keys",), "R308", f"keys are used by auth: CustomKeys only (this is {auth}); "
                                                 "remove them", key=True)
        if isinstance(target, dict):
            _check_existing_target(path, category, auth, target["existing"], report)
        elif target in TARGET_KEYWORDS:
            _check_keyword_target(data, path, category, auth, target, report)
        elif category in ACCOUNT_CATEGORIES and auth == "AAD" and _REGIONAL_ENDPOINT.match(target):
            report.add(path + ("target",), "R303",
                       f"'{target}' is a regional endpoint: Entra ID authentication needs the account's custom "
                       "subdomain endpoint (https://<subdomain>.cognitiveservices.azure.com/ or "
                       "https://<subdomain>.openai.azure.com/); set a custom subdomain on the account and use it")


# A regional (shared) Cognitive Services endpoint, which Entra ID authentication cannot use
_REGIONAL_ENDPOINT = re.compile(r"^https?://[a-z0-9-]+\.api\.cognitive\.(microsoft\.com|microsoft\.us|azure\.cn)(/|$)",
                                re.IGNORECASE)


def _check_existing_target(path, category: str, auth: str, resource: str, report: _Report) -> None:
    if category not in EXISTING_TARGETS:
        report.add(path + ("target",), "R301", f"{category} connections have no Azure resource to bring: give the "
                                               "URL as target", key=True)
        return
    ref = parse_resource_id(resource)
    arm_types = list(EXISTING_TARGETS[category])
    if ref is None:
        report.add(path + ("target", "existing"), "R202", f"'{resource}' is not a resource ID; expected {ID_FORM}")
    elif ref.type.lower() not in (t.lower() for t in arm_types):
        report.add(path + ("target", "existing"), "R203",
                   f"this ID names a {ref.type}, but {category} connections target {' or '.join(arm_types)}")
    elif category in ACCOUNT_CATEGORIES and auth == "AAD":
        report.add(path + ("target", "existing"), "R303",
                   f"amlgen cannot see whether the account '{ref.name}' has a custom subdomain, which Entra ID "
                   "authentication needs (az cognitiveservices account show --query properties.customSubDomainName)",
                   WARNING)


def _check_keyword_target(data: dict, path, category: str, auth: str, keyword: str, report: _Report) -> None:
    section = data.get(keyword)
    if not isinstance(section, dict):
        report.add(path + ("target",), "R300", f"the spec has no {keyword} section, so '{keyword}' names nothing; "
                                               f"add {keyword}: or give a URL or {{existing: <ID>}}")
        return
    if category not in TARGET_KEYWORDS[keyword]:
        fits = " or ".join(TARGET_KEYWORDS[keyword])
        report.add(path + ("target",), "R301", f"'{keyword}' is the spec's {_AI_WORDS[keyword]}, which {fits} "
                                               f"connections target, not {category} connections")
        return
    if "existing" in section:
        if keyword == "aiServices" and auth == "AAD":
            report.add(path + ("target",), "R303",
                       "amlgen cannot see whether the existing account has a custom subdomain, which Entra ID "
                       "authentication needs (az cognitiveservices account show --query "
                       "properties.customSubDomainName)", WARNING)
    elif keyword == "aiServices" and auth == "ApiKey":
        report.add(path + ("auth",), "R304",
                   "the AI Services account amlgen creates has local (key) authentication off, so it refuses API "
                   "keys; use auth: AAD")
