"""Controllers: QObjects that own one part of the app's state and report by signal.

``captioning`` (the worker thread, models, the queue), ``search`` (queries, semantic text
embeddings, find similar), ``library_actions`` (adding, rescanning, removing, exporting, the
sidebar and queue snapshot), ``edits`` (saving typed captions, batch edits, undo),
``selection`` (the file on show, its waveform, auto-play) and ``playback``. A controller never
imports a view or a dialog: it asks questions through the :class:`~desktop.gui.asking.Asker`
it is given and announces results with signals. May import: ``desktop.library``, the window's Qt-free
helpers (``tasks``, ``writer``, ``background``, ``worker``, ``settings``, ``records``...).
"""
