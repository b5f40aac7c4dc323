"""What ``r3d fit`` optimises: a mesh (base vertices + offsets, colours), a point cloud, and
camera poses. Each model turns its parameters into r3d objects and saves to / restores from a
plain dict of tensors (checkpoints)."""

from __future__ import annotations

import math

import torch
from torch import nn

from r3d.ops.subdivide_meshes import SubdivideMeshes
from r3d.renderer import CamerasBase, TexturesUV, TexturesVertex
from r3d.structures import Meshes
from r3d.transforms import so3_exp_map

__all__ = ["CameraModel", "MeshModel", "PointsModel", "sphere_points", "spherical_uvs"]

GREY = 0.5  # the colour colours start from (logit 0)
START_OPACITY = 2.0  # logit: points start at opacity 0.88
UV_SPAN = 1.5  # sphere u in [0, 1.5) (seam faces reach past 1) fills the texture's width


def spherical_uvs(dirs: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Per-corner texture coordinates (F, 3, 2) of faces on unit directions ``dirs`` (V, 3):
    longitude and latitude, with faces across the seam kept whole (their corners' u past 1)
    and pole corners taking the mean u of their face's other corners."""
    x, y, z = dirs.unbind(-1)
    u = (torch.atan2(x, z) / (2 * math.pi)) % 1.0
    v = torch.acos(y.clamp(-1.0, 1.0)) / math.pi
    cu, cv = u[faces], v[faces]
    crosses = (cu.amax(1) - cu.amin(1)) > 0.5
    cu = torch.where(crosses[:, None] & (cu < 0.5), cu + 1.0, cu)
    pole = (dirs[:, 0].square() + dirs[:, 2].square() < 1e-10)[faces]
    others = (cu * ~pole).sum(1, keepdim=True) / (~pole).sum(1, keepdim=True).clamp(min=1)
    cu = torch.where(pole, others, cu)
    return torch.stack([cu / UV_SPAN, 1.0 - cv], dim=-1)


class MeshModel(nn.Module):
    """A mesh being fitted: vertices ``base + offsets`` (V, 3), faces (F, 3) and optional
    colours, per vertex (``color_logits`` (V, 3)) or a UV map (``texture_logits`` (S, S, 3))
    over spherical coordinates of ``dirs`` (V, 3), each vertex's direction from the start
    shape's centre. Colours are the sigmoid of their logits."""

    def __init__(self, base: torch.Tensor, faces: torch.Tensor, colors: str | None = None,
                 texture_size: int = 256, dirs: torch.Tensor | None = None) -> None:
        super().__init__()
        self.colors = colors
        self.register_buffer("base", base.detach().clone())
        self.register_buffer("faces", faces.detach().clone())
        if dirs is None:
            centred = base - base.mean(0)
            dirs = centred / centred.norm(dim=1, keepdim=True).clamp(min=1e-12)
        self.register_buffer("dirs", dirs.detach().clone())
        self.offsets = nn.Parameter(torch.zeros_like(base))
        if colors == "vertex":
            self.color_logits = nn.Parameter(torch.zeros_like(base))
        elif colors == "texture":
            self.texture_logits = nn.Parameter(base.new_zeros(texture_size, texture_size, 3))

    def verts(self) -> torch.Tensor:
        """(V, 3) current vertices."""
        return self.base + self.offsets

    def meshes(self) -> Meshes:
        """The current mesh (a batch of one), with its colours as textures when it has any."""
        mesh = Meshes([self.verts()], [self.faces])
        if self.colors == "vertex":
            mesh.textures = TexturesVertex([torch.sigmoid(self.color_logits)])
        elif self.colors == "texture":
            corners = spherical_uvs(self.dirs, self.faces)
            mesh.textures = TexturesUV(
                maps=[torch.sigmoid(self.texture_logits)],
                faces_uvs=[torch.arange(corners.shape[0] * 3, device=corners.device).view(-1, 3)],
                verts_uvs=[corners.reshape(-1, 2)],
            )
        return mesh

    def shape_parameters(self) -> list[nn.Parameter]:
        """The tensors the shape group of the optimiser moves."""
        return [self.offsets]

    def color_parameters(self) -> list[nn.Parameter]:
        """The colour logits the colour group moves (none when colours are not fitted)."""
        if self.colors == "vertex":
            return [self.color_logits]
        return [self.texture_logits] if self.colors == "texture" else []

    @torch.no_grad()
    def subdivided(self) -> MeshModel:
        """A model of the current mesh with every triangle split in four (offsets folded into
        the base; vertex colours and directions carried to the new vertices, the UV map kept)."""
        feats = [self.dirs]
        if self.colors == "vertex":
            feats.append(self.color_logits)
        mesh, new = SubdivideMeshes()(Meshes([self.verts()], [self.faces]),
                                      torch.cat(feats, dim=1))
        dirs = new[:, :3] / new[:, :3].norm(dim=1, keepdim=True).clamp(min=1e-12)
        model = MeshModel(mesh.verts_packed(), mesh.faces_packed(), self.colors,
                          dirs=dirs, texture_size=self._texture_size())
        if self.colors == "vertex":
            model.color_logits.copy_(new[:, 3:])
        elif self.colors == "texture":
            model.texture_logits.copy_(self.texture_logits)
        return model

    def _texture_size(self) -> int:
        return self.texture_logits.shape[0] if self.colors == "texture" else 1

    def state(self) -> dict:
        """Everything needed to rebuild the model (tensors on the CPU)."""
        return {"kind": "mesh", "colors": self.colors, "texture_size": self._texture_size(),
                **{k: v.detach().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> MeshModel:
        """The model :meth:`state` described, on ``device``."""
        model = cls(state["base"], state["faces"], state["colors"], state["texture_size"],
                    dirs=state["dirs"])
        model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})
        return model.to(device)


def sphere_points(n: int, radius: float, generator: torch.Generator,
                  fill: bool = False) -> torch.Tensor:
    """(n, 3) points uniformly distributed on a sphere of ``radius`` (``fill``: in the ball)."""
    p = torch.randn(n, 3, generator=generator)
    p = p / p.norm(dim=1, keepdim=True).clamp(min=1e-12)
    if fill:
        p = p * torch.rand(n, 1, generator=generator) ** (1 / 3)
    return radius * p


class PointsModel(nn.Module):
    """A point cloud being fitted: ``points`` (P, 3), ``opacity_logits`` (P,) (points that
    belong nowhere fade out: silhouettes can only shrink a splat's coverage through its
    opacity) and optional ``color_logits`` (P, 3). Opacities and colours are sigmoids."""

    def __init__(self, points: torch.Tensor, colors: bool) -> None:
        super().__init__()
        self.colors = "vertex" if colors else None
        self.points = nn.Parameter(points.detach().clone())
        self.opacity_logits = nn.Parameter(points.new_full(points.shape[:1], START_OPACITY))
        if colors:
            self.color_logits = nn.Parameter(torch.zeros_like(points))

    def opacity(self) -> torch.Tensor:
        """(P,) opacities in (0, 1)."""
        return torch.sigmoid(self.opacity_logits)

    def visible(self) -> torch.Tensor:
        """(P,) bool: the points with opacity of at least one half (those written out)."""
        return self.opacity_logits.detach() >= 0

    def rgb(self) -> torch.Tensor:
        """(P, 3) colours (grey when colours are not fitted)."""
        if self.colors is None:
            return torch.full_like(self.points, GREY)
        return torch.sigmoid(self.color_logits)

    def shape_parameters(self) -> list[nn.Parameter]:
        """The tensors the shape group of the optimiser moves."""
        return [self.points]

    def opacity_parameters(self) -> list[nn.Parameter]:
        """The (P,) opacity logits (their own group: they learn faster)."""
        return [self.opacity_logits]

    def color_parameters(self) -> list[nn.Parameter]:
        """The colour logits the colour group moves (none when colours are not fitted)."""
        return [self.color_logits] if self.colors else []

    def state(self) -> dict:
        """The model as a dict of CPU tensors and settings, for checkpoints."""
        return {"kind": "points", "colors": self.colors is not None,
                **{k: v.detach().cpu() for k, v in self.state_dict().items()}}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> PointsModel:
        """The model :meth:`state` described, on ``device``."""
        model = cls(state["points"], state["colors"])
        model.load_state_dict({k: v for k, v in state.items() if isinstance(v, torch.Tensor)})
        return model.to(device)


class CameraModel(nn.Module):
    """Fitted poses of V cameras: each view's start rotation R0 (V, 3, 3) turned by a world
    rotation exp(``log_rot``) about the origin, and its translation moved by ``shift`` (V, 3):
    R = exp(w) R0, T = T0 + shift (row-vector convention, X_view = X_world R + T)."""

    def __init__(self, R0: torch.Tensor, T0: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("R0", R0.detach().clone())
        self.register_buffer("T0", T0.detach().clone())
        self.log_rot = nn.Parameter(torch.zeros_like(T0))
        self.shift = nn.Parameter(torch.zeros_like(T0))

    def pose(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """World-to-view R (n, 3, 3) and T (n, 3) of the views ``idx`` (n,)."""
        return so3_exp_map(self.log_rot[idx]) @ self.R0[idx], self.T0[idx] + self.shift[idx]

    def cameras(self, base: CamerasBase, idx: torch.Tensor) -> CamerasBase:
        """``base`` (the n cameras of views ``idx``) moved to the fitted poses."""
        return base.with_pose(*self.pose(idx))

    def state(self) -> dict:
        """The model as a dict of CPU tensors and settings, for checkpoints."""
        return {k: v.detach().cpu() for k, v in self.state_dict().items()}

    @classmethod
    def from_state(cls, state: dict, device: torch.device) -> CameraModel:
        """The model :meth:`state` described, on ``device``."""
        model = cls(state["R0"], state["T0"])
        model.load_state_dict(state)
        return model.to(device)
