"""Keyboard-driven terminal workbench for annotating Chinese work reports."""

__version__ = "0.1.0"
