"""Environments: resolve a spec's `extends` chain into one document, each value still located where it was written.

A spec says `extends: base.yaml` (relative to its own file) and overrides what differs: mappings merge key by
key (the overlay wins), lists are replaced whole, and `key: null` in an overlay removes a key a base sets. A file
that says `base: true` only exists to be extended: it is checked as part of the specs that extend it and
generates nothing. Neither key is part of the merged spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import yaml

from generator import readfile
from generator.findings import Finding
from generator.spec.load import Document, Locations, load_file

MAX_DEPTH = 5  # levels of `extends` below a spec: more is a sign of a chain nobody can follow any more
_OWN_KEYS = {"extends": str, "base": bool}  # how a file is put together, not what it deploys
_MISSING = object()


def is_base(data) -> bool:
    """A file that only other specs extend: `base: true` written in the file itself (it is not inherited)."""
    return isinstance(data, dict) and data.get("base") is True


def _own(doc: Document) -> dict:
    """The file's data without `extends` and `base`; a value of the wrong type stays, for the schema to report."""
    return {k: v for k, v in doc.data.items()
            if not (k in _OWN_KEYS and isinstance(v, _OWN_KEYS[k]) and (k != "extends" or v))}


def merge(base, overlay):
    """The overlay on top of the base: mappings merge key by key, anything else (lists too) is replaced whole,
    and a null in an overlay mapping removes the key. Keys keep the overlay's order, then the base's."""
    if not isinstance(overlay, dict):
        return overlay
    under = base if isinstance(base, dict) else {}
    out = {k: merge(under.get(k, _MISSING), v) for k, v in overlay.items() if v is not None}
    out.update((k, v) for k, v in under.items() if k not in overlay)
    return out


def _locate(data, path: tuple, layers: list[Locations], out: Locations) -> None:
    """Each path of the merged data is located in the topmost layer that wrote it: that layer's value (or, for a
    mapping, its own opening) is the one that survived the merge."""
    for loc in layers:
        if path in loc.values:
            out.values[path] = loc.values[path]
            break
    if path:
        for loc in layers:
            if path in loc.keys:
                out.keys[path] = loc.keys[path]
                break
    if isinstance(data, dict):
        for k, v in data.items():
            _locate(v, path + (k,), layers, out)
    elif isinstance(data, list):
        for i, v in enumerate(data):
            _locate(v, path + (i,), layers, out)


def _follow(doc: Document, path: Path, show: Callable[[Path], str], within: Path | None = None
            ) -> tuple[list[Document], list[Finding], bool]:
    """The documents of the chain (the spec first), the bases' own findings, and whether every link held.
    With `within`, every base must be inside that folder once symbolic links are resolved."""
    layers, paths, found = [doc], [path.resolve()], []
    while True:
        current = layers[-1]
        target = current.data.get("extends")
        if not isinstance(target, str) or not target:  # the end of the chain (a wrong value is the schema's)
            return layers, found, True
        file, line, col = current.where(("extends",))

        def broken(rule: str, message: str) -> tuple[list[Document], list[Finding], bool]:
            return layers, found + [Finding(file, line, col, rule, "extends", message)], False

        try:
            resolved = readfile.resolved(paths[-1].parent / target)
        except readfile.Unreadable as exc:
            return broken("L008", f"'{target}' cannot be read: {exc}")
        if within is not None and not resolved.is_relative_to(within):
            return broken("L020", f"'{target}' is outside the project root {within.as_posix()} (it leads to "
                                  f"{resolved.as_posix()}); a spec may extend only files inside the project (a spec "
                                  "outside the project: inside the folder it was given in): copy the base there, or "
                                  "run with --allow-outside if you trust this spec")
        if resolved in paths:
            chain = " -> ".join(show(p) for p in paths[paths.index(resolved):] + [resolved])
            return broken("L009", f"'{target}' is already in this chain of extends ({chain}); "
                                  "a spec cannot extend itself, directly or through its bases")
        if len(layers) > MAX_DEPTH:
            return broken("L010", f"'{target}' would be level {len(layers)} of extends below {show(paths[0])}; "
                                  f"at most {MAX_DEPTH} are allowed: fold some of the bases together")
        if resolved.is_dir():
            return broken("L008", f"'{target}' is a folder ({show(resolved)}); extends takes the path of one spec "
                                  "file, relative to the file it is written in")
        if not resolved.exists():  # anything else that is there (a FIFO, a device) is refused by load_file
            return broken("L008", f"'{target}' does not exist (looked for {show(resolved)}); extends takes a "
                                  "path relative to the file it is written in")
        base, more = load_file(resolved, show(resolved))
        found += more  # a base's own problems (YAML, duplicate keys) are reported in the base
        if base is None:
            return broken("L008", f"'{target}' cannot be used as a base: see the findings for {show(resolved)}")
        layers.append(base)
        paths.append(resolved)


def resolve(doc: Document, path: Path, show: Callable[[Path], str] = Path.as_posix, within: Path | None = None
            ) -> tuple[Document | None, list[Finding]]:
    """The spec merged with every base it extends, or None when a link of the chain is broken (with findings).

    `path` is the spec's file on disk (links are relative to it); `show` turns a path into the name people see;
    `within`, when given, is the folder every base must be in (the project root).
    """
    layers, found, whole = _follow(doc, path, show, within)
    if not whole:
        return None, found
    if len(layers) == 1 and not any(k in doc.data for k in _OWN_KEYS):
        return doc, found
    data = _own(layers[-1])
    for layer in reversed(layers[:-1]):
        data = merge(data, _own(layer))
    locations = Locations()
    _locate(data, (), [layer.locations for layer in layers], locations)
    return Document(file=doc.file, data=data, locations=locations, source=doc.source,
                    chain=tuple(layer.file for layer in layers[1:])), found


def _files_under(doc: Document, key: str) -> list[str]:
    """The files that wrote anything under a top-level key, the spec's own first, then down the chain."""
    written = {entry[0] for table in (doc.locations.values, doc.locations.keys)
               for path, entry in table.items() if path[:1] == (key,)}
    return [f for f in (doc.file, *doc.chain) if f in written]


def to_yaml(doc: Document) -> str:
    """The merged spec as YAML, each top-level key headed by the file(s) its value comes from."""
    chain = "".join(f"\n#   extends {f}" for f in doc.chain) if doc.chain else " (extends no other file)"
    parts = [f"# {doc.file}{chain}\n"]
    for key, value in doc.data.items():
        parts.append(f"# from {', '.join(_files_under(doc, key)) or doc.file}\n")
        parts.append(yaml.safe_dump({key: value}, sort_keys=False, allow_unicode=True, default_flow_style=False,
                                    width=120))
    return "".join(parts)
