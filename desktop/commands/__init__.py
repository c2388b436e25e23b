"""Subcommands of the ``earmark`` CLI, one module each.

Every module exposes ``register(subparsers)``, which adds its subcommand(s) and sets ``func``
on each parser to an ``(args) -> int`` handler. :data:`COMMANDS` lists them in help order;
they are imported explicitly, so bundlers see them. Heavy imports (torch) happen inside the
handlers, so ``earmark --help`` stays fast.
"""

from __future__ import annotations

from desktop.commands import caption, edit, evaluate, export, library, models, search, ucs

__all__ = ["COMMANDS"]

COMMANDS = (caption, models, library, search, edit, export, ucs, evaluate)
