"""Widgets and item models: they show what they are given and emit requests.

A view never imports a controller or a dialog, never opens a database and never starts work;
it says what the person asked for with a signal (``removeRequested``, ``editCommitted``) and
the window wires that to whoever does it. May import: Qt, ``desktop.library`` data types,
and the window's Qt-free helpers (``records``, ``formatting``, ``block_fetcher``).
"""
