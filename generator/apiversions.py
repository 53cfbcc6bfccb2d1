"""The pinned table of ARM resource types and the API version amlgen emits for each: the one place for both."""

from __future__ import annotations

# The "target" column of shared/azure-notes.md: the newest stable version that has a published ARM schema,
# so every generated template can be validated offline. Change a version here and regenerate out/.
API_VERSIONS: dict[str, str] = {
    "Microsoft.MachineLearningServices/workspaces": "2026-05-01",
    "Microsoft.MachineLearningServices/workspaces/computes": "2026-05-01",
    "Microsoft.MachineLearningServices/workspaces/datastores": "2026-05-01",
    # adds a managed-network rule after the workspace exists, without re-PUTting the workspace
    "Microsoft.MachineLearningServices/workspaces/outboundRules": "2026-05-01",
    "Microsoft.Storage/storageAccounts": "2026-04-01",
    "Microsoft.KeyVault/vaults": "2026-02-01",
    "Microsoft.Insights/components": "2020-02-02",
    "Microsoft.OperationalInsights/workspaces": "2025-07-01",
    "Microsoft.ContainerRegistry/registries": "2025-11-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2024-11-30",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Authorization/locks": "2020-05-01",
    # the preview is what Azure's own modules use for diagnostic settings; no warning for it
    "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
    "Microsoft.Network/privateEndpoints": "2025-07-01",
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups": "2025-07-01",
    "Microsoft.Network/privateDnsZones": "2024-06-01",
    # read (`existing`: the region of the network private endpoints go into), or created (network.create)
    "Microsoft.Network/virtualNetworks": "2025-07-01",
    "Microsoft.Network/networkSecurityGroups": "2025-07-01",
    "Microsoft.Network/natGateways": "2025-07-01",
    "Microsoft.Network/publicIPAddresses": "2025-07-01",
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks": "2024-06-01",
    # read only (`existing`): a blob container (of a shared data lake) a role is assigned on
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2026-04-01",
    # subscription-scope templates: the resource group, and the deployment of main.json into it
    "Microsoft.Resources/resourceGroups": "2025-04-01",
    "Microsoft.Resources/deployments": "2025-04-01",
    # AI hubs (docs/ai-hubs.md): connections, the AI Services account and its model deployments, AI Search
    "Microsoft.MachineLearningServices/workspaces/connections": "2026-05-01",
    "Microsoft.CognitiveServices/accounts": "2026-05-01",
    "Microsoft.CognitiveServices/accounts/deployments": "2026-05-01",
    "Microsoft.Search/searchServices": "2025-05-01",
}

# The newest preview with a published schema, used only when a spec sets a preview-only property (a warning
# finding names the property).
PREVIEW_API_VERSIONS: dict[str, str] = {
    "Microsoft.MachineLearningServices/workspaces": "2026-03-15-preview",
}


def api_version(resource_type: str, preview: bool = False) -> str:
    if preview:
        return PREVIEW_API_VERSIONS[resource_type]
    return API_VERSIONS[resource_type]
