"""Plumbing shared by r3d's applications (fits, scene renders, trainings, datasets): devices
(:mod:`~r3d.runs.devices`), checkpoints, loss plots, learning-rate schedules, image files,
scores (:mod:`~r3d.runs.metrics`, built on the surface comparison of ``r3d chamfer``,
:mod:`~r3d.runs.surface`), output folders (:mod:`~r3d.runs.outdir`), the soft / display
renderers of shapes (:mod:`~r3d.runs.rendering`), the machine (:mod:`~r3d.runs.machine`) and
what the runs' report pages share (:mod:`~r3d.runs.reporting`)."""
