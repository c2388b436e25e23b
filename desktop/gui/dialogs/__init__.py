"""Dialogs: settings, models, export, caption history, batch edit, about, and questions.

Each dialog edits a copy of what it is given and reports what was chosen; none imports a
controller. Opened with ``open()`` (window-modal, no nested event loop), so the worker keeps
reporting while a dialog is up. May import: Qt, views, ``desktop.library`` data types and the
window's Qt-free helpers (``tasks``, ``settings``, ``model_check``, ``formatting``).
"""
