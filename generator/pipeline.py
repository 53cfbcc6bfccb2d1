"""The pipeline as one API: spec files -> findings -> models -> plans -> generated files (in memory)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from generator import model, plan
from generator.arm import render as arm_render
from generator.bicep import render as bicep_render
from generator.config import SpecFile, display
from generator.findings import ERROR, Finding, has_errors
from generator.spec import load, rules, schema


@dataclass
class Checked:
    """One spec file after validation: its document, its model (None when it has error findings)."""

    spec_file: SpecFile
    document: load.Document | None
    spec: model.Spec | None


@dataclass
class Result:
    checked: list[Checked] = field(default_factory=list)
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


def validate(spec_files: list[SpecFile], empty_folders: list[Path] = ()) -> Result:
    result = Result()
    for folder in empty_folders:
        result.findings.append(Finding(display(folder), 0, 0, "L005", "",
                                       "this folder holds no spec files (*.yaml, *.yml)", ERROR))
    owners: dict[str, SpecFile] = {}
    for sf in spec_files:
        shown = display(sf.path)
        key = sf.out_folder.as_posix()
        if key in owners:
            result.findings.append(Finding(shown, 0, 0, "L007", "",
                                           f"writes the same output folder '{key}/' as {display(owners[key].path)}; "
                                           "rename one of the two files"))
            continue
        owners[key] = sf
        doc, found = load.load_file(sf.path, shown)
        if doc is not None:
            doc.source = sf.source
            found += check_document(doc)
        spec = model.build(doc.data, sf.source) if doc is not None and not has_errors(found) else None
        result.findings.extend(found)
        result.checked.append(Checked(sf, doc, spec))
    return result


def render_spec(spec: model.Spec) -> dict[str, str]:
    """Every file amlgen writes for one spec, by name inside its output folder."""
    p = plan.build(spec)
    return {
        "main.json": arm_render.dumps(arm_render.render_template(p)),
        "main.parameters.json": arm_render.dumps(arm_render.render_parameters(p)),
        "main.bicep": bicep_render.render_template(p),
        "main.bicepparam": bicep_render.render_parameters(p),
    }


def generate(spec_files: list[SpecFile], empty_folders: list[Path] = ()) -> Result:
    """Validate every spec; when none has an error, render them all. Nothing is written here."""
    result = validate(spec_files, empty_folders)
    if not result.ok:
        return result
    for item in result.checked:
        folder = item.spec_file.out_folder.as_posix()
        for name, text in render_spec(item.spec).items():
            result.files[f"{folder}/{name}"] = text
    return result
