"""The pipeline as one API: spec files -> findings -> models -> plans -> generated files (in memory)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from generator import model, naming, output, plan
from generator.config import SPEC_SUFFIXES, SpecFile, display
from generator.findings import ERROR, Finding, has_errors
from generator.spec import extends, load, rules, schema


@dataclass
class Checked:
    """One spec file after validation: its document merged with any bases it extends (None when it could not be
    read or a link of its chain is broken), its model (None when it has error findings, and for a base)."""

    spec_file: SpecFile
    document: load.Document | None
    spec: model.Spec | None
    plan: plan.Plan | None = None  # the spec's plan, built once for check_limits and reused to render


@dataclass
class Result:
    checked: list[Checked] = field(default_factory=list)  # the deployable specs: each generates an output folder
    bases: list[Checked] = field(default_factory=list)  # files with `base: true`, only there to be extended
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # path under the output folder (POSIX) -> text

    @property
    def ok(self) -> bool:
        return not has_errors(self.findings)


def check_document(doc: load.Document) -> list[Finding]:
    found = schema.check(doc)
    if not has_errors(found):  # rules assume schema-valid data
        found += rules.check(doc)
    return found


ARM_RESOURCE_LIMIT = 800  # resources per template, an Azure Resource Manager limit


def check_limits(spec: model.Spec, doc: load.Document, built: plan.Plan | None = None) -> list[Finding]:
    """Limits only the whole template shows: Azure refuses a template with more than 800 resources."""
    count = sum(r.existing is None for r in (built or plan.build(spec)).resources)
    if count <= ARM_RESOURCE_LIMIT:
        return []
    file, line, col = doc.where(())
    return [Finding(file, line, col, "R220", "", f"the template would hold {count} resources; Azure Resource "
                                                 f"Manager accepts at most {ARM_RESOURCE_LIMIT} per template: split "
                                                 "the spec (e.g. computes or role assignments into another workspace "
                                                 "spec)")]


def validate(spec_files: list[SpecFile], empty_folders: list[Path] = ()) -> Result:
    result = Result()
    for folder in empty_folders:
        result.findings.append(Finding(display(folder), 0, 0, "L005", "",
                                       "this folder holds no spec files (*.yaml, *.yml)", ERROR))
    owners: dict[str, SpecFile] = {}
    for sf in spec_files:
        shown = display(sf.path)
        if sf.problem is not None:  # an entry of a spec folder that cannot be read as a spec: never skipped
            rule, message = sf.problem
            result.findings.append(Finding(shown, 0, 0, rule, "", message, ERROR))
            continue
        key = sf.out_folder.as_posix()
        if key in owners:
            result.findings.append(Finding(shown, 0, 0, "L007", "",
                                           f"writes the same output folder '{key}/' as {display(owners[key].path)}; "
                                           "rename one of the two files"))
            continue
        owners[key] = sf
        doc, found = load.load_file(sf.path, shown)
        base = doc is not None and extends.is_base(doc.data)
        if doc is not None:
            doc.source = sf.source
            doc, more = extends.resolve(doc, sf.path, display, sf.within)
            found += more
        if doc is not None and base:
            # A base is checked as part of each spec that extends it; on its own, only for keys that exist nowhere.
            found += [f for f in schema.check(doc) if f.rule == "S101"]
        elif doc is not None:
            found += check_document(doc)
        spec = model.build(doc.data, sf.source) if doc is not None and not base and not has_errors(found) else None
        built = None
        if spec is not None:
            built = plan.build(spec)
            found += check_limits(spec, doc, built)
            if has_errors(found):
                spec = built = None
        result.findings.extend(found)
        (result.bases if base else result.checked).append(Checked(sf, doc, spec, built))
    result.findings += check_output_paths({f"{folder}/{name}": shown
                                           for c in result.checked if c.document is not None
                                           for folder, shown in [(c.spec_file.out_folder.as_posix(),
                                                                  display(c.spec_file.path))]
                                           for name in output.OWNED_NAMES})
    result.findings += check_names(result.checked)
    # A base shared by several specs (or read itself too) would report the same finding once for each.
    result.findings = list(dict.fromkeys(result.findings))
    return result


def check_output_paths(owners: dict[str, str]) -> list[Finding]:
    """L011 on each spec file whose generated paths collide with another's (output.collisions): `validate`
    checks the files every spec may generate, `generate` the files it does generate."""
    return [Finding(owner, 0, 0, "L011", "", f"its output collides with that of {other}: {what}; rename one of "
                                             "the two spec files")
            for owner, other, what in output.collisions(owners)]


def _deploys_into_existing_workspace(data: dict) -> bool:
    """A spec that only adds to a workspace it does not create derives no names: its nameSeed tells nothing apart."""
    ws = data.get("workspace")
    return isinstance(ws, dict) and "existing" in ws


def check_names(checked: list[Checked]) -> list[Finding]:
    """L012 on each of two specs of one run with the same name (ignoring case, as Azure compares resource
    names) and the same nameSeed: they derive the same globally unique names and the same deployment name.
    Bases are not specs; a spec that adds to an existing workspace clashes on its name alone."""
    named = []
    for c in checked:
        data = c.document.data if c.document is not None else None
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            seed = data.get("nameSeed")
            named.append((c, data["name"], "" if seed is None else str(seed), _deploys_into_existing_workspace(data)))
    same_name: dict[str, list] = {}  # by name ignoring case: each spec is compared with those only (not n x n)
    for entry in named:
        same_name.setdefault(entry[1].casefold(), []).append(entry)
    found = []
    for c, name, seed, existing in named:
        for other, other_name, other_seed, other_existing in same_name[name.casefold()]:
            if other is c:
                continue
            if seed != other_seed and not (existing or other_existing):
                continue
            doc = c.document
            file, line, column = doc.where(("name",))
            inherited = "" if file == doc.file else f" (set in {file})"
            if inherited:
                line = column = 0
            if existing or other_existing:
                clash, fix = "", "rename one"
            else:
                clash, fix = (" and derive the same storage, key vault and registry names",
                              "rename one, or give one another nameSeed")
            found.append(Finding(doc.file, line, column, "L012", "name",
                                 f"'{name}'{inherited} is the name of {display(other.spec_file.path)} too "
                                 f"('{other_name}'; Azure compares names ignoring case): both would deploy as "
                                 f"'{naming.deployment_name(name)}'{clash}; {fix}"))
    return found


def output_findings(files, out_dir: Path) -> list[Finding]:
    """L013 for each thing on disk in the way of writing `files` below `out_dir` (output.obstacles): a symbolic
    link, a file where a folder must be, a folder where a file goes. Nothing is written while one is there."""
    return [Finding(display(out_dir / rel), 0, 0, "L013", "", problem)
            for rel, problem in output.obstacles(files, out_dir)]


def unread_specs(result: Result, stale: list[str], roots) -> list[Path]:
    """Spec files that exist in a spec folder, whose output folder holds some of the `stale` files, but that this
    run did not read (skipped, unreadable, removed from the run): pruning would delete their output."""
    read = {c.spec_file.path for c in result.checked + result.bases}
    found = set()
    for rel in stale:
        parts = rel.split("/")[:-1]
        candidates = [parts] + ([parts[:-1]] if len(parts) > 1 and parts[-1] == output.MODULES else [])
        for folder in candidates:
            for root in roots:
                for suffix in SPEC_SUFFIXES:
                    spec = Path(root, *folder).with_name(folder[-1] + suffix) if folder else None
                    if spec is not None and os.path.lexists(spec) and spec not in read:
                        found.add(spec)
    return sorted(found)


@dataclass(frozen=True)
class ReadmeOptions:
    """What the generated README needs to know of the repository: how commands name the output folder (as
    configured, never an absolute path), and where out/ is served raw for a "Deploy to Azure" button."""

    output: str = "out"
    raw_base_url: str | None = None

    @classmethod
    def of(cls, cfg) -> "ReadmeOptions":
        """The options a configuration (generator.config.Config) sets: every command generates the same bytes."""
        return cls(cfg.output_label, cfg.readme_base_url)


def render_spec(spec: model.Spec, folder: str | None = None, readme: ReadmeOptions = ReadmeOptions(),
                built: plan.Plan | None = None) -> dict[str, str]:
    """Every file amlgen writes for one spec, by name inside its output folder (`built`: its plan, if at hand)."""
    # The renderers (and Jinja) load here, on first use: `validate` never needs them.
    from generator import report
    from generator.arm import render as arm_render
    from generator.bicep import render as bicep_render

    p = built or plan.build(spec)
    template, parameters = arm_render.render_template(p), arm_render.render_parameters(p)
    files = {
        "main.json": arm_render.dumps(template),
        "main.parameters.json": arm_render.dumps(parameters),
        "main.bicep": bicep_render.render_template(p),
        "main.bicepparam": bicep_render.render_parameters(p),
        "README.md": report.workspace_readme(template, parameters, spec.source, folder or spec.name,
                                             readme.raw_base_url, readme.output, spec.resource_group,
                                             spec.existing_workspace.id if spec.existing_workspace else None),
    }
    for r in p.resources:  # nested deployments: a Bicep module file each, beside main.bicep
        if r.module is not None:
            files[r.values["path"]] = bicep_render.render_template(r.module)
    if spec.resource_group:
        sub = plan.build_subscription(spec, p)
        files["subscription.json"] = arm_render.dumps(arm_render.render_template(sub, nested=template))
        files["subscription.bicep"] = bicep_render.render_template(sub)
    return files


def generate(spec_files: list[SpecFile], empty_folders: list[Path] = (),
             readme: ReadmeOptions = ReadmeOptions()) -> Result:
    """Validate every spec; when none has an error, render them all. Nothing is written here."""
    result = validate(spec_files, empty_folders)
    if not result.ok:
        return result
    owners = {}
    for item in result.checked:
        folder = item.spec_file.out_folder.as_posix()
        for name, text in render_spec(item.spec, folder, readme, item.plan).items():
            result.files[f"{folder}/{name}"] = text
            owners[f"{folder}/{name}"] = display(item.spec_file.path)
    result.findings += check_output_paths(owners)  # nothing is written when two specs' files collide
    if not result.ok:
        result.files = {}
    return result
