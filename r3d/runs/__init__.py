"""Plumbing shared by r3d's applications (fits, scene renders, trainings, datasets): devices
(:mod:`~r3d.runs.devices`), checkpoints, loss plots, learning-rate schedules, image files,
scores (:mod:`~r3d.runs.metrics`) and the soft / display renderers of shapes
(:mod:`~r3d.runs.rendering`)."""
