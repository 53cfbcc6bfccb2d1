"""Findings: what validation found in a spec, where, and how it is printed (text, JSON, SARIF)."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

ERROR = "error"
WARNING = "warning"

LEARN = "https://learn.microsoft.com/azure/"


@dataclass(frozen=True)
class Rule:
    """One entry of the catalogue: what the rule checks, the severity it reports at, and where Microsoft (or
    the format) states the behaviour it encodes, like cfn-lint's source_url. `amlgen rules` prints the table."""

    summary: str
    source: str
    level: str = ERROR  # error | warning | "error, warning" (the rule bundles checks of both kinds)


def _learn(path: str) -> str:
    return LEARN + path


# Stable rule IDs. The letter says the stage that found it: L = loading the file, S = the JSON Schema,
# R = the semantic rules. Never renumber one: CI configurations and SARIF baselines refer to them.
RULES: dict[str, Rule] = {
    "L001": Rule("The file is not valid YAML.", "https://yaml.org/spec/1.2.2/"),
    "L002": Rule("A key is written twice in the same mapping.",
                 "https://yaml.org/spec/1.2.2/#mapping (keys of a mapping are unique)"),
    "L003": Rule("The file is empty.", "schemas/workspace.schema.json (name is required)"),
    "L004": Rule("The spec is not a mapping of keys to values.", "schemas/workspace.schema.json"),
    "L005": Rule("A folder holds no spec files.", "README.md (amlgen generate PATHS)"),
    "L006": Rule("The file cannot be read.", "README.md (amlgen generate PATHS)"),
    "L007": Rule("Two spec files would write the same output folder.", "README.md (out/ mirrors the spec folders)"),
    "L008": Rule("A spec extends a file that does not exist or cannot be used as a base.",
                 "README.md (Environments: extends and base)"),
    "L009": Rule("A chain of extends comes back to a file already in it.", "README.md (Environments: extends and base)"),
    "L010": Rule("A chain of extends is more than 5 files deep.", "README.md (Environments: extends and base)"),
    "S101": Rule("A key is not part of the spec.", "schemas/workspace.schema.json"),
    "S102": Rule("A value has the wrong type.", "schemas/workspace.schema.json"),
    "S103": Rule("A required key is missing.", "schemas/workspace.schema.json"),
    "S104": Rule("A value is not one of the allowed values.", "schemas/workspace.schema.json"),
    "S105": Rule("A value does not have the required form.", "schemas/workspace.schema.json"),
    "S106": Rule("A value is too long, too short, too small or too large.", "schemas/workspace.schema.json"),
    "S107": Rule("A value breaks a rule of the spec's schema.", "schemas/workspace.schema.json"),
    "R201": Rule("A resource name breaks Azure's naming rules for its type.",
                 _learn("azure-resource-manager/management/resource-name-rules")),
    "R202": Rule("An existing-resource ID is not a well-formed Azure resource ID.",
                 _learn("azure-resource-manager/templates/template-functions-resource#resourceid")),
    "R203": Rule("An existing-resource ID names a resource of the wrong type.",
                 _learn("azure-resource-manager/templates/template-functions-resource#resourceid")),
    "R204": Rule("A SKU the workspace cannot use.",
                 _learn("machine-learning/concept-workspace#associated-resources")),
    "R205": Rule("A managed-network outbound rule is not allowed by the isolation mode.",
                 _learn("machine-learning/how-to-managed-network"), "error, warning"),
    "R206": Rule("A setting conflicts with bringing an existing resource.",
                 _learn("machine-learning/how-to-create-workspace-template")),
    "R207": Rule("A registry closed to the public network (by the spec, the workspace or a managed network) has "
                 "a SKU that cannot close it: only Premium can.",
                 _learn("container-registry/container-registry-private-link")),
    "R208": Rule("A container registry behind a private network needs an image build compute.",
                 _learn("machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr"), WARNING),
    "R210": Rule("A role is neither a built-in role name nor a role definition GUID.",
                 _learn("role-based-access-control/built-in-roles")),
    "R211": Rule("A role assignment names a dependent the spec does not have (a Project's, or no registry), or "
                 "repeats another assignment.",
                 _learn("role-based-access-control/role-assignments-template")),
    "R212": Rule("A compute's settings contradict each other or the workspace's.",
                 _learn("machine-learning/how-to-create-attach-compute-cluster"), "error, warning"),
    "R213": Rule("A private endpoint is asked for a resource the spec does not create, or cannot have one.",
                 _learn("machine-learning/how-to-configure-private-link")),
    "R214": Rule("Customer-managed key encryption is set up in a way Azure refuses (or cannot be checked).",
                 _learn("machine-learning/how-to-setup-customer-managed-keys"), "error, warning"),
    "R215": Rule("A setting does not fit the workspace's kind (Default, Hub, Project, FeatureStore); a Project "
                 "sends only what azure-ai-ml's project template sends (arm_templates/workspace_project.json).",
                 _learn("machine-learning/concept-hub-workspace")),
    "R216": Rule("A property exists only in a preview API version: the workspace uses that version.",
                 _learn("templates/microsoft.machinelearningservices/workspaces"), WARNING),
    "R217": Rule("The workspace identity settings contradict each other.",
                 _learn("machine-learning/how-to-identity-based-service-authentication")),
    "R218": Rule("A lock or diagnostic setting that cannot work as asked.",
                 _learn("azure-resource-manager/management/lock-resources#considerations-before-applying-your-locks")),
    "R219": Rule("A datastore's settings do not fit its type, or the workspace's storage.",
                 _learn("machine-learning/how-to-datastore")),
    "R220": Rule("The template would exceed an Azure Resource Manager limit.",
                 _learn("azure-resource-manager/templates/best-practices#template-limits")),
    "R221": Rule("A workspace closed to the public network that nobody can reach.",
                 _learn("machine-learning/how-to-configure-private-link"), WARNING),
    "R222": Rule("Private endpoints without an explicit, complete choice of their private DNS zones.",
                 _learn("dns/private-dns-virtual-network-links") + " (a network links to one zone of a name); "
                 + _learn("private-link/private-endpoint-dns-integration")),
    "R230": Rule("The image build compute names a compute of the spec that is not a compute cluster.",
                 _learn("machine-learning/how-to-secure-workspace-vnet#enable-azure-container-registry-acr")),
    "R231": Rule("The image build compute is not declared in the spec: it must exist before the first image build.",
                 "https://github.com/Azure/bicep-registry-modules/tree/main/avm/res/machine-learning-services/"
                 "workspace/tests/e2e/max/main.test.bicep (imageBuildCompute names a compute the test never creates)",
                 WARNING),
    "R232": Rule("SSH on a compute instance without a way to log in (no public key, no assigned user).",
                 _learn("machine-learning/how-to-create-compute-instance#enable-ssh-access")),
    "R233": Rule("A compute instance's SSH public key is not an RSA public key in a form Azure takes.",
                 _learn("machine-learning/how-to-create-compute-instance#enable-ssh-access")),
    "R234": Rule("A compute's VM size is retired: Azure cannot create it (generator/vmsizes.py, as of its AS_OF date).",
                 _learn("virtual-machines/sizes/lifecycle/retirements-and-capacity-restrictions")),
    "R235": Rule("A compute's VM size is announced for retirement (generator/vmsizes.py, as of its AS_OF date).",
                 _learn("virtual-machines/sizes/lifecycle/retirements-and-capacity-restrictions"), WARNING),
    "R236": Rule("A compute instance with a managed identity shuts down when idle only if the identity has "
                 "Contributor on the workspace.",
                 _learn("machine-learning/how-to-create-compute-instance#configure-idle-shutdown"), WARNING),
    "R240": Rule("The workspace identity is left to a guess: several user-assigned identities and no primary, or "
                 "a primary next to a system-assigned identity.",
                 "https://github.com/Azure/bicep-registry-modules/blob/main/avm/res/machine-learning-services/"
                 "workspace/main.bicep (primaryUserAssignedIdentity)"),
    "R241": Rule("A user-assigned workspace identity needs roles on a dependent the spec brings: amlgen assigns them "
                 "through a nested deployment into the dependent's resource group, which needs the right to assign "
                 "roles there.",
                 _learn("machine-learning/how-to-identity-based-service-authentication#workspace"), WARNING),
    "R242": Rule("A customer-managed key URI without its key version.",
                 _learn("machine-learning/how-to-setup-customer-managed-keys#create-a-workspace-that-uses-a-customer-"
                        "managed-key"), WARNING),
    "R243": Rule("Service-side encryption needs the key's vault open to public network access (amlgen cannot see "
                 "it).", _learn("machine-learning/concept-customer-managed-keys#preview-service-side-encryption-of-"
                                "metadata"), WARNING),
    "R244": Rule("A hub with service-side encryption and a user-assigned identity, which it does not support.",
                 _learn("ai-foundry/concepts/encryption-keys-portal")),
    "R250": Rule("Under AllowOnlyApprovedOutbound the managed network reaches the registry through a private "
                 "endpoint, which only a Premium registry can have (a warning for an existing registry, whose SKU "
                 "amlgen cannot see).",
                 _learn("machine-learning/how-to-managed-network#list-of-required-rules"), "error, warning"),
    "R251": Rule("Kubernetes computes are not supported in a workspace with a managed network.",
                 _learn("machine-learning/how-to-managed-network#limitations")),
    "R252": Rule("An outbound rule takes the name of the rule amlgen adds for a workspace open only to an IP "
                 "allow-list.",
                 _learn("machine-learning/how-to-managed-network#scenario-enable-access-from-selected-ip-addresses")),
    "R253": Rule("A feature store names a store connection that the spec does not declare under connections.",
                 "https://github.com/Azure/azure-sdk-for-python/blob/main/sdk/ml/azure-ai-ml/azure/ai/ml/"
                 "operations/_workspace_operations_base.py (the offline store and its connection are created "
                 "with the feature store)", WARNING),
    "R260": Rule("keyVault.createMode: recover is set: it recovers a soft-deleted vault once and must then be removed.",
                 _learn("key-vault/general/soft-delete-overview"), WARNING),
    "R290": Rule("A range of network.create (address space or subnet prefix) is not an IPv4 network in CIDR notation "
                 "that Azure accepts (host bits set, or a range Azure reserves).",
                 _learn("virtual-network/virtual-networks-faq#what-address-ranges-can-i-use-in-my-vnets")),
    "R291": Rule("A subnet of network.create is smaller than /29, the smallest subnet Azure supports.",
                 _learn("virtual-network/virtual-networks-faq#how-small-and-how-large-can-vnets-and-subnets-be")),
    "R292": Rule("A subnet of network.create lies outside the network's address space.",
                 _learn("virtual-network/virtual-networks-faq#can-i-add-subnets-after-the-vnet-is-created")),
    "R293": Rule("Two subnets (or two address ranges) of network.create overlap.",
                 _learn("virtual-network/virtual-networks-faq#is-there-a-limit-to-the-number-of-subnets-in-my-vnet")),
    "R294": Rule("A `subnet:` names a subnet that the spec's network does not have (or the spec has no `network` to "
                 "name subnets of).", _learn("machine-learning/how-to-secure-training-vnet#prerequisites")),
    "R295": Rule("A compute without a public IP runs in a created subnet without a NAT gateway: it has no outbound "
                 "path (amlgen's subnets have no default outbound access).",
                 _learn("machine-learning/how-to-secure-training-vnet#compute-instancecluster-or-serverless-with-no-"
                        "public-ip")),
    "R296": Rule("privateEndpoints.resourceGroup or .location is set for a subnet of the network the spec creates, "
                 "whose endpoints deploy beside it.",
                 _learn("private-link/private-endpoint-overview#private-endpoint-properties")),
    "L011": Rule("Two specs' generated paths collide: a file of one is a folder of the other, or two paths differ "
                 "only in case (one path on Windows and macOS).", "README.md (out/ mirrors the spec folders)"),
    "L012": Rule("Two specs of one run have the same name (ignoring case, as Azure compares resource names) and "
                 "the same nameSeed: they would derive the same global names and deployment name.",
                 _learn("azure-resource-manager/management/resource-name-rules") + " (resource names are "
                 "case-insensitive; always compare them case-insensitively)"),
    "L013": Rule("Something on disk is in the way of a generated file: a symbolic link below the output folder "
                 "(amlgen never writes through one), a file where a folder must be, or a folder where a file goes.",
                 "README.md (out/ mirrors the spec folders)"),
    "R270": Rule("A spec that adds to an existing workspace (workspace.existing) sets something that belongs to the "
                 "workspace's owner: its dependents, identity, encryption, private endpoints, network or other "
                 "settings, or a role on one of its dependents.",
                 _learn("machine-learning/concept-workspace#associated-resources")),
    "R271": Rule("A check that depends on the existing workspace's own settings (public network access, managed "
                 "network, region) cannot run offline: `amlgen what-if` and `deploy` read the workspace and run it.",
                 _learn("machine-learning/how-to-managed-network#limitations"), WARNING),
    "R272": Rule("Outbound rules added to an existing workspace are refused: the REST specs and Learn do not say "
                 "whether the owner's next workspace PUT (its managedNetwork.outboundRules) keeps rules created as "
                 "workspaces/outboundRules child resources.",
                 "https://github.com/Azure/azure-rest-api-specs/blob/main/specification/machinelearningservices/"
                 "resource-manager/Microsoft.MachineLearningServices/stable/2025-09-01/workspaceRP.json "
                 "(Workspaces_CreateOrUpdate, ManagedNetworkSettingsRule_CreateOrUpdate)"),
    "R273": Rule("The existing workspace, read from Azure before a what-if or deployment, contradicts the spec: "
                 "compute instances (or any compute, with private endpoints) in another region than the workspace's "
                 "(clusters elsewhere are a preview: a warning), or identity-based datastores without a "
                 "system-assigned workspace identity.",
                 _learn("machine-learning/how-to-create-attach-compute-cluster#limitations"), "error, warning"),
    "L020": Rule("A spec extends a file outside the project root, or a spec folder links to a file outside it "
                 "(--allow-outside to permit).", "README.md (Environments: extends and base)"),
    "L021": Rule("A folder inside a spec folder cannot be read: it cannot be listed, or it is a linked folder.",
                 "README.md (amlgen generate PATHS)"),
    "S108": Rule("A name, ID or setting (any text but descriptions, display names and tags) holds a control "
                 "character (a line break, a tab, ...) or a bidirectional override.",
                 "https://json-schema.org/draft/2020-12/json-schema-validation#section-6.3.3 (a "
                 "pattern is an ECMA-262 regular expression); json-schema-org/JSON-Schema-Test-Suite tests/"
                 "draft2020-12/optional/ecmascript-regex.json (\"ECMA 262 regex $ does not match trailing newline\": "
                 "\"abc\\n\" against ^abc$ \"matches in Python, but not in ECMA 262\")"),
    "R280": Rule("A role assignment's scope by ID is not a subscription, resource group or resource ID.",
                 _learn("role-based-access-control/scope-overview")),
    "R281": Rule("A role assignment's scope {existing: X} names a dependent the spec does not bring.",
                 _learn("role-based-access-control/role-assignments-template")),
    "R282": Rule("A role assignment's principal {identity: X} names neither the workspace nor one of its "
                 "user-assigned identities.",
                 _learn("role-based-access-control/role-assignments-template")),
    "R283": Rule("A role assignment for a managed identity with a principal type other than ServicePrincipal.",
                 _learn("role-based-access-control/role-assignments-template")),
    "R284": Rule("A role assignment on a resource of a type amlgen knows no API version for (Bicep declares the "
                 "resource the role is assigned on).",
                 _learn("azure-resource-manager/bicep/diagnostics/bcp139")),
    # AI hubs: AI Services, AI Search and connections (docs/ai-hubs.md)
    "R300": Rule("A connection's target names the AI Services account or Search service, but the spec has none.",
                 _learn("machine-learning/how-to-connection")),
    "R301": Rule("A connection's target does not fit its category (a keyword or existing resource of another kind, "
                 "or an existing resource for a category that has none).",
                 "https://github.com/Azure/azure-sdk-for-python/blob/main/sdk/ml/azure-ai-ml/azure/ai/ml/entities/"
                 "_workspace/connections/connection_subtypes.py"),
    "R302": Rule("A connection's category does not take this authentication type (generator/aimodels.py, "
                 "CONNECTION_AUTH).", _learn("machine-learning/how-to-connection")),
    "R303": Rule("An Entra ID (AAD) connection to an AI Services or Azure OpenAI account without a custom subdomain "
                 "(a regional endpoint), or to an existing account amlgen cannot see.",
                 _learn("ai-services/cognitive-services-custom-subdomains"), "error, warning"),
    "R304": Rule("An API-key connection to the AI Services account the spec creates, whose local (key) "
                 "authentication is off.", _learn("ai-services/disable-local-auth")),
    "R305": Rule("A model deployment's format is not one the account kind serves (generator/aimodels.py, "
                 "MODEL_FORMATS).", _learn("ai-foundry/foundry-models/concepts/models-sold-directly-by-azure")),
    "R306": Rule("A model deployment's SKU is not a deployment type (generator/aimodels.py, DEPLOYMENT_SKUS).",
                 _learn("ai-foundry/foundry-models/concepts/deployment-types")),
    "R307": Rule("A model deployment's capacity is not a positive integer.",
                 _learn("ai-foundry/openai/how-to/quota")),
    "R308": Rule("A connection's credentials settings do not fit its authentication type (identity for "
                 "ManagedIdentity, keys for CustomKeys).", _learn("machine-learning/how-to-connection")),
    "R309": Rule("A private endpoint needs a private DNS zone that the cloud does not have (clouds.MISSING_DNS_ZONES).",
                 _learn("private-link/private-endpoint-dns"), WARNING),
    "R310": Rule("An outbound rule takes the name of the private-endpoint rule amlgen adds to the AI Services "
                 "account or Search service.", _learn("machine-learning/how-to-managed-network")),
    "R311": Rule("A feature store's offline store connection is not an ADLS Gen2 connection.",
                 _learn("machine-learning/reference-yaml-feature-store")),
    "R312": Rule("aiServices.restore is set: it restores a soft-deleted account once and must then be removed.",
                 _learn("ai-services/recover-purge-resources"), WARNING),
}


QUOTE_LIMIT = 200  # characters of a value quoted in a message: a resource ID (100-200) shows whole
MESSAGE_LIMIT = 4000  # characters of a message as a whole: what is over is left out of its middle
PATH_LIMIT = 300  # characters of a finding's path (keys are in it)


def quoted(value, limit: int = QUOTE_LIMIT) -> str:
    """A value as a message quotes it (Python's repr, so quotes and control characters show), clipped: a 50 MB
    string must not be echoed whole into a terminal, a log or a SARIF file."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    return f"{text[:limit]!r}… ({len(text)} characters)"


def clipped(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """A message (or a path) kept to about `limit` characters: its start (what and where) and its end (how to fix
    it) stay, the middle goes. The net under messages that quote a value without quoted()."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]}… ({len(text) - head - tail} characters left out) …{text[-tail:]}"


@dataclass(frozen=True, order=True)
class Finding:
    """One thing wrong (or worth a warning) in one spec, located at file:line:column."""

    file: str
    line: int
    column: int
    rule: str
    path: str
    message: str
    severity: str = ERROR

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", clipped(self.message))
        object.__setattr__(self, "path", clipped(self.path, PATH_LIMIT))

    def text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        label = self.rule if self.severity == ERROR else f"{self.rule} (warning)"
        path = f" {self.path}:" if self.path else ""
        # one finding, one line: control characters from a value are shown escaped
        return f"{where}: {label}{printable(path)} {printable(self.message)}"


_CONTROL = ({c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7f, 0xa0)]}
            | {c: f"\\u{c:04x}" for c in [0x2028, 0x2029, *range(0x202a, 0x202f), *range(0x2066, 0x206a)]}
            | {0x0a: "\\n", 0x0d: "\\r", 0x09: "\\t"})
# the same characters, to find them (spec/schema.py refuses them outside free text: S108)
CONTROL_CHARACTERS = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_CONTROL)) + "]")


def printable(text: str) -> str:
    """One finding, one line, and nothing a terminal would act on: control characters (C0, C1, line separators,
    bidirectional overrides) shown escaped."""
    return text.translate(_CONTROL)


def has_errors(findings) -> bool:
    return any(f.severity == ERROR for f in findings)


def format_text(findings) -> str:
    return "".join(f.text() + "\n" for f in sorted(findings))


def format_json(findings) -> str:
    return json.dumps([asdict(f) for f in sorted(findings)], indent=2) + "\n"


def format_sarif(findings, tool_version: str) -> str:
    """SARIF 2.1.0, the format GitHub code scanning reads to annotate pull requests."""
    used = sorted({f.rule for f in findings})
    results = []
    for f in sorted(findings):
        region = {"startLine": max(f.line, 1), "startColumn": max(f.column, 1)}
        results.append({
            "ruleId": f.rule,
            "level": "error" if f.severity == ERROR else "warning",
            "message": {"text": f"{f.path}: {f.message}" if f.path else f.message},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": sarif_uri(f.file)}, "region": region}}],
        })
    sarif = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "amlgen",
                "version": tool_version,
                "informationUri": "https://github.com/amlgen/amlgen",
                "rules": [{"id": r, "shortDescription": {"text": RULES[r].summary}, **_help_uri(RULES[r].source)}
                          for r in used],
            }},
            "results": results,
        }],
    }
    return json.dumps(sarif, indent=2) + "\n"


def sarif_uri(file: str) -> str:
    """A finding's file as SARIF's artifactLocation.uri: a URI reference (RFC 3986), so spaces, `#`, `?`, `%`,
    non-ASCII letters are percent-encoded (UTF-8) and `/` stays the separator. An absolute path becomes a
    file: URI. SARIF 2.1.0 section 3.4.3 (uri property): "a string containing a valid relative or absolute URI
    reference" (https://docs.oasis-open.org/sarif/sarif/v2.1.0/os/sarif-v2.1.0-os.html#_Toc34317427)."""
    from pathlib import PurePosixPath
    from urllib.parse import quote

    posix = file.replace("\\", "/") if len(file) > 1 and file[1] == ":" else file  # C:\... as C:/...
    if posix.startswith("/"):
        return "file://" + quote(posix, safe="/", errors="surrogateescape")
    if len(posix) > 2 and posix[1] == ":" and posix[2] == "/":  # a Windows drive: file:///C:/...
        return "file:///" + posix[:2] + quote(posix[2:], safe="/", errors="surrogateescape")
    # `:` is encoded too, so a relative path's first segment can never read as a scheme (RFC 3986 section 4.2)
    return quote(PurePosixPath(posix).as_posix(), safe="/", errors="surrogateescape")


def _help_uri(source: str) -> dict:
    """SARIF's helpUri must be a URI: only web sources are given (repository paths stay in `amlgen rules`)."""
    return {"helpUri": source.split(" ", 1)[0]} if source.startswith("https://") else {}


def format_rules(fmt: str = "text") -> str:
    """The rule catalogue: ID, level, one line, source (`amlgen rules`)."""
    if fmt == "json":
        return json.dumps([{"id": rid, "level": r.level, "summary": r.summary, "source": r.source}
                           for rid, r in sorted(RULES.items())], indent=2) + "\n"
    width = max(len(r.level) for r in RULES.values())
    return "".join(f"{rid}  {r.level:<{width}}  {r.summary}\n      source: {r.source}\n"
                   for rid, r in sorted(RULES.items()))
