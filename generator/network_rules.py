"""The network security rules Azure ML compute needs in a virtual network the spec creates: one place for the table
Microsoft Learn gives, each rule with its source."""

from __future__ import annotations

from dataclasses import dataclass

# Learn, "Configure inbound and outbound network traffic" (how-to-access-azureml-behind-firewall), which includes
# articles/machine-learning/includes/machine-learning-public-internet-access.md: "Azure Machine Learning requires
# both inbound and outbound access to the public internet", the "Required" and "Situational" tables. For service
# tags that end in `.region`, "replace `region` with the Azure region that contains your workspace": here the
# template's `location`, as Microsoft's quickstart machine-learning-end-to-end-secure (modules/nsg.bicep) does
# ('Storage.${location}').
REQUIRED_TRAFFIC = "https://learn.microsoft.com/azure/machine-learning/how-to-access-azureml-behind-firewall"
# Learn, how-to-secure-training-vnet, "Compute instance/cluster or serverless with public IP": "In your VNet, allow
# inbound TCP traffic on port 44224 from the AzureMachineLearning service tag"; "No public IP": inbound "None".
PUBLIC_IP_INBOUND = "https://learn.microsoft.com/azure/machine-learning/how-to-secure-training-vnet"


@dataclass(frozen=True)
class SecurityRule:
    """One allow rule: `tag` is the service tag on the far side (regional: `.<location>` is appended)."""

    name: str
    direction: str  # Inbound | Outbound
    protocol: str  # Tcp | Udp | *
    ports: tuple[str, ...]
    tag: str
    regional: bool
    purpose: str  # Learn's "Purpose" column, shortened: the rule's description in Azure (at most 140 characters)
    source: str


# The "Required" outbound table, in its order (protocol and ports as Learn gives them).
_REQUIRED_OUTBOUND = (
    SecurityRule("AllowAzureActiveDirectoryOutbound", "Outbound", "Tcp", ("80", "443"), "AzureActiveDirectory",
                 False, "Authentication using Microsoft Entra ID", REQUIRED_TRAFFIC),
    # TCP 443, 18881 and UDP 5831: one rule per protocol
    SecurityRule("AllowAzureMachineLearningOutbound", "Outbound", "Tcp", ("443", "18881"), "AzureMachineLearning",
                 False, "Using Azure Machine Learning services; Python intellisense in notebooks (18881)",
                 REQUIRED_TRAFFIC),
    SecurityRule("AllowAzureMachineLearningUdpOutbound", "Outbound", "Udp", ("5831",), "AzureMachineLearning",
                 False, "Creating, updating and deleting compute instances", REQUIRED_TRAFFIC),
    SecurityRule("AllowBatchNodeManagementOutbound", "Outbound", "*", ("443",), "BatchNodeManagement", True,
                 "Communication with the Azure Batch back end of compute instances and clusters", REQUIRED_TRAFFIC),
    SecurityRule("AllowAzureResourceManagerOutbound", "Outbound", "Tcp", ("443",), "AzureResourceManager", False,
                 "Creation of Azure resources with Azure Machine Learning, the Azure CLI and SDK", REQUIRED_TRAFFIC),
    SecurityRule("AllowStorageOutbound", "Outbound", "Tcp", ("443",), "Storage", True,
                 "Data in the storage account for compute clusters and instances", REQUIRED_TRAFFIC),
    # "Not needed in Microsoft Azure operated by 21Vianet" (AzureChinaCloud): see rules()
    SecurityRule("AllowAzureFrontDoorFrontEndOutbound", "Outbound", "Tcp", ("443",), "AzureFrontDoor.FrontEnd", False,
                 "Global entry point for Azure Machine Learning studio; images and environments for AutoML",
                 REQUIRED_TRAFFIC),
    SecurityRule("AllowMicrosoftContainerRegistryOutbound", "Outbound", "Tcp", ("443",), "MicrosoftContainerRegistry",
                 True, "Docker images provided by Microsoft", REQUIRED_TRAFFIC),
    # "Note that this tag has a dependency on the AzureFrontDoor.FirstParty tag" (MicrosoftContainerRegistry's row)
    SecurityRule("AllowAzureFrontDoorFirstPartyOutbound", "Outbound", "Tcp", ("443",), "AzureFrontDoor.FirstParty",
                 False, "MicrosoftContainerRegistry depends on this tag", REQUIRED_TRAFFIC),
    # Situational: "Only needed if you haven't secured Azure Monitor for the workspace" (amlgen never does: it
    # creates no Azure Monitor private link scope).
    SecurityRule("AllowAzureMonitorOutbound", "Outbound", "Tcp", ("443",), "AzureMonitor", False,
                 "Monitoring and metrics to Application Insights and Azure Monitor", REQUIRED_TRAFFIC),
)

# Situational: "Access the key vault for the Azure Batch service. Only needed if you enabled the hbi_workspace flag".
# Learn writes the tag `Keyvault.region`; the service tag's name is AzureKeyVault (virtual-network/service-tags-overview).
_HBI_OUTBOUND = SecurityRule("AllowKeyVaultOutbound", "Outbound", "Tcp", ("443",), "AzureKeyVault", True,
                             "The key vault of the Azure Batch service (high business impact workspace)",
                             REQUIRED_TRAFFIC)

# Situational: "Required if instance/cluster configured with a Public IP option."
_PUBLIC_IP_INBOUND = SecurityRule("AllowAzureMachineLearningInbound", "Inbound", "Tcp", ("44224",),
                                  "AzureMachineLearning", False,
                                  "Create, update and delete compute instances and clusters with a public IP",
                                  PUBLIC_IP_INBOUND)

FIRST_PRIORITY = 100  # the lowest priority number Azure accepts (100-4096)


def rules(cloud: str, public_ip: bool, hbi: bool) -> tuple[SecurityRule, ...]:
    """The rules of a subnet that computes run in: the required outbound traffic, the key vault for an HBI
    workspace, and the inbound management traffic where a compute there has a public IP."""
    out = [r for r in _REQUIRED_OUTBOUND
           if not (cloud == "AzureChinaCloud" and r.tag == "AzureFrontDoor.FrontEnd")]
    if hbi:
        out.append(_HBI_OUTBOUND)
    if public_ip:
        out.insert(0, _PUBLIC_IP_INBOUND)
    return tuple(out)
