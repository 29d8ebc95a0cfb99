#!/usr/bin/env bash
# Build skrnn's wheel and sdist and check them as a release would be checked:
#
#   python -m pip install build twine && bash tools/check_package.sh [OUTDIR]
#
# - `python -m build` makes both from a clean copy of the tree (an isolated build
#   environment with setuptools from pyproject.toml's [build-system]);
# - `twine check --strict` validates their metadata (the README renders on PyPI);
# - every file under skrnn/datasets/data in this tree must be in the wheel and in the
#   sdist, the licences (LICENSE and each data set's *LICENSE*) in the wheel's
#   .dist-info/licenses, and the version in the file names must be skrnn.__version__;
# - the check itself is tested: on a copy of the wheel without one data file it must fail.
#
# Exits non-zero on the first problem, naming it. OUTDIR (default: a temporary
# folder) keeps the built files. PYTHON picks the interpreter (default: python).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python}"

for tool in build twine; do
    if ! "$python" -c "import $tool" 2>/dev/null; then
        echo "check_package: '$tool' is not installed: $python -m pip install build twine" >&2
        exit 1
    fi
done

out="${1:-$(mktemp -d)}"
mkdir -p "$out"
rm -f "$out"/skrnn-*.whl "$out"/skrnn-*.tar.gz
echo "+ $python -m build --outdir $out"
"$python" -m build --outdir "$out" . >"$out/build.log" 2>&1 || {
    tail -40 "$out/build.log" >&2
    echo "check_package: python -m build failed (log: $out/build.log)" >&2
    exit 1
}
echo "+ $python -m twine check --strict $out/*"
"$python" -m twine check --strict "$out"/skrnn-*.whl "$out"/skrnn-*.tar.gz

"$python" - "$out" <<'EOF'
"""Every bundled data file and licence is in the wheel and the sdist."""
import pathlib
import re
import sys
import tarfile
import tempfile
import zipfile

out = pathlib.Path(sys.argv[1])
root = pathlib.Path.cwd()
version = re.search(r'^__version__ = "([^"]+)"', (root / "skrnn/__init__.py").read_text(),
                    re.M).group(1)
data_dir = root / "skrnn/datasets/data"
data = sorted(p.relative_to(root).as_posix() for p in data_dir.rglob("*")
              if p.is_file() and "__pycache__" not in p.parts)
licences = ["LICENSE"] + [p for p in data if "LICENSE" in pathlib.Path(p).name]
if not data:
    sys.exit(f"check_package: no files under {data_dir}")


def one(pattern):
    found = sorted(out.glob(pattern))
    if len(found) != 1:
        sys.exit(f"check_package: expected one {pattern} in {out}, found {found}")
    return found[0]


def wheel_problems(path):
    """What the wheel at ``path`` lacks (empty when complete)."""
    names = set(zipfile.ZipFile(path).namelist())
    info = f"skrnn-{version}.dist-info"
    missing = [f for f in data if f not in names]
    missing += [f"{info}/licenses/{f}" for f in licences if f"{info}/licenses/{f}" not in names]
    return missing


wheel = one("skrnn-*.whl")
sdist = one("skrnn-*.tar.gz")
for built in (wheel, sdist):
    if f"skrnn-{version}" not in built.name:
        sys.exit(f"check_package: {built.name} does not carry skrnn.__version__ {version!r}")

problems = wheel_problems(wheel)
with tarfile.open(sdist) as tar:
    names = set(tar.getnames())
top = f"skrnn-{version}"
problems += [f"{sdist.name}: {f}" for f in data + ["LICENSE", "CHANGELOG.md", "README.md"]
             if f"{top}/{f}" not in names]
if problems:
    sys.exit("check_package: missing from the distributions:\n  " + "\n  ".join(problems))

# The check must catch a wheel that lost a data file.
with tempfile.TemporaryDirectory() as tmp:
    doctored = pathlib.Path(tmp) / wheel.name
    dropped = data[0]
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(doctored, "w") as dst:
        for item in src.infolist():
            if item.filename != dropped:
                dst.writestr(item, src.read(item.filename))
    if wheel_problems(doctored) != [dropped]:
        sys.exit(f"check_package: the check missed {dropped} removed from a copy of the wheel")

print(f"check_package: {wheel.name} and {sdist.name} hold all {len(data)} data files "
      f"and {len(licences)} licences; a wheel without {data[0]} is caught")
EOF
