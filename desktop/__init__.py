"""Earmark desktop: the sound library (``desktop.library``), the GUI and the CLI."""

from captioner import __version__

__all__ = ["__version__"]
