"""Single-view shape prediction learned from images: recipes (:mod:`~r3d.learn.recipe`), the
predictor network (:mod:`~r3d.learn.predictor`), training with checkpoints and DDP
(:mod:`~r3d.learn.train`), the paper's scores (:mod:`~r3d.learn.scores`) and evaluation against
baselines (:mod:`~r3d.learn.evaluate`)."""
