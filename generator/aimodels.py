"""What AI Services / Azure OpenAI accounts accept: model formats per account kind, deployment SKUs, connection
category/auth pairs. The published ARM schema has no enums for these: one sourced table each."""

from __future__ import annotations

# The deployment types (SKU names "in code") of model deployments. Learn, "Deployment types in Azure AI Foundry
# Models" (https://learn.microsoft.com/azure/ai-foundry/foundry-models/concepts/deployment-types): "SKU name in
# code: GlobalStandard" etc., one per type.
DEPLOYMENT_SKUS = ("GlobalStandard", "DataZoneStandard", "Standard", "GlobalProvisionedManaged",
                   "DataZoneProvisionedManaged", "ProvisionedManaged", "GlobalBatch", "DataZoneBatch", "DeveloperTier")

# The model formats each account kind deploys. An Azure OpenAI account (kind OpenAI) serves OpenAI models only; an
# AI Services (Foundry) account also serves the Foundry Models sold directly by Azure, whose format is their
# provider (Learn, "Foundry Models sold directly by Azure",
# https://learn.microsoft.com/azure/ai-foundry/foundry-models/concepts/models-sold-directly-by-azure, and
# "Add and configure models", `az cognitiveservices account deployment create --model-format`).
MODEL_FORMATS: dict[str, tuple[str, ...]] = {
    "OpenAI": ("OpenAI",),
    "AIServices": ("OpenAI", "Microsoft", "Meta", "Mistral AI", "Cohere", "DeepSeek", "xAI", "Black Forest Labs",
                   "AI21 Labs", "Core42"),
}

# Connection categories and the auth types amlgen accepts for each (docs/ai-hubs.md, "Connections").
# - AIServices / AzureOpenAI / CognitiveSearch: azure-ai-ml's ApiOrAadConnection "accept either an api key or entra
#   ID as credentials" (https://github.com/Azure/azure-sdk-for-python sdk/ml/azure-ai-ml/azure/ai/ml/entities/
#   _workspace/connections/connection_subtypes.py).
# - AzureBlob: AzureBlobStoreConnection takes an account key, a SAS token or Entra ID (same file).
# - ADLSGen2: Entra ID (Learn RBAC for hubs, connections using Microsoft Entra ID: "Azure Data Lake Storage Gen 2 |
#   Storage Blob Data Contributor"), or a managed identity, as azure-ai-ml creates a feature store's offline-store
#   connection (operations/_feature_store_operations.py: ManagedIdentityConfiguration).
# - Git, PythonFeed, ContainerRegistry: without credentials, to public repositories, feeds and registries (Learn,
#   https://learn.microsoft.com/azure/machine-learning/how-to-connection, "Create external nondata connections");
#   PAT and username/password are not supported by amlgen yet.
# - ApiKey: an API key (same page, "API key"); CustomKeys: custom keys (2026-05-01 schema,
#   CustomKeysWorkspaceConnectionProperties).
CONNECTION_AUTH: dict[str, tuple[str, ...]] = {
    "AIServices": ("AAD", "ApiKey"),
    "AzureOpenAI": ("AAD", "ApiKey"),
    "CognitiveSearch": ("AAD", "ApiKey"),
    "AzureBlob": ("AAD", "AccountKey", "SAS"),
    "ADLSGen2": ("AAD", "ManagedIdentity"),
    "ContainerRegistry": ("None",),
    "Git": ("None",),
    "PythonFeed": ("None",),
    "ApiKey": ("ApiKey",),
    "CustomKeys": ("CustomKeys",),
}

# The spec's target keywords: the AI Services account or the Search service the spec creates, and the connection
# categories that can point at each.
TARGET_KEYWORDS: dict[str, tuple[str, ...]] = {
    "aiServices": ("AIServices", "AzureOpenAI"),
    "aiSearch": ("CognitiveSearch",),
}

# The resource type an `{existing: ID}` target must have per category, and the property of that resource that is
# the connection's target URL (read at deployment). Categories without an Azure resource take no `existing`.
# An ADLS Gen2 connection may also target a container by its ID ("id": the target is the ID itself), as azure-ai-ml
# gives a feature store's offline store (reference-yaml-feature-store: offline_store.target is
# /subscriptions/.../storageAccounts/<account>/blobServices/default/containers/<container>).
EXISTING_TARGETS: dict[str, dict[str, str]] = {
    "AIServices": {"Microsoft.CognitiveServices/accounts": "properties.endpoint"},
    "AzureOpenAI": {"Microsoft.CognitiveServices/accounts": "properties.endpoint"},
    "CognitiveSearch": {"Microsoft.Search/searchServices": "properties.endpoint"},
    "AzureBlob": {"Microsoft.Storage/storageAccounts": "properties.primaryEndpoints.blob"},
    "ADLSGen2": {"Microsoft.Storage/storageAccounts": "properties.primaryEndpoints.dfs",
                 "Microsoft.Storage/storageAccounts/blobServices/containers": "id"},
    "ContainerRegistry": {"Microsoft.ContainerRegistry/registries": "properties.loginServer"},
}

# Categories whose target is a Cognitive Services account (the custom-subdomain and local-auth rules apply).
ACCOUNT_CATEGORIES = ("AIServices", "AzureOpenAI")

# Secret-bearing auth types: the credential property and the words for the secure parameter.
SECRETS: dict[str, tuple[str, str, str]] = {
    # auth: (parameter suffix, credentials key, words)
    "ApiKey": ("ApiKey", "key", "API key"),
    "AccountKey": ("AccountKey", "key", "storage account key"),
    "SAS": ("SasToken", "sas", "SAS token"),
}
