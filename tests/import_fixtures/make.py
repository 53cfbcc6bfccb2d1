"""Write the GET fixtures of the import round trip: what Azure holds after deploying an example's out/<spec>/main.json.

    python tests/import_fixtures/make.py            # every example listed in EXAMPLES
    python tests/import_fixtures/make.py defaults   # one

Each fixture (<spec>.json) is the list of resources a GET returns, shaped on the example responses in
Azure/azure-rest-api-specs (specification/machinelearningservices/resource-manager/Microsoft.MachineLearningServices/
stable/2025-06-01/examples/Workspace/get.json and its siblings): the template's values with its expressions
evaluated, plus what Azure adds: id, provisioningState, systemData, identity principal IDs, the workspace's
workspaceId / discoveryUrl / mlFlowTrackingUri / privateEndpointConnections, the managed network's own Required
rules and status, and no secrets (Azure never returns them). Regenerate after an example changes on purpose, and
review the diff like any golden file: the round-trip test then shows what import carries over.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from generator.importers import arm_export, evaluate  # noqa: E402

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
TENANT = "72f988bf-0000-0000-0000-000000000000"
# example (its out/ folder) -> the resource group it is deployed into
EXAMPLES = {"defaults": "rg-churn-dev", "computes-rbac": "rg-churn-team", "user-identity": "rg-uai",
            "secure": "rg-churn-prod", "private-network": "rg-private", "operations": "rg-ops",
            "existing-resources": "rg-existing", "feature-store": "rg-features", "cmk": "rg-cmk",
            "ai-hub": "rg-aihub", "cross-rg-grants": "rg-grants", "sandbox-secure": "rg-sandbox"}
SYSTEM_DATA = {"createdAt": "2026-11-02T09:00:00.0000000Z", "createdBy": "platform@example.com",
               "createdByType": "User", "lastModifiedAt": "2026-11-02T09:00:00.0000000Z",
               "lastModifiedBy": "platform@example.com", "lastModifiedByType": "User"}


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def _deployed(template: dict, scope: evaluate.Scope) -> list[dict]:
    resources, problems = arm_export.resources_from_template(template, "fixture", scope)
    for resource in resources:
        resource.pop("apiVersion", None)
        resource.pop("metadata", None)
        resource.setdefault("properties", {})["provisioningState"] = "Succeeded"
        resource["systemData"] = SYSTEM_DATA
        identity = resource.get("identity")
        if identity and "SystemAssigned" in identity.get("type", ""):
            identity.update(principalId=_uuid(resource["id"], "principal"), tenantId=TENANT)
        if resource["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities":
            resource["properties"].update(principalId=_uuid(resource["id"], "principal"),
                                          clientId=_uuid(resource["id"], "client"), tenantId=TENANT)
        if identity and identity.get("userAssignedIdentities"):
            identity["userAssignedIdentities"] = {
                uid: {"principalId": _uuid(uid, "principal"), "clientId": _uuid(uid, "client")}
                for uid in identity["userAssignedIdentities"]}
    return resources


def _azure_additions(resources: list[dict]) -> None:
    by_id = {r["id"].lower(): r for r in resources}
    for resource in resources:
        rtype, props = resource["type"], resource["properties"]
        connections = []
        for endpoint in resources:
            if endpoint["type"] != "Microsoft.Network/privateEndpoints":
                continue
            for link in endpoint["properties"].get("privateLinkServiceConnections", []):
                if str(link["properties"].get("privateLinkServiceId", "")).lower() == resource["id"].lower():
                    connections.append({
                        "id": f"{resource['id']}/privateEndpointConnections/{endpoint['name']}",
                        "name": endpoint["name"], "type": f"{rtype}/privateEndpointConnections",
                        "properties": {"provisioningState": "Succeeded", "privateEndpoint": {"id": endpoint["id"]},
                                       "groupIds": link["properties"].get("groupIds"),
                                       "privateLinkServiceConnectionState": {
                                           "status": "Approved", "description": "Auto-Approved",
                                           "actionsRequired": "None"}}})
        if connections:
            props["privateEndpointConnections"] = connections
        if rtype == "Microsoft.MachineLearningServices/workspaces":
            props.update(workspaceId=_uuid(resource["id"]), discoveryUrl=f"https://{resource['location']}.api."
                         "azureml.ms/discovery", mlFlowTrackingUri=f"azureml://{resource['location']}.api.azureml.ms/"
                         "mlflow/v1.0" + resource["id"], serviceProvisionedResourceGroup=None, privateLinkCount=0)
            props.pop("serviceProvisionedResourceGroup")
            managed = props.get("managedNetwork")
            if managed and managed.get("isolationMode", "Disabled") != "Disabled":
                managed.setdefault("outboundRules", {})["__SYS_PE_workspace_blob"] = {
                    "type": "PrivateEndpoint", "category": "Required", "status": "Active",
                    "destination": {"serviceResourceId": props.get("storageAccount"), "subresourceTarget": "blob"}}
                managed.update(networkId=_uuid(resource["id"], "network"), status={"status": "Active",
                                                                                     "sparkReady": False})
            props["privateLinkCount"] = len(connections)
        elif rtype == "Microsoft.Authorization/roleAssignments":
            scope = resource["id"].split("/providers/Microsoft.Authorization/")[0]
            props["scope"] = scope
            if "principalId" not in props:  # a grant to a managed identity: reference(...).principalId
                target = next((r for r in resources if r.get("identity", {}).get("principalId")
                               and r["type"] == "Microsoft.MachineLearningServices/workspaces"), None)
                props["principalId"] = target["identity"]["principalId"] if target else _uuid(resource["id"])
        elif rtype == "Microsoft.MachineLearningServices/workspaces/datastores":
            creds = props.get("credentials") or {}
            creds.pop("secrets", None)  # Azure never returns a datastore's secrets
            ws_id = resource["id"].rsplit("/datastores/", 1)[0]
            props.setdefault("subscriptionId", ws_id.split("/")[2])
        elif rtype == "Microsoft.KeyVault/vaults":
            props.setdefault("vaultUri", f"https://{resource['name']}.vault.azure.net/")
    assert by_id  # noqa: S101 - a template without resources is not an example


def make(example: str, group: str) -> list[dict]:
    folder = ROOT / "out" / example
    template = json.loads((folder / "main.json").read_text(encoding="utf-8"))
    parameters = json.loads((folder / "main.parameters.json").read_text(encoding="utf-8")).get("parameters", {})
    scope = evaluate.Scope(SUBSCRIPTION, group, None, TENANT)
    scope.parameters = {k: v.get("value") for k, v in parameters.items() if "value" in v}
    location = next((r.get("location") for r in template["resources"]
                     if r["type"] == "Microsoft.MachineLearningServices/workspaces"), None)
    default = (template.get("parameters", {}).get("location") or {}).get("defaultValue")
    scope.location = default if default and not str(default).startswith("[") else "westeurope"
    if location and not str(location).startswith("["):
        scope.location = location
    first = _deployed(template, dataclasses.replace(scope, parameters=dict(scope.parameters)))
    # second pass: reference() of what the first pass deployed (identities' principal IDs)
    scope.references = {r["id"].lower(): r for r in first}
    resources = _deployed(template, scope)
    _azure_additions(resources)
    return sorted(resources, key=lambda r: r["id"].lower())


def main(argv: list[str]) -> None:
    chosen = argv or list(EXAMPLES)
    for example in chosen:
        path = Path(__file__).with_name(f"{example}.json")
        path.write_text(json.dumps(make(example, EXAMPLES[example]), indent=1, sort_keys=True) + "\n",
                        encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
