"""Subcommands of the ``earmark`` CLI, one module each.

Every module listed in :data:`MODULES` exposes ``register(subparsers)``, which adds its
subcommand(s) and sets ``func`` on each parser to a ``(args) -> int`` handler.
"""

from __future__ import annotations

MODULES = [
    "desktop.commands.caption",
    "desktop.commands.models",
    "desktop.commands.library",
    "desktop.commands.search",
    "desktop.commands.export",
    "desktop.commands.evaluate",
]
