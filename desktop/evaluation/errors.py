"""The one exception type of the evaluation harness."""

from __future__ import annotations

__all__ = ["EvaluationError"]


class EvaluationError(Exception):
    """Bad evaluation input (dataset file, predictions file, options); the message says what."""
