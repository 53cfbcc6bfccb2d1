"""The pipeline as one API: spec files -> findings -> models -> plans -> generated files (in memory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import model, plan, report
from generator.arm import render as arm_render
from generator.bicep import render as bicep_render
from generator.config import SpecFile, display
from generator.findings import ERROR, Finding, has_errors
from generator.spec import extends, load, rules, schema


@dataclass
class Checked:
    """One spec file after validation: its document merged with any bases it extends (None when it could not be
    read or a link of its chain is broken), its model (None when it has error findings, and for a base)."""

    spec_file: SpecFile
    document: load.Document | None
    spec: model.Spec | None


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


def check_limits(spec: model.Spec, doc: load.Document) -> list[Finding]:
    """Limits only the whole template shows: Azure refuses a template with more than 800 resources."""
    count = sum(r.existing is None for r in plan.build(spec).resources)
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
        if spec is not None:
            found += check_limits(spec, doc)
            if has_errors(found):
                spec = None
        result.findings.extend(found)
        (result.bases if base else result.checked).append(Checked(sf, doc, spec))
    # A base shared by several specs (or read itself too) would report the same finding once for each.
    result.findings = list(dict.fromkeys(result.findings))
    return result


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


def render_spec(spec: model.Spec, folder: str | None = None, readme: ReadmeOptions = ReadmeOptions()) -> dict[str, str]:
    """Every file amlgen writes for one spec, by name inside its output folder."""
    p = plan.build(spec)
    template, parameters = arm_render.render_template(p), arm_render.render_parameters(p)
    files = {
        "main.json": arm_render.dumps(template),
        "main.parameters.json": arm_render.dumps(parameters),
        "main.bicep": bicep_render.render_template(p),
        "main.bicepparam": bicep_render.render_parameters(p),
        "README.md": report.workspace_readme(template, parameters, spec.source, folder or spec.name,
                                             readme.raw_base_url, readme.output, spec.resource_group),
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
    for item in result.checked:
        folder = item.spec_file.out_folder.as_posix()
        for name, text in render_spec(item.spec, folder, readme).items():
            result.files[f"{folder}/{name}"] = text
    return result
