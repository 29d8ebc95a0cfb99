"""Sphinx configuration of the skrnn documentation.

Build (offline; warnings are errors)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The gallery (sphinx-gallery over ``examples/``) runs in its quick mode by
default: only the ``plot_*.py`` examples are executed, with ``SKRNN_QUICK=1``
(small data, a few minutes on 2 cores in all); the others are shown with their
code and no output. ``SKRNN_DOCS_FULL=1`` executes every example that runs in
one process with its default (full) settings, which takes about an hour;
``SKRNN_DOCS_GALLERY=0`` executes none.
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE / "sphinxext"))

# Idle OpenMP threads sleep instead of spinning (the examples set it too): on a
# shared machine spinning threads slow PyTorch's recurrent kernels down.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("MPLBACKEND", "Agg")

FULL = os.environ.get("SKRNN_DOCS_FULL", "0") not in ("", "0")
RUN_GALLERY = os.environ.get("SKRNN_DOCS_GALLERY", "1") not in ("", "0")
if not FULL:
    os.environ.setdefault("SKRNN_QUICK", "1")

import skrnn  # noqa: E402

project = "skrnn"
author = "skrnn developers"
copyright = "skrnn developers"
release = skrnn.__version__
version = re.sub(r"(\.dev\d*|rc\d*|[ab]\d*)$", "", release)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.md5",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json"]
templates_path = ["_templates"]
default_role = "literal"  # `x` in a docstring is code, as in Markdown

# A broken cross-reference fails the build (-W). The build is offline, so
# references into other projects' documentation (numpy, scikit-learn, torch,
# matplotlib, the standard library) cannot be resolved and are not checked.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|sklearn|scipy|torch|matplotlib|pandas|joblib|dask|distributed|"
               r"ray|onnx|onnxruntime|safetensors|threadpoolctl)(\..*)?"),
    (r"py:.*", r"(abc|collections|contextlib|dataclasses|enum|functools|io|json|os|pathlib|"
               r"re|signal|threading|typing|unicodedata|warnings)\..*"),
    # torch.nn.Module's own docstrings (inherited by forward methods) say :class:`Module`.
    ("py:class", "Module"),
    (r"py:(class|exc|obj|data|func)",
     r"(int|float|str|bytes|bool|dict|list|tuple|set|object|type|callable|None|True|False|"
     r"Exception|ValueError|TypeError|KeyError|IndexError|RuntimeError|ImportError|"
     r"OSError|KeyboardInterrupt|UserWarning|DeprecationWarning|NotImplementedError|"
     r"path-like|array-like|ndarray|Generator|Iterable|Iterator|Sequence|Mapping|"
     r"Callable|Any|optional)"),
]

# autodoc / autosummary / numpydoc
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
autodoc_inherit_docstrings = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = True
numpydoc_validation_checks = set()

# MyST (the Markdown pages: the guide's notes and the changelog)
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]

# sphinx-gallery
if FULL:
    # Everything that runs in one process: the distributed examples need a
    # dask cluster / torchrun and are shown unexecuted.
    filename_pattern = re.escape(os.sep) + r"(?!distributed_)[^" + re.escape(os.sep) + r"]+\.py$"
else:
    filename_pattern = re.escape(os.sep) + "plot_"
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": filename_pattern,
    "plot_gallery": "True" if RUN_GALLERY else "False",
    "within_subsection_order": "gallery_order.PlotFirst",
    "abort_on_example_error": True,
    "remove_config_comments": True,
    "download_all_examples": False,
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "min_reported_time": 1,
    "show_signature": False,
    "doc_module": ("skrnn",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skrnn": None},
    "capture_repr": ("_repr_html_", "__repr__"),
}

# HTML
html_theme = "pydata_sphinx_theme"
html_title = f"skrnn {release}"
html_static_path = ["_static"]
html_css_files = ["skrnn.css"]
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"install": [], "changelog": []}
html_context = {"default_mode": "light"}
