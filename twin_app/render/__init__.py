"""VTK/PyVista adapters: one per layer kind, a Scene over any ``pv.BasePlotter``. No Qt here."""
