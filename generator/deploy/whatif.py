"""What-if results made readable: echo noise filtered out (read-only properties the service sets), a Modify of
nothing but noise shown as NoChange, and the plain-text summary in the spirit of `az deployment group what-if`.
Plain Python: the ARM call itself is runs.what_if."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from generator.deploy.explain import code_message, error_lines, odata
from generator.errors import DeployError


# Properties only the service sets: any change to them is noise, whatever its type.
_READ_ONLY = frozenset(p.lower() for p in (
    "provisioningState", "etag", "creationTime", "createdAt", "createdOn", "creationDate", "timeCreated",
    "lastModifiedAt", "lastModifiedTime", "lastModifiedOn", "lastModifiedBy", "lastModifiedByType", "createdBy",
    "createdByType", "systemData", "keyCreationTime", "lastEnabledTime", "primaryEndpoints", "secondaryEndpoints",
    "primaryLocation", "secondaryLocation", "statusOfPrimary", "statusOfSecondary", "privateLinkCount",
    "serviceProvisionedResourceGroup", "discoveryUrl", "mlFlowTrackingUri", "notebookInfo", "vaultUri",
    "loginServer", "customerId", "AppId", "ApplicationId", "InstrumentationKey", "ConnectionString",
    "storageHnsEnabled",
))
# Names the service echoes back (a Delete: the template does not set them) but a template can also set (a
# diagnostic setting's workspaceId, a vault's tenantId, a role's principalId, an assigned user's tenantId): a
# Create or Modify of one of these is real input and stays visible.
_ECHOED = frozenset(p.lower() for p in ("workspaceId", "tenantId", "principalId", "clientId"))


def _is_noise(path: str, change: str) -> bool:
    if change == "NoEffect":
        return True
    segments = [re.sub(r"\[.*?\]", "", s).lower() for s in path.split(".")]
    if path.lower() == "id" or any(s in _READ_ONLY for s in segments):
        return True
    return change == "Delete" and any(s in _ECHOED for s in segments)


@dataclass(frozen=True)
class PropertyDelta:
    """One property a what-if says would change: path, Create|Delete|Modify|Array, before and after."""

    path: str
    change: str
    before: Any = None
    after: Any = None
    children: tuple[PropertyDelta, ...] = ()


@dataclass(frozen=True)
class ResourceChange:
    """One resource in a what-if: its change type and the property deltas left after filtering noise."""

    change_type: str  # Create | Modify | Delete | NoChange | Ignore | Deploy | Unsupported
    resource_id: str
    deltas: tuple[PropertyDelta, ...] = ()
    hidden: int = 0  # deltas dropped as noise
    unsupported_reason: str | None = None

    @property
    def resource_type(self) -> str:
        if "/providers/" not in self.resource_id:
            return "Microsoft.Resources/resourceGroups"
        parts = self.resource_id.split("/providers/")[-1].split("/")
        return "/".join([parts[0]] + parts[1::2])

    @property
    def name(self) -> str:
        return self.resource_id.rstrip("/").rsplit("/", 1)[-1]


CHANGE_ORDER = ("Create", "Modify", "Delete", "Deploy", "Unsupported", "NoChange", "Ignore")


@dataclass(frozen=True)
class WhatIfSummary:
    """What a deployment would change, per resource, with the echo noise filtered out."""

    changes: tuple[ResourceChange, ...]
    hidden: int = 0  # noise deltas filtered in total
    notes: tuple[str, ...] = ()  # soft-deleted names and the like (generator.deploy.soft_delete): said, never blocking

    @property
    def created(self) -> set[tuple[str, str]]:
        """(type, name) in lower case of every resource the deployment creates."""
        return {(c.resource_type.lower(), c.name.lower()) for c in self.of("Create")}

    def of(self, change_type: str) -> list[ResourceChange]:
        return [c for c in self.changes if c.change_type == change_type]

    @property
    def counts(self) -> dict[str, int]:
        return {t: n for t in CHANGE_ORDER if (n := len(self.of(t)))}

    @property
    def deletions(self) -> list[ResourceChange]:
        return self.of("Delete")

    @property
    def has_changes(self) -> bool:
        return any(c.change_type in ("Create", "Modify", "Delete", "Deploy") for c in self.changes)


def _filter_deltas(raw: Iterable[Mapping[str, Any]]) -> tuple[tuple[PropertyDelta, ...], int]:
    kept, hidden = [], 0
    for item in raw or []:
        path, change = item.get("path", ""), item.get("propertyChangeType", "")
        children, child_hidden = _filter_deltas(item.get("children") or [])
        hidden += child_hidden
        if _is_noise(path, change) or (item.get("children") and not children):
            hidden += 1
            continue
        kept.append(PropertyDelta(path, change, item.get("before"), item.get("after"), children))
    return tuple(kept), hidden


def summarise_what_if(result: Mapping[str, Any]) -> WhatIfSummary:
    """Turn a what-if result (REST JSON: {"status", "properties": {"changes": [...]}}) into a WhatIfSummary.

    A Modify whose every delta is noise becomes NoChange: the service would only echo its own state.
    """
    if result.get("status") == "Failed" or result.get("error"):
        error = odata(result.get("error")) or {}
        raise DeployError("\n".join([f"what-if failed: {code_message(error)}"] + error_lines(error)))
    changes, hidden_total = [], 0
    for change in (result.get("properties") or {}).get("changes") or []:
        kind = change.get("changeType", "")
        deltas, hidden = _filter_deltas(change.get("delta") or [])
        if kind == "Modify" and not deltas:
            kind = "NoChange"
        hidden_total += hidden
        changes.append(ResourceChange(kind, change.get("resourceId", ""), deltas, hidden,
                                      change.get("unsupportedReason")))
    order = {t: i for i, t in enumerate(CHANGE_ORDER)}
    changes.sort(key=lambda c: (order.get(c.change_type, len(order)), c.resource_id.lower()))
    return WhatIfSummary(tuple(changes), hidden_total)


_SYMBOL = {"Create": "+", "Delete": "-", "Modify": "~", "Array": "~", "Deploy": "!", "NoChange": "=",
           "Ignore": "*", "Unsupported": "x"}


def _short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _delta_lines(delta: PropertyDelta, indent: int) -> list[str]:
    pad = " " * indent
    if delta.change == "Create":
        line = f"{pad}+ {delta.path}: {_short(delta.after)}"
    elif delta.change == "Delete":
        line = f"{pad}- {delta.path}: {_short(delta.before)}"
    elif delta.children:
        line = f"{pad}~ {delta.path}:"
    else:
        line = f"{pad}~ {delta.path}: {_short(delta.before)} => {_short(delta.after)}"
    out = [line]
    for child in delta.children:
        out.extend(_delta_lines(child, indent + 2))
    return out


def format_what_if(summary: WhatIfSummary, *, show_unchanged: bool = False) -> str:
    """Plain text, one block per changed resource, in the spirit of `az deployment group what-if`."""
    words = {"Create": "to create", "Modify": "to modify", "Delete": "to delete", "Deploy": "to deploy",
             "Unsupported": "unsupported", "NoChange": "no change", "Ignore": "to ignore"}
    counts = summary.counts
    head = ", ".join(f"{n} {words[t]}" for t, n in counts.items()) or "nothing"
    lines = [f"Resource changes: {head}."]
    for change in summary.changes:
        if change.change_type in ("NoChange", "Ignore") and not show_unchanged:
            continue
        symbol = _SYMBOL.get(change.change_type, "?")
        lines.append(f"{symbol} {change.change_type:<8} {change.resource_id}")
        if change.unsupported_reason:
            lines.append(f"    ({change.unsupported_reason})")
        for delta in change.deltas:
            lines.extend(_delta_lines(delta, 4))
    if summary.hidden:
        lines.append(f"({summary.hidden} read-only propert{'y' if summary.hidden == 1 else 'ies'} the service "
                     f"echoes back not shown)")
    lines.extend(f"note: {note}" for note in summary.notes)
    return "\n".join(lines)
