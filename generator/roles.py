"""Azure built-in role names and their role definition GUIDs: one table (from shared/azure-notes.md)."""

from __future__ import annotations

import re

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

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")


def role_guid(role: str) -> str | None:
    """The role definition GUID for a built-in role name (case-insensitive) or a GUID; None if unknown."""
    if _GUID.match(role):
        return role.lower()
    lowered = {name.lower(): guid for name, guid in BUILT_IN_ROLES.items()}
    return lowered.get(role.lower())
