"""The model organism: a small LLaVA the suite trains itself, with the paper's modality gap.

``tools/build_organism.py`` runs the recipe (``recipe``) over a curriculum of the synthetic
stand-in's train split (``curriculum``) in a plain torch loop (``training``) and ships the
result in ``data/organism`` (``conf/model/organism.yaml`` loads it).
"""
