"""Evaluation harness: score Earmark's captions against AudioCaps / Clotho references.

Qt-free. The pieces, in the order a run uses them:

- :mod:`desktop.evaluation.datasets`: read the standard caption CSVs into :class:`Clip` lists
  and find each clip's audio file.
- :mod:`desktop.evaluation.predictions`: the resumable ``predictions.jsonl`` store.
- :mod:`desktop.evaluation.runner`: caption the clips with a captioner, then score them.
- :mod:`desktop.evaluation.metrics`: coco-caption metrics through ``aac-metrics``.
- :mod:`desktop.evaluation.report`: ``metrics.json``, ``report.md`` and the paper's numbers.
- :mod:`desktop.evaluation.sweep`: a grid of settings with the models loaded once.

Heavy imports (torch, aac-metrics) happen inside the functions that need them.
"""

from __future__ import annotations

from desktop.evaluation.datasets import DATASETS, Clip, Dataset, load_dataset

__all__ = ["DATASETS", "Clip", "Dataset", "load_dataset"]
