"""Talk to Azure Resource Manager through the Azure SDK: sign in, preflight, what-if and deploy generated templates.

One module per concern, importing downstream only (sdk_logging, signin -> connection -> explain -> whatif, reads
-> soft_delete, runs):

- signin: the clouds, custom ARM endpoints, TLS verification, credentials and sign-in errors
- sdk_logging: the Azure SDK's log lines (off unless --verbose)
- connection: ArmConnection / connect, the SDK clients with amlgen's retry policy, timeouts and waiting notices
- explain: SDK exceptions and ARM error trees as one actionable DeployError
- targets: DeployTarget, the stable deployment name, results, their table, DeployInterrupted
- whatif: the what-if summary (noise filtered) and its text
- reads: plain GETs (arm_get) and the existing workspace a spec adds to (read_workspace)
- soft_delete: soft-deleted key vaults and workspaces that hold a planned name
- runs: validate, what_if, ensure_resource_group, deploy, deploy_many
- config_json: the config.json MLClient.from_config() reads

The Azure SDK is imported inside the functions that need it only, so that `validate`, `generate` and `--help`
never pay for it. Callers use the names below (`from generator import deploy; deploy.connect(...)`); a test that
replaces a function replaces it in the module that defines it (e.g. `deploy.signin.make_credential`).
"""

from __future__ import annotations

from generator.deploy.config_json import write_config
from generator.deploy.connection import CONNECT_TIMEOUT, REQUEST_TIMEOUT, ArmConnection, connect
from generator.deploy.reads import CheckFailed, arm_get, read_workspace
from generator.deploy.runs import deploy, deploy_many, ensure_resource_group, validate, what_if
from generator.deploy.signin import ARM_ENDPOINT_ENV, AUTH_MODES, CLOUDS, make_credential, resolve_cloud
from generator.deploy.targets import DeployInterrupted, DeployTarget, TargetResult, deployment_name_for, format_results
from generator.deploy.whatif import WhatIfSummary, format_what_if, summarise_what_if
from generator.errors import DeployError

__all__ = [
    "ARM_ENDPOINT_ENV", "AUTH_MODES", "CLOUDS", "CONNECT_TIMEOUT", "REQUEST_TIMEOUT", "ArmConnection", "CheckFailed",
    "DeployError", "DeployInterrupted", "DeployTarget", "TargetResult", "WhatIfSummary", "arm_get", "connect",
    "deploy", "deploy_many", "deployment_name_for", "ensure_resource_group", "format_results", "format_what_if",
    "make_credential", "read_workspace", "resolve_cloud", "summarise_what_if", "validate", "what_if", "write_config",
]
