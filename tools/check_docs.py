"""Check the built documentation site as a reader would see it.

Opens three pages of the built HTML (the index, an API page and a gallery
page) and checks, for each:

- the page exists and has a title;
- every ``<img>`` it shows points to a file of the build that exists, is not
  empty and decodes as an image (PNG / JPEG / GIF / SVG header; with Pillow,
  a full decode with a non-zero size);
- every link to another page of the site resolves to a file;
- the gallery page shows at least one figure made by its example, and the
  API page its mini-gallery.

With headless Chromium (Debian's ``chromium`` package) it also loads each
page's images in the browser (``naturalWidth > 0`` after ``onload``) and takes
a screenshot of every page into ``docs/_build/screenshots/`` (never
committed) to look at.

Usage::

    python tools/check_docs.py [docs/_build/html] [--screenshots DIR] [--no-browser]

Exits non-zero, listing the problems, if a check fails.
"""

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PAGES = {
    "index": "index.html",
    "api": "generated/skrnn.inspection.TrainingCurveDisplay.html",
    "gallery": "auto_examples/plot_training_curves.html",
}
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


class _Page(HTMLParser):
    """Collects a page's title, image sources and links."""

    def __init__(self):
        super().__init__()
        self.title, self.images, self.links = "", [], []
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _local_target(page, ref):
    """The file a relative src / href of ``page`` names, or None for external ones."""
    parts = urlsplit(ref)
    if parts.scheme or parts.netloc or ref.startswith(("#", "mailto:", "javascript:")):
        return None
    if not parts.path:
        return None
    return (page.parent / unquote(parts.path)).resolve()


def _check_image(path):
    """A problem with the image file at ``path``, or None."""
    if not path.is_file():
        return "is missing"
    data = path.read_bytes()
    if not data:
        return "is empty"
    if path.suffix.lower() == ".svg":
        return None if b"<svg" in data[:4096] else "is not an SVG"
    if not data.startswith(IMAGE_MAGIC):
        return "is not a PNG, JPEG or GIF"
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(path) as im:
            im.load()
            if im.width == 0 or im.height == 0:
                return "has zero size"
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the finding
        return f"does not decode ({exc})"
    return None


def check_static(site):
    """Problems found by reading the HTML files; also returns each page's images."""
    problems, images = [], {}
    for name, rel in PAGES.items():
        page = site / rel
        if not page.is_file():
            problems.append(f"{name}: {rel} was not built")
            continue
        parser = _Page()
        parser.feed(page.read_text(encoding="utf-8"))
        if not parser.title.strip():
            problems.append(f"{name}: {rel} has no <title>")
        images[name] = []
        for src in parser.images:
            target = _local_target(page, src)
            if target is None:
                problems.append(f"{name}: image {src} is not part of the build (offline site)")
                continue
            images[name].append(target)
            issue = _check_image(target)
            if issue:
                problems.append(f"{name}: image {src} {issue}")
        for href in parser.links:
            target = _local_target(page, href)
            if target is not None and not target.exists():
                problems.append(f"{name}: link {href} points to nothing")
        figures = [p for p in images[name] if "sphx_glr_plot_" in p.name]
        if name == "gallery" and not figures:
            problems.append(f"{name}: {rel} shows no figure of its example")
        if name == "api" and not figures:
            problems.append(f"{name}: {rel} shows no mini-gallery thumbnail")
        print(f"{name:8s} {rel}: title {parser.title.strip()!r}, {len(parser.images)} images, "
              f"{len(parser.links)} links")
    return problems, images


def find_chromium():
    """The path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium(binary, *args, timeout=120):
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
               "--allow-file-access-from-files", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def check_in_browser(binary, images):
    """Load every image in Chromium; problems for those whose naturalWidth stays 0."""
    problems = []
    urls = sorted({p.as_uri() for paths in images.values() for p in paths})
    if not urls:
        return problems
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(
            "<!doctype html><html><body><pre id='result'></pre><script>\n"
            f"const urls = {json.dumps(urls)};\n"
            "const out = {}; let left = urls.length;\n"
            "function done(u, ok, w) { out[u] = ok ? w : 0; if (--left === 0) {\n"
            "  document.getElementById('result').textContent = 'RESULT' + JSON.stringify(out)\n"
            "    + 'END'; } }\n"
            "for (const u of urls) { const im = new Image();\n"
            "  im.onload = () => done(u, true, im.naturalWidth);\n"
            "  im.onerror = () => done(u, false, 0); im.src = u; }\n"
            "</script></body></html>\n", encoding="utf-8")
        result = _chromium(binary, "--virtual-time-budget=20000", "--dump-dom", probe.as_uri())
    text = html.unescape(result.stdout)
    if "RESULT" not in text:
        return [f"browser: Chromium did not report the images (exit {result.returncode}): "
                f"{result.stderr.strip()[-300:]}"]
    loaded = json.loads(text.split("RESULT", 1)[1].split("END", 1)[0])
    for url in urls:
        if not loaded.get(url):
            problems.append(f"browser: image {url} did not load")
    print(f"browser  {sum(1 for u in urls if loaded.get(u))} of {len(urls)} images loaded "
          "in Chromium")
    return problems


def screenshots(binary, site, folder):
    """One full-width screenshot per page; problems for those that failed."""
    problems = []
    folder.mkdir(parents=True, exist_ok=True)
    for name, rel in PAGES.items():
        page = site / rel
        if not page.is_file():
            continue
        target = folder / f"{name}.png"
        if target.exists():
            target.unlink()
        result = _chromium(binary, "--window-size=1280,2200", "--virtual-time-budget=10000",
                           f"--screenshot={target}", page.as_uri())
        if not target.is_file() or target.stat().st_size == 0:
            problems.append(f"screenshot of {name} failed (exit {result.returncode}): "
                            f"{result.stderr.strip()[-300:]}")
        else:
            shown = target.relative_to(ROOT) if target.is_relative_to(ROOT) else target
            print(f"screenshot {shown}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", nargs="?", default=str(ROOT / "docs/_build/html"),
                        help="the built HTML folder (default docs/_build/html)")
    parser.add_argument("--screenshots", default=str(ROOT / "docs/_build/screenshots"),
                        help="where to save the screenshots")
    parser.add_argument("--no-browser", action="store_true",
                        help="skip Chromium even when it is installed")
    parser.add_argument("--require-browser", action="store_true",
                        help="fail when Chromium is not installed")
    args = parser.parse_args(argv)
    site = Path(args.site).resolve()
    problems, images = check_static(site)
    binary = None if args.no_browser else find_chromium()
    if binary:
        problems += check_in_browser(binary, images)
        problems += screenshots(binary, site, Path(args.screenshots).resolve())
    elif args.require_browser:
        problems.append("Chromium is not installed (apt-get install chromium)")
    else:
        print("Chromium not found: browser checks and screenshots skipped "
              "(apt-get install chromium)")
    if problems:
        print(f"\n{len(problems)} problem(s):", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("docs check passed")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("LANG", "C.UTF-8")
    sys.exit(main())
