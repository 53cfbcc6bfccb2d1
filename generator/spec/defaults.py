"""Defaults that depend on other settings of a spec, read from its (schema-valid) data: one place for what the
semantic rules check and model.build applies (the network a managed network closes, the registry SKU it needs,
the workspace identity, the default private endpoints)."""

from __future__ import annotations

# Isolation modes in which the workspace has a managed network (Disabled: none).
MANAGED_MODES = ("AllowInternetOutbound", "AllowOnlyApprovedOutbound")
APPROVED_ONLY = "AllowOnlyApprovedOutbound"

# The private-endpoint outbound rule the managed network gets to the workspace itself when the workspace is open
# only to an IP allow-list (a child resource, see plan.py); the spec's own rules cannot take this name.
WORKSPACE_RULE_NAME = "workspace-private-endpoint"

# The managed network's private-endpoint rule to the AI Services account / Search service the spec creates (plan.py):
# section -> rule name (the private-link sub-resource is clouds.PRIVATE_ENDPOINT_GROUPS[section]). The spec's own
# rules cannot take these names (R310).
AI_OUTBOUND_RULES = {"aiServices": "aiservices-private-endpoint", "aiSearch": "aisearch-private-endpoint"}

# The dependents a role assignment's scope (and the workspace identity's required roles) can name, by spec section.
GRANT_DEPENDENTS = ("storage", "keyVault", "containerRegistry", "applicationInsights")


def _workspace(data: dict) -> dict:
    ws = data.get("workspace")
    return ws if isinstance(ws, dict) else {}


def isolation_mode(data: dict) -> str:
    mn = _workspace(data).get("managedNetwork")
    mode = mn.get("isolationMode", "Disabled") if isinstance(mn, dict) else "Disabled"
    return mode if isinstance(mode, str) else "Disabled"


def managed(data: dict) -> bool:
    return isolation_mode(data) in MANAGED_MODES


def dependents_access(data: dict) -> str:
    """The default publicNetworkAccess of the storage account, key vault and registry the spec creates.

    Closed with a closed workspace, and closed whenever a managed network is on: azure-ai-ml sets
    `associatedResourcePNA` to Disabled for AllowInternetOutbound and AllowOnlyApprovedOutbound
    (_workspace_operations_base.py, _populate_arm_parameters). Each dependent's own publicNetworkAccess wins."""
    if _workspace(data).get("publicNetworkAccess") == "Disabled" or managed(data):
        return "Disabled"
    return "Enabled"


def registry_access(data: dict) -> str:
    cr = data.get("containerRegistry")
    given = cr.get("publicNetworkAccess") if isinstance(cr, dict) else None
    return given if given in ("Enabled", "Disabled") else dependents_access(data)


def registry_premium_reason(data: dict) -> str | None:
    """Why the registry the spec creates must be Premium, or None. Only Premium can disable public access or
    take a private endpoint; the managed network reaches the registry through a private endpoint always under
    AllowOnlyApprovedOutbound, and for a closed registry otherwise (Learn, how-to-managed-network, "List of
    required rules")."""
    if isolation_mode(data) == APPROVED_ONLY:
        return ("under AllowOnlyApprovedOutbound the managed network always reaches the registry through a "
                "private endpoint")
    if registry_access(data) == "Disabled":
        cr = data.get("containerRegistry")
        if isinstance(cr, dict) and cr.get("publicNetworkAccess") == "Disabled":
            cause = "containerRegistry.publicNetworkAccess is Disabled"
        elif _workspace(data).get("publicNetworkAccess") == "Disabled":
            cause = "with the workspace"
        else:
            cause = "the managed network closes the dependents amlgen creates"
        return f"the registry is closed to the public network ({cause})"
    return None


def registry_sku(data: dict) -> str:
    """The registry's SKU: the spec's, else Premium where Premium is needed, else Basic."""
    cr = data.get("containerRegistry")
    given = cr.get("sku") if isinstance(cr, dict) else None
    if isinstance(given, str):
        return given
    return "Premium" if registry_premium_reason(data) else "Basic"


def allow_list_only(data: dict) -> bool:
    """The workspace is open to the public network, but only to an IP allow-list (ipAllowlist, or networkAcls
    that deny by default). Learn (how-to-managed-network, "Enable access from selected IP Addresses"): add an
    outbound private-endpoint rule to the workspace so computes in the managed network can reach it."""
    ws = _workspace(data)
    if ws.get("publicNetworkAccess", "Enabled") != "Enabled":
        return False
    acls = ws.get("networkAcls")
    return bool(ws.get("ipAllowlist")) or (isinstance(acls, dict) and acls.get("defaultAction") == "Deny")


def creates(data: dict, section: str, *, project_owns: bool = False) -> bool:
    """The spec creates this section's resource: given (or, for a dependent, left out: created by default), not
    brought by ID, not `false`; a Project creates no dependents of its own unless `project_owns` (the AI Services
    account and Search service are a Project's too)."""
    value = data.get(section, {} if section in GRANT_DEPENDENTS else None)
    return isinstance(value, dict) and "existing" not in value and (
        project_owns or _workspace(data).get("kind") != "Project")


def private_endpoint_targets(data: dict) -> list[str]:
    """What gets a private endpoint: privateEndpoints.targets, or by default the workspace and every dependent the
    spec creates that can have one."""
    pe = data.get("privateEndpoints")
    if isinstance(pe, dict) and "targets" in pe:
        return list(pe["targets"])
    targets = ["workspace"]
    targets += ["storageBlob", "storageFile"] if creates(data, "storage") else []
    targets += ["keyVault"] if creates(data, "keyVault") else []
    targets += ["containerRegistry"] if creates(data, "containerRegistry") else []
    # the AI Services account and Search service are created by a Project too (they are not the hub's)
    targets += [s for s in ("aiServices", "aiSearch") if creates(data, s, project_owns=True)]
    return targets


def primary_identity(data: dict) -> str | None:
    """How the spec names (name or ID) the user-assigned identity that is primaryUserAssignedIdentity: the one
    `primary` names, else the only user-assigned identity of a workspace with no system-assigned one, else none.
    Identity is never guessed: AVM's primaryUserAssignedIdentity "may not be used if 'systemAssignedIdentity' is
    enabled" (https://github.com/Azure/bicep-registry-modules avm/res/machine-learning-services/workspace)."""
    ident = _workspace(data).get("identity")
    ident = ident if isinstance(ident, dict) else {}
    if "primary" in ident:
        return ident["primary"]
    users = ident.get("userAssigned") or []
    if ident.get("type", "SystemAssigned") == "UserAssigned" and len(users) == 1:
        return users[0].get("name") or users[0].get("existing")
    return None


def existing_workspace(data: dict) -> str | None:
    """The resource ID of the workspace a spec adds to (workspace.existing), or None for a spec that creates one."""
    value = _workspace(data).get("existing")
    return value if isinstance(value, str) else None
