"""Wavefront MTL material libraries: colours (Ka, Kd, Ks, Ns) and the diffuse image (map_Kd,
with its ``-clamp on|off`` option: UVs outside [0, 1] repeat the image unless it is on)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch

from r3d.errors import FileFormatError
from r3d.io.utils import (
    decode_text,
    io_warn,
    load_image_or_warn,
    parse_numbers,
    read_file_bytes,
)

__all__ = ["Material", "load_mtl", "parse_mtl"]

# Options of map_* statements and how many values each takes (the ones taking "up to 3"
# consume the following numbers).
_MAP_OPTIONS = {
    "-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1,
    "-mm": 2, "-texres": 1, "-type": 1, "-o": 3, "-s": 3, "-t": 3,
}
_VARIADIC = {"-o", "-s", "-t"}

# PyTorch3D's material defaults.
_DEFAULTS = {
    "ambient_color": (1.0, 1.0, 1.0),
    "diffuse_color": (1.0, 1.0, 1.0),
    "specular_color": (1.0, 1.0, 1.0),
    "shininess": (64.0,),
}
_COLOR_KEYS = {"ka": "ambient_color", "kd": "diffuse_color", "ks": "specular_color"}


@dataclass
class Material:
    """One ``newmtl`` block.

    Attributes:
        name: the material's name.
        colors: "ambient_color", "diffuse_color", "specular_color": 3 floats; "shininess": 1.
        texture_file: the ``map_Kd`` path as written in the file, or None.
        texture_path: that path resolved against the MTL's folder (may not exist), or None.
        texture_clamp: ``map_Kd -clamp on``: UVs outside [0, 1] are clamped (by default,
            off, they repeat the image).
        line: the line of its ``newmtl``.
    """

    name: str
    colors: dict = field(default_factory=lambda: {k: tuple(v) for k, v in _DEFAULTS.items()})
    texture_file: str | None = None
    texture_path: str | None = None
    texture_clamp: bool = False
    line: int = 0


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _map_statement(tokens: list[str]) -> tuple[str, dict[str, list[str]]]:
    """The file name of a ``map_Kd [options] file`` statement and its options (option name,
    lower case -> its values)."""
    i = 0
    options: dict[str, list[str]] = {}
    while i < len(tokens) and tokens[i].lower() in _MAP_OPTIONS:
        opt = tokens[i].lower()
        n = _MAP_OPTIONS[opt]
        i += 1
        start = i
        if opt in _VARIADIC:
            taken = 0
            while taken < n and i < len(tokens) - 1 and _is_number(tokens[i]):
                i += 1
                taken += 1
        else:
            i += n
        options[opt] = tokens[start:i]
    return " ".join(tokens[i:]), options


def _clamp_option(path: str, values: list[str] | None, lineno: int) -> bool:
    """Whether ``-clamp`` (its values, or None when absent) turns clamping on."""
    if values is None:
        return False
    value = values[0].lower() if values else ""
    if value not in ("on", "off"):
        io_warn(path, f"map_Kd -clamp takes on or off, got {value or 'nothing'!r}; "
                      f"the texture repeats", lineno)
    return value == "on"


def _resolve(folder: str, name: str) -> str:
    """Path of ``name`` relative to ``folder``, trying backslash-separated and bare names."""
    candidates = [name, name.replace("\\", "/"), os.path.basename(name.replace("\\", "/"))]
    for cand in candidates:
        path = cand if os.path.isabs(cand) else os.path.join(folder, cand)
        if os.path.isfile(path):
            return path
    return os.path.join(folder, candidates[1])


def parse_mtl(path: str | os.PathLike) -> dict[str, Material]:
    """Materials of an MTL file, in the order they are defined.

    Raises FileFormatError (with the line) for colour or shininess values that are not numbers.
    Unknown statements are ignored.
    """
    path = os.fspath(path)
    text = decode_text(read_file_bytes(path))
    folder = os.path.dirname(os.path.abspath(path))
    materials: dict[str, Material] = {}
    current: Material | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        key = parts[0].lower()
        if key == "newmtl":
            name = line[len(parts[0]):].strip()
            current = Material(name=name, line=lineno)
            materials[name] = current
            continue
        if current is None:
            continue
        if key in _COLOR_KEYS or key == "ns":
            values = parts[1:]
            if "#" in values:
                values = values[: values.index("#")]
            if key in _COLOR_KEYS and values and values[0].lower() in ("spectral", "xyz"):
                io_warn(path, f"{parts[0]} {values[0]} is not supported; colour ignored", lineno)
                continue
            nums = parse_numbers(path, values, lineno, 0, parts[0])
            if key == "ns":
                if len(nums) < 1:
                    raise FileFormatError(path, "Ns expects a number", line=lineno)
                current.colors["shininess"] = (nums[0],)
            else:
                if len(nums) == 1:
                    nums = nums * 3
                if len(nums) < 3:
                    raise FileFormatError(
                        path, f"{parts[0]} expects 3 numbers, got {len(nums)}", line=lineno
                    )
                current.colors[_COLOR_KEYS[key]] = tuple(nums[:3])
        elif key == "map_kd":
            name, options = _map_statement(parts[1:])
            if not name:
                io_warn(path, "map_Kd without a file name", lineno)
                continue
            current.texture_file = name
            current.texture_path = _resolve(folder, name)
            current.texture_clamp = _clamp_option(path, options.get("-clamp"), lineno)
    return materials


def load_mtl(
    obj_path: str | os.PathLike,
    mtl_files: list[str],
    load_images: bool = True,
    folder: str | None = None,
) -> tuple[dict[str, Material], dict[str, torch.Tensor]]:
    """Materials and images of the MTL files an OBJ names (``mtllib``).

    Args:
        obj_path: the OBJ file (or what messages call it).
        mtl_files: the names given by its ``mtllib`` statements.
        load_images: read the ``map_Kd`` images.
        folder: where relative MTL names resolve; default the folder of ``obj_path``.
    Returns:
        materials: name -> Material, in definition order over all files.
        images: name -> (H, W, 3) float32 image in [0, 1], for materials whose image loaded.

    A missing MTL or image file, or an image that cannot be decoded, gives a warning (the mesh
    still loads); a malformed MTL raises FileFormatError.
    """
    if folder is None:
        folder = os.path.dirname(os.path.abspath(os.fspath(obj_path)))
    materials: dict[str, Material] = {}
    images: dict[str, torch.Tensor] = {}
    for name in mtl_files:
        mtl_path = _resolve(folder, name)
        if not os.path.isfile(mtl_path):
            io_warn(obj_path, f"material library {name!r} not found ({mtl_path}); "
                              f"loading without its materials")
            continue
        materials.update(parse_mtl(mtl_path))
    if load_images:
        cache: dict[str, torch.Tensor] = {}
        for mat in materials.values():
            if mat.texture_path is None:
                continue
            if mat.texture_path in cache:
                images[mat.name] = cache[mat.texture_path]
                continue
            img = load_image_or_warn(
                obj_path, mat.texture_file, mat.texture_path, f"of material {mat.name!r}",
                "using its diffuse colour instead")
            if img is None:
                continue
            cache[mat.texture_path] = img
            images[mat.name] = img
    return materials, images
