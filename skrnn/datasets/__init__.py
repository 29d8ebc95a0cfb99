"""Datasets bundled with skrnn."""

from ._brown import load_brown_pos
from ._cmudict import load_cmudict
from ._dinosaurs import load_dinosaurs
from ._japanese_vowels import load_japanese_vowels
from ._shakespeare import load_shakespeare

__all__ = [
    "load_brown_pos",
    "load_cmudict",
    "load_dinosaurs",
    "load_japanese_vowels",
    "load_shakespeare",
]
