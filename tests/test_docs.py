"""The documentation website as a reader sees it: tools/docs.py builds _docs/ from a checkout within 5 minutes, and
headless Chromium opens every page: none missing, no image that fails to load, no internal link to a missing file.
A screenshot of the home page is saved to _proc/screenshot_index.png."""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_docs"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
CHECK = """JSON.stringify({ready: document.readyState, title: document.title,
  broken: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute('src')),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => h.startsWith('file:'))})"""


@pytest.fixture(scope="module")
def site():
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "tools/docs.py"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    return time.perf_counter() - t0


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found: return found
    if os.environ.get("QDD_REQUIRE_DATA") == "1": pytest.fail("no chromium: .ci/run installs Debian's chromium")
    pytest.skip("no chromium on PATH (apt-get install chromium)")


class Browser:
    "A headless Chromium page driven over the DevTools protocol."
    def __init__(self, binary: str):
        import websocket
        self.profile = tempfile.mkdtemp()
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                                      "--window-size=1280,1400", "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip(): break
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())
        self.ws, self.n = websocket.create_connection(
            [p for p in pages if p["type"] == "page"][0]["webSocketDebuggerUrl"], suppress_origin=True), 0

    def call(self, method: str, **params) -> dict:
        self.n += 1
        self.ws.send(json.dumps(dict(id=self.n, method=method, params=params)))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n: return msg.get("result", {})

    def open(self, path: Path) -> dict:
        "Navigate to `path` and return its title, broken images and file links once loaded."
        self.call("Page.navigate", url=path.resolve().as_uri())
        for _ in range(200):
            got = json.loads(self.call("Runtime.evaluate", expression=CHECK)["result"].get("value", "{}") or "{}")
            if got.get("ready") == "complete": return got
            time.sleep(0.05)
        raise AssertionError(f"{path} did not finish loading")

    def close(self):
        self.ws.close(); self.proc.terminate(); self.proc.wait(10); shutil.rmtree(self.profile, ignore_errors=True)


def test_the_site_builds_within_five_minutes(site):
    assert site < 300, f"tools/docs.py took {site:.0f} s"


def test_every_notebook_and_the_report_have_a_page(site):
    expected = ["index.html", "report.html"] + [f"api/{p.stem}.html" for p in sorted((ROOT / "nbs").glob("[0-9]*.ipynb"))] \
        + [f"paper/{p.stem}.html" for p in sorted((ROOT / "nbs" / "paper").glob("*.ipynb"))]
    assert [p for p in expected if not (SITE / p).exists()] == []


def test_chromium_finds_no_broken_image_or_link(site):
    browser, problems = Browser(chromium()), []
    try:
        for page in sorted(SITE.rglob("*.html")):
            if page.name == "404.html" or "search" in page.parts: continue
            got = browser.open(page)
            problems += [f"{page.relative_to(SITE)}: image {src}" for src in got["broken"]]
            targets = {Path(unquote(urlparse(h).path)) for h in got["links"]}
            problems += [f"{page.relative_to(SITE)}: link to {t}" for t in targets if not t.exists()]
            assert got["title"], page
        browser.open(SITE / "index.html")
        shot = browser.call("Page.captureScreenshot", format="png")["data"]
        (ROOT / "_proc" / "screenshot_index.png").write_bytes(base64.b64decode(shot))
    finally:
        browser.close()
    assert problems == []


def test_the_executed_paper_notebooks_show_their_figures_inline(site):
    for path in sorted((ROOT / "results" / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        figures = sum("image/png" in o.get("data", {}) for c in nb["cells"] for o in c.get("outputs", []))
        shown = len(re.findall(r'<img[^>]*src="data:image/png', (SITE / "paper" / f"{path.stem}.html").read_text()))
        assert figures and shown == figures, f"paper/{path.stem}.html shows {shown} of {path.name}'s {figures} figures"
