"""The harmonic (positional) embedding of NeRF and its integrated form of MIP-NeRF
(PyTorch3D's ``HarmonicEmbedding``)."""

from __future__ import annotations

import torch

from r3d._checks import check_finite_float, check_int, describe
from r3d.errors import InputError

__all__ = ["HarmonicEmbedding"]


class HarmonicEmbedding(torch.nn.Module):
    """Maps each coordinate x_i of its input to ``sin(f_k x_i)`` and ``cos(f_k x_i)`` for K
    frequencies f_k, and optionally x_i itself.

    The frequencies are ``omega_0 * 2**k`` for k = 0 .. K-1 (``logspace``), or K values evenly
    spaced from ``omega_0`` to ``omega_0 * 2**(K-1)``. The output of an input (..., D) is
    (..., D * (2K + append_input)) laid out as PyTorch3D's: the sines (coordinate-major, then
    frequency), then the cosines in the same order, then the input.

    Args:
        n_harmonic_functions: K (>= 0).
        omega_0: the base frequency.
        logspace: powers of two (else evenly spaced frequencies).
        append_input: append the input to the embedding.
    """

    def __init__(
        self,
        n_harmonic_functions: int = 6,
        omega_0: float = 1.0,
        logspace: bool = True,
        append_input: bool = True,
    ) -> None:
        super().__init__()
        op = type(self).__name__
        check_int(op, "n_harmonic_functions", n_harmonic_functions, 0)
        omega_0 = check_finite_float(op, "omega_0", omega_0)
        K = n_harmonic_functions
        if logspace:
            frequencies = 2.0 ** torch.arange(K, dtype=torch.float32)
        else:
            frequencies = torch.linspace(1.0, 2.0 ** (K - 1), K, dtype=torch.float32)
        self.register_buffer("_frequencies", frequencies * omega_0, persistent=False)
        self.append_input = append_input

    def forward(
        self, x: torch.Tensor, diag_cov: torch.Tensor | None = None, **kwargs
    ) -> torch.Tensor:
        """Embeds x.

        Args:
            x: (..., D) float.
            diag_cov: optional (..., D) variances of Gaussians centred at x (MIP-NeRF): each
                harmonic of frequency f is then scaled by ``exp(-f**2 * diag_cov / 2)``, its
                expected value over the Gaussian.
            kwargs: ignored.
        Returns:
            (..., D * (2 * n_harmonic_functions + append_input)).
        """
        op = f"{type(self).__name__}.forward"
        if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.dim() < 1:
            raise InputError(f"{op}: x must be a float tensor of shape (..., D), got {describe(x)}")
        if diag_cov is not None and (
            not isinstance(diag_cov, torch.Tensor) or diag_cov.shape != x.shape
        ):
            raise InputError(
                f"{op}: diag_cov must be a tensor of the shape of x {tuple(x.shape)}, "
                f"got {describe(diag_cov)}"
            )
        phases = x[..., None] * self._frequencies  # (..., D, K)
        harmonics = torch.stack([phases.sin(), phases.cos()], dim=-3)  # (..., 2, D, K)
        if diag_cov is not None:
            harmonics = harmonics * torch.exp(
                -0.5 * diag_cov[..., None] * self._frequencies**2
            )[..., None, :, :]
        embedding = harmonics.reshape(*x.shape[:-1], 2 * x.shape[-1] * len(self._frequencies))
        return torch.cat([embedding, x], dim=-1) if self.append_input else embedding

    @staticmethod
    def get_output_dim_static(
        input_dims: int, n_harmonic_functions: int, append_input: bool
    ) -> int:
        """The size of the embedding of ``input_dims`` coordinates."""
        return input_dims * (2 * n_harmonic_functions + int(append_input))

    def get_output_dim(self, input_dims: int = 3) -> int:
        """The size of this module's embedding of ``input_dims`` coordinates."""
        return self.get_output_dim_static(input_dims, len(self._frequencies), self.append_input)
