"""The main window's chrome: actions with shortcuts, menus, toolbars, docks and the status bar.

Built by functions that set attributes on the window (``act_*``, ``docks``, ``status_*``...), so
main_window.py keeps only behaviour.
"""

from __future__ import annotations

import qtawesome as qta
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QSlider

from colorstudio.session.tools import TOOL_LABELS, Tool

TOOL_KEYS = {
    Tool.HINT: ("H", "fa5s.tint"),
    Tool.MASK: ("M", "fa5s.mask"),
    Tool.MASK_ERASER: ("Shift+M", "fa5s.eraser"),
    Tool.BRUSH: ("B", "fa5s.paint-brush"),
    Tool.ERASER: ("E", "fa5s.eraser"),
    Tool.PICKER: ("I", "fa5s.eye-dropper"),
    Tool.FILL: ("G", "fa5s.fill-drip"),
    Tool.RECT_SELECT: ("R", "fa5.square"),
    Tool.LASSO: ("L", "fa5s.draw-polygon"),
    Tool.STRENGTH: ("S", "fa5s.sliders-h"),
}


def make_action(
    window, text: str, icon: str, slot, shortcut=None, checkable: bool = False
) -> QAction:
    action = QAction(qta.icon(icon), text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    return action


def build_actions(window) -> None:
    std = QKeySequence.StandardKey
    window.act_new = make_action(window, "&New…", "fa5s.file", window.new_dialog, std.New)
    window.act_open = make_action(
        window, "&Open…", "fa5s.folder-open", window.open_dialog, std.Open
    )
    window.act_save = make_action(window, "&Save", "fa5s.save", window.save, std.Save)
    window.act_save_as = make_action(
        window, "Save &As…", "fa5s.save", window.save_as_dialog, std.SaveAs
    )
    window.act_export = make_action(
        window, "&Export Image…", "fa5s.file-export", window.export_dialog, "Ctrl+E"
    )
    window.act_settings = make_action(
        window, "Se&ttings…", "fa5s.cog", window.settings_dialog, std.Preferences
    )
    window.act_quit = make_action(window, "&Quit", "fa5s.power-off", window.close, std.Quit)
    window.act_undo = make_action(window, "&Undo", "fa5s.undo", window.undo, std.Undo)
    window.act_redo = make_action(window, "&Redo", "fa5s.redo", window.redo, std.Redo)
    window.act_zoom_in = make_action(
        window,
        "Zoom &In",
        "fa5s.search-plus",
        lambda: window.canvas.set_zoom(window.canvas.zoom * 1.25),
        std.ZoomIn,
    )
    window.act_zoom_out = make_action(
        window,
        "Zoom &Out",
        "fa5s.search-minus",
        lambda: window.canvas.set_zoom(window.canvas.zoom / 1.25),
        std.ZoomOut,
    )
    window.act_fit = make_action(
        window, "&Fit to Window", "fa5s.expand", window.canvas.fit, "Ctrl+0"
    )
    window.act_actual = make_action(
        window,
        "&Actual Pixels (100 %)",
        "fa5s.compress",
        lambda: window.canvas.set_zoom(1.0),
        "Ctrl+1",
    )
    window.act_split = make_action(
        window,
        "&Compare: Split View",
        "fa5s.columns",
        window._on_split_toggled,
        "Ctrl+K",
        checkable=True,
    )
    window.act_hints = make_action(
        window, "Show &Hints", "fa5s.tint", window._on_overlays_toggled, "Ctrl+H", checkable=True
    )
    window.act_mask = make_action(
        window, "Show &Mask", "fa5s.mask", window._on_overlays_toggled, "Ctrl+M", checkable=True
    )
    window.act_provenance = make_action(
        window,
        "Show &Provenance (hints vs. guesses)",
        "fa5s.info",
        window._on_provenance_toggled,
        "Ctrl+Shift+P",
        checkable=True,
    )
    window.act_hints.setChecked(True)
    window.act_mask.setChecked(True)
    window.act_bigger = make_action(
        window, "Bigger Brush", "fa5s.plus-circle", lambda: window._resize_brush(1.25), "]"
    )
    window.act_smaller = make_action(
        window, "Smaller Brush", "fa5s.minus-circle", lambda: window._resize_brush(0.8), "["
    )
    window.act_generate = make_action(
        window, "&Apply Generation", "fa5s.magic", window.apply_generation, "Ctrl+Return"
    )
    window.act_cancel = make_action(
        window, "&Cancel Generation", "fa5s.stop", window.worker_cancel, "Esc"
    )
    window.act_detect = make_action(
        window,
        "&Detect Damage (old photo)",
        "fa5s.band-aid",
        lambda: window.generation.detect_damage(),
        "Ctrl+Shift+D",
    )
    window.act_clear_mask = make_action(
        window, "&Clear Mask (Deselect)", "fa5s.eraser", window.clear_mask, "Ctrl+Shift+A"
    )
    window.act_original = make_action(
        window,
        "Compare: Show &Original (or hold \\)",
        "fa5s.image",
        window._on_original_toggled,
        checkable=True,
    )
    window.act_about = make_action(window, "&About ColorStudio", "fa5s.info-circle", window.about)
    window.tool_group = QActionGroup(window)
    window.tool_actions: dict[Tool, QAction] = {}
    for tool, (key, icon) in TOOL_KEYS.items():
        action = make_action(
            window,
            TOOL_LABELS[tool],
            icon,
            lambda _c=False, t=tool: window.set_tool(t),
            key,
            checkable=True,
        )
        window.tool_group.addAction(action)
        window.tool_actions[tool] = action
    for action in (window.act_bigger, window.act_smaller):
        window.addAction(action)


def build_menus(window) -> None:
    menu = window.menuBar().addMenu("&File")
    menu.addAction(window.act_new)
    menu.addAction(window.act_open)
    window.recent_menu = menu.addMenu("Open &Recent")
    menu.addSeparator()
    menu.addActions([window.act_save, window.act_save_as, window.act_export])
    menu.addSeparator()
    menu.addActions([window.act_settings, window.act_quit])
    edit = window.menuBar().addMenu("&Edit")
    edit.addActions([window.act_undo, window.act_redo])
    edit.addSeparator()
    edit.addAction(window.act_clear_mask)
    view = window.menuBar().addMenu("&View")
    view.addActions([window.act_zoom_in, window.act_zoom_out, window.act_fit, window.act_actual])
    view.addSeparator()
    view.addActions([window.act_original, window.act_split])
    view.addActions([window.act_hints, window.act_mask, window.act_provenance])
    window.panels_menu = view.addMenu("&Panels")
    tools = window.menuBar().addMenu("&Tools")
    tools.addActions(list(window.tool_actions.values()))
    tools.addSeparator()
    tools.addActions([window.act_bigger, window.act_smaller])
    generate = window.menuBar().addMenu("&Generate")
    generate.addActions([window.act_generate, window.act_cancel])
    generate.addSeparator()
    generate.addAction(window.act_detect)
    help_menu = window.menuBar().addMenu("&Help")
    help_menu.addAction(window.act_about)
    main = window.addToolBar("Main")
    main.setObjectName("main_toolbar")
    main.addActions(
        [
            window.act_open,
            window.act_save,
            window.act_undo,
            window.act_redo,
            window.act_zoom_in,
            window.act_zoom_out,
            window.act_fit,
            window.act_split,
            window.act_generate,
        ]
    )
    tools_bar = window.addToolBar("Tools")
    tools_bar.setObjectName("tools_toolbar")
    window.addToolBar(Qt.ToolBarArea.LeftToolBarArea, tools_bar)
    tools_bar.addActions(list(window.tool_actions.values()))
    window._rebuild_recent_menu()


def build_docks(window) -> None:
    window.docks: dict[str, QDockWidget] = {}
    for name, widget, area in (
        ("Tool Options", window.tool_options, Qt.DockWidgetArea.LeftDockWidgetArea),
        ("Generate", window.generate_panel, Qt.DockWidgetArea.LeftDockWidgetArea),
        ("Layers", window.layers_panel, Qt.DockWidgetArea.RightDockWidgetArea),
        ("References", window.references_panel, Qt.DockWidgetArea.RightDockWidgetArea),
        ("History", window.history_panel, Qt.DockWidgetArea.RightDockWidgetArea),
    ):
        dock = QDockWidget(name, window)
        dock.setObjectName(f"dock_{name.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        window.addDockWidget(area, dock)
        window.panels_menu.addAction(dock.toggleViewAction())
        window.docks[name] = dock
    window.resizeDocks(
        [window.docks["Tool Options"], window.docks["Layers"]],
        [280, 280],
        Qt.Orientation.Horizontal,
    )


def build_status_bar(window) -> None:
    window.status_doc = QLabel("No document")
    window.status_cursor = QLabel("")
    # as wide as the widest position, so the read-outs beside it keep still as the mouse moves
    cursor_width = window.status_cursor.fontMetrics().horizontalAdvance("-88888, -88888")
    window.status_cursor.setMinimumWidth(cursor_width)
    window.status_cursor.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    window.status_zoom = QLabel("")
    window.status_zoom.setToolTip("Zoom (100 % = one screen pixel per image pixel; Ctrl+0 fits)")
    window.status_preview = QLabel("")
    window.status_device = QLabel("device: starting…")
    window.status_model = QLabel(window._model_label())
    window.split_slider = QSlider(Qt.Orientation.Horizontal)
    window.split_slider.setRange(0, 100)
    window.split_slider.setValue(50)
    window.split_slider.setFixedWidth(160)
    window.split_slider.setToolTip("Compare: before (left) / after (right)")
    window.split_slider.hide()
    window.split_slider.valueChanged.connect(window._on_split_slider_changed)
    bar = window.statusBar()
    # all permanent: a timed message (why a mode was chosen, "Saved …") takes the left part
    # of the bar and would hide ordinary widgets while it shows
    bar.addPermanentWidget(window.status_doc)
    bar.addPermanentWidget(window.status_cursor)
    bar.addPermanentWidget(window.split_slider)
    bar.addPermanentWidget(window.status_zoom)
    bar.addPermanentWidget(window.status_preview)
    bar.addPermanentWidget(window.status_model)
    bar.addPermanentWidget(window.status_device)
