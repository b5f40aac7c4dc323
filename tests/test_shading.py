"""Lights, materials, blending and shading functions against hand computations."""

from __future__ import annotations

import math

import pytest
import torch

from r3d.errors import InputError
from r3d.renderer import (
    AmbientLights,
    BlendParams,
    DirectionalLights,
    Fragments,
    Materials,
    PointLights,
    hard_rgb_blend,
    sigmoid_alpha_blend,
    softmax_rgb_blend,
)
from r3d.renderer.lighting import diffuse, specular


def _f64(values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _fragments(pix_to_face, zbuf, dists) -> Fragments:
    p2f = torch.tensor(pix_to_face, dtype=torch.int64)
    return Fragments(
        p2f, torch.tensor(zbuf, dtype=torch.float64),
        torch.full((*p2f.shape, 3), 1 / 3, dtype=torch.float64),
        torch.tensor(dists, dtype=torch.float64),
    )


# ---- lighting ----------------------------------------------------------------------------------


def test_diffuse_is_color_times_clamped_cosine():
    normals = torch.tensor([[0.0, 0.0, 2.0], [0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])
    direction = torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0], [0.0, 0.0, 3.0]])
    color = torch.tensor([0.2, 0.4, 0.6])
    out = diffuse(normals, color, direction)
    expected = color * torch.tensor([1.0, 0.0, math.cos(math.pi / 4)])[:, None]
    torch.testing.assert_close(out, expected)


def test_specular_reflection_and_shininess():
    # light at 45 degrees in the x-z plane, normal +z: reflection at -45 degrees
    normal = torch.tensor([[0.0, 0.0, 1.0]])
    direction = torch.tensor([[1.0, 0.0, 1.0]])
    point = torch.zeros(1, 3)
    color = torch.tensor([1.0, 0.5, 0.25])
    along_reflection = torch.tensor([[-1.0, 0.0, 1.0]])
    out = specular(point, normal, direction, color, along_reflection, torch.tensor([10.0]))
    torch.testing.assert_close(out, color[None])
    # viewer along the normal: cos(45 deg) ** shininess
    out = specular(point, normal, direction, color, torch.tensor([[0.0, 0.0, 5.0]]),
                   torch.tensor([10.0]))
    torch.testing.assert_close(out, color[None] * math.cos(math.pi / 4) ** 10)
    # light behind the surface: nothing
    out = specular(point, normal, -direction, color, along_reflection, torch.tensor([10.0]))
    assert out.abs().max() == 0


def test_point_and_directional_lights_broadcast_over_fragments():
    points = torch.zeros(2, 4, 5, 1, 3)
    normals = torch.zeros(2, 4, 5, 1, 3)
    normals[..., 2] = 1.0
    point = PointLights(diffuse_color=[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                        location=[[0.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    out = point.diffuse(normals, points)
    assert out.shape == (2, 4, 5, 1, 3)
    torch.testing.assert_close(out[0, 0, 0, 0], torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(out[1, 0, 0, 0], torch.tensor([0.0, math.cos(math.pi / 4), 0.0]))
    directional = DirectionalLights(direction=[0.0, 0.0, 1.0])
    torch.testing.assert_close(directional.diffuse(normals, points), torch.full_like(points, 0.3))
    spec = directional.specular(normals, points, torch.tensor([[0.0, 0.0, 1.0]]),
                                torch.tensor([64.0]))
    torch.testing.assert_close(spec, torch.full_like(points, 0.2))


def test_defaults_match_pytorch3d():
    p = PointLights()
    torch.testing.assert_close(p.ambient_color, torch.tensor([[0.5] * 3]))
    torch.testing.assert_close(p.diffuse_color, torch.tensor([[0.3] * 3]))
    torch.testing.assert_close(p.specular_color, torch.tensor([[0.2] * 3]))
    torch.testing.assert_close(p.location, torch.tensor([[0.0, 1.0, 0.0]]))
    torch.testing.assert_close(AmbientLights().ambient_color, torch.ones(1, 3))
    m = Materials()
    assert m.shininess.tolist() == [64.0] and len(m) == 1
    assert BlendParams() == (1e-4, 1e-4, (1.0, 1.0, 1.0))
    assert len(PointLights(location=torch.zeros(4, 3))) == 4


def test_ambient_lights_give_no_diffuse_or_specular():
    x = torch.randn(1, 2, 2, 1, 3)
    lights = AmbientLights(ambient_color=(0.1, 0.2, 0.3))
    assert lights.diffuse(x, x).abs().max() == 0
    assert lights.specular(x, x, torch.zeros(1, 3), torch.ones(1)).abs().max() == 0


def test_light_arguments_are_checked():
    with pytest.raises(InputError, match="location"):
        PointLights(location=[0.0, 1.0])
    with pytest.raises(InputError, match="batch sizes"):
        PointLights(location=torch.zeros(2, 3), ambient_color=torch.zeros(3, 3))


# ---- blending ----------------------------------------------------------------------------------


def test_hard_rgb_blend_uses_nearest_face_and_background():
    frags = _fragments([[[[3, 1], [-1, -1]]]], [[[[1.0, 2.0], [-1.0, -1.0]]]],
                       [[[[-0.1, -0.1], [-1.0, -1.0]]]])
    colors = torch.rand(1, 1, 2, 2, 3, dtype=torch.float64)
    out = hard_rgb_blend(colors, frags, BlendParams(background_color=(0.1, 0.2, 0.3)))
    assert out.shape == (1, 1, 2, 4)
    one = torch.ones(1, dtype=torch.float64)
    torch.testing.assert_close(out[0, 0, 0], torch.cat([colors[0, 0, 0, 0], one]))
    torch.testing.assert_close(out[0, 0, 1], _f64([0.1, 0.2, 0.3, 0.0]))


def test_sigmoid_alpha_blend_by_hand():
    sigma = 1e-2
    frags = _fragments([[[[0, 1, -1]]]], [[[[1.0, 2.0, -1.0]]]], [[[[-0.01, 0.02, 0.5]]]])
    colors = torch.rand(1, 1, 1, 3, 3, dtype=torch.float64)
    out = sigmoid_alpha_blend(colors, frags, BlendParams(sigma=sigma))
    p0, p1 = torch.sigmoid(torch.tensor(1.0)), torch.sigmoid(torch.tensor(-2.0))
    alpha = 1 - (1 - p0) * (1 - p1)
    assert float(out[0, 0, 0, 3]) == pytest.approx(float(alpha))
    torch.testing.assert_close(out[0, 0, 0, :3], colors[0, 0, 0, 0])


def test_softmax_rgb_blend_weights_by_hand():
    sigma, gamma, znear, zfar = 1e-2, 0.5, 1.0, 11.0
    z = [2.0, 4.0, -1.0]
    d = [-0.01, 0.01, 0.3]
    frags = _fragments([[[[5, 6, -1]]]], [[[z]]], [[[d]]])
    colors = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [7.0, 7.0, 7.0]],
                          dtype=torch.float64).view(1, 1, 1, 3, 3)
    bg = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    out = softmax_rgb_blend(colors, frags, BlendParams(sigma, gamma, bg), znear, zfar)
    prob = [1 / (1 + math.exp(d[k] / sigma)) for k in range(2)]
    z_inv = [(zfar - z[k]) / (zfar - znear) for k in range(2)]
    top = max(z_inv)
    w = [prob[k] * math.exp((z_inv[k] - top) / gamma) for k in range(2)]
    w_bg = math.exp((1e-10 - top) / gamma)
    total = sum(w) + w_bg
    expected = (w[0] * colors[0, 0, 0, 0] + w[1] * colors[0, 0, 0, 1] + w_bg * bg) / total
    torch.testing.assert_close(out[0, 0, 0, :3], expected)
    assert float(out[0, 0, 0, 3]) == pytest.approx(1 - (1 - prob[0]) * (1 - prob[1]))


def test_softmax_rgb_blend_empty_pixel_is_background():
    frags = _fragments([[[[-1]]]], [[[[-1.0]]]], [[[[-1.0]]]])
    colors = torch.rand(1, 1, 1, 1, 3, dtype=torch.float64)
    out = softmax_rgb_blend(colors, frags, BlendParams(background_color=(0.2, 0.4, 0.6)))
    torch.testing.assert_close(out[0, 0, 0], _f64([0.2, 0.4, 0.6, 0.0]))


def test_blend_checks_shapes():
    frags = _fragments([[[[0]]]], [[[[1.0]]]], [[[[0.0]]]])
    with pytest.raises(InputError, match="colors"):
        hard_rgb_blend(torch.zeros(1, 1, 1, 3), frags)
    with pytest.raises(InputError, match="background_color"):
        hard_rgb_blend(torch.zeros(1, 1, 1, 1, 3), frags, BlendParams(background_color=(1, 1)))
