"""PySide6 widgets bound to the session models. One widget class per module."""
