"""Per-cloud facts: ARM endpoints and sign-in hosts, private DNS zone names, storage endpoint suffixes."""

from __future__ import annotations

CLOUDS = ("AzureCloud", "AzureUSGovernment", "AzureChinaCloud")

# (ARM endpoint, Microsoft Entra sign-in host, token scope ARM accepts): the values azure-mgmt-core's
# get_arm_endpoints() and azure-identity's AzureAuthorityHosts use, kept here so choosing a cloud imports no SDK.
ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "AzureCloud": ("https://management.azure.com/", "https://login.microsoftonline.com",
                   "https://management.azure.com/.default"),
    "AzureUSGovernment": ("https://management.usgovcloudapi.net/", "https://login.microsoftonline.us",
                          "https://management.core.usgovcloudapi.net/.default"),
    "AzureChinaCloud": ("https://management.chinacloudapi.cn/", "https://login.chinacloudapi.cn",
                        "https://management.chinacloudapi.cn/.default"),
}

# The private-link group ID (sub-resource) of each private endpoint target of a spec.
PRIVATE_ENDPOINT_GROUPS = {"workspace": "amlworkspace", "storageBlob": "blob", "storageFile": "file",
                           "keyVault": "vault", "containerRegistry": "registry",
                           "aiServices": "account", "aiSearch": "searchService"}

# Private DNS zones a private endpoint of each group ID needs (Azure's "private endpoint DNS zone values").
PRIVATE_DNS_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "AzureCloud": {
        "amlworkspace": ("privatelink.api.azureml.ms", "privatelink.notebooks.azure.net"),
        "blob": ("privatelink.blob.core.windows.net",),
        "file": ("privatelink.file.core.windows.net",),
        "vault": ("privatelink.vaultcore.azure.net",),
        "registry": ("privatelink.azurecr.io",),
        "account": ("privatelink.cognitiveservices.azure.com", "privatelink.openai.azure.com",
                    "privatelink.services.ai.azure.com"),
        "searchService": ("privatelink.search.windows.net",),
    },
    "AzureUSGovernment": {
        "amlworkspace": ("privatelink.api.ml.azure.us", "privatelink.notebooks.usgovcloudapi.net"),
        "blob": ("privatelink.blob.core.usgovcloudapi.net",),
        "file": ("privatelink.file.core.usgovcloudapi.net",),
        "vault": ("privatelink.vaultcore.usgovcloudapi.net",),
        "registry": ("privatelink.azurecr.us",),
        "account": ("privatelink.cognitiveservices.azure.us", "privatelink.openai.azure.us"),
        "searchService": ("privatelink.search.azure.us",),
    },
    "AzureChinaCloud": {
        "amlworkspace": ("privatelink.api.ml.azure.cn", "privatelink.notebooks.chinacloudapi.cn"),
        "blob": ("privatelink.blob.core.chinacloudapi.cn",),
        "file": ("privatelink.file.core.chinacloudapi.cn",),
        "vault": ("privatelink.vaultcore.azure.cn",),
        "registry": ("privatelink.azurecr.cn",),
        "account": ("privatelink.cognitiveservices.azure.cn", "privatelink.openai.azure.cn"),
        "searchService": ("privatelink.search.azure.cn",),
    },
}

# Zones Azure public has for a group ID that another cloud's column of Learn's "Azure Private Endpoint private DNS
# zone values" (https://learn.microsoft.com/azure/private-link/private-endpoint-dns, "Government" and "China")
# does not list: the AI Services account's Foundry endpoint (services.ai) has no private zone there, so it does
# not resolve privately (rule R309 says so).
MISSING_DNS_ZONES: dict[str, dict[str, tuple[str, ...]]] = {
    "AzureUSGovernment": {"account": ("privatelink.services.ai.azure.com",)},
    "AzureChinaCloud": {"account": ("privatelink.services.ai.azure.com",)},
}

# The storage endpoint suffix of each cloud (accountName.blob.<suffix>): what the template's
# environment().suffixes.storage is there. Templates use environment(); the spec's zone names use this.
STORAGE_SUFFIX = {"AzureCloud": "core.windows.net", "AzureUSGovernment": "core.usgovcloudapi.net",
                  "AzureChinaCloud": "core.chinacloudapi.cn"}

# Zones whose name is the storage suffix behind a fixed label: templates build them with format() from
# environment().suffixes.storage (arm-ttk "DeploymentTemplate Must Not Contain Hardcoded Uri"). The other zones
# (api.azureml.ms, notebooks, vaultcore, azurecr) have no environment() suffix and stay literal, per cloud.
STORAGE_ZONE_GROUPS = {"blob": "privatelink.blob.{0}", "file": "privatelink.file.{0}"}


def dns_zones(cloud: str, group_id: str) -> tuple[str, ...]:
    return PRIVATE_DNS_ZONES[cloud][group_id]


def needed_dns_zones(cloud: str, group_ids) -> list[str]:
    """Every zone the private endpoints of these group IDs need, in first-needed order."""
    return list(dict.fromkeys(zone for group in group_ids for zone in dns_zones(cloud, group)))
