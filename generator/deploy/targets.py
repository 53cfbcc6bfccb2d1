"""What to deploy and what came of it: DeployTarget (one generated template and where it goes), the stable
deployment name, the results of one or many deployments and their summary table, and DeployInterrupted."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator import naming
from generator.errors import DeployError


MODES = ("Incremental", "Complete")


def deployment_name_for(workspace_name: str) -> str:
    """The stable deployment name for a workspace, so a redeploy updates one record instead of adding one."""
    return naming.deployment_name(workspace_name)


@dataclass(frozen=True)
class DeployTarget:
    """One template to deploy: what the generator produced for one spec, and where it goes."""

    label: str  # the spec, e.g. examples/dev.yaml: names the target in messages and tables
    template: Mapping[str, Any]  # main.json as data
    parameters: Mapping[str, Any]  # ARM parameter values: {"name": {"value": ...}} (main.parameters.json's)
    resource_group: str
    workspace_name: str
    location: str | None = None  # for --create-resource-group
    deployment_name: str = ""  # default: deployment_name_for(workspace_name)

    def __post_init__(self) -> None:
        params = self.parameters
        # accept a whole main.parameters.json document as well as its `parameters` object
        if isinstance(params, Mapping) and "$schema" in params and isinstance(params.get("parameters"), Mapping):
            object.__setattr__(self, "parameters", params["parameters"])
        if not self.deployment_name:
            object.__setattr__(self, "deployment_name", deployment_name_for(self.workspace_name))

    @classmethod
    def from_output_dir(cls, label: str, out_dir: str | os.PathLike, resource_group: str, workspace_name: str,
                        location: str | None = None) -> DeployTarget:
        """A target read from generated files: <out_dir>/main.json and main.parameters.json (if present)."""
        folder = Path(out_dir)
        template = json.loads((folder / "main.json").read_text(encoding="utf-8"))
        params_file = folder / "main.parameters.json"
        parameters = json.loads(params_file.read_text(encoding="utf-8")) if params_file.exists() else {}
        return cls(label, template, parameters, resource_group, workspace_name, location)

    def body(self, mode: str = "Incremental") -> dict[str, Any]:
        return {"properties": {"mode": mode, "template": self.template, "parameters": dict(self.parameters)}}

    def follow_command(self) -> str:
        return f"az deployment group show -g {self.resource_group} -n {self.deployment_name}"


@dataclass(frozen=True)
class DeployResult:
    """A finished (or, without waiting, accepted) deployment."""

    label: str
    deployment_name: str
    resource_group: str
    state: str  # Succeeded, or Accepted when not waiting
    outputs: dict[str, Any]
    duration: float
    correlation_id: str | None = None


@dataclass(frozen=True)
class TargetResult:
    """One row of the deploy_many summary."""

    label: str
    deployment_name: str
    resource_group: str
    ok: bool
    state: str  # Succeeded | Accepted | Failed | Detached | NotStarted
    duration: float
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)


class DeployInterrupted(DeployError):
    """Waiting stopped (Ctrl-C); the deployment itself goes on in Azure."""

    exit_code = 130  # as for any interrupted command (cli.main)

    def __init__(self, targets: Sequence[DeployTarget]) -> None:
        self.targets = list(targets)
        if len(self.targets) == 1:
            t = self.targets[0]
            text = (f"stopped waiting; deployment {t.deployment_name} goes on in Azure "
                    f"(resource group {t.resource_group}). Follow it with: {t.follow_command()}")
        else:
            follow = "; ".join(t.follow_command() for t in self.targets)
            text = (f"stopped waiting; {len(self.targets)} deployments go on in Azure. Follow them with: {follow}"
                    if self.targets else "stopped before any deployment started")
        super().__init__(text)


def format_results(results: Sequence[TargetResult]) -> str:
    """The deploy_many summary table (plain text), then each failure's full error."""
    headers = ("spec", "resource group", "deployment", "result", "time")
    rows = [(r.label, r.resource_group, r.deployment_name, r.state, f"{r.duration:.1f} s") for r in results]
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in [headers, *rows]]
    for r in results:
        if not r.ok and r.error:
            lines.append("")
            lines.append(f"{r.label}: {r.error}")
    return "\n".join(lines)
