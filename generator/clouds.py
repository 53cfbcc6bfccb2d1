"""Per-cloud facts: private DNS zone names and storage endpoint suffixes, one table per Azure cloud."""

from __future__ import annotations

CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")

# Private DNS zones a private endpoint of each group ID needs (Azure's "private endpoint DNS zone values").
PRIVATE_DNS_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "AzureCloud": {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
        "blob": ("privatelink.blob.core.windows.net",),
        "file": ("privatelink.file.core.windows.net",),
        "vault": ("privatelink.vaultcore.azure.net",),
        "registry": ("privatelink.azurecr.io",),
    },
    "AzureUSGovernment": {
        "amlworkspace": ("privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net"),
        "blob": ("privatelink.blob.core.usgovcloudapi.net",),
        "file": ("privatelink.file.core.usgovcloudapi.net",),
        "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
        "registry": ("privatelink.azurecr.us",),
    },
    "AzureChinaCloud": {
        "amlworkspace": ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn"),
        "blob": ("privatelink.blob.core.chinacloudapi.cn",),
        "file": ("privatelink.file.core.chinacloudapi.cn",),
        "vault": ("privatelink.vaultcore.azure.cn",),
        "registry": ("privatelink.azurecr.cn",),
    },
}

# The storage endpoint suffix datastores name (accountName.blob.<suffix>).
STORAGE_SUFFIX = {"AzureCloud": "core.windows.net", "AzureUSGovernment": "core.usgovcloudapi.net",
                  "AzureChinaCloud": "core.chinacloudapi.cn"}


def dns_zones(cloud: str, group_id: str) -> tuple[str, ...]:
    return PRIVATE_DNS_ZONES[cloud][group_id]
