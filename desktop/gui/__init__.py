"""Everything that imports PySide6: the main window, item models, widgets, worker, dialogs.

Entry point: :func:`desktop.app.main` builds :class:`desktop.gui.main_window.MainWindow`.
Heavy engine imports (torch, transformers) happen only on the caption worker's thread.
"""
