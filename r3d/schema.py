"""Reading YAML scenes and recipes: ``yaml.safe_load``, unknown keys, typed values, key paths.

A document is read through :class:`Node` objects, each a value with its key path
(``cameras.turntable.views``, ``meshes[1].file``). Every problem is an
:class:`r3d.errors.InputError` whose message starts with where the value came from (the file,
the name of the defaults when there is no file, or the ``--set key=value`` that gave it) and
names the key path, what was expected and what was found; an unknown key is reported with the
nearest valid key (``difflib.get_close_matches``) or, when none is close, the list of valid
keys. Relative paths resolve against the folder of the file (the current folder for defaults).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import os
import re
import reprlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from r3d.errors import FileFormatError, InputError, MissingFileError
from r3d.io.utils import MAX_NESTING, check_nesting

__all__ = [
    "REQUIRED",
    "Node",
    "apply_overrides",
    "dataclass_section",
    "dataclass_to_plain",
    "field_names",
    "load_yaml",
    "override_paths",
    "parse_float",
    "parse_int",
    "parse_non_negative",
    "parse_vector",
]

REQUIRED: Any = object()  # default of a key that must be given


def load_yaml(path: str | os.PathLike | None, overrides: Sequence[str] = (),
              defaults_name: str = "<defaults>") -> Node:
    """The top-level mapping of a YAML file (read with ``yaml.safe_load``) as a :class:`Node`,
    with ``key.path=value`` ``overrides`` applied (:func:`apply_overrides`; messages about
    their keys name the ``--set``). ``path`` None gives an empty document: messages call it
    ``defaults_name``, relative paths resolve against the current folder.

    Raises FileFormatError naming the path (and the line of a syntax error) when the file is
    missing, unreadable or not YAML, and InputError when its top level is not a mapping.
    """
    if path is None:
        node = Node({}, Path.cwd() / defaults_name, source=defaults_name)
    else:
        node = _read_yaml(Path(path))
    node.value = apply_overrides(node.value, overrides)
    node.overrides = override_paths(overrides)
    return node


def _read_yaml(path: Path) -> Node:
    if not path.is_file():
        raise MissingFileError(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, f"cannot read: {exc}") from None
    if _flow_nesting(text) > MAX_NESTING:
        raise FileFormatError(path, f"the document nests [...] or {{...}} more than "
                                    f"{MAX_NESTING} levels deep")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise FileFormatError(
            path, f"not valid YAML: {problem}", None if mark is None else mark.line + 1
        ) from None
    except RecursionError:
        raise FileFormatError(path, "not valid YAML here: lists or mappings nested too "
                                    "deeply") from None
    check_nesting(path, data)
    node = Node(data, path)
    if not isinstance(data, dict):
        raise node.error("", "a mapping of keys at the top level")
    return node


_SHOWN = reprlib.Repr()
_SHOWN.maxlevel, _SHOWN.maxlist, _SHOWN.maxdict, _SHOWN.maxstring, _SHOWN.maxother = 3, 6, 4, 40, 40


def _flow_nesting(text: str) -> int:
    """How deep YAML flow collections (``[...]``, ``{...}``) nest in ``text``, outside quoted
    scalars and comments: checked before parsing, as PyYAML's scanner takes time quadratic in
    that depth (seconds for a thousand levels)."""
    depth = deepest = 0
    quote, prev, chars = "", "\n", iter(text)
    for ch in chars:
        if quote:
            if ch == "\\" and quote == '"':
                next(chars, None)
            elif ch == quote:
                quote = ""
        elif ch == "#" and prev in " \t\n":
            for c in chars:  # the comment, to its line's end
                if c == "\n":
                    break
            ch = "\n"
        elif ch in "\"'" and prev in " \t\n[{,:-":
            quote = ch
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
    return deepest


def _show(value: Any) -> str:
    """A short rendering of a received value for messages (bounded: a value that YAML aliases
    make huge is not expanded)."""
    text = _SHOWN.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Node:
    """A value read from a YAML file, with its key path, for checked and typed access.

    Args:
        value: the value (for a section, a dict).
        file: the YAML file (relative paths resolve against its folder).
        path: key path of ``value`` in the document ("" for the top level).
        source: what messages call the document (default: ``file``).
        overrides: {key path: the ``key=value`` override that set it} (see
            :func:`override_paths`): messages about those keys name the ``--set``.
    """

    def __init__(self, value: Any, file: Path, path: str = "", source: str | None = None,
                 overrides: dict[str, str] | None = None) -> None:
        self.value = value
        self.file = file
        self.path = path
        self.source = str(file) if source is None else source
        self.overrides = overrides or {}

    def child(self, value: Any, path: str) -> Node:
        """A node of this document: ``value`` at key path ``path``."""
        return Node(value, self.file, path, self.source, self.overrides)

    def origin(self, key: str | int = "") -> str:
        """Where the value at ``key`` (this node itself for "") came from, for messages: the
        ``--set key=value`` that set it, a section above it or a key in it, else the
        document's :attr:`source`."""
        where = self.key_path(key) if key != "" else self.path
        given = [k for k in self.overrides if where and (
            where == k or where.startswith((f"{k}.", f"{k}[")) or k.startswith(f"{where}."))]
        return f"--set {self.overrides[max(given, key=len)]}" if given else self.source

    @property
    def label(self) -> str:
        """The document for messages about it as a whole: its source and the overrides."""
        sets = ", ".join(f"--set {item}" for item in self.overrides.values())
        return f"{self.source} with {sets}" if sets else self.source

    # ---- structure ---------------------------------------------------------------------------
    def key_path(self, key: str | int) -> str:
        """The key path of ``key`` (a str key, or an int list index) under this node."""
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str | int, expected: str) -> InputError:
        """InputError saying that ``key`` (or this node itself when "") must be ``expected``."""
        where = self.key_path(key) if key != "" else (self.path or "the document")
        value = self.value if key == "" else self.value.get(key)
        return InputError(f"{self.origin(key)}: {where} must be {expected}, got {_show(value)}")

    def section(self, key: str, allowed: Sequence[str]) -> Node:
        """The mapping at ``key``, checked to hold only ``allowed`` keys."""
        return self.child(self.value.get(key), self.key_path(key)).mapping(allowed)

    def mapping(self, allowed: Sequence[str]) -> Node:
        """This node, checked to be a mapping holding only ``allowed`` keys."""
        if not isinstance(self.value, dict):
            raise InputError(
                f"{self.origin()}: {self.path or 'the document'} must be a mapping with keys among "
                f"{', '.join(allowed)}; got {_show(self.value)}"
            )
        self.check_keys(allowed)
        return self

    def check_keys(self, allowed: Sequence[str]) -> None:
        """Raises InputError for the first key of this mapping not in ``allowed``."""
        for key in self.value:
            if key in allowed:
                continue
            where = f" in {self.path}" if self.path else ""
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"valid keys: {', '.join(allowed)}"
            raise InputError(f"{self.origin(str(key))}: unknown key '{key}'{where}; {hint}")

    def has(self, key: str) -> bool:
        """Whether ``key`` is given (a key whose value is null counts as not given)."""
        return self.value.get(key) is not None

    def items(self, key: str) -> list[Node]:
        """The entries of the list at ``key`` as nodes (a required, non-empty list)."""
        value = self.value.get(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, "a non-empty list")
        parent = self.child(value, self.key_path(key))
        return [self.child(v, parent.key_path(i)) for i, v in enumerate(value)]

    def get(self, key: str, default: Any, parse: Callable[[Any], Any], expected: str) -> Any:
        """``parse(value)`` of ``key``, or ``default`` when not given.

        ``parse`` returns the typed value or raises ValueError/TypeError; either becomes an
        InputError naming the key path and ``expected``. A missing key with default
        :data:`REQUIRED` is an error too.
        """
        if not self.has(key):
            if default is REQUIRED:
                raise InputError(f"{self.origin(key)}: {self.key_path(key)} is required "
                                 f"({expected})")
            return default
        try:
            return parse(self.value[key])
        except (ValueError, TypeError):
            raise self.error(key, expected) from None

    # ---- typed values ------------------------------------------------------------------------
    def integer(self, key: str, default: Any = REQUIRED, minimum: int = 1) -> int:
        """An int >= ``minimum`` (booleans and floats are refused)."""
        expected = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        return self.get(key, default, lambda v: _checked(parse_int(v), lambda x: x >= minimum),
                        expected)

    def number(self, key: str, default: Any = REQUIRED, positive: bool = False) -> float:
        """A finite float (an int is accepted); > 0 when ``positive``."""
        expected = "a positive number" if positive else "a number"
        return self.get(key, default,
                        lambda v: _checked(parse_float(v), lambda x: x > 0 or not positive),
                        expected)

    def boolean(self, key: str, default: Any = REQUIRED) -> bool:
        """true or false."""
        return self.get(key, default, lambda v: _checked(v, lambda x: isinstance(x, bool)),
                        "true or false")

    def choice(self, key: str, choices: Sequence[str], default: Any = REQUIRED) -> str:
        """One of ``choices``; a near miss is named in the message."""
        expected = "one of " + ", ".join(choices)
        if self.has(key) and self.value[key] not in choices:
            close = difflib.get_close_matches(str(self.value[key]), choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise InputError(f"{self.error(key, expected)}{hint}")
        return self.get(key, default, str, expected)

    def string(self, key: str, default: Any = REQUIRED) -> str:
        """A non-empty string."""
        return self.get(key, default, lambda v: _checked(v, lambda x: isinstance(x, str) and x),
                        "a non-empty string")

    def vector(self, key: str, default: Any = REQUIRED, n: int = 3) -> tuple[float, ...]:
        """A list of ``n`` numbers, as a tuple of floats."""
        return self.get(key, default, lambda v: parse_vector(v, n), f"a list of {n} numbers")

    def file_path(self, key: str, default: Any = REQUIRED) -> Path:
        """A file or folder path; a relative one resolves against the YAML file's folder."""
        return self.get(key, default, lambda v: self.resolve(_checked(v, _is_path)),
                        "a path (a non-empty string)")

    def resolve(self, path: str | os.PathLike) -> Path:
        """``path`` made absolute against the YAML file's folder (user's ~ expanded)."""
        return (self.file.parent / Path(path).expanduser()).resolve()


def _checked(value: Any, ok: Callable[[Any], bool]) -> Any:
    """``value`` when ``ok(value)``, else ValueError."""
    if not ok(value):
        raise ValueError(value)
    return value


def _is_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def parse_int(value: Any) -> int:
    """An int (not a bool, not a float); TypeError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


# YAML 1.1 (PyYAML) reads exponent numbers without a dot, such as 1e-4, as strings
_EXPONENT_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+")


def parse_float(value: Any) -> float:
    """A finite int or float as a float (not a bool; a string such as "1e-4" that YAML 1.1
    leaves unparsed is read as the number); TypeError otherwise."""
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value.strip()):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(value)
    return float(value)


def parse_vector(value: Any, n: int) -> tuple[float, ...]:
    """A list of ``n`` numbers as a tuple of floats; TypeError otherwise."""
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise TypeError(value)
    return tuple(parse_float(v) for v in value)


def field_names(cls) -> tuple[str, ...]:
    """The field names of a dataclass (the keys its section allows)."""
    return tuple(f.name for f in dataclasses.fields(cls))


def dataclass_section(doc: Node, key: str, cls, minimum: dict | None = None, **given: Any):
    """A dataclass of numbers/bools from the mapping at ``key`` (its fields' types and
    defaults); ints are >= ``minimum[name]`` (default 1); floats are positive, or >= 0 when
    ``minimum[name]`` is 0."""
    default = cls(**given) if given else cls()
    if not doc.has(key):
        return default
    node = doc.section(key, field_names(cls))
    values = {}
    for f in dataclasses.fields(cls):
        current = getattr(default, f.name)
        if isinstance(current, bool):
            values[f.name] = node.boolean(f.name, current)
        elif isinstance(current, int):
            values[f.name] = node.integer(f.name, current, (minimum or {}).get(f.name, 1))
        elif isinstance(current, float) and (minimum or {}).get(f.name) == 0:
            values[f.name] = node.get(f.name, current, parse_non_negative, "a number >= 0")
        elif isinstance(current, float):
            values[f.name] = node.number(f.name, current, positive=True)
    return dataclasses.replace(default, **values)


def parse_non_negative(value: Any) -> float:
    """A finite number >= 0 (see :func:`parse_float`); ValueError/TypeError otherwise."""
    number = parse_float(value)
    if number < 0:
        raise ValueError(value)
    return number


def _override_parts(item: str) -> tuple[list[str], str]:
    """(key path parts, value text) of a ``key.path=value`` override; InputError when it is
    malformed."""
    key, sep, text = item.partition("=")
    parts = key.strip().split(".")
    if not sep or not all(parts):
        raise InputError(f"--set takes key.path=value, got {item!r}")
    return parts, text


def override_paths(overrides: Sequence[str]) -> dict[str, str]:
    """{key path: override} of ``key.path=value`` overrides: the keys each one sets (a later
    override of a key, or of a section above it, replaces the earlier ones)."""
    paths: dict[str, str] = {}
    for item in overrides:
        key = ".".join(_override_parts(item)[0])
        paths = {k: v for k, v in paths.items() if k != key and not k.startswith(key + ".")}
        paths[key] = item
    return paths


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """A copy of ``data`` with each ``a.b.c=value`` set (value parsed as YAML; sections made
    as needed). InputError for a malformed override or one that descends into a non-mapping."""
    data = copy.deepcopy(data)
    for item in overrides:
        parts, text = _override_parts(item)
        key = ".".join(parts)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise InputError(f"--set {key}: the value {text!r} is not valid YAML") from None
        here = data
        for depth, part in enumerate(parts[:-1]):
            here = here.setdefault(part, {})
            if not isinstance(here, dict):
                raise InputError(f"--set {key}: {'.'.join(parts[:depth + 1])} is not a section")
        here[parts[-1]] = value
    return data


def dataclass_to_plain(value: Any) -> Any:
    """A (nested) dataclass as YAML-ready data: mappings, lists for tuples, str for paths."""
    if dataclasses.is_dataclass(value):
        return {f.name: dataclass_to_plain(getattr(value, f.name))
                for f in dataclasses.fields(value)}
    if isinstance(value, tuple):
        return [dataclass_to_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
