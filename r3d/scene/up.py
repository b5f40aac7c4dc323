"""Which axis of a file points up, and the rotation that makes it r3d's up (+Y).

r3d draws with +Y up (PyTorch3D's frame). Many files are Z-up (CAD, scans, STL from
Blender's defaults), or upside down. ``up`` names the file's up axis: ``+y``, ``-y``, ``+z``,
``-z``, ``+x``, ``-x``, or ``auto``: what the file's format says. glTF is +Y up by its
specification; STL, PLY, OBJ and OFF say nothing, so ``auto`` is +Y for them too. The
geometry is rotated (a proper rotation, so faces keep their winding) so that the named axis
becomes +Y: ``+z`` turns (x, y, z) into (x, z, -y), the usual Z-up to Y-up conversion (a
Z-up file's front, -Y, faces +Z, toward r3d's front camera).
"""

from __future__ import annotations

from r3d.errors import InputError

__all__ = ["UP_AXES", "check_up", "resolve_up", "up_rotation"]

UP_AXES = ("auto", "+y", "-y", "+z", "-z", "+x", "-x")
Matrix3 = tuple[tuple[float, float, float], tuple[float, float, float],
                tuple[float, float, float]]

# p' = R @ p (column vectors) for each up axis: R maps the axis to +Y
_ROTATIONS: dict[str, Matrix3] = {
    "+y": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "-y": ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0)),  # 180 degrees about X
    "+z": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),  # -90 degrees about X
    "-z": ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),  # +90 degrees about X
    "+x": ((0.0, -1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),  # +90 degrees about Z
    "-x": ((0.0, 1.0, 0.0), (-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),  # -90 degrees about Z
}


def check_up(value, what: str = "up") -> str:
    """``value`` as one of UP_AXES (lower case; "y" etc. without a sign are not accepted, as
    YAML reads ``y`` as true); InputError naming ``what`` otherwise."""
    text = value.strip().lower() if isinstance(value, str) else None
    if text not in UP_AXES:
        raise InputError(f"{what} must be one of {', '.join(UP_AXES)} (the file's up axis), "
                         f"got {value!r}")
    return text


def resolve_up(up: str) -> str:
    """The up axis ``up`` stands for: itself, or for "auto" what the file's format says,
    which is +Y for every format r3d reads (glTF by its specification, STL, PLY, OBJ and OFF
    because they say nothing)."""
    return "+y" if up == "auto" else up


def up_rotation(up: str) -> Matrix3:
    """The rotation (3x3, acting on column vectors) that turns axis ``up`` (not "auto")
    into +Y."""
    return _ROTATIONS[up]
