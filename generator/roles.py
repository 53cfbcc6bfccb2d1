"""Azure built-in role names and their role definition GUIDs: one table (from shared/azure-notes.md)."""

from __future__ import annotations

import re
from functools import lru_cache

BUILT_IN_ROLES: dict[str, str] = {
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
    "AzureML Data Scientist": "f6c7c914-8db3-469d-8ca1-694a8f32e121",
    "AzureML Compute Operator": "e503ece1-11d0-4e8e-8e2c-7a6c3bf38815",
    "AzureML Registry User": "1823dd4f-9b8c-4ab6-ab4e-7397a3684615",
    "AzureML Metrics Writer (preview)": "635dd51f-9968-44d3-b7fb-6d9a6bd613ae",
    "Azure AI Administrator": "b78c5d69-af96-48a3-bf8d-a8b4d589de94",
    "Azure AI Developer": "64702f94-c441-49e6-a78b-ef80e0188fee",
    "Storage Blob Data Contributor": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
    # with shared-key access off (amlgen's default), users need it to use the workspace's file share
    "Storage File Data Privileged Contributor": "69566ab7-960f-475b-8e7c-b3118f30c6bd",
    "Key Vault Administrator": "00482a5a-887f-4fb3-b363-3b7fe8e74483",
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    # read access to a shared data lake (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/storage#storage-blob-data-reader)
    "Storage Blob Data Reader": "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1",
    # Cognitive Services and Search roles: the GUIDs Azure Verified Modules use (Azure/bicep-registry-modules
    # avm/res/cognitive-services/account/main.bicep, avm/res/search/search-service/main.bicep); what each grants:
    # https://learn.microsoft.com/azure/search/search-security-rbac and
    # https://learn.microsoft.com/azure/ai-foundry/openai/how-to/role-based-access-control
    "Cognitive Services Contributor": "25fbc0a9-bd7c-42a3-aa1a-3b75d497ee68",
    "Cognitive Services User": "a97b65f3-24c7-4388-baec-2e87135dc908",
    "Cognitive Services OpenAI Contributor": "a001fd3d-188f-4b5d-821b-7da978bf7442",
    "Cognitive Services OpenAI User": "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
    "Search Index Data Contributor": "8ebe5a00-799e-43f5-93ac-243d3dce84a7",
    "Search Index Data Reader": "1407120a-92aa-4202-b7e9-c0e197c71c8f",
    "Search Service Contributor": "7ca78c08-252a-4471-8644-bb5ff32d4ba0",
}

# When the workspace identity is user-assigned, nobody grants it anything: Learn lists the roles it needs on each
# resource ("The following Azure RBAC role assignments are required on your user-assigned managed identity for your
# Azure Machine Learning workspace to access data on the workspace-associated resources",
# https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication#workspace).
# Keyed by spec section. Storage Blob Data Contributor is "optional, to enable data preview in the studio":
# granted, since identity-based access is amlgen's default. Key Vault Administrator is the RBAC-model grant (the
# vault amlgen creates uses RBAC; a vault on access policies needs "any access policy permissions besides purge").
WORKSPACE_IDENTITY_ROLES: dict[str, tuple[str, ...]] = {
    "workspace": ("Contributor",),
    "storage": ("Contributor", "Storage Blob Data Contributor"),
    "keyVault": ("Contributor", "Key Vault Administrator"),
    "containerRegistry": ("Contributor",),
    "applicationInsights": ("Contributor",),
}

_NAMES = {guid.lower(): name for name, guid in BUILT_IN_ROLES.items()}
_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def role_name(guid: str) -> str | None:
    """The built-in role name of a role definition GUID (any case), or None."""
    return _NAMES.get(guid.lower())


def role_guid(role: str) -> str | None:
    """The role definition GUID for a built-in role name (case-insensitive) or a GUID; None if unknown."""
    if _GUID.match(role):
        return role.lower()
    return _lowered_roles().get(role.lower())


@lru_cache(maxsize=1)
def _lowered_roles() -> dict[str, str]:
    return {name.lower(): guid for name, guid in BUILT_IN_ROLES.items()}  # built once, not per lookup


# The roles that make Entra ID (AAD) connections work, as docs/ai-hubs.md tabulates them (one row each):
# (principal, role, scope). Principals: "aiServices" / "aiSearch" (the system identity of the account / service the
# spec creates) or "people" (the users and groups of the spec's roleAssignments). Scopes: "aiServices", "aiSearch",
# "storage" (the workspace's, when created here). Learn, RBAC for hubs, "Scenario: Connections using Microsoft Entra
# ID authentication" (https://learn.microsoft.com/azure/ai-foundry/concepts/rbac-azure-ai-foundry?pivots=hub-project):
# "the services need to authorize each other to access the required resources" (the service-to-service rows), and
# "Use an existing Azure OpenAI resource ... assign either the Cognitive Services OpenAI User or Cognitive Services
# OpenAI Contributor role" / Troubleshooting: Search Index Data Reader "Inference service queries the data from the
# index" (the people rows: the least privilege for inference). The workspace identity gets none: an AAD connection
# passes the caller's token through.
AI_CONNECTION_ROLES: tuple[tuple[str, str, str], ...] = (
    ("aiServices", "Search Index Data Reader", "aiSearch"),
    ("aiServices", "Search Index Data Contributor", "aiSearch"),
    ("aiServices", "Search Service Contributor", "aiSearch"),
    ("aiSearch", "Cognitive Services OpenAI Contributor", "aiServices"),
    ("aiSearch", "Storage Blob Data Contributor", "storage"),
    ("aiServices", "Storage Blob Data Contributor", "storage"),
    ("people", "Cognitive Services OpenAI User", "aiServices"),
    ("people", "Search Index Data Reader", "aiSearch"),
)
