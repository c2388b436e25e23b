"""The main window's widgets and how they are arranged (no wiring, no behaviour).

:func:`build_layout` creates every view, places them in splitters and returns them as one
:class:`WindowLayout`; the window connects them (``main_window.py``'s wiring table).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.gui.views.detail import DetailPanel
from desktop.gui.views.empty_state import EmptyState
from desktop.gui.views.file_model import FileTableModel
from desktop.gui.views.file_table import FileTableView
from desktop.gui.views.message_bar import MessageBar
from desktop.gui.views.queue_panel import QueuePanel
from desktop.gui.views.search_bar import SearchBar
from desktop.gui.views.sidebar import SidebarView
from desktop.gui.views.widgets import ElidedLabel

__all__ = ["WindowLayout", "build_layout"]


@dataclass
class WindowLayout:
    """The views of the main window, arranged; ``main_splitter`` is the central widget."""

    sidebar: SidebarView
    search: SearchBar
    table: FileTableView
    detail: DetailPanel
    queue_panel: QueuePanel
    empty_state: EmptyState
    message_bar: MessageBar
    banner: ElidedLabel
    banner_button: QPushButton
    banner_row: QWidget
    centre_stack: QStackedWidget
    right_splitter: QSplitter
    main_splitter: QSplitter
    waiting_label: ElidedLabel
    count_label: QLabel


def build_layout(model: FileTableModel) -> WindowLayout:
    """Create the views over ``model`` and arrange them: sidebar | search+table | detail/queue."""
    sidebar = SidebarView()
    search = SearchBar()
    table = FileTableView(model)
    detail = DetailPanel()
    queue_panel = QueuePanel()
    empty_state = EmptyState()
    message_bar = MessageBar()
    banner = ElidedLabel("", min_chars=10)
    banner.setObjectName("banner")
    banner_button = QPushButton("Back to search")
    banner_row = QWidget()
    banner_layout = QHBoxLayout(banner_row)
    banner_layout.setContentsMargins(0, 0, 0, 0)
    banner_layout.addWidget(banner, 1)
    banner_layout.addWidget(banner_button)
    banner_row.setVisible(False)

    centre_stack = QStackedWidget()
    centre_stack.addWidget(table)
    centre_stack.addWidget(empty_state)
    centre = QWidget()
    centre.setObjectName("centre")
    centre_layout = QVBoxLayout(centre)
    centre_layout.setContentsMargins(10, 10, 6, 0)
    centre_layout.setSpacing(8)
    centre_layout.addWidget(search)
    centre_layout.addWidget(message_bar)
    centre_layout.addWidget(banner_row)
    centre_layout.addWidget(centre_stack, 1)

    side = QWidget()
    side.setObjectName("sidebarBox")
    side.setMinimumWidth(130)
    side_layout = QVBoxLayout(side)
    side_layout.setContentsMargins(8, 12, 4, 8)
    side_layout.setSpacing(6)
    heading = QLabel("LIBRARY")
    heading.setObjectName("sectionLabel")
    side_layout.addWidget(heading)
    side_layout.addWidget(sidebar, 1)

    right_splitter = QSplitter(Qt.Orientation.Vertical)
    right_splitter.setObjectName("rightSplitter")
    right_splitter.addWidget(detail)
    right_splitter.addWidget(queue_panel)
    right_splitter.setSizes([470, 290])
    right_splitter.setMinimumWidth(300)
    main_splitter = QSplitter(Qt.Orientation.Horizontal)
    main_splitter.setObjectName("mainSplitter")
    main_splitter.addWidget(side)
    main_splitter.addWidget(centre)
    main_splitter.addWidget(right_splitter)
    for index, stretch in enumerate((0, 1, 0)):
        main_splitter.setStretchFactor(index, stretch)
    main_splitter.setCollapsible(1, False)
    main_splitter.setSizes([180, 700, 360])

    waiting_label = ElidedLabel("", min_chars=30)
    waiting_label.setObjectName("waitingLabel")
    waiting_label.setVisible(False)
    count_label = QLabel("")
    count_label.setObjectName("countLabel")
    count_label.setFixedWidth(
        count_label.fontMetrics().horizontalAdvance("888,888 sound(s) shown") + 16
    )
    count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return WindowLayout(
        sidebar=sidebar,
        search=search,
        table=table,
        detail=detail,
        queue_panel=queue_panel,
        empty_state=empty_state,
        message_bar=message_bar,
        banner=banner,
        banner_button=banner_button,
        banner_row=banner_row,
        centre_stack=centre_stack,
        right_splitter=right_splitter,
        main_splitter=main_splitter,
        waiting_label=waiting_label,
        count_label=count_label,
    )
