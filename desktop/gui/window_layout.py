"""Construction of the main window's widgets and menus (layout only; behaviour lives in
:mod:`desktop.gui.main_window`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.detail import DetailPanel
from desktop.gui.queue_panel import QueuePanel
from desktop.gui.search_bar import SearchBar
from desktop.gui.table_menu import TableMenu

if TYPE_CHECKING:  # pragma: no cover
    from desktop.gui.main_window import MainWindow

__all__ = ["build_menus", "build_widgets"]


def build_widgets(window: MainWindow) -> None:
    """Create the window's widgets and lay them out (attributes set on ``window``)."""
    window.sidebar = QTreeView()
    window.sidebar.setObjectName("sidebar")
    window.sidebar.setModel(window.folder_model)
    window.sidebar.setHeaderHidden(True)
    window.sidebar.header().setStretchLastSection(False)
    window.sidebar.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    window.sidebar.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
    window.sidebar.selectionModel().currentChanged.connect(window._on_folder_chosen)

    window.search = SearchBar()
    window.search.queryChanged.connect(window.apply_query)
    window.banner = QLabel("")
    window.banner.setObjectName("banner")
    window.banner_button = QPushButton("Back to search")
    window.banner_button.clicked.connect(lambda: window.apply_query(window.search.query()))
    banner_row = QHBoxLayout()
    banner_row.addWidget(window.banner, 1)
    banner_row.addWidget(window.banner_button)
    window._set_banner("")

    window.table = QTableView()
    window.table.setObjectName("fileTable")
    window.table.setModel(window.file_model)
    window.table.setSortingEnabled(True)
    window.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.AscendingOrder)
    window.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    window.table.setAlternatingRowColors(True)
    window.table.setShowGrid(False)
    window.table.setWordWrap(False)
    window.table.verticalHeader().hide()
    window.table.verticalHeader().setDefaultSectionSize(26)
    window.table.setDragEnabled(True)
    # Drag out only: drops land on the window, which adds the files to the library.
    window.table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    header = window.table.horizontalHeader()
    for column, width in enumerate((200, 300, 150, 56, 52, 62, 30, 36, 66, 240)):
        header.resizeSection(column, width)
    header.setStretchLastSection(True)
    window.table.selectionModel().selectionChanged.connect(window._on_selection_changed)
    window.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    window.menu = TableMenu(window)
    window.table.customContextMenuRequested.connect(window.menu.popup_at)
    space = QShortcut(QKeySequence(Qt.Key.Key_Space), window.table)
    space.setContext(Qt.ShortcutContext.WidgetShortcut)
    space.activated.connect(window.toggle_playback)

    window.detail = DetailPanel()
    window.detail.acceptRequested.connect(window.save_user_caption)
    window.detail.regenerateRequested.connect(lambda fid: window.recaption([fid]))
    window.detail.playRequested.connect(window.toggle_playback)
    window.playback.started.connect(lambda _p: window.detail.set_playing(True))
    window.playback.stopped.connect(lambda: window.detail.set_playing(False))
    window.playback.stopped.connect(lambda: window.detail.waveform.set_playhead(None))
    window.playback.positionChanged.connect(window.detail.waveform.set_playhead)
    window.playback.failed.connect(window.show_message)

    window.queue_panel = QueuePanel(window.queue_model)
    window.queue_panel.pauseToggled.connect(window.set_paused)
    window.queue_panel.cancelRequested.connect(window._cancel_queued)
    window.queue_panel.retryRequested.connect(window._retry_failed)
    window.queue_panel.clearRequested.connect(window._clear_finished)
    window.queue_panel.modelsRequested.connect(lambda: window.open_models_dialog())

    centre = QWidget()
    centre.setObjectName("centre")
    centre_layout = QVBoxLayout(centre)
    centre_layout.setContentsMargins(10, 10, 6, 0)
    centre_layout.setSpacing(8)
    centre_layout.addWidget(window.search)
    centre_layout.addLayout(banner_row)
    centre_layout.addWidget(window.table, 1)

    right = QSplitter(Qt.Orientation.Vertical)
    right.addWidget(window.detail)
    right.addWidget(window.queue_panel)
    right.setSizes([470, 290])
    main = QSplitter(Qt.Orientation.Horizontal)
    side = QWidget()
    side.setObjectName("sidebarBox")
    side_layout = QVBoxLayout(side)
    side_layout.setContentsMargins(8, 12, 4, 8)
    side_layout.setSpacing(6)
    side_heading = QLabel("LIBRARY")
    side_heading.setObjectName("sectionLabel")
    side_layout.addWidget(side_heading)
    side_layout.addWidget(window.sidebar, 1)
    main.addWidget(side)
    main.addWidget(centre)
    main.addWidget(right)
    main.setSizes([200, 690, 390])
    main.setStretchFactor(1, 1)
    window.setCentralWidget(main)


def build_menus(window: MainWindow) -> None:
    """Create the menu bar's menus and their shortcuts."""
    file_menu = window.menuBar().addMenu("&File")
    add = QAction("Add folder…", window)
    add.setShortcut(QKeySequence.StandardKey.Open)
    add.triggered.connect(window._choose_folder)
    rescan = QAction("Rescan library", window)
    rescan.setShortcut(QKeySequence("F5"))
    rescan.triggered.connect(window.rescan)
    export = QAction("Export CSV…", window)
    export.setShortcut(QKeySequence("Ctrl+E"))
    export.triggered.connect(lambda: window.menu.export_dialog("search"))
    quit_action = QAction("Quit", window)
    quit_action.setShortcut(QKeySequence.StandardKey.Quit)
    quit_action.triggered.connect(window.close)
    for action in (add, rescan, export):
        file_menu.addAction(action)
    file_menu.addSeparator()
    file_menu.addAction(quit_action)
    caption_menu = window.menuBar().addMenu("&Captioning")
    caption_all = QAction("Caption everything not captioned", window)
    caption_all.triggered.connect(window.caption_uncaptioned)
    models = QAction("Models…", window)
    models.triggered.connect(lambda: window.open_models_dialog())
    settings = QAction("Settings…", window)
    settings.setShortcut(QKeySequence.StandardKey.Preferences)
    settings.triggered.connect(window.menu.settings_dialog)
    for action in (caption_all, models, settings):
        caption_menu.addAction(action)
