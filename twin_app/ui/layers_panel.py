"""The layers panel: the session's layers with visibility, style editor and legend (like QGIS).

Order: the list shows the **topmost layer first**, as QGIS does. ``session.layers`` is drawn bottom
to top (index 0 first), so row ``r`` is ``session.layers[n - 1 - r]`` and "Move up" moves a layer
towards the end of ``session.layers`` (drawn later, on top).

Every user edit goes through :meth:`Session.set_style`, :meth:`Session.move_layer` or
:meth:`Session.remove_layer` (undoable); model changes (undo/redo, code) come back through the
layer and list events and update the widgets under :class:`QSignalBlocker`.
"""

from __future__ import annotations

import weakref
from functools import lru_cache, partial
from typing import Any

import numpy as np
from PySide6.QtCore import QModelIndex, QSignalBlocker, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from twin_app.model.city import FeatureSet
from twin_app.model.layers import (
    COLOR_IFC_CLASS,
    COLOR_MATERIAL,
    COLOR_SOLID,
    COLOR_SURFACE,
    COLOR_TYPE,
    FeatureLayer,
    GroundLayer,
    IfcLayer,
    Layer,
    TimeLayer,
)
from twin_app.model.style import (
    NAN_COLOR,
    SURFACE_PALETTE,
    ColormapError,
    colormap_colors,
    column_clim,
    ground_categories,
    surface_categories,
    to_rgb8,
    type_categories,
)
from twin_app.session import Session

#: Colour maps offered in the editor (matplotlib names); a layer's other map is added on demand.
COLORMAPS = (
    "viridis", "cividis", "magma", "plasma", "inferno", "YlOrRd",
    "RdYlGn_r", "Blues", "Greens", "Greys", "coolwarm", "turbo",
)  # fmt: skip

#: Human labels for the colour-by choices that are not columns.
COLOR_BY_LABELS = {
    COLOR_SOLID: "Single colour",
    COLOR_SURFACE: "Surface (ground, wall, roof)",
    COLOR_TYPE: "Object type",
    COLOR_IFC_CLASS: "IFC class",
    COLOR_MATERIAL: "Material (from the file)",
}

#: Layer fields the panel shows: a row's text, icon and tooltip, and the style editor and legend
#: of the selected layer. The panel listens to these alone; a clock tick writes values,
#: positions and the like, never these, so a tick repaints nothing here.
ROW_FIELDS = ("name", "color_by", "colormap", "clim", "color", "features", "description")
#: IFC layer fields shown by the storey rows and the IFC controls.
IFC_FIELDS = ("hidden_storeys", "section_storey", "explode", "show_spaces")
#: Item data role of a storey row: the storey's index (layer rows have none). Its
#: ``UserRole`` is the layer's uid, like the layer row it hangs under.
STOREY_ROLE = int(Qt.ItemDataRole.UserRole) + 1
#: ``visible`` (the row's check box) and ``opacity`` (the editor's slider) have their own updates.
SHOWN_FIELDS = ("visible", "opacity", *ROW_FIELDS, *IFC_FIELDS)

_ROW_ICON = QSize(24, 16)
_COMBO_ICON = QSize(64, 12)
_LEGEND_BAR = QSize(180, 14)


def is_numeric(layer: Layer) -> bool:
    """True when the layer is coloured by a numeric column."""
    return layer.color_by not in (
        COLOR_SOLID,
        COLOR_SURFACE,
        COLOR_TYPE,
        COLOR_IFC_CLASS,
        COLOR_MATERIAL,
    )


def categories(layer: Layer) -> list[tuple[str, str]]:
    """(label, hex colour) per category for surface/type colouring or a time layer's classes
    (congestion, AQI), as the render adapter uses."""
    if isinstance(layer, TimeLayer):
        return layer.class_legend()
    if isinstance(layer, IfcLayer):
        if layer.color_by == COLOR_MATERIAL:
            return layer.material_legend()
        return layer.class_legend() if layer.color_by == COLOR_IFC_CLASS else []
    fs = _features(layer)
    if fs is None:
        return []
    if layer.color_by == COLOR_SURFACE and "surface" in fs.mesh.cell_data:
        return surface_categories(fs.mesh.cell_data["surface"])
    if layer.color_by == COLOR_TYPE and "type" in fs.table:
        if isinstance(layer, GroundLayer):  # ground classes, in the ground palette's order
            return ground_categories(fs.table["type"])
        return type_categories(fs.table["type"])
    return []


def layer_clim(layer: Layer) -> tuple[float, float]:
    """The colour limits in use: the layer's clim, else its column's automatic limits
    (:func:`~twin_app.model.style.column_clim`, the 3D view's rule)."""
    if layer.clim is not None:
        return layer.clim
    return column_clim(layer.color_by, column_values(layer))


def column_values(layer: Layer) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Values of the layer's colour-by column (empty when it has none)."""
    if not isinstance(layer, FeatureLayer) or layer.features is None:
        return np.empty(0, np.float64)
    if layer.color_by not in layer.features.table:
        return np.empty(0, np.float64)
    return layer.feature_values(layer.color_by)


def _features(layer: Layer) -> FeatureSet | None:
    return layer.features if isinstance(layer, FeatureLayer) else None


@lru_cache(maxsize=64)
def _colormap_rgba(name: str, width: int) -> bytes:
    """``width`` RGBA8 samples of a matplotlib colour map (grey ramp for an unknown name)."""
    x = np.linspace(0.0, 1.0, width)
    try:
        rgba = colormap_colors(name, x)
    except ColormapError:
        rgba = np.column_stack([x, x, x, np.ones_like(x)])
    return bytes(to_rgb8(rgba).tobytes())


def gradient_pixmap(name: str, size: QSize, border: bool = True) -> QPixmap:
    """A horizontal gradient of colour map ``name``."""
    w, h = size.width(), size.height()
    row = np.frombuffer(_colormap_rgba(name, w), np.uint8).reshape(1, w, 4)
    data = np.ascontiguousarray(np.repeat(row, h, axis=0)).tobytes()
    image = QImage(data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
    pixmap = QPixmap.fromImage(image)
    if border:
        _frame(pixmap)
    return pixmap


def swatch_pixmap(colors: list[str], size: QSize) -> QPixmap:
    """Equal vertical stripes of ``colors`` (one colour: a solid swatch)."""
    pixmap = QPixmap(size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    n = max(len(colors), 1)
    w = size.width()
    for i, c in enumerate(colors or [NAN_COLOR]):
        x0, x1 = i * w // n, (i + 1) * w // n
        painter.fillRect(x0, 0, x1 - x0, size.height(), QColor(c))
    painter.end()
    _frame(pixmap)
    return pixmap


def _frame(pixmap: QPixmap) -> None:
    painter = QPainter(pixmap)
    painter.setPen(QColor(0, 0, 0, 110))
    painter.drawRect(0, 0, pixmap.width() - 1, pixmap.height() - 1)
    painter.end()


def layer_icon(layer: Layer) -> QIcon:
    """Legend-like icon: colour-map gradient, category stripes or a solid swatch."""
    if isinstance(layer, TimeLayer) and layer.class_scale() is not None:
        return QIcon(swatch_pixmap([c for _, c in layer.class_legend()][:4], _ROW_ICON))
    if is_numeric(layer):
        return QIcon(gradient_pixmap(layer.colormap, _ROW_ICON))
    if layer.color_by in (COLOR_SURFACE, COLOR_TYPE, COLOR_IFC_CLASS):
        cats = [c for _, c in categories(layer)][:4]
        return QIcon(swatch_pixmap(cats or list(SURFACE_PALETTE), _ROW_ICON))
    # A square, left-aligned on a transparent icon as wide as the others (names line up).
    square = swatch_pixmap([layer.color], QSize(_ROW_ICON.height(), _ROW_ICON.height()))
    pixmap = QPixmap(_ROW_ICON)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.drawPixmap(0, 0, square)
    painter.end()
    return QIcon(pixmap)


def layer_tooltip(layer: Layer) -> str:
    """Kind, feature count and source of a layer."""
    fs = _features(layer)
    lines = [layer.name, f"Kind: {layer.kind}"]
    if fs is not None:
        lines += [f"Features: {fs.n_features:,}", f"Source: {fs.source}"]
    description = layer.description if isinstance(layer, TimeLayer) else ""
    if description:
        lines.append(f"Data: {description}")
    return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class QtLayersPanel(QWidget):
    """Layer list (topmost first) + style editor + legend of the selected layer.

    Signals
    -------
    current_layer_changed(Layer | None)
        The selected layer changed (None: no layer selected).
    zoom_to_layer_requested(Layer)
        The user asked to frame a layer (context menu); the window's 3D view flies there.
    """

    current_layer_changed = Signal(object)
    zoom_to_layer_requested = Signal(object)

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self._connected: dict[int, Layer] = {}
        self._current: Layer | None = None
        self._build()
        events = session.layers.events
        for sig in (events.inserted, events.removed, events.moved, events.changed):
            sig.connect(self._on_layers_change)
        events.reordered.connect(self._on_layers_change)
        # psygnal holds this panel weakly; if the C++ widget dies while the Python object lives
        # on, stop listening so that model events never reach a deleted widget.
        ref = weakref.ref(self)

        def _on_destroyed(*_: object) -> None:
            panel = ref()
            if panel is not None:
                panel._disconnect_all()

        self.destroyed.connect(_on_destroyed)
        self._sync_rows()

    def _disconnect_all(self) -> None:
        events = self.session.layers.events
        for sig in (events.inserted, events.removed, events.moved, events.changed):
            sig.disconnect(self._on_layers_change)
        events.reordered.disconnect(self._on_layers_change)
        for layer in list(self._connected.values()):
            self._unbind(layer)
        self._connected.clear()

    def _bind(self, layer: Layer) -> None:
        """Listen to the fields of `layer` the panel shows (:data:`SHOWN_FIELDS`), not the group."""
        events = layer.events
        for name in SHOWN_FIELDS:
            if name in events:
                getattr(events, name).connect(partial(self._on_layer_change, layer, name))

    def _unbind(self, layer: Layer) -> None:
        events = layer.events
        for name in SHOWN_FIELDS:
            if name in events:
                getattr(events, name).disconnect(partial(self._on_layer_change, layer, name))

    # -- building ------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)

        self.layer_list = QListWidget()
        self.layer_list.setIconSize(_ROW_ICON)
        self.layer_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.layer_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.layer_list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.layer_list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.layer_list.currentItemChanged.connect(self._on_current_item_change)
        self.layer_list.itemChanged.connect(self._on_item_change)
        self.layer_list.model().rowsMoved.connect(self._on_rows_dragged)
        layout.addWidget(self.layer_list, 1)

        style = self.style()
        self.move_up_action = self._action(
            "Move up",
            "Move the layer up: drawn later, on top of the layers below it (Ctrl+Up)",
            QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_Up),
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowUp),
            lambda: self._move_current(+1),
        )
        self.move_down_action = self._action(
            "Move down",
            "Move the layer down: drawn earlier, under the layers above it (Ctrl+Down)",
            QKeySequence(Qt.Modifier.CTRL | Qt.Key.Key_Down),
            style.standardIcon(QStyle.StandardPixmap.SP_ArrowDown),
            lambda: self._move_current(-1),
        )
        self.remove_action = self._action(
            "Remove",
            "Remove the layer from the session; Undo brings it back (Delete)",
            QKeySequence(Qt.Key.Key_Delete),
            style.standardIcon(QStyle.StandardPixmap.SP_TrashIcon),
            self._remove_current,
        )
        # No shortcut of its own: Z is the window's View > Zoom to layer, which acts on the
        # layer selected here (two owners of one key would be ambiguous while the list has focus).
        self.zoom_action = self._action(
            "Zoom to layer",
            "Frame the whole layer in the 3D view (Z)",
            QKeySequence(),
            style.standardIcon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            self._zoom_to_current,
        )
        self.layer_list.removeAction(self.zoom_action)
        self.layer_list.insertAction(self.move_up_action, self.zoom_action)
        buttons = QHBoxLayout()
        self.move_up_button = self._tool_button(self.move_up_action)
        self.move_down_button = self._tool_button(self.move_down_action)
        self.remove_button = self._tool_button(self.remove_action)
        for b in (self.move_up_button, self.move_down_button, self.remove_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.editor = QGroupBox("Style")
        form = QFormLayout(self.editor)
        self._form = form
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setPageStep(10)
        self.opacity_slider.setToolTip("Opacity of the layer")
        self.opacity_label = QLabel("100 %")
        self.opacity_label.setMinimumWidth(
            self.opacity_label.fontMetrics().horizontalAdvance("100 %")
        )
        self.opacity_slider.valueChanged.connect(self._on_opacity_slider_change)
        row = QHBoxLayout()
        row.addWidget(self.opacity_slider, 1)
        row.addWidget(self.opacity_label)
        form.addRow("Opacity", row)

        self.color_by_combo = QComboBox()
        self.color_by_combo.setToolTip("What decides the colour of each feature")
        # Long column names must not widen the dock.
        self.color_by_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.color_by_combo.setMinimumContentsLength(12)
        self.color_by_combo.currentIndexChanged.connect(self._on_color_by_combo_change)
        form.addRow("Colour by", self.color_by_combo)

        # One row whose field depends on the colouring: the solid colour button, the colour map
        # or a note. Pages of a stack keep the panel's size the same for every layer, so the
        # dock (and the 3D view beside it) does not jump when the selection changes.
        self.color_button = QPushButton()
        self.color_button.setToolTip("Choose the colour of the layer")
        self.color_button.clicked.connect(self._choose_color)
        self._show_color_button("#ffffff")  # icon and text from the start: a stable size
        self.colormap_combo = QComboBox()
        self.colormap_combo.setIconSize(_COMBO_ICON)
        self.colormap_combo.setToolTip("Colour map for the values")
        self.colormap_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.colormap_combo.setMinimumContentsLength(9)
        for name in COLORMAPS:
            self.colormap_combo.addItem(QIcon(gradient_pixmap(name, _COMBO_ICON)), name, name)
        self.colormap_combo.currentIndexChanged.connect(self._on_colormap_combo_change)
        self.palette_note = QLabel("Fixed palette (see the legend)")
        self._colors_stack = QStackedWidget()
        for page in (self.color_button, self.colormap_combo, self.palette_note):
            self._colors_stack.addWidget(page)
        self._colors_label = QLabel("Colour map")
        self._colors_label.setMinimumWidth(self._colors_label.sizeHint().width())
        form.addRow(self._colors_label, self._colors_stack)

        self.clim_auto = QCheckBox("auto")
        self.clim_auto.setToolTip("Limits from the data (2nd to 98th percentile)")
        self.clim_auto.toggled.connect(self._on_clim_auto_toggle)
        self.clim_min = self._spin("Value drawn with the first colour of the map")
        self.clim_max = self._spin("Value drawn with the last colour of the map")
        self.clim_min.valueChanged.connect(lambda _v: self._on_clim_spin_change(self.clim_min))
        self.clim_max.valueChanged.connect(lambda _v: self._on_clim_spin_change(self.clim_max))
        clim_box = QWidget()
        clim_row = QHBoxLayout(clim_box)
        clim_row.setContentsMargins(0, 0, 0, 0)
        clim_row.addWidget(self.clim_auto)
        clim_row.addWidget(self.clim_min, 1)
        clim_row.addWidget(QLabel("–"))
        clim_row.addWidget(self.clim_max, 1)
        # QFormLayout collapses hidden rows; an empty page keeps the row's place instead.
        self._clim_stack = QStackedWidget()
        self._clim_stack.addWidget(clim_box)
        self._clim_stack.addWidget(QWidget())
        self._clim_label = QLabel("Limits")
        form.addRow(self._clim_label, self._clim_stack)
        layout.addWidget(self.editor)

        from twin_app.ui.ifc_controls import QtIfcControls

        self.ifc_controls = QtIfcControls(self.session)
        self.ifc_controls.hide()
        layout.addWidget(self.ifc_controls)

        self.legend = QGroupBox("Legend")
        legend = QVBoxLayout(self.legend)
        self.legend_title = QLabel()
        # One elided line: a long column name must neither widen nor heighten the dock.
        self.legend_title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        legend.addWidget(self.legend_title)
        self._legend_stack = QStackedWidget()
        self.legend_scalar = QWidget()
        scalar = QVBoxLayout(self.legend_scalar)
        scalar.setContentsMargins(0, 0, 0, 0)
        scalar.setSpacing(1)
        ramp = QWidget()  # bar and end labels share one width so the labels sit under the ends
        ramp.setFixedWidth(_LEGEND_BAR.width())
        ramp_layout = QVBoxLayout(ramp)
        ramp_layout.setContentsMargins(0, 0, 0, 0)
        ramp_layout.setSpacing(1)
        self.legend_bar = QLabel()
        self.legend_bar.setFixedSize(_LEGEND_BAR)
        ramp_layout.addWidget(self.legend_bar)
        ends = QHBoxLayout()
        self.legend_min = QLabel()
        self.legend_max = QLabel()
        self.legend_max.setAlignment(Qt.AlignmentFlag.AlignRight)
        ends.addWidget(self.legend_min)
        ends.addStretch(1)
        ends.addWidget(self.legend_max)
        ramp_layout.addLayout(ends)
        scalar.addWidget(ramp)
        self.legend_nodata = QLabel()
        scalar.addWidget(self.legend_nodata)
        scalar.addStretch(1)
        self.legend_list = QListWidget()
        self.legend_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.legend_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.legend_list.setIconSize(QSize(14, 14))
        self.legend_list.setFrameShape(QListWidget.Shape.NoFrame)
        # Room for five categories (more scroll); both pages share that height.
        legend_height = 5 * (self.legend_list.fontMetrics().height() + 4)
        self.legend_list.setFixedHeight(legend_height)
        self._legend_stack.setFixedHeight(legend_height)
        self._legend_stack.addWidget(self.legend_scalar)
        self._legend_stack.addWidget(self.legend_list)
        legend.addWidget(self._legend_stack)
        layout.addWidget(self.legend)
        for box in (self.editor, self.legend):  # extra height goes to the layer list
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def _action(self, text: str, tip: str, keys: QKeySequence, icon: QIcon, slot: Any) -> QAction:
        action = QAction(icon, text, self.layer_list)
        action.setToolTip(tip)
        action.setShortcut(keys)
        # Active only while the list has focus, so Delete in a spin box edits the number.
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        self.layer_list.addAction(action)
        return action

    def _tool_button(self, action: QAction) -> QToolButton:
        button = QToolButton()
        button.setDefaultAction(action)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return button

    def _spin(self, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(-1e9, 1e9)
        spin.setDecimals(3)
        # The range's text would make the box (and the dock) very wide; share the row instead.
        spin.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("-000.000") + 20)
        spin.setStepType(QDoubleSpinBox.StepType.AdaptiveDecimalStepType)
        spin.setKeyboardTracking(False)  # one edit on Enter / focus out, not per keystroke
        spin.setToolTip(tip)
        return spin

    def _zoom_to_current(self) -> None:
        if self._current is not None:
            self.zoom_to_layer_requested.emit(self._current)

    # -- public API ----------------------------------------------------------------------------
    def current_layer(self) -> Layer | None:
        """The selected layer (None when the list is empty or nothing is selected)."""
        return self._current

    def select_layer(self, layer: Layer | None) -> None:
        """Select ``layer`` in the list (None clears the selection).

        Raises
        ------
        ValueError
            If the layer is not in the session.
        """
        if layer is None:
            self.layer_list.setCurrentRow(-1)
            return
        item = self._item(layer)
        if item is None:
            raise ValueError(f"layer {layer.name!r} is not in the session")
        self.layer_list.setCurrentItem(item)

    # -- rows <- session.layers ----------------------------------------------------------------
    def _item(self, layer: Layer) -> QListWidgetItem | None:
        for row in range(self.layer_list.count()):
            item = self.layer_list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == layer.uid and item.data(STOREY_ROLE) is None:
                return item
        return None

    def storey_items(self, layer: Layer) -> list[QListWidgetItem]:
        """The storey rows under an IFC layer's row, lowest storey last (as drawn: top first)."""
        return [
            item
            for item in (self.layer_list.item(r) for r in range(self.layer_list.count()))
            if item.data(Qt.ItemDataRole.UserRole) == layer.uid
            and item.data(STOREY_ROLE) is not None
        ]

    def _sync_storeys(self, layer: IfcLayer) -> None:
        """Storey rows under an IFC layer's row: top storey first, each with its check box."""
        for item in self.storey_items(layer):
            self.layer_list.takeItem(self.layer_list.row(item))
        row_item = self._item(layer)
        if row_item is None:
            return
        at = self.layer_list.row(row_item) + 1
        for storey in reversed(layer.storeys()):
            item = QListWidgetItem(f"    {storey.name}  ({storey.elevation_m:+.2f} m)")
            item.setData(Qt.ItemDataRole.UserRole, layer.uid)
            item.setData(STOREY_ROLE, storey.index)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsSelectable
                | Qt.ItemFlag.ItemIsUserCheckable
            )
            item.setToolTip(f"Storey {storey.index} of {layer.name}: uncheck to hide it")
            item.setCheckState(
                Qt.CheckState.Unchecked
                if storey.index in layer.hidden_storeys
                else Qt.CheckState.Checked
            )
            self.layer_list.insertItem(at, item)
            at += 1

    def _layer_at(self, item: QListWidgetItem | None) -> Layer | None:
        if item is None:
            return None
        return self._connected.get(int(item.data(Qt.ItemDataRole.UserRole)))

    def _on_layers_change(self) -> None:
        self._sync_rows()

    def _sync_rows(self) -> None:
        """Make the rows match ``reversed(session.layers)``, keeping the selection."""
        wanted = list(reversed(self.session.layers))
        uids = {layer.uid for layer in wanted}
        previous = self._current
        previous_row = self.layer_list.currentRow()
        with QSignalBlocker(self.layer_list):
            for row in reversed(range(self.layer_list.count())):
                old = self.layer_list.item(row)
                if (
                    old.data(Qt.ItemDataRole.UserRole) not in uids
                    or old.data(STOREY_ROLE) is not None  # put back under their layer below
                ):
                    self.layer_list.takeItem(row)
            for uid in set(self._connected) - uids:
                self._unbind(self._connected.pop(uid))
            for row, layer in enumerate(wanted):
                if layer.uid not in self._connected:
                    self._connected[layer.uid] = layer
                    self._bind(layer)
                item = self._item(layer)
                if item is None:
                    item = QListWidgetItem()
                    item.setData(Qt.ItemDataRole.UserRole, layer.uid)
                    item.setFlags(
                        Qt.ItemFlag.ItemIsEnabled
                        | Qt.ItemFlag.ItemIsSelectable
                        | Qt.ItemFlag.ItemIsUserCheckable
                        | Qt.ItemFlag.ItemIsDragEnabled
                    )
                    self._update_item(item, layer)
                    self.layer_list.insertItem(row, item)
                elif self.layer_list.row(item) != row:
                    self.layer_list.insertItem(
                        row, self.layer_list.takeItem(self.layer_list.row(item))
                    )
            for layer in wanted:
                if isinstance(layer, IfcLayer):
                    self._sync_storeys(layer)
            item = self._item(previous) if previous is not None else None
            if item is not None:
                self.layer_list.setCurrentItem(item)
            elif self.layer_list.count():
                # The selected layer went away: select its neighbour, as QGIS does.
                row = min(max(previous_row, 0), self.layer_list.count() - 1)
                self.layer_list.setCurrentRow(row)
            else:
                self.layer_list.setCurrentRow(-1)
        self._set_current(self._layer_at(self.layer_list.currentItem()))

    def _update_item(self, item: QListWidgetItem, layer: Layer) -> None:
        item.setText(layer.name)
        item.setToolTip(layer_tooltip(layer))
        item.setIcon(layer_icon(layer))
        item.setCheckState(Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)

    # -- model -> widgets ------------------------------------------------------------------------
    def _on_layer_change(self, layer: Layer, field: str, *_: object) -> None:
        item = self._item(layer)
        if item is not None:
            with QSignalBlocker(self.layer_list):
                if field == "visible":
                    item.setCheckState(
                        Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked
                    )
                elif field == "hidden_storeys" and isinstance(layer, IfcLayer):
                    for storey_item in self.storey_items(layer):
                        hidden = int(storey_item.data(STOREY_ROLE)) in layer.hidden_storeys
                        storey_item.setCheckState(
                            Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked
                        )
                elif field in IFC_FIELDS:
                    pass
                elif field == "features" and isinstance(layer, IfcLayer):
                    self._update_item(item, layer)
                    self._sync_storeys(layer)
                elif field != "opacity":
                    self._update_item(item, layer)
        if layer is self._current:
            if field == "opacity":
                self._show_opacity(layer)
            elif field in IFC_FIELDS and isinstance(layer, IfcLayer):
                self.ifc_controls.show_layer(layer)
                if field == "show_spaces":
                    self._refresh_legend()
            elif field != "visible":
                self._refresh_editor()

    def _set_current(self, layer: Layer | None) -> None:
        changed = layer is not self._current
        self._current = layer
        self._refresh_editor()
        if changed:
            self.current_layer_changed.emit(layer)

    def _show_opacity(self, layer: Layer) -> None:
        value = round(layer.opacity * 100)
        with QSignalBlocker(self.opacity_slider):
            self.opacity_slider.setValue(value)
        self.opacity_label.setText(f"{value} %")

    def _refresh_editor(self) -> None:
        layer = self._current
        index = self.session.layers.index(layer) if layer is not None else -1
        n = len(self.session.layers)
        self.move_up_action.setEnabled(0 <= index < n - 1)
        self.move_down_action.setEnabled(index > 0)
        self.remove_action.setEnabled(layer is not None)
        self.editor.setEnabled(layer is not None)
        self.legend.setEnabled(layer is not None)
        self.ifc_controls.setVisible(isinstance(layer, IfcLayer))
        if isinstance(layer, IfcLayer):
            self.ifc_controls.show_layer(layer)
        if layer is None:  # no layer (the last one went): nothing of a gone layer stays shown
            self.editor.setTitle("Style")
            with QSignalBlocker(self.color_by_combo):
                self.color_by_combo.clear()
            self._refresh_legend()
            return
        title = self.editor.fontMetrics().elidedText(
            f"Style of {layer.name}", Qt.TextElideMode.ElideRight, 220
        )
        self.editor.setTitle(title)  # elided: a long name must not widen the dock
        self._show_opacity(layer)
        numeric = is_numeric(layer)
        with QSignalBlocker(self.color_by_combo):
            self.color_by_combo.clear()
            choices = layer.color_choices()
            if layer.color_by not in choices:
                choices.append(layer.color_by)
            for choice in choices:
                self.color_by_combo.addItem(COLOR_BY_LABELS.get(choice, choice), choice)
            self.color_by_combo.setCurrentIndex(self.color_by_combo.findData(layer.color_by))
        with QSignalBlocker(self.colormap_combo):
            i = self.colormap_combo.findData(layer.colormap)
            if i < 0:
                icon = QIcon(gradient_pixmap(layer.colormap, _COMBO_ICON))
                self.colormap_combo.addItem(icon, layer.colormap, layer.colormap)
                i = self.colormap_combo.count() - 1
            self.colormap_combo.setCurrentIndex(i)
        self._show_color_button(layer.color)
        if numeric:
            lo, hi = layer_clim(layer)
            for w in (self.clim_auto, self.clim_min, self.clim_max):
                w.blockSignals(True)
            try:
                self.clim_auto.setChecked(layer.clim is None)
                self.clim_min.setValue(lo)
                self.clim_max.setValue(hi)
            finally:
                for w in (self.clim_auto, self.clim_min, self.clim_max):
                    w.blockSignals(False)
            self.clim_min.setEnabled(layer.clim is not None)
            self.clim_max.setEnabled(layer.clim is not None)
        if numeric:
            self._colors_stack.setCurrentWidget(self.colormap_combo)
            self._colors_label.setText("Colour map")
        elif layer.color_by == COLOR_SOLID:
            self._colors_stack.setCurrentWidget(self.color_button)
            self._colors_label.setText("Colour")
        else:
            self._colors_stack.setCurrentWidget(self.palette_note)
            self._colors_label.setText("Colours")
        self._clim_stack.setCurrentIndex(0 if numeric else 1)
        self._clim_label.setText("Limits" if numeric else "")
        self._refresh_legend()

    def _set_legend_title(self, text: str) -> None:
        metrics = self.legend_title.fontMetrics()
        self.legend_title.setText(metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, 280))
        self.legend_title.setToolTip(text)

    def _show_color_button(self, color: str) -> None:
        self.color_button.setIcon(QIcon(swatch_pixmap([color], QSize(16, 16))))
        self.color_button.setText(color)

    def _refresh_legend(self) -> None:
        layer = self._current
        self.legend_list.clear()
        if layer is None:
            self._set_legend_title("No layer selected")
            self._legend_stack.setCurrentWidget(self.legend_list)
            return
        scale = layer.class_scale() if isinstance(layer, TimeLayer) else None
        if scale is not None:
            self._set_legend_title(scale.title)
            self._show_categories(categories(layer))
            return
        if is_numeric(layer):
            values = column_values(layer)
            lo, hi = layer_clim(layer)
            how = "2–98 % of the data" if layer.clim is None else "fixed limits"
            self._set_legend_title(f"{layer.color_by} ({how})")
            self.legend_bar.setPixmap(gradient_pixmap(layer.colormap, _LEGEND_BAR))
            self.legend_bar.setToolTip(layer.colormap)
            self.legend_min.setText(_fmt(lo))
            self.legend_max.setText(_fmt(hi))
            missing = int(np.count_nonzero(~np.isfinite(values)))
            self.legend_nodata.setVisible(missing > 0)
            self.legend_nodata.setText(
                f"<span style='background:{NAN_COLOR}'>&nbsp;&nbsp;&nbsp;</span> no data ({missing:,})"
            )
            self._legend_stack.setCurrentWidget(self.legend_scalar)
            return
        if layer.color_by == COLOR_SOLID:
            self._set_legend_title(COLOR_BY_LABELS[COLOR_SOLID])
            cats = [(layer.name, layer.color)]
        else:
            self._set_legend_title(COLOR_BY_LABELS.get(layer.color_by, layer.color_by))
            cats = categories(layer)
        self._show_categories(cats)

    def _show_categories(self, cats: list[tuple[str, str]]) -> None:
        for label, color in cats:
            self.legend_list.addItem(
                QListWidgetItem(QIcon(swatch_pixmap([color], QSize(14, 14))), label)
            )
        self._legend_stack.setCurrentWidget(self.legend_list)

    # -- widgets -> session ---------------------------------------------------------------------
    def _on_current_item_change(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        self._set_current(self._layer_at(current))

    def _on_item_change(self, item: QListWidgetItem) -> None:
        layer = self._layer_at(item)
        if layer is None:
            return
        visible = item.checkState() == Qt.CheckState.Checked
        storey = item.data(STOREY_ROLE)
        if storey is not None:
            if isinstance(layer, IfcLayer) and visible == (int(storey) in layer.hidden_storeys):
                self.session.set_storey_visible(layer, int(storey), visible)
            return
        if visible != layer.visible:
            self.session.set_style(layer, visible=visible)

    def _on_rows_dragged(
        self, _parent: QModelIndex, start: int, _end: int, _dest: QModelIndex, row: int
    ) -> None:
        # A drag and drop already moved the row (single selection: one row); make the session
        # agree with one undoable move. `row` is the insertion point before the move. Storey
        # rows are not layers: the new place counts layer rows only.
        new_row = row if row <= start else row - 1
        moved = self.layer_list.item(new_row)
        layer = self._layer_at(moved)
        if layer is not None:
            above = sum(
                1 for r in range(new_row) if self.layer_list.item(r).data(STOREY_ROLE) is None
            )
            self.session.move_layer(layer, len(self.session.layers) - 1 - above)
        self._sync_rows()

    def _move_current(self, step: int) -> None:
        layer = self._current
        if layer is None:
            return
        index = self.session.layers.index(layer)
        if 0 <= index + step < len(self.session.layers):
            self.session.move_layer(layer, index + step)

    def _remove_current(self) -> None:
        if self._current is not None:
            self.session.remove_layer(self._current)

    def _on_opacity_slider_change(self, value: int) -> None:
        self.opacity_label.setText(f"{value} %")
        if self._current is not None:
            self.session.set_style(self._current, opacity=value / 100.0)

    def _on_color_by_combo_change(self, _index: int) -> None:
        layer = self._current
        choice = self.color_by_combo.currentData()
        if layer is None or choice is None or choice == layer.color_by:
            return
        was_numeric = is_numeric(layer)
        if was_numeric and layer.clim is not None and choice not in COLOR_BY_LABELS:
            # Limits of one column mean nothing for another: go back to the data range.
            self.session.set_style(layer, color_by=choice, clim=None)
        else:
            self.session.set_style(layer, color_by=choice)

    def _on_colormap_combo_change(self, _index: int) -> None:
        name = self.colormap_combo.currentData()
        if self._current is not None and name:
            self.session.set_style(self._current, colormap=str(name))

    def _on_clim_auto_toggle(self, auto: bool) -> None:
        layer = self._current
        if layer is None:
            return
        if auto:
            self.session.set_style(layer, clim=None)
        else:
            self.session.set_style(layer, clim=layer_clim(layer))

    def _on_clim_spin_change(self, edited: QDoubleSpinBox) -> None:
        layer = self._current
        if layer is None or self.clim_auto.isChecked():
            return
        lo, hi = self.clim_min.value(), self.clim_max.value()
        if lo >= hi:
            # Keep min < max: push the other bound one step away from the edited one.
            step = max(abs(hi - lo), 10.0 ** -self.clim_min.decimals())
            if edited is self.clim_min:
                hi = lo + step
            else:
                lo = hi - step
        self.session.set_style(layer, clim=(float(lo), float(hi)))

    def _choose_color(self) -> None:
        layer = self._current
        if layer is None:
            return
        color = QColorDialog.getColor(QColor(layer.color), self, f"Colour of {layer.name}")
        if color.isValid():
            self.session.set_style(layer, color=color.name())
