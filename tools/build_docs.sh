#!/usr/bin/env bash
# Build the documentation site offline, warnings as errors, with the gallery in its
# quick mode (only examples/plot_*.py run, on small data), then check the result:
# the index, an API page and a gallery page exist and their images are there and
# decode (and, where Debian's chromium is installed, load in the browser; screenshots
# go to docs/_build/screenshots/).
#
#   bash tools/build_docs.sh             # needs: pip install -e ".[docs]"
#   SKRNN_DOCS_FULL=1 bash tools/build_docs.sh   # every example, full size (~1 hour)
set -euo pipefail
cd "$(dirname "$0")/.."

out="docs/_build/html"
start=$(date +%s)
python -m sphinx -W --keep-going -b html docs "$out"
echo "docs built in $(( $(date +%s) - start )) s: $out/index.html"
python tools/check_docs.py "$out"
