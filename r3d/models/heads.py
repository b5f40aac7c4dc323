"""Shape heads on image features: a mesh head (an ico-sphere refined in stages of
``vert_align`` + ``GraphConv``, subdivided in between, as Mesh R-CNN's mesh branch) and a
point-cloud head (a fixed number of points from the global feature)."""

from __future__ import annotations

import torch
from torch import nn

from r3d.ops import GraphConv, SubdivideMeshes, vert_align
from r3d.renderer import CamerasBase, TexturesVertex
from r3d.structures import Meshes
from r3d.utils import ico_sphere

__all__ = ["MeshHead", "MeshRefinementStage", "PointsHead", "image_sample_positions"]


def image_sample_positions(verts: torch.Tensor, cameras: CamerasBase,
                           image_size: tuple[int, int]) -> torch.Tensor:
    """(N, V, 3) positions whose x, y are the vertices' (N, V, 3) projections in
    ``F.grid_sample`` coordinates of (H, W) images (x = -1 at the left edge, y = -1 at the top;
    NDC has +x left, +y up and its shorter side spanning [-1, 1]); z is 0."""
    ndc = cameras.transform_points_ndc(verts)
    H, W = image_size
    short = min(H, W)
    x = -ndc[..., 0] * (short / W)
    y = -ndc[..., 1] * (short / H)
    return torch.stack([x, y, torch.zeros_like(x)], dim=-1)


class MeshRefinementStage(nn.Module):
    """One refinement: image features sampled at the projected vertices, reduced to
    ``hidden`` channels, concatenated with the positions (and the previous stage's vertex
    features), ``convs`` graph convolutions, then a per-vertex offset.

    ``forward(meshes, vert_feats, maps, cameras, image_size)`` returns the moved meshes and the
    (sum V_i, hidden) vertex features.
    """

    def __init__(self, image_dim: int, hidden: int, previous_dim: int = 0,
                 convs: int = 3) -> None:
        super().__init__()
        self.bottleneck = nn.Linear(image_dim, hidden)
        dims = [hidden + 3 + previous_dim] + [hidden + 3] * (convs - 1)
        self.convs = nn.ModuleList(GraphConv(d, hidden) for d in dims)
        self.offset = nn.Linear(hidden + 3, 3)
        nn.init.zeros_(self.offset.weight)
        nn.init.zeros_(self.offset.bias)

    def forward(self, meshes: Meshes, vert_feats: torch.Tensor | None,
                maps: list[torch.Tensor], cameras: CamerasBase,
                image_size: tuple[int, int]) -> tuple[Meshes, torch.Tensor]:
        positions = image_sample_positions(meshes.verts_padded(), cameras, image_size)
        idx = meshes.verts_padded_to_packed_idx()
        sampled = vert_align(maps, positions).reshape(-1, self.bottleneck.in_features)[idx]
        verts = meshes.verts_packed()
        x = torch.relu(self.bottleneck(sampled))
        x = torch.cat([x, verts] + ([] if vert_feats is None else [vert_feats]), dim=1)
        edges = meshes.edges_packed()
        for conv in self.convs:
            x = torch.relu(conv(x, edges))
            x = torch.cat([x, verts], dim=1)
        return meshes.offset_verts(self.offset(x)), x[:, :-3]


class MeshHead(nn.Module):
    """Predicts one mesh per image: an ico-sphere of ``level`` (radius ``radius``) refined by
    ``stages`` :class:`MeshRefinementStage` with a subdivision before each stage but the first.
    With ``colors`` the last stage's vertex features also give vertex colours in [0, 1] (the
    last mesh's ``TexturesVertex``; mid-grey at the start).

    ``forward(maps, cameras, image_size, centres=None)``: the encoder's feature maps
    (N, C_s, H_s, W_s), the N cameras the images were taken with, the images' (H, W) and where
    each start sphere is centred ((N, 3), default the origin); returns the Meshes after each
    stage (the last is the prediction; earlier ones get losses too, as in Mesh R-CNN).
    """

    def __init__(self, feature_dims: tuple[int, ...], hidden: int = 128, stages: int = 3,
                 convs_per_stage: int = 3, level: int = 2, radius: float = 0.5,
                 colors: bool = False) -> None:
        super().__init__()
        self.level, self.radius = level, radius
        image_dim = sum(feature_dims)
        self.stages = nn.ModuleList(
            MeshRefinementStage(image_dim, hidden, 0 if s == 0 else hidden, convs_per_stage)
            for s in range(stages)
        )
        self.colors = nn.Linear(hidden, 3) if colors else None
        if self.colors is not None:
            nn.init.zeros_(self.colors.weight)
            nn.init.zeros_(self.colors.bias)

    def forward(self, maps: list[torch.Tensor], cameras: CamerasBase,
                image_size: tuple[int, int], centres: torch.Tensor | None = None) -> list[Meshes]:
        n, device = maps[0].shape[0], maps[0].device
        sphere = ico_sphere(self.level, device=device).extend(n)
        verts = sphere.verts_padded() * self.radius
        meshes = sphere.update_padded(verts if centres is None else verts + centres[:, None])
        feats, out = None, []
        for s, stage in enumerate(self.stages):
            if s > 0:
                meshes, feats = SubdivideMeshes()(meshes, feats)
            meshes, feats = stage(meshes, feats, maps, cameras, image_size)
            out.append(meshes)
        if self.colors is not None:
            rgb = torch.sigmoid(self.colors(feats)).split(meshes.num_verts_per_mesh().tolist())
            out[-1] = Meshes(meshes.verts_list(), meshes.faces_list(),
                             textures=TexturesVertex(list(rgb)))
        return out


class PointsHead(nn.Module):
    """Predicts ``num_points`` points per image from the global image feature with an MLP:
    (N, global_dim) -> points (N, num_points, 3) inside the cube of half-side ``extent``, and
    with ``colors`` their colours (N, num_points, 3) in [0, 1] (else None)."""

    def __init__(self, global_dim: int, num_points: int = 2048, hidden: int = 512,
                 extent: float = 1.0, colors: bool = False) -> None:
        super().__init__()
        self.num_points, self.extent, self.channels = num_points, extent, 6 if colors else 3
        self.mlp = nn.Sequential(nn.Linear(global_dim, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, num_points * self.channels))

    def forward(self, global_feature: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.mlp(global_feature).view(-1, self.num_points, self.channels)
        points = torch.tanh(out[..., :3]) * self.extent
        return points, torch.sigmoid(out[..., 3:]) if self.channels == 6 else None
