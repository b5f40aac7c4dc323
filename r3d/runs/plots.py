"""Loss curves of a run as a PNG."""

from __future__ import annotations

from pathlib import Path

from r3d.io import atomic_paths


def plot_losses(history: list[dict[str, float]], path: Path, xlabel: str = "iteration") -> None:
    """Each term of ``history`` (one dict of losses per step) against the step, log scale,
    as a PNG at ``path`` (atomically)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for key in history[0]:
        values = [h.get(key, float("nan")) for h in history]
        ax.plot(range(1, len(values) + 1), values, label=key, lw=2 if key == "total" else 1)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("weighted loss")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_paths(path) as (tmp,):
        fig.savefig(tmp, format="png")
