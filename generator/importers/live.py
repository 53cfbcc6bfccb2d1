"""Import from Azure: read-only GETs of a workspace and what belongs to it, at the pinned API versions, through the
same ARM connection as `amlgen deploy` (generator.deploy.connect: sign-in, clouds, retries) and the same REST GET
as the soft-delete checks (generator.deploy.arm_get). The SDK is imported only on this path.

What is read: the workspace; its storage account, key vault, Application Insights (and its Log Analytics
workspace), container registry and user-assigned identities; computes, datastores, connections and outbound rules;
the private endpoints of its private endpoint connections with their DNS zone groups; diagnostic settings; locks;
role assignments at the workspace's and the dependents' scopes. A part that cannot be read (no permission, gone)
becomes a warning and the rest is still imported.
"""

from __future__ import annotations

from typing import Any, Callable

from generator import apiversions, naming
from generator.importers.mapping import ImportProblem

_MAX_PAGES = 50


class Reader:
    def __init__(self, client: Any, warn: Callable[[str], None]):
        self.client = client
        self.warn = warn

    def get(self, path: str, rtype: str, *, what: str, required: bool = False) -> dict | None:
        from generator.deploy import CheckFailed, arm_get

        try:
            body = arm_get(self.client, f"{path}?api-version={apiversions.api_version(rtype)}")
        except CheckFailed as exc:
            if required:
                raise ImportProblem(f"cannot read {what}: {exc}") from None
            self.warn(f"cannot read {what} ({exc}); imported without it")
            return None
        if body is None and required:
            raise ImportProblem(f"{what} does not exist (or is soft-deleted): check the subscription, resource "
                                "group and name")
        return dict(body) if body is not None else None

    def list(self, path: str, rtype: str, *, what: str, query: str = "") -> list[dict]:
        from generator.deploy import CheckFailed, arm_get

        url: str | None = f"{path}?api-version={apiversions.api_version(rtype)}{query}"
        items: list[dict] = []
        for _ in range(_MAX_PAGES):
            if not url:
                break
            try:
                page = arm_get(self.client, url) or {}
            except CheckFailed as exc:
                self.warn(f"cannot list {what} ({exc}); imported without them")
                return items
            items.extend(dict(i) for i in page.get("value") or [] if isinstance(i, dict))
            url = page.get("nextLink")
        return items


def read(reader: Reader, subscription: str, resource_group: str, name: str) -> list[dict]:
    ws_type = "Microsoft.MachineLearningServices/workspaces"
    ws_id = f"/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{ws_type}/{name}"
    workspace = reader.get(ws_id, ws_type, what=f"workspace {name} in {resource_group}", required=True)
    resources = [workspace]
    props = workspace.get("properties") or {}
    for prop, rtype in (("storageAccount", "Microsoft.Storage/storageAccounts"),
                        ("keyVault", "Microsoft.KeyVault/vaults"),
                        ("applicationInsights", "Microsoft.Insights/components"),
                        ("containerRegistry", "Microsoft.ContainerRegistry/registries")):
        rid = props.get(prop)
        if not rid:
            continue
        resource = reader.get(str(rid), rtype, what=f"the workspace's {prop} {rid}")
        if resource:
            resources.append(resource)
            law = (resource.get("properties") or {}).get("WorkspaceResourceId")
            if law:
                found = reader.get(str(law), "Microsoft.OperationalInsights/workspaces",
                                   what=f"the Log Analytics workspace {law}")
                if found:
                    resources.append(found)
    for uid in sorted((workspace.get("identity") or {}).get("userAssignedIdentities") or {}):
        found = reader.get(uid, "Microsoft.ManagedIdentity/userAssignedIdentities", what=f"the identity {uid}")
        if found:
            resources.append(found)
    for child in ("computes", "datastores", "connections", "outboundRules"):
        rtype = f"{ws_type}/{child}"
        version_type = rtype if rtype in apiversions.API_VERSIONS else ws_type
        resources += [dict(r, type=r.get("type") or rtype) for r in
                      reader.list(f"{ws_id}/{child}", version_type, what=f"the workspace's {child}")]
    # the AI Services account and Search service the connections name (docs/ai-hubs.md), with model deployments
    named = {str(((c.get("properties") or {}).get("metadata") or {}).get("ResourceId") or "") for c in resources
             if str(c.get("type", "")).lower().endswith("/connections")}
    for rid in sorted(named):
        rtype = {"microsoft.cognitiveservices/accounts": "Microsoft.CognitiveServices/accounts",
                 "microsoft.search/searchservices": "Microsoft.Search/searchServices"}.get(
            "/".join(rid.split("/providers/")[-1].split("/")[:2]).lower() if "/providers/" in rid else "")
        if rtype is None:
            continue
        found = reader.get(rid, rtype, what=f"the {rtype.split('/')[-1]} {rid}")
        if found:
            resources.append(found)
            if rtype == "Microsoft.CognitiveServices/accounts":
                resources += [dict(d, type=d.get("type") or f"{rtype}/deployments") for d in reader.list(
                    f"{rid}/deployments", "Microsoft.CognitiveServices/accounts/deployments",
                    what=f"the model deployments of {rid}")]
    owners = [workspace] + [r for r in resources[1:] if str(r.get("id", "")).lower() in {
        str(props.get(p, "")).lower() for p in ("storageAccount", "keyVault", "containerRegistry")}
        or str(r.get("type", "")).lower() in ("microsoft.cognitiveservices/accounts", "microsoft.search/searchservices")]
    connections = [c for owner in owners for c in (owner.get("properties") or {}).get("privateEndpointConnections")
                   or []]
    for connection in connections:
        pe_id = ((connection.get("properties") or {}).get("privateEndpoint") or {}).get("id")
        if not pe_id:
            continue
        endpoint = reader.get(pe_id, "Microsoft.Network/privateEndpoints", what=f"the private endpoint {pe_id}")
        if endpoint:
            resources.append(endpoint)
            resources += reader.list(f"{pe_id}/privateDnsZoneGroups",
                                     "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
                                     what=f"the DNS zone groups of {pe_id}")
    resources += reader.list(f"{ws_id}/providers/Microsoft.Insights/diagnosticSettings",
                             "Microsoft.Insights/diagnosticSettings", what="the workspace's diagnostic settings")
    resources += reader.list(f"{ws_id}/providers/Microsoft.Authorization/locks", "Microsoft.Authorization/locks",
                             what="the workspace's locks")
    scopes = [ws_id.split("/providers/")[0]] + [ws_id] + [str(props[p]) for p in ("storageAccount", "keyVault", "containerRegistry") if props.get(p)]
    for scope in scopes:
        found = reader.list(f"{scope}/providers/Microsoft.Authorization/roleAssignments",
                            "Microsoft.Authorization/roleAssignments", what=f"the role assignments on {scope}",
                            query="&$filter=atScope()")
        for assignment in found:
            assignment.setdefault("properties", {}).setdefault("scope", scope)
        resources += found
    return resources


def fetch(subscription: str, resource_group: str, name: str, *, warn: Callable[[str], None],
          **connect_options: Any) -> list[dict]:
    """The workspace's resources as Azure returns them. Raises ImportProblem / DeployError with one line."""
    from generator import deploy

    problem = naming.RULES["workspace"].problem(name)
    if problem:
        raise ImportProblem(f"-n {name}: {problem}")
    conn = deploy.connect(subscription, **connect_options)
    client, _ = conn.clients()
    return read(Reader(client, warn), subscription, resource_group, name)
