"""Gallery order, named by import path in docs/conf.py (so the setting pickles)."""

import os


class PlotFirst:
    """Sort key: the ``plot_*`` examples (run when the docs are built) first, then by name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        name = os.path.basename(filename)
        return (not name.startswith("plot_"), name)

    def __repr__(self):
        return f"<{type(self).__name__}>"
