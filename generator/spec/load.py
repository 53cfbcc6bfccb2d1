"""Read one spec file into plain data and a table of where each key and value was written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from generator.findings import ERROR, Finding
from generator.readfile import Unreadable, read_regular

try:  # libyaml's parser is several times faster; the pure-Python one gives the same nodes and marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader

Path_ = tuple  # a path into the data: keys and list indexes


@dataclass
class Locations:
    """Where each value (and each mapping key) of a document was written, by path: (file, line, column).

    The file is part of every entry because a spec that `extends` another holds values written in several files.
    """

    values: dict = field(default_factory=dict)
    keys: dict = field(default_factory=dict)

    def of(self, path: Path_, key: bool = False) -> tuple[str, int, int]:
        """File, line and column of the value at `path` (or of its key), else of its nearest written ancestor."""
        path = tuple(path)
        if key and path in self.keys:
            return self.keys[path]
        while path:
            if path in self.values:
                return self.values[path]
            path = path[:-1]
        return self.values.get((), ("", 1, 1))


@dataclass
class Document:
    """A spec as read from disk: `file` is the path shown to people, `source` its path relative to the spec root.

    `chain` lists the files merged under it through `extends` (nearest first); empty for a spec that extends none.
    """

    file: str
    data: object
    locations: Locations
    source: str = ""
    chain: tuple[str, ...] = ()

    def where(self, path: Path_, key: bool = False) -> tuple[str, int, int]:
        """The file, line and column to name in a finding about `path`: every finding is located through here."""
        file, line, column = self.locations.of(path, key=key)
        return file or self.file, line, column


class _Constructor(yaml.constructor.SafeConstructor):
    pass


def _pos(node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _at(file: str, node) -> tuple[str, int, int]:
    return (file, *_pos(node))


class _AliasLoop(Exception):
    def __init__(self, node):
        self.node = node


class _TooLarge(Exception):
    def __init__(self, node):
        self.node = node


# A real spec has a few hundred values; aliases can make a short file expand to billions ("billion laughs").
MAX_VALUES = 100_000


_STR = "tag:yaml.org,2002:str"


def _scalar(node, constructor):
    # speed: most scalars are text, which SafeConstructor.construct_yaml_str returns as the node's value
    if node.tag == _STR and isinstance(node, yaml.ScalarNode):
        return node.value
    return constructor.construct_object(node, deep=True)


def _convert(node, path, loc: Locations, findings: list, file: str, constructor, active=()):
    if active and not isinstance(node, yaml.ScalarNode) and any(node is a for a in active):
        # an alias inside its own anchor: `a: &x [*x]` (only a collection holds itself)
        raise _AliasLoop(node)
    active = active + (node,) if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) else active
    loc.values[path] = _at(file, node)
    if len(loc.values) > MAX_VALUES:
        raise _TooLarge(node)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, constructor)
            if not isinstance(key, str):
                # YAML turns `yes:` or `1:` into non-strings; spec keys are always names.
                key = str(key)
            if key in out:
                line, col = _pos(key_node)
                first = loc.keys.get(path + (key,), (file, 0, 0))[1]
                findings.append(Finding(file, line, col, "L002", ".".join(map(str, path + (key,))),
                                        f"'{key}' is already set on line {first}; keep one of the two"))
                continue
            loc.keys[path + (key,)] = _at(file, key_node)
            out[key] = _convert(value_node, path + (key,), loc, findings, file, constructor, active)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, path + (i,), loc, findings, file, constructor, active)
                for i, item in enumerate(node.value)]
    return _scalar(node, constructor)


def parse_text(text: str, file: str) -> tuple[Document | None, list[Finding]]:
    """Parse spec text; problems come back as findings, never as exceptions."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        opened = exc.context_mark
        if opened is not None and mark is not None and (opened.line, opened.column) != (mark.line, mark.column):
            if (exc.context or "").startswith("while parsing a flow"):
                # an unclosed [ or {: the place to fix is where it opened, not where the parser gave up
                context += f"; the parser gave up at line {mark.line + 1}, column {mark.column + 1}"
                mark = opened
            else:
                context += f"; it started at line {opened.line + 1}, column {opened.column + 1}"
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if "\t" in text.splitlines()[mark.line if mark and mark.line < len(text.splitlines()) else 0]:
            context += "; YAML does not allow tabs for indentation, use spaces"
        return None, [Finding(file, line, col, "L001", "", f"{problem}{context}; fix the YAML syntax here")]
    except yaml.YAMLError as exc:
        return None, [Finding(file, 1, 1, "L001", "", f"invalid YAML: {exc}")]
    if node is None:
        return None, [Finding(file, 1, 1, "L003", "", "the file is empty; a spec needs at least `name: <workspace name>`")]
    findings: list[Finding] = []
    loc = Locations()
    try:
        data = _convert(node, (), loc, findings, file, _Constructor())
    except _TooLarge as exc:
        line, col = _pos(exc.node)
        return None, [Finding(file, line, col, "L001", "", f"the spec expands to more than {MAX_VALUES} values "
                                                          "(YAML aliases repeating aliases?); write it out plainly")]
    except _AliasLoop as exc:
        line, col = _pos(exc.node)
        return None, [Finding(file, line, col, "L001", "", "an alias refers to the collection that contains it; "
                                                          "YAML anchors cannot refer to themselves")]
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return None, [Finding(file, line, col, "L001", "", f"{exc.problem}; use plain YAML values (no tags)")]
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single value ({type(data).__name__})"
        _, line, col = loc.of(())
        findings.append(Finding(file, line, col, "L004", "",
                                f"the spec is {kind}; it must be a mapping that starts with `name: <workspace name>`"))
        return None, findings
    return Document(file=file, data=data, locations=loc), findings


def load_file(path: Path, display: str) -> tuple[Document | None, list[Finding]]:
    try:
        raw = read_regular(path)
    except Unreadable as exc:
        return None, [Finding(display, 0, 0, "L006", "", f"cannot read the file: {exc}", ERROR)]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        return None, [Finding(display, line, column, "L001", "",
                              f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02X}); save it as UTF-8")]
    return parse_text(text, display)
