"""Checkpoints are read safely: a checkpoint whose pickle would run code (a crafted payload
where ``--resume`` or ``r3d eval`` reads it) is refused with a FileFormatError (exit 2 in the
CLI) and the code does not run; what r3d writes holds only tensors and plain data; older
formats are refused by name."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from r3d.cli.main import app
from r3d.errors import FileFormatError
from r3d.fit.outputs import recipe_yaml
from r3d.fit.recipe import load_recipe
from r3d.fit.run import CHECKPOINT, fit, resume_recipe
from r3d.io import save_ply
from r3d.learn.recipe import load_train_recipe, train_recipe_to_dict
from r3d.learn.train import load_checkpoint, train
from r3d.learn.train import resume_recipe as train_resume_recipe
from r3d.runs.checkpoints import read_checkpoint, recipe_text, write_checkpoint
from r3d.utils import ico_sphere

runner = CliRunner()


class Payload:
    """Unpickled, writes ``marker``: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({str(self.marker)!r}, 'w').write('executed')",)


def crafted(path: Path, marker: Path, archive: bool = True) -> Path:
    """A checkpoint at ``path`` that looks like r3d's but runs the payload when unpickled:
    a torch.save archive, or (``archive`` False) a bare pickle."""
    data = {"version": 2, "iteration": 1, "model": Payload(marker)}
    if archive:
        torch.save(data, path)
    else:
        path.write_bytes(pickle.dumps(data))
    return path


def test_the_payload_runs_when_unpickled_unsafely(tmp_path):
    """The crafted file is live: torch.load(weights_only=False) runs it (what r3d did)."""
    marker = tmp_path / "marker"
    torch.load(crafted(tmp_path / "c.pt", marker), weights_only=False)
    assert marker.read_text() == "executed"


@pytest.fixture
def fit_run(tmp_path) -> Path:
    """A fit's output folder as --resume reads it (recipe.yaml, inputs.json, a target), its
    checkpoint left to each test."""
    target = tmp_path / "target.ply"
    save_ply(target, ico_sphere(1).verts_packed())
    out = tmp_path / "run"
    out.mkdir()
    recipe = load_recipe(None, ["input=target", "losses.chamfer=1", "stages=[]",
                                f"outputs.dir={out}"])
    (out / "recipe.yaml").write_text(recipe_yaml(recipe))
    (out / "inputs.json").write_text(f'{{"mesh": null, "views": null, "target": '
                                     f'"{target}", "gt": null}}')
    return out


@pytest.fixture
def train_run(tmp_path) -> Path:
    """A training's output folder as --resume reads it (recipe.yaml)."""
    out = tmp_path / "trained"
    out.mkdir()
    recipe = load_train_recipe(None, [f"data.root={tmp_path / 'no_data'}",
                                      f"outputs.dir={out}"])
    (out / "recipe.yaml").write_text(recipe_text(train_recipe_to_dict(recipe)))
    return out


@pytest.mark.parametrize("archive", [True, False], ids=["torch-archive", "bare-pickle"])
def test_fit_resume_refuses_a_crafted_checkpoint(fit_run, tmp_path, archive):
    marker = tmp_path / "marker"
    path = crafted(fit_run / CHECKPOINT, marker, archive)
    recipe, paths = resume_recipe(fit_run)
    with pytest.raises(FileFormatError) as info:
        fit(recipe, resume=True, **paths)
    assert info.value.path == str(path)
    assert ("not a safe r3d fit checkpoint" if archive else "not a torch.save archive") in \
        str(info.value)
    assert not marker.exists()
    assert (fit_run / CHECKPOINT).is_file()  # the folder is left as it was


def one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error:"), lines[0]
    return lines[0]


def test_cli_fit_resume_refuses_a_crafted_checkpoint(fit_run, tmp_path):
    marker = tmp_path / "marker"
    path = crafted(fit_run / CHECKPOINT, marker)
    result = runner.invoke(app, ["fit", "--resume", str(fit_run)])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert str(path.resolve()) in line and "not a safe r3d fit checkpoint" in line
    # what it needed, when torch's message names it
    assert "it needs exec" in line or "it holds other Python objects" in line
    assert not marker.exists()


def test_cli_train_resume_refuses_a_crafted_checkpoint(train_run, tmp_path):
    """Refused before anything else (the dataset is not made)."""
    marker = tmp_path / "marker"
    path = crafted(train_run / "checkpoint.pt", marker)
    result = runner.invoke(app, ["train", "--resume", str(train_run)])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert str(path.resolve()) in line and "not a safe r3d training checkpoint" in line
    assert not marker.exists()
    assert not (tmp_path / "no_data").exists()


def test_library_train_and_eval_refuse_a_crafted_checkpoint(train_run, tmp_path):
    marker = tmp_path / "marker"
    path = crafted(train_run / "checkpoint.pt", marker)
    with pytest.raises(FileFormatError, match="not a safe r3d training checkpoint"):
        train(train_resume_recipe(train_run), resume=True)
    result = runner.invoke(app, ["eval", str(path), "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "not a safe r3d training checkpoint" in one_error_line(result)
    assert not marker.exists()


def test_an_older_fit_checkpoint_is_refused_by_name(fit_run):
    """Format 1 stored the progress frames as numpy arrays (objects beyond tensors)."""
    torch.save({"version": 1, "iteration": 2, "frames": [np.zeros((2, 2, 3), np.uint8)]},
               fit_run / CHECKPOINT)
    result = runner.invoke(app, ["fit", "--resume", str(fit_run)])
    assert result.exit_code == 2, result.output
    line = one_error_line(result)
    assert "not a safe r3d fit checkpoint" in line and "before format version 2" in line


def test_an_older_training_checkpoint_is_refused_by_name(train_run):
    torch.save({"version": 1, "iteration": 2, "recipe": {"model": "mesh"}},
               train_run / "checkpoint.pt")
    with pytest.raises(FileFormatError, match="an r3d training checkpoint of format version 1; "
                       "this r3d reads version 2 only"):
        load_checkpoint(train_run / "checkpoint.pt")


@pytest.mark.parametrize("content, reason", [
    (b"", "not a torch.save archive"),
    (b"PK\x03\x04 truncated", "not an r3d fit checkpoint"),
])
def test_damaged_checkpoints_are_named(tmp_path, content, reason):
    path = tmp_path / CHECKPOINT
    path.write_bytes(content)
    with pytest.raises(FileFormatError, match=reason) as info:
        read_checkpoint(path, 2, "fit", "missing")
    assert "\n" not in str(info.value)


def test_a_checkpoint_without_a_version(tmp_path):
    torch.save({"iteration": 1}, tmp_path / CHECKPOINT)
    with pytest.raises(FileFormatError, match="not an r3d fit checkpoint$"):
        read_checkpoint(tmp_path / CHECKPOINT, 2, "fit", "missing")


def test_write_checkpoint_takes_only_tensors_and_plain_data(tmp_path):
    good = {"version": 2, "t": torch.ones(2), "rows": [{"a": 1.0}], "state": {0: (1, None)}}
    write_checkpoint(good, tmp_path / "a.pt")
    back = read_checkpoint(tmp_path / "a.pt", 2, "fit", "missing")
    assert torch.equal(back["t"], good["t"])
    assert back["rows"] == good["rows"] and back["state"] == good["state"]
    with pytest.raises(TypeError, match=r"checkpoint\['frames'\]\[0\] is a ndarray"):
        write_checkpoint({"frames": [np.zeros(2)]}, tmp_path / "b.pt")
    assert not (tmp_path / "b.pt").exists()


def test_real_checkpoints_load_safely(tmp_path):
    """What fit and train write loads with weights_only=True: the recipe is YAML text, the
    random states are uint8 tensors, the frames tensors."""
    target = tmp_path / "target.ply"
    save_ply(target, ico_sphere(1).verts_packed())
    out = tmp_path / "fit"
    fit(load_recipe(None, ["input=target", "losses.chamfer=1", "stages=[]", "iterations=2",
                           "target.samples=100", "outputs.every=2", f"outputs.dir={out}"]),
        target=target)
    data = torch.load(out / CHECKPOINT, weights_only=True)
    assert isinstance(data["recipe"], str) and "chamfer: 1" in data["recipe"]
    assert data["generator"].dtype == data["torch_rng"].dtype == torch.uint8
    assert all(f.dtype == torch.uint8 and f.ndim == 3 for f in data["frames"])
