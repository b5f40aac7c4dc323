"""The scene a ``r3d render`` run draws: typed dataclasses, read and checked from YAML.

A scene file (every key but ``cameras`` and one of ``meshes``/``pointclouds`` optional)::

    meshes:                       # joined into one scene
      - file: cow.obj             # relative paths resolve against the YAML file's folder
        up: auto                  # the file's up axis (+z for a Z-up file): turned to +Y
        normalize: true           # centre on the bounding box, scale into the unit sphere
        transform: {scale: 1.0, rotate: [0, 90, 0], translate: [0, 0, 0]}
        colour: [0.8, 0.3, 0.3]   # overrides the file's textures ("#cc4d4d" works too)
        texture: true             # false: ignore the file's textures (plain grey)
    cameras:                      # exactly one of turntable, look_at, R+T
      fov: 60                     # degrees; znear: 0.1, zfar: 100
      turntable: {views: 12, dist: 2.7, elev: 15, azim: 0, at: [0, 0, 0], up: [0, 1, 0]}
      # look_at: [{dist: 2.7, elev: 10, azim: 30}]   (a mapping or a list of them)
      # R: [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]]   T: [[0, 0, 3]]  (one or a list of each)
    lights: {type: point, location: [0, 1, 0], follow_camera: false,
             ambient: [0.5, 0.5, 0.5], diffuse: [0.3, 0.3, 0.3], specular: [0.2, 0.2, 0.2]}
                                  # or type: directional (direction instead of location),
                                  # or type: ambient (ambient colour only)
    material: {ambient: [1, 1, 1], diffuse: [1, 1, 1], specular: [1, 1, 1], shininess: 64}
    shader: hard_phong            # soft_phong hard_flat hard_gouraud soft_silhouette depth normal
    image_size: 256               # or [H, W]
    antialias: 1                  # supersampling factor
    background: [1, 1, 1]
    outputs: {dir: render_out, png: true, gif: turntable.gif, fps: 10,
              depth: false, normal: false, silhouette: false, cameras: true}
    device: cpu

A scene of point clouds has ``pointclouds`` instead of ``meshes`` (never both), and a
``points`` section instead of ``lights``, ``material``, ``shader`` and ``antialias``, which
apply to meshes only (giving them with point clouds is an error)::

    pointclouds:                  # joined into one cloud
      - file: scan.ply            # a point cloud file (PLY, OBJ or OFF vertices; faces ignored)
        normalize: true           # as for meshes, and so are transform and colour
        colour: [0.8, 0.3, 0.3]   # overrides the file's colours (default: the file's, else grey)
      - sample: cow.obj           # or points drawn uniformly on a mesh's surface, coloured by
        points: 50000             #   its textures (colour overrides them); seed: 0 makes the
        seed: 0                   #   same points each run
    points: {radius: 0.01, points_per_pixel: 8, compositor: alpha}
                                  # radius in NDC units (the shorter image side spans 2);
                                  # compositor: alpha (front to back) or norm_weighted (average)
    cameras: ...                  # image_size, background, outputs, device: as for meshes

Point clouds are drawn unlit, each point a disc of ``radius`` facing the camera in its own
colour, blended over the background at the discs' soft edges. Their depth maps hold the
depth of the nearest point of each pixel, their silhouettes the pixels that any point covers,
and their normal maps the normal of the nearest point: a cloud from ``sample`` has the
normals of its mesh's faces, one from ``file`` needs normals in the file (an error at load
time otherwise).

Rotations are Euler angles in degrees (a list: convention XYZ; or ``{euler: [...], convention:
ZYX}``) or an axis and an angle in degrees (``{axis: [0, 1, 0], angle: 90}``); a mesh (or
cloud) is first turned so that its ``up`` axis (``+y``, ``-y``, ``+z``, ``-z``, ``+x``,
``-x``, or ``auto``: +Y for every format r3d reads; see :mod:`r3d.scene.up`) points along +Y,
then normalised when asked, then scaled, then rotated, then translated. With
``follow_camera`` a light's location and direction are given in each camera's view space (+X
left, +Y up, +Z forward), so it moves with the camera. ``gif`` is a path relative to
``outputs.dir`` (``true`` means ``turntable.gif``). ``cameras`` writes ``cameras.json`` (see
:mod:`r3d.views`): every view's camera and image file, and its silhouette file when
``silhouette`` is true, so that the folder is input for ``r3d fit``.

A scene of a voxel grid has ``volumes`` instead of ``meshes`` or ``pointclouds`` (only one of
the three), and a ``volume`` section; ``shader``, ``antialias`` and ``points`` do not apply to
it, ``lights`` and ``material`` do::

    volumes:                      # several grids are resampled onto one grid (the finest
      - file: chair.binvox        #   voxel size), densities added, colours density-weighted
        normalize: true           # the box of the voxels with density > 0 centred, its
                                  #   half-diagonal scaled to 1
        transform: {scale: 1.0, translate: [0, 0, 0]}   # no rotate: grids stay axis-aligned
        colour: [0.8, 0.3, 0.3]   # overrides the file's features (default: the first 3
                                  #   feature channels of an npz grid, one channel as grey,
                                  #   else grey)
      - mesh: cow.obj             # or a closed mesh voxelised (r3d.ops.voxelize_meshes: 1
        resolution: 64            #   inside, 0 outside) after it is placed as meshes are
        up: auto                  #   (up, normalize, transform with rotate), in its colour
                                  #   (its textures are not carried over; default grey)
    volume:
      points_per_ray: 128         # samples per ray across the volume's depth range
                                  #   (default: twice the largest grid side)
      density_scale: 10           # optical depth of one voxel of density 1 (see below)
      raymarcher: emission_absorption   # or absorption_only
      sample: trilinear           # or nearest (voxels as cubes)

A volume is drawn by ray marching (:class:`~r3d.renderer.VolumeRenderer`): rays through the
pixel centres are sampled at ``points_per_ray`` evenly spaced depths between the nearest and
farthest corner of the grid's box seen from each camera (clipped at ``znear``). Densities d
(negative ones count as 0; binvox occupancy is 0 or 1) become per-sample opacities
``1 - exp(-d * density_scale * step / voxel)``, with ``step`` the distance between samples along
the view axis and ``voxel`` the grid's smallest voxel side, so ``density_scale`` is the optical
depth of one voxel of density 1, whatever the sampling: the default 10 lets 1 / e^10 of the
light through one voxel, so that an occupancy grid looks solid. With ``emission_absorption``
each pixel is lit as a surface: the colours, the normals (minus the gradient of the densities,
by central differences) and the depths along the ray are averaged by the raymarcher's
weights, and the pixel is shaded with the scene's lights and material (Phong, as
``hard_phong`` shades meshes) at its expected depth, then blended over the background by the
ray's opacity. ``absorption_only`` draws the opacity alone, an X-ray of the densities: the
volume's ``colour`` (grey by default; features ignored) over the background, unlit. With
``trilinear`` sampling an occupancy grid's silhouette reaches up to half a voxel beyond its
voxels' faces (the interpolated density is positive up to the next voxel centre); ``nearest``
draws the voxels as exact cubes. The grid gets an empty border of one voxel, so that
densities at its sides fall to 0 and their normals point out.

Depth maps hold the expected depth of each ray (the weighted average depth of its samples),
normal maps the averaged normal, both where the ray's opacity exceeds 0.5 (-1 and black
elsewhere), and silhouettes the pixels of opacity above 0.5; depth and normal maps need
``emission_absorption``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from r3d.errors import FileFormatError, InputError, MissingFileError
from r3d.io import IO
from r3d.scene.up import UP_AXES, check_up
from r3d.schema import REQUIRED, Node, load_yaml, parse_float, parse_vector
from r3d.transforms import axis_angle_to_matrix, euler_angles_to_matrix

__all__ = [
    "COMPOSITORS",
    "RAYMARCHERS",
    "SHADERS",
    "CameraSpec",
    "LightSpec",
    "LookAt",
    "MaterialSpec",
    "MeshSpec",
    "Outputs",
    "PointcloudSpec",
    "PointsSpec",
    "Scene",
    "VolumeSettings",
    "VolumeSpec",
    "framing_distance",
    "load_scene",
    "scene_for_file",
    "scene_for_mesh",
    "scene_for_pointcloud",
    "scene_for_volume",
    "with_overrides",
]

SHADERS = (
    "hard_phong", "soft_phong", "hard_flat", "hard_gouraud", "soft_silhouette", "depth", "normal",
)
LIGHT_TYPES = ("point", "directional", "ambient")
COMPOSITORS = ("alpha", "norm_weighted")
RAYMARCHERS = ("emission_absorption", "absorption_only")
VOLUME_SAMPLING = ("trilinear", "nearest")
Colour = tuple[float, float, float]
Vec3 = tuple[float, float, float]
Matrix3 = tuple[Vec3, Vec3, Vec3]

FRONT_AZIM = 180.0  # a camera at this azimuth faces a mesh's +Z side (e.g. the cow's face)
_IDENTITY: Matrix3 = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass(frozen=True)
class MeshSpec:
    """One mesh file and how to place and colour it.

    ``rotate`` is a rotation matrix acting on column vectors (p' = rotate @ p); the vertices are
    turned so that the file's ``up`` axis is +Y (:mod:`r3d.scene.up`), normalised (when
    asked), then scaled, rotated and translated.
    """

    file: Path
    up: str = "auto"
    normalize: bool = False
    scale: Vec3 = (1.0, 1.0, 1.0)
    rotate: Matrix3 = _IDENTITY
    translate: Vec3 = (0.0, 0.0, 0.0)
    colour: Colour | None = None
    texture: bool = True


@dataclass(frozen=True)
class PointcloudSpec:
    """One point cloud and how to place and colour it: the points of a point cloud ``file``,
    or, when ``sample`` is true, ``points`` points drawn uniformly on the surface of the mesh
    ``file`` (coloured by its textures, with its faces' normals; ``seed`` seeds the draw).

    Placement as :class:`MeshSpec`; ``colour`` overrides the file's (or mesh's) colours.
    """

    file: Path
    sample: bool = False
    points: int = 50_000
    seed: int = 0
    up: str = "auto"
    normalize: bool = False
    scale: Vec3 = (1.0, 1.0, 1.0)
    rotate: Matrix3 = _IDENTITY
    translate: Vec3 = (0.0, 0.0, 0.0)
    colour: Colour | None = None


@dataclass(frozen=True)
class PointsSpec:
    """How point clouds are splatted: disc ``radius`` in NDC units, the nearest
    ``points_per_pixel`` points blended per pixel by ``compositor`` (alpha or
    norm_weighted)."""

    radius: float = 0.01
    points_per_pixel: int = 8
    compositor: str = "alpha"


@dataclass(frozen=True)
class VolumeSpec:
    """One voxel grid file (binvox or npz) and how to place and colour it: normalised (the box
    of its voxels of positive density centred on the origin, its half-diagonal scaled to 1)
    when asked, then scaled and translated (grids stay axis-aligned: no up axis, no rotation).
    ``colour`` replaces the file's features (default: their first 3 channels, else grey).

    With ``mesh``, ``file`` is a closed mesh, placed as :class:`MeshSpec` places it (``up``,
    ``normalize``, scale, ``rotate``, translate) and voxelised into ``resolution`` voxels per
    side (its bounding box padded by a voxel), in ``colour`` (default grey).
    """

    file: Path
    mesh: bool = False
    resolution: int = 64
    up: str = "auto"
    normalize: bool = False
    scale: Vec3 = (1.0, 1.0, 1.0)
    rotate: Matrix3 = _IDENTITY
    translate: Vec3 = (0.0, 0.0, 0.0)
    colour: Colour | None = None


@dataclass(frozen=True)
class VolumeSettings:
    """How volumes are ray marched: ``points_per_ray`` samples per ray (None: twice the
    largest grid side), ``density_scale`` the optical depth of one voxel of density 1,
    ``raymarcher`` (emission_absorption or absorption_only) and ``sample`` (trilinear or
    nearest); see the module docstring."""

    points_per_ray: int | None = None
    density_scale: float = 10.0
    raymarcher: str = "emission_absorption"
    sample: str = "trilinear"


@dataclass(frozen=True)
class LookAt:
    """A camera looking at ``at`` from ``dist`` away, at elevation and azimuth in degrees."""

    dist: float = 2.7
    elev: float = 0.0
    azim: float = 0.0
    at: Vec3 = (0.0, 0.0, 0.0)
    up: Vec3 = (0.0, 1.0, 0.0)


@dataclass(frozen=True)
class CameraSpec:
    """Perspective cameras (field of view in degrees), one per view.

    Exactly one of ``turntable`` (a LookAt whose azimuth, that of the first view, steps by
    360 / ``views`` degrees from view to view),
    ``look_at`` (one LookAt per view) and ``R``/``T`` (PyTorch3D's world-to-view rotations
    (N, 3, 3) and translations (N, 3)) is set.
    """

    fov: float = 60.0
    znear: float = 0.1
    zfar: float = 100.0
    turntable: LookAt | None = None
    views: int = 1
    look_at: tuple[LookAt, ...] = ()
    R: tuple[Matrix3, ...] = ()
    T: tuple[Vec3, ...] = ()

    def num_views(self) -> int:
        """How many images one render makes."""
        if self.turntable is not None:
            return self.views
        return len(self.look_at) or len(self.R)

    def view_list(self) -> tuple[LookAt, ...]:
        """The LookAt of each view (turntable or look_at cameras; empty for R/T cameras)."""
        if self.turntable is None:
            return self.look_at
        return tuple(
            dataclasses.replace(self.turntable, azim=self.turntable.azim + 360.0 * i / self.views)
            for i in range(self.views)
        )


@dataclass(frozen=True)
class LightSpec:
    """One light (PyTorch3D's defaults): point (location), directional (direction) or ambient."""

    type: str = "point"
    ambient: Colour = (0.5, 0.5, 0.5)
    diffuse: Colour = (0.3, 0.3, 0.3)
    specular: Colour = (0.2, 0.2, 0.2)
    location: Vec3 = (0.0, 1.0, 0.0)
    direction: Vec3 = (0.0, 1.0, 0.0)
    follow_camera: bool = False


@dataclass(frozen=True)
class MaterialSpec:
    """Phong material colours and shininess (PyTorch3D's defaults)."""

    ambient: Colour = (1.0, 1.0, 1.0)
    diffuse: Colour = (1.0, 1.0, 1.0)
    specular: Colour = (1.0, 1.0, 1.0)
    shininess: float = 64.0


@dataclass(frozen=True)
class Outputs:
    """What to write into ``dir``: a PNG per view, an animated GIF, per-view maps, and the
    views' cameras (``cameras.json``)."""

    dir: Path
    png: bool = True
    gif: Path | None = None
    fps: float = 10.0
    depth: bool = False
    normal: bool = False
    silhouette: bool = False
    cameras: bool = True

    def gif_path(self) -> Path | None:
        """The GIF's absolute path (``gif`` is relative to ``dir``), or None."""
        return None if self.gif is None else self.dir / self.gif


@dataclass(frozen=True)
class Scene:
    """Everything one render needs.

    A scene draws its meshes, or (when ``pointclouds`` is not empty, and then ``meshes`` is)
    its point clouds with ``points``, or (when ``volumes`` is not empty, and then the others
    are) its voxel grids with ``volume``; lights and material apply to meshes and volumes,
    shader and antialias to meshes only.
    """

    meshes: tuple[MeshSpec, ...]
    cameras: CameraSpec
    outputs: Outputs
    pointclouds: tuple[PointcloudSpec, ...] = ()
    points: PointsSpec = field(default_factory=PointsSpec)
    volumes: tuple[VolumeSpec, ...] = ()
    volume: VolumeSettings = field(default_factory=VolumeSettings)
    lights: LightSpec = field(default_factory=LightSpec)
    material: MaterialSpec = field(default_factory=MaterialSpec)
    shader: str = "hard_phong"
    image_size: tuple[int, int] = (256, 256)
    antialias: int = 1
    background: Colour = (1.0, 1.0, 1.0)
    device: str = "cpu"


# ---- reading a YAML scene ----------------------------------------------------------------------

_GEOMETRY = ("meshes", "pointclouds", "volumes")
_TOP = (*_GEOMETRY, "cameras", "points", "volume", "lights", "material", "shader",
        "image_size", "antialias", "background", "outputs", "device")
_MESH = ("file", "up", "normalize", "transform", "colour", "texture")
_CLOUD = ("file", "sample", "points", "seed", "up", "normalize", "transform", "colour")
_POINTS = ("radius", "points_per_pixel", "compositor")
_VOLUME = ("file", "normalize", "transform", "colour")
_VOXELISED = ("mesh", "resolution", "up", "normalize", "transform", "colour")
_VOLUME_SETTINGS = ("points_per_ray", "density_scale", "raymarcher", "sample")
# the top-level keys each kind of geometry refuses, and why
_NOT_FOR = {
    "pointclouds": {k: f"applies to meshes{only}; point clouds are drawn unlit in their own "
                       "colours (splats set by points:)"
                    for k, only in (("lights", " and volumes"), ("material", " and volumes"),
                                    ("shader", " only"), ("antialias", " only"))}
    | {"volume": "(ray marching settings) applies to volumes, not to point clouds"},
    "meshes": {"points": "(splat settings) applies to pointclouds, not to meshes",
               "volume": "(ray marching settings) applies to volumes, not to meshes"},
    "volumes": {k: "applies to meshes; volumes are ray marched (settings in volume:)"
                for k in ("shader", "antialias")}
    | {"points": "(splat settings) applies to pointclouds, not to volumes"},
}
_TRANSFORM = ("scale", "rotate", "translate")
_ROTATE = ("euler", "convention", "axis", "angle")
_LOOK_AT = ("dist", "elev", "azim", "at", "up")
_TURNTABLE = ("views", "dist", "elev", "azim", "at", "up")
_CAMERAS = ("fov", "znear", "zfar", "turntable", "look_at", "R", "T")
_LIGHT_COMMON = ("type", "ambient", "diffuse", "specular", "follow_camera")
_LIGHT_KEYS = {
    "point": (*_LIGHT_COMMON, "location"),
    "directional": (*_LIGHT_COMMON, "direction"),
    "ambient": ("type", "ambient"),
}
_MATERIAL = ("ambient", "diffuse", "specular", "shininess")
_OUTPUTS = ("dir", "png", "gif", "fps", "depth", "normal", "silhouette", "cameras")
_COLOUR = "an RGB colour: [r, g, b] in [0, 1] or '#rrggbb'"


def load_scene(path: str | os.PathLike) -> Scene:
    """Reads and checks a YAML scene file (see the module docstring for its keys).

    Raises InputError naming the file and the key path for unknown keys (with the nearest valid
    key), wrong types and bad values; FileFormatError naming the path for a scene file or mesh
    file that does not exist.
    """
    doc = load_yaml(path)
    doc.check_keys(_TOP)
    given = [k for k in _GEOMETRY if doc.has(k)]
    if len(given) != 1:
        raise InputError(
            f"{doc.file}: a scene must have one of meshes, pointclouds or volumes (a list of "
            f"them), got {' and '.join(given) or 'none'}"
        )
    kind = given[0]
    for key, why in _NOT_FOR[kind].items():
        if doc.has(key):
            raise InputError(f"{doc.file}: {key} {why}")
    shader = doc.choice("shader", SHADERS, "hard_phong")
    outputs = _outputs(doc)
    volume = _volume_settings(doc)
    if kind == "volumes" and volume.raymarcher == "absorption_only" \
            and (outputs.depth or outputs.normal):
        raise InputError(f"{doc.file}: outputs.depth and outputs.normal need volume.raymarcher "
                         "emission_absorption (absorption_only draws the opacity alone)")
    return Scene(
        meshes=tuple(_mesh(node) for node in doc.items("meshes")) if kind == "meshes" else (),
        pointclouds=tuple(_pointcloud(n) for n in doc.items("pointclouds"))
        if kind == "pointclouds" else (),
        volumes=tuple(_volume(n) for n in doc.items("volumes")) if kind == "volumes" else (),
        points=_points(doc),
        volume=volume,
        cameras=_cameras(doc),
        outputs=outputs,
        lights=_light(doc),
        material=_material(doc),
        shader=shader,
        image_size=doc.get("image_size", (256, 256), _image_size, "an int or [H, W] of ints > 0"),
        antialias=doc.integer("antialias", 1),
        background=doc.get("background", (1.0, 1.0, 1.0), _colour, _COLOUR),
        device=doc.string("device", "cpu"),
    )


def _mesh(node: Node) -> MeshSpec:
    if isinstance(node.value, str):  # a bare file name
        node = Node({"file": node.value}, node.file, node.path)
    node.mapping(_MESH)
    return MeshSpec(
        file=_input_file(node, "file", "mesh", IO().mesh_extensions),
        texture=node.boolean("texture", True),
        **_placement(node),
    )


def _pointcloud(node: Node) -> PointcloudSpec:
    if isinstance(node.value, str):  # a bare file name
        node = Node({"file": node.value}, node.file, node.path)
    node.mapping(_CLOUD)
    if node.has("file") == node.has("sample"):
        raise InputError(
            f"{node.file}: {node.path} must give either file (a point cloud file) or sample (a "
            f"mesh file to draw points on), got {'both' if node.has('file') else 'neither'}"
        )
    if node.has("file"):
        for key in ("points", "seed"):
            if node.has(key):
                raise InputError(f"{node.file}: {node.key_path(key)} applies to points "
                                 f"sampled on a mesh (sample:), not to a point cloud file")
        file = _input_file(node, "file", "point cloud", IO().pointcloud_extensions)
        return PointcloudSpec(file=file, **_placement(node))
    return PointcloudSpec(
        file=_input_file(node, "sample", "mesh", IO().mesh_extensions),
        sample=True,
        points=node.integer("points", PointcloudSpec.points),
        seed=node.integer("seed", 0, minimum=0),
        **_placement(node),
    )


def _volume(node: Node) -> VolumeSpec:
    if isinstance(node.value, str):  # a bare file name
        node = Node({"file": node.value}, node.file, node.path)
    if isinstance(node.value, dict) and "mesh" in node.value:
        if "file" in node.value:
            raise InputError(f"{node.file}: {node.path} must give either file (a voxel grid "
                             "file) or mesh (a mesh file to voxelise), got both")
        node.mapping(_VOXELISED)
        return VolumeSpec(
            file=_input_file(node, "mesh", "mesh", IO().mesh_extensions),
            mesh=True,
            resolution=node.integer("resolution", VolumeSpec.resolution, minimum=3),
            **_placement(node),
        )
    if isinstance(node.value, dict) and "up" in node.value:
        raise InputError(f"{node.file}: {node.key_path('up')} applies to meshes and point "
                         "clouds; voxel grids are read +Y up (binvox's axes are permuted so)")
    node.mapping(_VOLUME)
    out: dict[str, Any] = {}
    if node.has("transform"):
        if isinstance(node.value["transform"], dict) and "rotate" in node.value["transform"]:
            raise InputError(f"{node.file}: {node.key_path('transform')}.rotate applies to "
                             "meshes and point clouds; voxel grids stay axis-aligned")
        t = node.section("transform", ("scale", "translate"))
        out["scale"] = t.get("scale", VolumeSpec.scale, _scale,
                             "a positive number or a list of 3 of them")
        out["translate"] = t.vector("translate", VolumeSpec.translate)
    return VolumeSpec(
        file=_input_file(node, "file", "voxel grid", IO().voxel_extensions),
        normalize=node.boolean("normalize", False),
        colour=node.get("colour", None, _colour, _COLOUR),
        **out,
    )


def _volume_settings(doc: Node) -> VolumeSettings:
    if not doc.has("volume"):
        return VolumeSettings()
    node = doc.section("volume", _VOLUME_SETTINGS)
    default = VolumeSettings()
    return VolumeSettings(
        points_per_ray=node.integer("points_per_ray", None, minimum=2),
        density_scale=node.number("density_scale", default.density_scale, positive=True),
        raymarcher=node.choice("raymarcher", RAYMARCHERS, default.raymarcher),
        sample=node.choice("sample", VOLUME_SAMPLING, default.sample),
    )


def _input_file(node: Node, key: str, kind: str, extensions: list[str]) -> Path:
    """The existing ``kind`` file at ``key``, its extension among ``extensions``."""
    file = node.file_path(key)
    if not file.is_file():
        raise MissingFileError(file, f"no such file ({node.key_path(key)} in {node.file})")
    if file.suffix.lower() not in extensions:
        raise InputError(
            f"{node.file}: {node.key_path(key)} must be a {kind} file (extensions "
            f"{', '.join(extensions)}), got '{file.name}'"
        )
    return file


def _placement(node: Node) -> dict[str, Any]:
    """The keys a mesh and a point cloud share: up, normalize, transform and colour."""
    out = {"up": node.get("up", "auto", check_up, f"one of {', '.join(UP_AXES)}"),
           "normalize": node.boolean("normalize", False),
           "colour": node.get("colour", None, _colour, _COLOUR)}
    if node.has("transform"):
        t = node.section("transform", _TRANSFORM)
        out["scale"] = t.get("scale", MeshSpec.scale, _scale,
                             "a positive number or a list of 3 of them")
        out["translate"] = t.vector("translate", MeshSpec.translate)
        if t.has("rotate"):
            out["rotate"] = _rotation(t)
    return out


def _points(doc: Node) -> PointsSpec:
    if not doc.has("points"):
        return PointsSpec()
    node = doc.section("points", _POINTS)
    return PointsSpec(
        radius=node.number("radius", PointsSpec.radius, positive=True),
        points_per_pixel=node.integer("points_per_pixel", PointsSpec.points_per_pixel),
        compositor=node.choice("compositor", COMPOSITORS, PointsSpec.compositor),
    )


def _rotation(t: Node) -> Matrix3:
    """The rotation matrix of ``transform.rotate``: Euler degrees or axis + angle degrees."""
    if isinstance(t.value["rotate"], list):
        t = Node({"rotate": {"euler": t.value["rotate"]}}, t.file, t.path)
    r = t.section("rotate", _ROTATE)
    if r.has("euler") == r.has("axis"):
        raise InputError(
            f"{r.file}: {r.path} must give either euler (with an optional convention) or axis "
            f"and angle, got keys {', '.join(r.value) or 'none'}"
        )
    if r.has("euler"):
        angles = torch.tensor(r.vector("euler"), dtype=torch.float64).deg2rad()
        convention = r.get("convention", "XYZ", _convention, "3 letters of X, Y, Z, e.g. XYZ")
        matrix = euler_angles_to_matrix(angles, convention)
    else:
        axis = torch.tensor(r.vector("axis"), dtype=torch.float64)
        if not axis.norm() > 0:
            raise r.error("axis", "a non-zero vector")
        angle = math.radians(r.number("angle"))
        matrix = axis_angle_to_matrix(axis / axis.norm() * angle)
    return tuple(tuple(float(x) for x in row) for row in matrix.tolist())


def _convention(value: Any) -> str:
    """An Euler convention as euler_angles_to_matrix takes it (e.g. "XYZ", "ZYX", "XYX")."""
    if (not isinstance(value, str) or len(value) != 3 or set(value) - set("XYZ")
            or value[0] == value[1] or value[1] == value[2]):
        raise ValueError(value)
    return value


def _cameras(doc: Node) -> CameraSpec:
    cams = doc.section("cameras", _CAMERAS)
    kinds = [k for k in ("turntable", "look_at", "R") if cams.has(k)]
    if len(kinds) != 1 or cams.has("R") != cams.has("T"):
        raise InputError(
            f"{doc.file}: cameras must have exactly one of turntable, look_at, or R and T; got "
            f"{', '.join(k for k in _CAMERAS[3:] if cams.has(k)) or 'none of them'}"
        )
    spec = CameraSpec(
        fov=cams.get("fov", 60.0, _fov, "a field of view in degrees, in (0, 180)"),
        znear=cams.number("znear", 0.1, positive=True),
        zfar=cams.number("zfar", 100.0, positive=True),
    )
    if spec.zfar <= spec.znear:
        raise cams.error("zfar", f"greater than znear ({spec.znear})")
    if cams.has("turntable"):
        node = cams.section("turntable", _TURNTABLE)
        return dataclasses.replace(spec, turntable=_look_at(node), views=node.integer("views", 8))
    if cams.has("look_at"):
        value = cams.value["look_at"]
        nodes = [Node(value, doc.file, "cameras.look_at")] if isinstance(value, dict) \
            else cams.items("look_at")
        return dataclasses.replace(
            spec, look_at=tuple(_look_at(node.mapping(_LOOK_AT)) for node in nodes)
        )
    R = cams.get("R", REQUIRED, _matrices, "a 3x3 rotation matrix or a list of them")
    T = cams.get("T", REQUIRED, _translations, "a list of 3 numbers or a list of such lists")
    if len(R) != len(T) and 1 not in (len(R), len(T)):
        raise InputError(
            f"{doc.file}: cameras.R and cameras.T must give as many cameras (or one of them "
            f"one), got {len(R)} and {len(T)}"
        )
    n = max(len(R), len(T))
    return dataclasses.replace(spec, R=R * (n // len(R)), T=T * (n // len(T)))


def _look_at(node: Node) -> LookAt:
    return LookAt(
        dist=node.number("dist", LookAt.dist, positive=True),
        elev=node.number("elev", LookAt.elev),
        azim=node.number("azim", LookAt.azim),
        at=node.vector("at", LookAt.at),
        up=node.vector("up", LookAt.up),
    )


def _light(doc: Node) -> LightSpec:
    if not doc.has("lights"):
        return LightSpec()
    node = doc.section("lights", list(dict.fromkeys(k for v in _LIGHT_KEYS.values() for k in v)))
    kind = node.choice("type", LIGHT_TYPES, "point")
    for key in node.value:
        if key not in _LIGHT_KEYS[kind]:
            users = " and ".join(t for t, keys in _LIGHT_KEYS.items() if key in keys)
            raise InputError(f"{doc.file}: lights.{key} applies to {users} lights, not to "
                             f"{kind} lights")
    default = LightSpec(type=kind, ambient=(1.0, 1.0, 1.0)) if kind == "ambient" \
        else LightSpec(type=kind)
    colour = {k: node.get(k, getattr(default, k), _colour, _COLOUR)
              for k in ("ambient", "diffuse", "specular")}
    return dataclasses.replace(
        default,
        **colour,
        location=node.vector("location", default.location),
        direction=node.vector("direction", default.direction),
        follow_camera=node.boolean("follow_camera", False),
    )


def _material(doc: Node) -> MaterialSpec:
    if not doc.has("material"):
        return MaterialSpec()
    node = doc.section("material", _MATERIAL)
    default = MaterialSpec()
    colour = {k: node.get(k, getattr(default, k), _colour, _COLOUR)
              for k in ("ambient", "diffuse", "specular")}
    return MaterialSpec(**colour, shininess=node.number("shininess", default.shininess,
                                                        positive=True))


def _outputs(doc: Node) -> Outputs:
    stem = doc.file.stem
    if not doc.has("outputs"):
        return Outputs(dir=doc.resolve(f"render_{stem}"))
    node = doc.section("outputs", _OUTPUTS)
    return Outputs(
        dir=node.file_path("dir", doc.resolve(f"render_{stem}")),
        png=node.boolean("png", True),
        gif=node.get("gif", None, _gif, "true, false or a file name ending in .gif"),
        fps=node.number("fps", 10.0, positive=True),
        depth=node.boolean("depth", False),
        normal=node.boolean("normal", False),
        silhouette=node.boolean("silhouette", False),
        cameras=node.boolean("cameras", True),
    )


def _gif(value: Any) -> Path | None:
    """``outputs.gif``: true (turntable.gif), false (none) or a .gif path relative to dir."""
    if isinstance(value, bool):
        return Path("turntable.gif") if value else None
    if not isinstance(value, str) or not value.lower().endswith(".gif"):
        raise ValueError(value)
    return Path(value).expanduser()


# ---- value parsers (ValueError/TypeError become messages naming the key) ------------------------


def _colour(value: Any) -> Colour:
    """[r, g, b] in [0, 1] or '#rrggbb'."""
    if isinstance(value, str):
        text = value.removeprefix("#")
        if len(text) != 6:
            raise ValueError(value)
        return tuple(int(text[i : i + 2], 16) / 255.0 for i in (0, 2, 4))
    if not isinstance(value, list) or len(value) != 3:
        raise TypeError(value)
    rgb = tuple(parse_float(v) for v in value)
    if not all(0.0 <= c <= 1.0 for c in rgb):
        raise ValueError(value)
    return rgb


def _image_size(value: Any) -> tuple[int, int]:
    """An int (square) or [H, W]."""
    hw = [value, value] if not isinstance(value, list) else value
    if len(hw) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in hw):
        raise ValueError(value)
    return int(hw[0]), int(hw[1])


def _scale(value: Any) -> Vec3:
    """A positive number (uniform) or [sx, sy, sz], all > 0."""
    xyz = [value] * 3 if not isinstance(value, list) else value
    if len(xyz) != 3 or not all(parse_float(v) > 0 for v in xyz):
        raise ValueError(value)
    return tuple(float(v) for v in xyz)


def _fov(value: Any) -> float:
    fov = parse_float(value)
    if not 0.0 < fov < 180.0:
        raise ValueError(value)
    return fov


def _matrices(value: Any) -> tuple[Matrix3, ...]:
    """A 3x3 matrix or a list of them."""
    mats = value if isinstance(value, list) and value and isinstance(value[0], list) \
        and value[0] and isinstance(value[0][0], list) else [value]
    out = []
    for m in mats:
        if not isinstance(m, list) or len(m) != 3:
            raise TypeError(value)
        out.append(tuple(parse_vector(row, 3) for row in m))
    return tuple(out)


def _translations(value: Any) -> tuple[Vec3, ...]:
    """A 3-vector or a list of them."""
    vecs = value if isinstance(value, list) and value and isinstance(value[0], list) else [value]
    return tuple(parse_vector(v, 3) for v in vecs)


# ---- scenes made in code -----------------------------------------------------------------------


def framing_distance(fov: float, radius: float = 1.0, margin: float = 1.05) -> float:
    """Distance from which a sphere of ``radius`` fills a ``fov``-degree view (its tangent cone
    is the view's cone when ``margin`` is 1, so nothing inside it leaves the image)."""
    return margin * radius / math.sin(math.radians(fov) / 2)


def scene_for_mesh(path: str | os.PathLike, out: str | os.PathLike, views: int = 8,
                   size: int = 256) -> Scene:
    """A turntable of one mesh file: centred and scaled into the unit sphere, ``views`` views
    at elevation 15 from a distance at which it fills the image, a point light beside the
    camera, a soft white background; PNGs and a GIF into ``out``."""
    return dataclasses.replace(
        _turntable(out, views, size),
        meshes=(MeshSpec(file=_existing(path), normalize=True),),
        lights=LightSpec(location=(0.5, 1.0, 0.0), follow_camera=True),
        material=MaterialSpec(specular=(0.3, 0.3, 0.3)),
        antialias=2,
    )


def scene_for_pointcloud(path: str | os.PathLike, out: str | os.PathLike, views: int = 8,
                         size: int = 256) -> Scene:
    """A turntable of one point cloud file, framed as :func:`scene_for_mesh` frames a mesh:
    its points (in the file's colours, else grey) splatted with the default
    :class:`PointsSpec` and alpha compositing."""
    return dataclasses.replace(
        _turntable(out, views, size),
        pointclouds=(PointcloudSpec(file=_existing(path), normalize=True),),
    )


def scene_for_volume(path: str | os.PathLike, out: str | os.PathLike, views: int = 8,
                     size: int = 256) -> Scene:
    """A turntable of one voxel grid file (binvox or npz), framed as :func:`scene_for_mesh`
    frames a mesh (its voxels of positive density normalised into the unit sphere) and lit as
    it, ray marched with the default :class:`VolumeSettings`."""
    return dataclasses.replace(
        _turntable(out, views, size),
        volumes=(VolumeSpec(file=_existing(path), normalize=True),),
        lights=LightSpec(location=(0.5, 1.0, 0.0), follow_camera=True),
        material=MaterialSpec(specular=(0.3, 0.3, 0.3)),
    )


def scene_for_file(path: str | os.PathLike, out: str | os.PathLike, views: int = 8,
                   size: int = 256) -> Scene:
    """The turntable of :func:`scene_for_mesh` for a file with faces, that of
    :func:`scene_for_volume` for a voxel grid file (binvox, npz), else (a PLY, OBJ or OFF file
    of vertices only) that of :func:`scene_for_pointcloud`.

    Raises FileFormatError naming the path for a missing file or an extension that is neither a
    mesh's, a point cloud's nor a voxel grid's.
    """
    io, suffix = IO(), Path(path).suffix.lower()
    if suffix in io.voxel_extensions:
        return scene_for_volume(path, out, views, size)
    if suffix in io.mesh_extensions and io.file_has_faces(path):
        return scene_for_mesh(path, out, views, size)
    if suffix in io.pointcloud_extensions:
        return scene_for_pointcloud(path, out, views, size)
    extensions = {*io.mesh_extensions, *io.pointcloud_extensions, *io.voxel_extensions}
    raise FileFormatError(
        path, f"not a mesh, point cloud or voxel grid file (extensions "
              f"{', '.join(sorted(extensions))})"
    )


def _existing(path: str | os.PathLike) -> Path:
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise MissingFileError(path)
    return file


def _turntable(out: str | os.PathLike, views: int, size: int) -> Scene:
    """The turntable both file scenes share (with no geometry yet): ``views`` views at
    elevation 15, the first facing the +Z side, from where the unit sphere fills the image;
    a soft white background; PNGs and a GIF into ``out``."""
    cameras = CameraSpec(
        turntable=LookAt(dist=framing_distance(CameraSpec.fov), elev=15.0, azim=FRONT_AZIM),
        views=views,
    )
    return Scene(
        meshes=(),
        cameras=cameras,
        outputs=Outputs(dir=Path(out).expanduser().resolve(), gif=Path("turntable.gif")),
        image_size=(size, size),
        background=(0.96, 0.96, 0.96),
    )


def with_overrides(scene: Scene, *, out: str | os.PathLike | None = None,
                   views: int | None = None, size: int | None = None,
                   device: str | None = None, up: str | None = None) -> Scene:
    """``scene`` with the command line's choices replacing its own (None keeps them).

    ``views`` only applies to turntable cameras (InputError otherwise); ``up`` (one of
    UP_AXES, InputError otherwise) becomes the up axis of every mesh and point cloud (an
    InputError for volumes: voxel grids are read +Y up).
    """
    changes: dict[str, Any] = {}
    if up is not None:
        up = check_up(up, "--up")
        if scene.volumes:
            raise InputError("--up applies to meshes and point clouds; voxel grids are read +Y "
                             "up (binvox's axes are permuted so)")
        changes["meshes"] = tuple(dataclasses.replace(m, up=up) for m in scene.meshes)
        changes["pointclouds"] = tuple(dataclasses.replace(c, up=up) for c in scene.pointclouds)
    if out is not None:
        changes["outputs"] = dataclasses.replace(scene.outputs,
                                                 dir=Path(out).expanduser().resolve())
    if views is not None:
        if scene.cameras.turntable is None:
            raise InputError("--views applies to turntable cameras; this scene's cameras are "
                             "given one by one (look_at or R/T)")
        changes["cameras"] = dataclasses.replace(scene.cameras, views=views)
    if size is not None:
        changes["image_size"] = (size, size)
    if device is not None:
        changes["device"] = device
    return dataclasses.replace(scene, **changes)
