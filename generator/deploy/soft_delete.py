"""Names that soft-deleted resources still hold: looked up before `what-if` and `deploy`, reported as notes.

A deleted Key Vault stays soft-deleted for its retention period (7-90 days; amlgen's vaults also have purge
protection, so they cannot be purged early) and keeps its name: creating a vault of that name fails until it is
recovered or purged. A deleted workspace keeps its name for 14 days the same way. amlgen's names are
deterministic, so deleting an environment and deploying it again meets exactly these names.

- Key Vault: `GET /subscriptions/{s}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{name}`
  (404: nothing soft-deleted), or, when the vault's location is not known before deployment (it defaults to the
  resource group's), `GET /subscriptions/{s}/providers/Microsoft.KeyVault/deletedVaults` filtered by name
  (Vaults_GetDeleted and Vaults_ListDeleted in azure-rest-api-specs, specification/keyvault/resource-manager).
- Workspace: Azure has no API that lists or reads soft-deleted workspaces (Learn concept-soft-delete: they are
  managed in the portal, under Azure Machine Learning > Recently deleted), and a GET of a soft-deleted workspace
  answers 404 like a missing one (Azure/azure-cli#33756). So amlgen cannot look; when the what-if says the
  workspace is to be created, a note says what a soft-deleted one would do, and a deployment that fails with
  "Soft-deleted workspace exists" gets the fix (fix_for, used by runs.deploy).

The requests go through the SDK's own pipeline (reads.arm_get on the ResourceManagementClient of the deploy's
connection: same credential, retry policy, CA bundle and endpoint): plain REST, no azure-mgmt-keyvault (a second SDK
package and its models for two GETs). A check that fails (no permission at subscription scope, a network fault)
never stops the deployment: it becomes a note too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from generator import apiversions
from generator.arm.expressions import parameter_reference, parameter_values
from generator.deploy.reads import CheckFailed, arm_get

KEY_VAULT = "Microsoft.KeyVault/vaults"
WORKSPACE = "Microsoft.MachineLearningServices/workspaces"
WORKSPACE_RETENTION_DAYS = 14  # https://learn.microsoft.com/azure/machine-learning/concept-soft-delete
_MAX_PAGES = 20  # a subscription's deleted-vault list, page by page: bounded


@dataclass(frozen=True)
class PlannedVault:
    """A key vault the template creates, as far as it is known before deployment."""

    name: str
    location: str | None  # None: the resource group's, known only to Azure
    recover: bool  # properties.createMode is "recover"


def _value(expr: Any, values: Mapping[str, Any]) -> str | None:
    """A literal string, or a `[parameters('x')]` whose value (or default) is one; None for anything else."""
    name = parameter_reference(expr)
    if name is not None:
        expr = values.get(name)
    if not isinstance(expr, str) or (expr.startswith("[") and not expr.startswith("[[")):
        return None  # not a string, or an expression known only at deployment
    return expr[1:] if expr.startswith("[[") else expr


def _resources(template: Mapping[str, Any], rtype: str) -> list[Mapping[str, Any]]:
    return [r for r in template.get("resources", []) if isinstance(r, Mapping)
            and str(r.get("type", "")).lower() == rtype.lower()]


def planned_vaults(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[PlannedVault]:
    values = parameter_values({"parameters": parameters}, template)
    out = []
    for r in _resources(template, KEY_VAULT):
        name = _value(r.get("name"), values)
        if name:
            location = _value(r.get("location"), values)
            recover = str((r.get("properties") or {}).get("createMode", "")).lower() == "recover"
            out.append(PlannedVault(name, location.replace(" ", "").lower() if location else None, recover))
    return out


def planned_workspaces(template: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[str]:
    values = parameter_values({"parameters": parameters}, template)
    return [n for n in (_value(r.get("name"), values) for r in _resources(template, WORKSPACE)) if n]


def deleted_vault(client: Any, subscription: str, vault: PlannedVault) -> Mapping[str, Any] | None:
    """The soft-deleted vault holding `vault.name` (REST JSON: id, name, properties...), or None."""
    version = apiversions.api_version(KEY_VAULT)
    base = f"/subscriptions/{subscription}/providers/Microsoft.KeyVault"
    if vault.location:
        return arm_get(client, f"{base}/locations/{vault.location}/deletedVaults/{vault.name}?api-version={version}")
    url: str | None = f"{base}/deletedVaults?api-version={version}"
    for _ in range(_MAX_PAGES):
        if not url:
            break
        page = arm_get(client, url) or {}
        for item in page.get("value") or []:
            if isinstance(item, Mapping) and str(item.get("name", "")).lower() == vault.name.lower():
                return item
        url = page.get("nextLink")
    return None


# --- what to say ------------------------------------------------------------------------------------------------

def _day(stamp: Any) -> str:
    return str(stamp)[:10] if stamp else "an unknown date"


def _group_of(vault_id: Any) -> str | None:
    match = re.search(r"/resourceGroups/([^/]+)/", str(vault_id or ""), re.IGNORECASE)
    return match.group(1) if match else None


def vault_note(vault: PlannedVault, found: Mapping[str, Any] | None, resource_group: str) -> str | None:
    if found is None:
        if vault.recover:
            return (f"keyVault.createMode is recover, but no soft-deleted key vault named '{vault.name}' was found in "
                    "this subscription: the deployment fails with nothing to recover; remove createMode (it is "
                    "one-shot: the vault was probably recovered already)")
        return None
    props = found.get("properties") or {}
    location = props.get("location") or vault.location or "LOCATION"
    group = _group_of(props.get("vaultId"))
    elsewhere = bool(group) and group.lower() != resource_group.lower()
    if vault.recover:
        where = f" (it was deleted from resource group {group}, not {resource_group})" if elsewhere else ""
        return (f"key vault '{vault.name}' is soft-deleted and keyVault.createMode: recover brings it back in this "
                f"deployment{where}; createMode is one-shot: remove it once the deployment has succeeded")
    if elsewhere:
        # a recovery restores the vault where it was deleted (az keyvault recover)
        recover = (f"recover it where it was deleted: az keyvault recover --name {vault.name} brings it back in "
                   f"resource group {group}, then name it in keyVault.existing")
    else:
        recover = "recover it: set keyVault.createMode: recover for one deployment, then remove it"
    purge = (f"purge it: impossible before {_day(props.get('scheduledPurgeDate'))}, purge protection is on"
             if props.get("purgeProtectionEnabled") else
             f"purge it (its secrets are lost): az keyvault purge --name {vault.name} --location {location}")
    return (f"key vault '{vault.name}' was deleted on {_day(props.get('deletionDate'))} and is soft-deleted until "
            f"{_day(props.get('scheduledPurgeDate'))}: it holds the name, so creating the vault fails. Either "
            f"{recover}; or {purge}; or rename: set keyVault.name (or change nameSeed, which renames every derived "
            "name)")


def workspace_note(name: str) -> str:
    return (f"workspace '{name}' is to be created: if a workspace of that name was deleted less than "
            f"{WORKSPACE_RETENTION_DAYS} days ago it is soft-deleted, holds the name, and the deployment fails "
            "(\"Soft-deleted workspace exists\"); Azure offers no API to look it up: see Azure Machine Learning > "
            "Recently deleted in the portal, and recover or permanently delete it there, or set another name")


def notes(template: Mapping[str, Any], parameters: Mapping[str, Any], resource_group: str, subscription: str,
          client: Any, created: set[tuple[str, str]] | None = None) -> list[str]:
    """Every note for one deployment. `created` holds (type, name) in lower case of what the what-if says is to
    be created (None: not known, every planned vault is looked up). Never raises for a failed lookup."""
    out: list[str] = []
    for vault in planned_vaults(template, parameters):
        if created is not None and not vault.recover and (KEY_VAULT.lower(), vault.name.lower()) not in created:
            continue  # the vault exists: no soft-deleted one can hold its name
        try:
            found = deleted_vault(client, subscription, vault)
        except CheckFailed as exc:
            out.append(f"could not check whether a soft-deleted key vault holds the name '{vault.name}' ({exc}; "
                       "reading deleted vaults needs Microsoft.KeyVault/locations/deletedVaults/read on the "
                       "subscription): the deployment goes on")
            continue
        note = vault_note(vault, found, resource_group)
        if note:
            out.append(note)
    if created is not None:
        out += [workspace_note(name) for name in planned_workspaces(template, parameters)
                if (WORKSPACE.lower(), name.lower()) in created]
    return out


# --- a deployment that failed on a soft-deleted name ------------------------------------------------------------

_WORKSPACE_HELD = "soft-deleted workspace exists"
_VAULT_HELD = "already exists in deleted state"


def fix_for(error_text: str, workspace_names: list[str], vault_names: list[str]) -> str | None:
    """The way out, when a deployment error says a soft-deleted workspace or vault holds a name."""
    lowered = error_text.lower()
    if _WORKSPACE_HELD in lowered:
        which = f"'{workspace_names[0]}'" if len(workspace_names) == 1 else "of this name"
        return (f"fix: a soft-deleted workspace {which} holds the name (for {WORKSPACE_RETENTION_DAYS} days after "
                "its deletion): recover or permanently delete it under Azure Machine Learning > Recently deleted "
                "in the portal, or set another name in the spec")
    if _VAULT_HELD in lowered:
        which = f"'{vault_names[0]}'" if len(vault_names) == 1 else "of this name"
        return (f"fix: a soft-deleted key vault {which} holds the name: set keyVault.createMode: recover for one "
                "deployment (then remove it), purge it (az keyvault purge) if purge protection allows, or set "
                "keyVault.name / nameSeed")
    return None
