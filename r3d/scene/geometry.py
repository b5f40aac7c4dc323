"""The geometry of a scene as r3d objects: its meshes joined into one mesh, its point clouds
joined into one cloud, its voxel grids joined into one grid, and its view transforms."""

from __future__ import annotations

import math

import torch

from r3d.errors import FileFormatError, InputError
from r3d.io import IO, VoxelGrid
from r3d.ops import sample_points_from_meshes, voxelize_meshes
from r3d.renderer import TexturesAtlas, TexturesUV, TexturesVertex, look_at_view_transform
from r3d.scene.scene import MeshSpec, PointcloudSpec, Scene, VolumeSpec
from r3d.scene.up import resolve_up, up_rotation
from r3d.structures import Meshes, Pointclouds, join_meshes_as_scene

__all__ = ["DEFAULT_COLOUR", "load_meshes", "load_pointclouds", "load_volumes", "place_grid",
           "place_points", "view_transforms"]

# meshes without textures (or with texture: false), point clouds without colours
DEFAULT_COLOUR = (0.75, 0.75, 0.75)


# ---- meshes ------------------------------------------------------------------------------------


def load_meshes(specs: tuple[MeshSpec, ...], device: torch.device) -> Meshes:
    """The scene's meshes, loaded, placed and coloured, joined into one mesh.

    Meshes that keep their file's textures must all have textures of one kind (UV maps,
    vertex colours or atlases); meshes with a plain colour join any of them.
    """
    io = IO()
    placed, colours = [], []
    for spec in specs:
        mesh = io.load_mesh(spec.file, include_textures=spec.colour is None and spec.texture,
                            device=device)
        placed.append(_placed(mesh, spec))
        colours.append(spec.colour or (None if mesh.textures is not None else DEFAULT_COLOUR))
    kinds = {type(m.textures) for m, c in zip(placed, colours) if c is None}
    if len(kinds) > 1:
        files = ", ".join(s.file.name for s, c in zip(specs, colours) if c is None)
        raise InputError(
            f"the meshes {files} have textures of different kinds "
            f"({', '.join(sorted(k.__name__ for k in kinds))}), which cannot be joined into one "
            "scene; give some of them a colour (or texture: false)"
        )
    kind = kinds.pop() if kinds else TexturesVertex
    for i, colour in enumerate(colours):
        if colour is not None:
            placed[i].textures = _plain(kind, placed[i], colour)
    return join_meshes_as_scene(placed)


def _up_rotation(spec: MeshSpec | PointcloudSpec | VolumeSpec, like: torch.Tensor) -> torch.Tensor:
    """(3, 3) rotation turning ``spec``'s up axis into +Y (p' = R @ p), like ``like``."""
    rotation = up_rotation(resolve_up(spec.up))
    return torch.tensor(rotation, dtype=like.dtype, device=like.device)


def place_points(points: torch.Tensor,
                 spec: MeshSpec | PointcloudSpec | VolumeSpec) -> torch.Tensor:
    """(P, 3) ``points`` turned so that ``spec``'s up axis is +Y, normalised (centred on their
    bounding box, scaled into the unit sphere) when ``spec`` asks, then scaled, rotated and
    translated as it says."""
    points = points @ _up_rotation(spec, points).T
    if spec.normalize and points.shape[0]:
        lo, hi = points.min(dim=0).values, points.max(dim=0).values
        points = points - (lo + hi) / 2
        radius = points.norm(dim=1).max()
        points = points / radius if radius > 0 else points
    like = {"dtype": points.dtype, "device": points.device}
    rotate = torch.tensor(spec.rotate, **like)
    return (points * torch.tensor(spec.scale, **like)) @ rotate.T + torch.tensor(spec.translate,
                                                                                 **like)


def _place_normals(normals: torch.Tensor, spec: PointcloudSpec) -> torch.Tensor:
    """(P, 3) unit normals of points placed by :func:`place_points`: turned up, divided by the
    scale (normals transform by the inverse transpose), rotated, renormalised."""
    like = {"dtype": normals.dtype, "device": normals.device}
    normals = normals @ _up_rotation(spec, normals).T
    normals = (normals / torch.tensor(spec.scale, **like)) @ torch.tensor(spec.rotate, **like).T
    return torch.nn.functional.normalize(normals, dim=1)


def _placed(mesh: Meshes, spec: MeshSpec | PointcloudSpec | VolumeSpec) -> Meshes:
    """``mesh`` (a batch of one) with its vertices placed by :func:`place_points`."""
    return mesh.update_padded(place_points(mesh.verts_packed(), spec)[None])


def _plain(kind: type, mesh: Meshes, colour: tuple[float, float, float]):
    """Textures of ``kind`` giving the one-mesh batch ``mesh`` a single colour."""
    rgb = torch.tensor(colour, dtype=torch.float32, device=mesh.device)
    faces = mesh.faces_packed()
    if kind is TexturesUV:
        return TexturesUV(maps=[rgb.view(1, 1, 3)], faces_uvs=[torch.zeros_like(faces)],
                          verts_uvs=[torch.full((1, 2), 0.5, device=mesh.device)])
    if kind is TexturesAtlas:
        return TexturesAtlas(atlas=[rgb.expand(faces.shape[0], 1, 1, 3)])
    return TexturesVertex(verts_features=[rgb.expand(mesh.verts_packed().shape[0], 3)])


# ---- point clouds ------------------------------------------------------------------------------


def load_pointclouds(specs: tuple[PointcloudSpec, ...], device: torch.device,
                     normals: bool = False) -> Pointclouds:
    """The scene's point clouds, read or sampled, placed and coloured, joined into one cloud.

    Returns:
        Pointclouds with one cloud: features (P, 3) the points' colours in [0, 1], normals
        (P, 3) when every cloud has them (a cloud sampled on a mesh has its faces' normals).

    Raises FileFormatError naming the file for a cloud without points, and InputError when
    ``normals`` is asked for and a cloud read from a file has none.
    """
    parts = [(_sampled if spec.sample else _read_cloud)(spec, device) for spec in specs]
    for spec, (_, _, n) in zip(specs, parts):
        if normals and n is None:
            raise InputError(
                f"outputs.normal: normal maps are for meshes and for point clouds with normals, "
                f"and {spec.file} has none (points sampled on a mesh get its faces' normals)"
            )
    has_normals = all(n is not None for _, _, n in parts)
    return Pointclouds(
        [torch.cat([p for p, _, _ in parts])],
        normals=[torch.cat([n for _, _, n in parts])] if has_normals else None,
        features=[torch.cat([c for _, c, _ in parts])],
    )


Cloud = tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]  # points, colours, normals


def _read_cloud(spec: PointcloudSpec, device: torch.device) -> Cloud:
    cloud = IO().load_pointcloud(spec.file, device=device)
    points = cloud.points_packed()
    if points.shape[0] == 0:
        raise FileFormatError(spec.file, "the point cloud has no points")
    normals, colours = cloud.normals_packed(), cloud.features_packed()
    if spec.colour is not None or colours is None:
        colours = _plain_colours(spec.colour or DEFAULT_COLOUR, points)
    return (place_points(points, spec), colours[:, :3].clamp(0.0, 1.0),
            None if normals is None else _place_normals(normals, spec))


def _sampled(spec: PointcloudSpec, device: torch.device) -> Cloud:
    """``spec.points`` points uniform on the placed mesh, coloured by its textures."""
    mesh = _placed(IO().load_mesh(spec.file, include_textures=spec.colour is None,
                                  device=device), spec)
    generator = torch.Generator(device=device).manual_seed(spec.seed)
    textured = mesh.textures is not None
    out = sample_points_from_meshes(mesh, spec.points, return_normals=True,
                                    return_textures=textured, generator=generator)
    points, normals = out[0][0], out[1][0]
    colours = out[2][0, :, :3].clamp(0.0, 1.0) if textured \
        else _plain_colours(spec.colour or DEFAULT_COLOUR, points)
    return points, colours, normals


def _plain_colours(colour: tuple[float, float, float], points: torch.Tensor) -> torch.Tensor:
    return torch.tensor(colour, dtype=points.dtype, device=points.device).expand(
        points.shape[0], 3)


# ---- voxel grids -------------------------------------------------------------------------------


def load_volumes(specs: tuple[VolumeSpec, ...], device: torch.device) -> VoxelGrid:
    """The scene's voxel grids, read, placed and coloured, joined into one grid with an empty
    border of one voxel.

    Returns:
        VoxelGrid: densities (D, H, W) >= 0 (negative ones read as 0), features (3, D, H, W)
        the voxels' colours in [0, 1]. Several grids are resampled (trilinearly) onto one grid
        covering all of them with the smallest voxel size of each axis: densities add,
        colours are averaged weighted by density.
    """
    grids = [_coloured(_voxelised(spec, device), spec) if spec.mesh
             else place_grid(_coloured(IO().load_voxels(spec.file, device=device), spec), spec)
             for spec in specs]
    grid = grids[0] if len(grids) == 1 else _joined(grids)
    return _bordered(grid)


def _voxelised(spec: VolumeSpec, device: torch.device) -> VoxelGrid:
    """The occupancy grid of ``spec``'s mesh, placed first (:func:`place_points`)."""
    mesh = _placed(IO().load_mesh(spec.file, include_textures=False, device=device), spec)
    grids = voxelize_meshes(mesh, spec.resolution)
    return VoxelGrid.from_volumes(grids.to_volumes())


def _coloured(grid: VoxelGrid, spec: VolumeSpec) -> VoxelGrid:
    """``grid`` with densities clamped at 0 and features (3, D, H, W) its colours: ``spec``'s
    colour, else the file's first 3 feature channels (one or two: the first as grey), else
    grey."""
    dens = grid.densities.clamp(min=0)
    feats = grid.features
    if spec.colour is not None or feats is None:
        rgb = torch.tensor(spec.colour or DEFAULT_COLOUR, dtype=dens.dtype, device=dens.device)
        colours = rgb.view(3, 1, 1, 1).expand(3, *dens.shape)
    else:
        colours = (feats[:3] if feats.shape[0] >= 3 else feats[:1].expand(3, *dens.shape))
        colours = colours.to(dens.dtype).clamp(0.0, 1.0)
    return VoxelGrid(dens, grid.translate, grid.scale, colours)


def place_grid(grid: VoxelGrid, spec: VolumeSpec) -> VoxelGrid:
    """``grid`` moved as ``spec`` says: when normalising, the box of its voxels of positive
    density (the whole grid when there are none) centred on the origin with its half-diagonal
    scaled to 1; then scaled and translated. Only the placement changes."""
    translate, scale = grid.translate, grid.scale
    if spec.normalize:
        occupied = (grid.densities > 0).nonzero()  # (K, 3) z, y, x indices
        if occupied.shape[0]:
            first, last = occupied.amin(0).flip(0), occupied.amax(0).flip(0) + 1
            lo = translate + first * grid.voxel_size
            hi = translate + last * grid.voxel_size
        else:
            lo, hi = translate, translate + scale
        radius = (hi - lo).norm() / 2
        translate, scale = (translate - (lo + hi) / 2) / radius, scale / radius
    like = {"dtype": scale.dtype, "device": scale.device}
    factor = torch.tensor(spec.scale, **like)
    return VoxelGrid(grid.densities, translate * factor + torch.tensor(spec.translate, **like),
                     scale * factor, grid.features)


def _joined(grids: list[VoxelGrid]) -> VoxelGrid:
    """One grid over the union of ``grids``' boxes, voxels the smallest of theirs per axis,
    each grid sampled trilinearly at its voxel centres (0 outside it): densities added,
    colours weighted by density."""
    lo = torch.stack([g.translate for g in grids]).amin(0)
    hi = torch.stack([g.translate + g.scale for g in grids]).amax(0)
    voxel = torch.stack([g.voxel_size for g in grids]).amin(0)
    dims = [max(1, math.ceil(float(n) - 1e-4)) for n in (hi - lo) / voxel]  # x, y, z
    shape = (dims[2], dims[1], dims[0])
    target = VoxelGrid(lo.new_zeros(shape), lo, voxel * torch.tensor(dims).to(voxel))
    centres = target.voxel_centers()[None]  # (1, D, H, W, 3)
    dens, weighted = lo.new_zeros(shape), lo.new_zeros((3, *shape))
    for grid in grids:
        volumes = grid.to_volumes()
        local = volumes.world_to_local_coords(centres)
        both = torch.cat([grid.densities[None], grid.features])[None]
        sampled = torch.nn.functional.grid_sample(both, local, align_corners=True)[0]
        dens = dens + sampled[0]
        weighted = weighted + sampled[0] * sampled[1:]
    colours = torch.where(dens > 0, weighted / dens.clamp(min=1e-12), weighted.new_tensor(
        DEFAULT_COLOUR).view(3, 1, 1, 1))
    return VoxelGrid(dens, target.translate, target.scale, colours)


def _bordered(grid: VoxelGrid) -> VoxelGrid:
    """``grid`` with one more voxel of density 0 on every side (colours repeated from the
    side's voxels), its box grown by a voxel each way so its voxels stay in place."""
    pad = (1, 1, 1, 1, 1, 1)
    dens = torch.nn.functional.pad(grid.densities, pad)
    colours = torch.nn.functional.pad(grid.features[None], pad, mode="replicate")[0]
    return VoxelGrid(dens, grid.translate - grid.voxel_size, grid.scale + 2 * grid.voxel_size,
                     colours)


def view_transforms(scene: Scene, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """World-to-view rotations (N, 3, 3) and translations (N, 3) of the scene's N views."""
    cams = scene.cameras
    if cams.R:
        return (torch.tensor(cams.R, dtype=torch.float32, device=device),
                torch.tensor(cams.T, dtype=torch.float32, device=device))
    views = cams.view_list()
    return look_at_view_transform(
        dist=[v.dist for v in views], elev=[v.elev for v in views],
        azim=[v.azim for v in views], at=[v.at for v in views], up=[v.up for v in views],
        device=device,
    )
