"""The types of the glTF JSON fields r3d reads, checked before anything is read from them.

:func:`check_gltf_types` walks the document against :data:`SCHEMA` and raises a
FileFormatError naming the field's JSON path (``meshes[0].primitives[1].indices``), what it
must be and what the file holds, so that the reader (:mod:`r3d.io.gltf`) can index and do
arithmetic with every field it uses. Fields r3d does not read are not checked; the values'
meaning (indices in range, offsets inside their buffers) is checked where they are used.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from r3d.errors import FileFormatError

__all__ = ["SCHEMA", "check_gltf_types"]


@dataclass(frozen=True)
class _Leaf:
    """A scalar field: a test and what it expects, for the message."""

    ok: Callable[[object], bool]
    expected: str


@dataclass(frozen=True)
class _Required:
    """A field the object must have."""

    schema: object


@dataclass(frozen=True)
class _MapOf:
    """An object whose every value has the same schema (``attributes``)."""

    schema: object


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _numbers(n: int) -> _Leaf:
    return _Leaf(lambda v: isinstance(v, list) and len(v) == n and all(
        isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
        for x in v), f"a list of {n} finite numbers")


INDEX = _Leaf(lambda v: _is_int(v) and v >= 0, "an index (an integer >= 0)")
SIZE = _Leaf(lambda v: _is_int(v) and v >= 0, "an integer >= 0")
INT = _Leaf(_is_int, "an integer")
STRING = _Leaf(lambda v: isinstance(v, str), "a string")
BOOL = _Leaf(lambda v: isinstance(v, bool), "true or false")

_TEXTURE_INFO = {"index": _Required(INDEX), "texCoord": SIZE}
SCHEMA = {
    "asset": {"version": STRING},
    "extensionsRequired": [STRING],
    "scene": INDEX,
    "scenes": [{"nodes": [INDEX]}],
    "nodes": [{"children": [INDEX], "mesh": INDEX, "matrix": _numbers(16),
               "rotation": _numbers(4), "scale": _numbers(3), "translation": _numbers(3)}],
    "meshes": [{"primitives": _Required([{
        "attributes": _Required(_MapOf(INDEX)), "indices": INDEX, "material": INDEX,
        "mode": INT, "extensions": {}}])}],
    "accessors": [{
        "bufferView": INDEX, "byteOffset": SIZE, "componentType": _Required(INT),
        "count": _Required(SIZE), "type": _Required(STRING), "normalized": BOOL,
        "sparse": {"count": _Required(SIZE),
                   "indices": _Required({"bufferView": _Required(INDEX), "byteOffset": SIZE,
                                         "componentType": _Required(INT)}),
                   "values": _Required({"bufferView": _Required(INDEX), "byteOffset": SIZE})},
    }],
    "bufferViews": [{"buffer": _Required(INDEX), "byteOffset": SIZE,
                     "byteLength": _Required(SIZE), "byteStride": SIZE}],
    "buffers": [{"uri": STRING, "byteLength": _Required(SIZE)}],
    "materials": [{"pbrMetallicRoughness": {"baseColorFactor": _numbers(4),
                                            "baseColorTexture": _TEXTURE_INFO}}],
    "textures": [{"sampler": INDEX, "source": INDEX}],
    "images": [{"uri": STRING, "bufferView": INDEX}],
    "samplers": [{"wrapS": INT, "wrapT": INT}],
}


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(path: str, where: str, value, schema) -> None:
    if isinstance(schema, _Leaf):
        if not schema.ok(value):
            raise FileFormatError(path, f"{where} must be {schema.expected}, got "
                                        f"{_shown(value)}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            raise FileFormatError(path, f"{where} must be a list, got {_shown(value)}")
        for i, item in enumerate(value):
            _check(path, f"{where}[{i}]", item, schema[0])
    elif isinstance(schema, _MapOf):
        if not isinstance(value, dict):
            raise FileFormatError(path, f"{where} must be an object, got {_shown(value)}")
        for key, item in value.items():
            _check(path, f"{where}.{key}", item, schema.schema)
    else:
        if not isinstance(value, dict):
            raise FileFormatError(path, f"{where or 'the document'} must be an object, got "
                                        f"{_shown(value)}")
        for key, sub in schema.items():
            if key in value:
                inner = sub.schema if isinstance(sub, _Required) else sub
                _check(path, f"{where}.{key}" if where else key, value[key], inner)
            elif isinstance(sub, _Required):
                raise FileFormatError(path, f"{where} has no {key!r}")


def check_gltf_types(path: str, gltf) -> None:
    """FileFormatError naming ``path`` and the field when a field r3d reads has the wrong type
    (or a required one is missing); see :data:`SCHEMA`."""
    _check(path, "", gltf, SCHEMA)
