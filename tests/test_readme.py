"""README.md's code, run as a newcomer runs it: each Python block on its own, as written.

Every ```python block is written to a file in a fresh folder and run by a fresh
interpreter (so a block that leans on names from another one fails here, and the
dask block's ``if __name__ == "__main__":`` guard is exercised). Each block starts by
stating how long it takes on 2 CPU cores ("# Takes about 10 s on 2 CPU cores ...");
blocks stated to take more than 30 s are slow-marked.
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)
DURATION = re.compile(r"^# Takes about (\d+(?:\.\d+)?) (s|min) on 2 CPU cores\b")
SLOW_SECONDS = 30
#: Extras a block needs beyond skrnn's own dependencies: skipped when missing.
NEEDS = {"to_onnx": "onnx", "from distributed import": "distributed"}


def _blocks():
    """``(heading, language, code)`` of every fenced block of the README, in order."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in FENCE.finditer(text):
        headings = re.findall(r"^#+ (.+)$", text[:match.start()], re.M)
        blocks.append((headings[-1] if headings else "top", match.group(1), match.group(2)))
    return blocks


def _seconds(code):
    match = DURATION.match(code)
    if match is None:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * 60 if unit == "min" else value


def _python_cases():
    cases, seen = [], {}
    for heading, language, code in _blocks():
        if language != "python":
            continue
        slug = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
        seen[slug] = seen.get(slug, 0) + 1
        name = slug if seen[slug] == 1 else f"{slug}-{seen[slug]}"
        seconds = _seconds(code)
        slow = seconds is None or seconds > SLOW_SECONDS
        cases.append(pytest.param(code, id=name, marks=[pytest.mark.slow] if slow else []))
    return cases


def test_first_block_is_the_two_ci_commands():
    """The README's first block holds exactly two commands, one a line (.ci/run runs them)."""
    heading, language, code = _blocks()[0]
    lines = [line for line in code.splitlines() if line.strip()]
    assert language == "bash" and len(lines) == 2, code


def test_every_python_block_states_its_duration():
    """Each Python block starts with "# Takes about N s|min on 2 CPU cores"."""
    missing = [code.splitlines()[0] for _, language, code in _blocks()
               if language == "python" and _seconds(code) is None]
    assert not missing, missing


@pytest.mark.parametrize("code", _python_cases())
def test_readme_block_runs_as_written(code, tmp_path):
    """The block runs on its own in a fresh interpreter and a fresh folder, and exits 0."""
    for marker, module in NEEDS.items():
        if marker in code and importlib.util.find_spec(module) is None:
            pytest.skip(f"this block needs {module} (an optional extra)")
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    env = dict(os.environ)
    # The skrnn these tests import, wherever the interpreter would find another one.
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as conftest.py: shared machines
    seconds = _seconds(code) or 600
    proc = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=max(120, 5 * seconds))
    assert proc.returncode == 0, f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    print(proc.stdout)  # what the block printed, for pytest -s
