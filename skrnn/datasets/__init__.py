"""Datasets bundled with skrnn."""

from ._brown import load_brown_pos

__all__ = ["load_brown_pos"]
