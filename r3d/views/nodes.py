"""JSON helpers shared by the cameras.json and transforms.json readers: a file's top-level
object as a :class:`~r3d.schema.Node`, its list of views, file paths relative to it, matrices
and the check that a rotation is rigid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from r3d.errors import FileFormatError, InputError
from r3d.io.utils import parse_json
from r3d.schema import REQUIRED, Node, parse_vector

RIGID_TOL = 1e-3  # max |R^T R - I| (and |last row - [0, 0, 0, 1]|) of a rigid transform


def read_json(path: Path) -> Node:
    """The top-level object of a JSON file as a Node (key paths for messages)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(path, f"cannot read: {exc}") from None
    data = parse_json(path, text)
    node = Node(data, path)
    if not isinstance(data, dict):
        raise node.error("", "a JSON object at the top level")
    return node


def frame_nodes(doc: Node, key: str) -> list[Node]:
    """The non-empty list of objects at ``key``."""
    if doc.value.get(key) == []:
        raise FileFormatError(doc.file, f"holds no views ({key} is empty)")
    nodes = doc.items(key)
    for node in nodes:
        if not isinstance(node.value, dict):
            raise node.error("", "an object")
    return nodes


def relative_file(node: Node, key: str, what: str) -> Path:
    """The path at ``key`` (a non-empty string), resolved against the json's folder."""
    return node.file.parent / node.get(key, REQUIRED, _path_string, what)


def _path_string(value: Any) -> str:
    """A non-empty string; ValueError otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    return value


def node_location(node: Node) -> str:
    """A view's key path and file, for messages: "frames[2] in transforms.json"."""
    return f"{node.path} in {node.file.name}"


def matrix_of(value: Any, rows: int, cols: int) -> np.ndarray:
    """A rows x cols list of lists of finite numbers as a float64 array; TypeError otherwise."""
    if not isinstance(value, list) or len(value) != rows:
        raise TypeError(value)
    return np.array([parse_vector(row, cols) for row in value], dtype=np.float64)


def check_rotation(node: Node, key: str, R: np.ndarray) -> None:
    """InputError unless ``R`` (3, 3) is a rotation within :data:`RIGID_TOL`."""
    error = np.abs(R.T @ R - np.eye(3)).max()
    if error > RIGID_TOL:
        raise InputError(
            f"{node.file}: {node.key_path(key)} is not a rigid transform: its rotation is not "
            f"orthonormal within {RIGID_TOL:g} (max |R^T R - I| = {error:.3g}); scaled or "
            "sheared cameras are not supported"
        )
    if np.linalg.det(R) < 0:
        raise InputError(f"{node.file}: {node.key_path(key)} is not a rigid transform: its "
                         "rotation is a reflection (determinant -1)")
