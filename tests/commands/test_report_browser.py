"""report.html in a real browser: headless Chromium (Debian's `chromium`, installed by .ci/run when CI
runs as root) loads the tiny run's page; every embedded image must decode and the page must show
text and pixels. Skipped where no Chromium is installed."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest
from tiny_run import tiny_report

BROWSER = next((b for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium installed (CI installs Debian's chromium)")

# After the page has loaded: each image's decoded size, and the page's visible text length.
PROBE = """<script>window.addEventListener("load", () => {
  const imgs = Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight]);
  const out = document.createElement("pre"); out.id = "probe";
  out.textContent = JSON.stringify({imgs, text: document.body.innerText.length});
  document.body.appendChild(out);
});</script>"""


def chromium(*args: str, tmp_path) -> str:
    cmd = [
        BROWSER,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        f"--user-data-dir={tmp_path}/profile",
    ]
    res = subprocess.run([*cmd, "--virtual-time-budget=10000", *args], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def probe(page, tmp_path) -> dict:
    """The images and text length that Chromium sees in `page` (a copy with PROBE before </body>)."""
    copy = tmp_path / f"probe_{page.stem}.html"
    copy.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = chromium("--dump-dom", copy.as_uri(), tmp_path=tmp_path)
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def test_report_html_renders_with_every_image_decoded(tmp_path_factory, tmp_path):
    page = tiny_report(tmp_path_factory) / "report.html"
    seen = probe(page, tmp_path)
    assert seen["text"] > 500 and len(seen["imgs"]) >= 9
    broken = [alt for alt, complete, w, h in seen["imgs"] if not (complete and w > 0 and h > 0)]
    assert not broken, broken
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", page.as_uri(), tmp_path=tmp_path)
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert pixels.shape[:2] == (1600, 1200) and np.std(pixels[..., :3]) > 0.05  # not a blank page


def test_the_probe_sees_a_broken_image(tmp_path_factory, tmp_path):
    """The check can fail: one image's data cut short no longer decodes."""
    page = tmp_path / "broken.html"
    text = (tiny_report(tmp_path_factory) / "report.html").read_text()
    start = text.index("base64,") + len("base64,")
    page.write_text(text[:start] + "AAAA" + text[start + 4000 :])
    seen = probe(page, tmp_path)
    assert sum(not (c and w > 0) for _, c, w, _ in seen["imgs"]) == 1
