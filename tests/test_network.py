"""network.create / network.existing: the virtual network amlgen creates (subnets inside it, an NSG per subnet with
Learn's Azure ML compute rules, a NAT gateway where asked), and `subnet:` naming a subnet by name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bicep_parity import compare_folder, report
from conftest import SHARED, require
from generator import model, pipeline

SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"
HUB = f"{SUB}/resourceGroups/rg-network/providers/Microsoft.Network/virtualNetworks/vnet-hub"
VNETS, NSGS, NATS, PIPS = ("Microsoft.Network/virtualNetworks", "Microsoft.Network/networkSecurityGroups",
                           "Microsoft.Network/natGateways", "Microsoft.Network/publicIPAddresses")
COMPUTES = "Microsoft.MachineLearningServices/workspaces/computes"
PES = "Microsoft.Network/privateEndpoints"
DEPLOYMENTS = "Microsoft.Resources/deployments"


def _spec(public: str = "Disabled", **extra) -> dict:
    data = {"name": "churn-sbx",
            "network": {"create": {"addressSpace": "10.40.0.0/16", "subnets": {
                "training": {"prefix": "10.40.2.0/24", "natGateway": True},
                "endpoints": {"prefix": "10.40.1.0/24"}}}},
            "workspace": {"publicNetworkAccess": public, "imageBuildCompute": "cpu-cluster"},
            "containerRegistry": {"sku": "Premium"},
            "computes": {"cpu-cluster": {"type": "cluster", "subnet": "training"},
                         "ci-alice": {"type": "instance", "subnet": "training", "identity": "None"}},
            "privateEndpoints": {"subnet": "endpoints", "privateDnsZones": "create"}}
    data.update(extra)
    return data


def _files(data: dict) -> dict:
    return pipeline.render_spec(model.build(data, "examples/t.yaml"))


def _of(template: dict, rtype: str) -> list[dict]:
    return [r for r in template["resources"] if r["type"] == rtype]


def _one(template: dict, rtype: str, name: str | None = None) -> dict:
    found = [r for r in _of(template, rtype) if name is None or r["name"] == name]
    assert len(found) == 1, [(r["type"], r["name"]) for r in template["resources"]]
    return found[0]


def _subnet_id(vnet: str, subnet: str) -> str:
    return f"[resourceId('Microsoft.Network/virtualNetworks/subnets', '{vnet}', '{subnet}')]"


def test_computes_and_endpoints_name_subnets_of_the_network_created_here():
    files = _files(_spec())
    arm = json.loads(files["main.json"])
    vnet = _one(arm, VNETS)
    assert vnet["name"] == "vnet-churn-sbx"
    vnet_ref = "[resourceId('Microsoft.Network/virtualNetworks', 'vnet-churn-sbx')]"
    for compute in _of(arm, COMPUTES):
        assert compute["properties"]["properties"]["subnet"]["id"] == _subnet_id("vnet-churn-sbx", "training")
        assert vnet_ref in compute["dependsOn"]  # the compute waits for its subnet
    endpoints = _of(arm, PES)
    assert len(endpoints) == 5  # workspace, blob, file, vault, registry
    for pe in endpoints:
        # beside the network, in this template: no nested deployment, the template's own location
        assert pe["properties"]["subnet"]["id"] == _subnet_id("vnet-churn-sbx", "endpoints")
        assert pe["location"] == "[parameters('location')]"
        assert vnet_ref in pe["dependsOn"]
    assert not _of(arm, DEPLOYMENTS) and not any(name.startswith("modules/") for name in files)
    workspace_pe = _one(arm, PES, "pe-churn-sbx-amlworkspace")
    connection = workspace_pe["properties"]["privateLinkServiceConnections"][0]["properties"]
    assert connection["privateLinkServiceId"] == "[resourceId('Microsoft.MachineLearningServices/workspaces', 'churn-sbx')]"
    links = _of(arm, "Microsoft.Network/privateDnsZones/virtualNetworkLinks")
    assert links and all(link["properties"]["virtualNetwork"]["id"] == vnet_ref for link in links)
    # Bicep: the same subnet through the network's symbol (an implicit dependency)
    assert "resourceId('Microsoft.Network/virtualNetworks/subnets', virtualNetwork.name, 'training')" in files["main.bicep"]


def test_subnet_names_of_an_existing_network_resolve_to_its_subnets():
    data = _spec()
    data["network"] = {"existing": HUB}
    files = _files(data)
    arm = json.loads(files["main.json"])
    assert not _of(arm, VNETS) and not _of(arm, NSGS)
    expected = (f"[resourceId('00000000-0000-0000-0000-000000000000', 'rg-network', "
                "'Microsoft.Network/virtualNetworks/subnets', 'vnet-hub', 'training')]")
    assert {c["properties"]["properties"]["subnet"]["id"] for c in _of(arm, COMPUTES)} == {expected}
    # the endpoints deploy as before into the existing network's group: the private-endpoints module
    deployment = _one(arm, DEPLOYMENTS)
    assert deployment["resourceGroup"] == "rg-network"
    module = deployment["properties"]["template"]
    assert {pe["properties"]["subnet"]["id"] for pe in _of(module, PES)} == {expected.replace("'training'", "'endpoints'")}


def test_each_subnet_has_its_own_security_group_and_only_nat_subnets_the_gateway():
    arm = json.loads(_files(_spec())["main.json"])
    subnets = {s["name"]: s["properties"] for s in _one(arm, VNETS)["properties"]["subnets"]}
    assert sorted(subnets) == ["endpoints", "training"]
    for name, props in subnets.items():
        nsg = f"nsg-vnet-churn-sbx-{name}"
        assert props["networkSecurityGroup"]["id"] == f"[resourceId('{NSGS}', '{nsg}')]"
        assert _one(arm, NSGS, nsg)
        assert props["defaultOutboundAccess"] is False
    assert subnets["training"]["natGateway"]["id"] == f"[resourceId('{NATS}', 'ng-vnet-churn-sbx')]"
    assert "natGateway" not in subnets["endpoints"]
    nat = _one(arm, NATS)
    assert nat["sku"] == {"name": "Standard"}
    assert nat["properties"]["publicIpAddresses"] == [{"id": f"[resourceId('{PIPS}', 'pip-ng-vnet-churn-sbx')]"}]
    pip = _one(arm, PIPS)
    assert pip["sku"]["name"] == "Standard" and pip["properties"]["publicIPAllocationMethod"] == "Static"


def test_no_nat_gateway_when_no_subnet_asks_for_one():
    data = _spec(public="Enabled")
    data["network"]["create"]["subnets"]["training"].pop("natGateway")
    arm = json.loads(_files(data)["main.json"])
    assert not _of(arm, NATS) and not _of(arm, PIPS)


def _rules(template: dict, subnet: str) -> dict:
    nsg = _one(template, NSGS, f"nsg-vnet-churn-sbx-{subnet}")
    return {r["name"]: r["properties"] for r in nsg["properties"]["securityRules"]}


def test_compute_subnet_gets_learns_outbound_rules_and_the_endpoint_subnet_none():
    arm = json.loads(_files(_spec())["main.json"])
    assert _rules(arm, "endpoints") == {}
    rules = _rules(arm, "training")
    outbound = {r["destinationAddressPrefix"]: r for r in rules.values() if r["direction"] == "Outbound"}
    assert set(outbound) == {"AzureActiveDirectory", "AzureMachineLearning", "AzureResourceManager",
                             "AzureFrontDoor.FrontEnd", "AzureFrontDoor.FirstParty", "AzureMonitor",
                             "[format('BatchNodeManagement.{0}', parameters('location'))]",
                             "[format('Storage.{0}', parameters('location'))]",
                             "[format('MicrosoftContainerRegistry.{0}', parameters('location'))]"}
    assert rules["AllowAzureMachineLearningOutbound"]["destinationPortRanges"] == ["443", "18881"]
    assert rules["AllowAzureMachineLearningUdpOutbound"]["protocol"] == "Udp"
    assert rules["AllowAzureMachineLearningUdpOutbound"]["destinationPortRange"] == "5831"
    assert rules["AllowBatchNodeManagementOutbound"]["protocol"] == "*"
    # no public IP on the nodes of a closed workspace: no inbound rule (Learn: inbound "None")
    assert all(r["direction"] == "Outbound" for r in rules.values())
    assert all(r["access"] == "Allow" for r in rules.values())
    priorities = [r["priority"] for r in rules.values()]
    assert len(set(priorities)) == len(priorities) and min(priorities) >= 100 and max(priorities) <= 4096


def test_a_compute_with_a_public_ip_opens_inbound_44224_from_azure_machine_learning_only():
    rules = _rules(json.loads(_files(_spec(public="Enabled"))["main.json"]), "training")
    inbound = [r for r in rules.values() if r["direction"] == "Inbound"]
    assert inbound == [rules["AllowAzureMachineLearningInbound"]]
    assert inbound[0]["sourceAddressPrefix"] == "AzureMachineLearning"
    assert inbound[0]["destinationPortRange"] == "44224" and inbound[0]["protocol"] == "Tcp"


def test_hbi_adds_the_key_vault_rule_and_china_drops_front_door_front_end():
    data = _spec(cloud="AzureChinaCloud")
    data["workspace"]["hbi"] = True
    rules = _rules(json.loads(_files(data)["main.json"]), "training")
    assert rules["AllowKeyVaultOutbound"]["destinationAddressPrefix"] == \
        "[format('AzureKeyVault.{0}', parameters('location'))]"
    assert "AllowAzureFrontDoorFrontEndOutbound" not in rules
    assert "AllowKeyVaultOutbound" not in _rules(json.loads(_files(_spec())["main.json"]), "training")


def test_serverless_compute_names_a_subnet_and_counts_as_compute_there():
    data = _spec()
    data["computes"] = {}
    data["workspace"]["serverlessCompute"] = {"subnet": "endpoints"}
    arm = json.loads(_files(data)["main.json"])
    settings = _one(arm, "Microsoft.MachineLearningServices/workspaces")["properties"]["serverlessComputeSettings"]
    assert settings == {"serverlessComputeCustomSubnet": _subnet_id("vnet-churn-sbx", "endpoints"),
                        "serverlessComputeNoPublicIP": True}
    assert "AllowAzureMachineLearningOutbound" in _rules(arm, "endpoints")
    assert _rules(arm, "training") == {}  # no compute runs there now


def test_subnet_order_does_not_follow_the_yaml():
    data = _spec()
    flipped = dict(reversed(list(data["network"]["create"]["subnets"].items())))
    other = _spec()
    other["network"]["create"]["subnets"] = flipped
    assert _files(data) == _files(other)


@pytest.mark.parametrize("public", ["Disabled", "Enabled"])
@pytest.mark.parametrize("network", ["create", "existing"])
def test_network_output_passes_the_strict_schema_check_and_bicep_parity(tmp_path, public, network):
    data = _spec(public=public)
    if network == "existing":
        data["network"] = {"existing": HUB}
    for name, text in _files(data).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    diffs = compare_folder(tmp_path)
    assert not diffs, report(diffs)
    checker = SHARED / "tools" / "arm_schema_check.py"
    require(checker.is_file(), f"{checker} is absent (../shared beside the repository)")
    result = subprocess.run([sys.executable, str(checker), "--strict-properties", str(tmp_path / "main.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
