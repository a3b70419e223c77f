"""The HTML report: one self-contained file, escaped, rendered for real in headless Chromium.

Chromium is Debian's package (``.ci/run`` installs it when missing); the rendering tests are skipped, saying so,
only where no Chromium can be found. Each run gets a fresh profile and the flags that keep Chromium off the
network, so a report that tried to load anything would show it as missing, not fetch it.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser

import pytest
from sample_templates import M4_ENDPOINT

from auditor.findings import Finding, InputError
from auditor.model import Location
from auditor.reporters import Report, render
from auditor.rules import load_rules

ACCOUNT = "123456789012"
HOSTILE = "holds ${Endpoint} and <unresolved> and </script><script>alert(1)</script> & \"quotes\""


def _live(rule_id, name, region, message, *, severity="warning", cost=None, saving=None, evidence=None, path=""):
    arn = f"arn:aws:sagemaker:{region}:{ACCOUNT}:endpoint/{name}"
    location = Location(f"{ACCOUNT}/{region}", arn, path, account=ACCOUNT, region=region)
    rule_name = {rule.id: rule.name for rule in load_rules()}[rule_id]
    return Finding(rule_id, rule_name, severity, message, location, monthly_cost_usd=cost,
                   monthly_savings_usd=saving, evidence=evidence or {}, subject=(location.scope, arn, path))


def audit_report() -> Report:
    findings = [
        _live("SW303", "idle", "us-east-1", f"Endpoint idle served no invocations; it {HOSTILE}", cost=230.0,
              saving=230.0, evidence={"invocations": 0, "lookback_days": 7, "age_days": 30.0}),
        _live("SW301", "oversized", "eu-west-1", "Variant AllTraffic peaks at 5 % CPU per vCPU on ml.m5.2xlarge",
              cost=660.0, saving=330.0, path="ProductionVariants[AllTraffic]",
              evidence={"peak_cpu_per_vcpu": 5.0, "peak_memory": 31.5, "utilization_days": 7,
                        "downsize_to": "ml.m5.xlarge"}),
        _live("SW101", "fraud", "us-east-1", "Variant AllTraffic of endpoint fraud has no scalable target",
              cost=400.0, path="ProductionVariants[AllTraffic]"),
        _live("SW106", "broken", "us-east-1", "Scalable target ResourceId is wrong", severity="error"),
    ]
    errors = [InputError("AccessDenied: sagemaker:Search <denied>", account=ACCOUNT, region="ap-south-1")]
    return Report("audit", findings, errors, load_rules(), counts={"scopes": 3, "endpoints": 9})


class _Page(HTMLParser):
    """What a test needs of a page: its elements with their attributes, and its text."""

    def __init__(self, text: str):
        super().__init__()
        self.elements: list = []
        self.text: list = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def rows(self) -> list:
        return [attrs for tag, attrs in self.elements if tag == "tr" and "finding" in attrs.get("class", "")]

    def attrs(self, element_id: str) -> dict:
        return next(attrs for _, attrs in self.elements if attrs.get("id") == element_id)


# -- the document ---------------------------------------------------------------------------------------------


def test_the_report_loads_nothing_and_escapes_everything():
    text = render(audit_report(), "html")
    assert text.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy\" content=\"default-src 'none';" in text
    assert not re.search(r"<link|<iframe|<img|<object|<embed|\bsrc=|url\(|@import|https?://", text, re.IGNORECASE)
    assert re.findall(r'href="([^"]*)"', text) and all(link.startswith("#") for link in re.findall(r'href="([^"]*)"',
                                                                                                    text))
    assert text.count("<script>") == 1 and text.count("</script>") == 1  # ours, holding no data
    assert "holds ${Endpoint} and &lt;unresolved&gt; and &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; " \
           "&amp; &quot;quotes&quot;" in text
    page = _Page(text)
    assert HOSTILE in "".join(page.text)
    assert [row["data-rule"] for row in page.rows()] == ["SW106", "SW301", "SW101", "SW303"]  # severity, then cost
    assert "hidden" in page.attrs("controls")  # only the script shows the controls
    svgs = [attrs for tag, attrs in page.elements if tag == "svg"]
    assert len(svgs) == 3 + 1  # per rule, account and region; one evidence figure with utilization bars
    assert "Per rule: SW301: 1 finding, $660 per month" in svgs[0]["aria-label"]
    assert "Peak CPU per vCPU 5 %; Peak memory 31.5 %" in svgs[3]["aria-label"]
    body = "".join(page.text)
    assert "0 in 7 days" in body and "ml.m5.xlarge" in body and "$1,290 / month at stake" in body
    assert "AccessDenied: sagemaker:Search <denied>" in body


def test_a_lint_report_charts_files_and_a_clean_one_says_so(sagewise, tmp_path, monkeypatch):
    (tmp_path / "t.yaml").write_text(M4_ENDPOINT)
    monkeypatch.chdir(tmp_path)
    page = _Page(sagewise("lint", "t.yaml", "--format", "html", "--isolated").stdout)
    assert [row["data-rule"] for row in page.rows()] == ["SW101", "SW302"]
    labels = [attrs["aria-label"] for tag, attrs in page.elements if tag == "svg"]
    assert labels == ["Per rule: SW101: 1 finding; SW302: 1 finding", "Per file: t.yaml: 2 findings"]
    clean = _Page(render(Report("lint", [], [], [], counts={"files": 1}), "html"))
    assert clean.rows() == [] and "1 file checked" in "".join(clean.text)


# -- in Chromium ----------------------------------------------------------------------------------------------

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


@pytest.fixture
def chromium(tmp_path):
    binary = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    if binary is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it when missing)")
    runs = iter(range(1000))

    def run(url: str, *arguments: str) -> subprocess.CompletedProcess:
        profile = tmp_path / f"profile-{next(runs)}"
        return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments, url],
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def report_file(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render(audit_report(), "html"), encoding="utf-8")
    return path


def decode_png(data: bytes):
    """(width, height, pixels as (r, g, b) rows) of an 8-bit, non-interlaced RGB or RGBA PNG, as Chromium writes."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, compressed = 8, []
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            compressed.append(chunk)
        position += 12 + length
    assert depth == 8 and interlace == 0 and color in (2, 6), (depth, color, interlace)
    size = 3 if color == 2 else 4
    raw, stride = zlib.decompress(b"".join(compressed)), width * size
    above, rows = bytearray(stride), []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride) if kind else ():
            left = line[i - size] if i >= size else 0
            corner = above[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + above[i]) & 255
            elif kind == 3:
                line[i] = (line[i] + ((left + above[i]) >> 1)) & 255
            else:
                guess = left + above[i] - corner
                distances = (abs(guess - left), abs(guess - above[i]), abs(guess - corner))
                line[i] = (line[i] + (left, above[i], corner)[distances.index(min(distances))]) & 255
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, size)])
        above = line
    return width, height, rows


def test_chromium_draws_the_report(chromium, report_file, tmp_path):
    screenshot = tmp_path / "report.png"
    run = chromium(report_file.as_uri(), f"--screenshot={screenshot}", "--window-size=1200,1000")
    assert screenshot.is_file(), run.stderr
    width, height, rows = decode_png(screenshot.read_bytes())
    assert (width, height) == (1200, 1000)
    pixels = [pixel for row in rows[::4] for pixel in row[::4]]
    background = max(set(pixels), key=pixels.count)
    assert sum(pixel != background for pixel in pixels) > 0.05 * len(pixels), "the screenshot is blank"
    assert len(set(pixels)) > 50
    error_red, warning_orange = (0xc6, 0x28, 0x28), (0xef, 0x6c, 0x00)  # the bars and badges
    assert error_red in pixels and warning_orange in pixels


def test_the_findings_are_in_chromiums_dom_and_the_script_filters_and_sorts(chromium, report_file):
    dom = chromium(report_file.as_uri(), "--dump-dom").stdout
    page = _Page(dom)
    assert [row["data-rule"] for row in page.rows()] == ["SW106", "SW301", "SW101", "SW303"]
    assert HOSTILE in "".join(page.text)
    assert sum(tag == "script" for tag, _ in page.elements) == 1  # the message's <script> stayed text
    assert "hidden" not in page.attrs("controls")  # the script ran and showed the controls
    assert "4 of 4 shown" in "".join(page.text)

    filtered = _Page(chromium(report_file.as_uri() + "#q=us-east%201&sort=cost&dir=desc", "--dump-dom").stdout)
    rows = filtered.rows()
    assert [row["data-rule"] for row in rows] == ["SW301", "SW101", "SW303", "SW106"]  # by cost, largest first
    assert [row["data-rule"] for row in rows if "hidden" not in row] == ["SW101", "SW303", "SW106"]
    assert "3 of 4 shown" in "".join(filtered.text)


def test_without_javascript_the_table_is_all_there(chromium, report_file, tmp_path):
    """A browser with JavaScript off runs no script: the same page with its script removed."""
    without = tmp_path / "no-script.html"
    without.write_text(re.sub(r"<script>.*?</script>", "", report_file.read_text(), flags=re.DOTALL))
    page = _Page(chromium(without.as_uri(), "--dump-dom").stdout)
    assert [row["data-rule"] for row in page.rows()] == ["SW106", "SW301", "SW101", "SW303"]
    assert not any("hidden" in row for row in page.rows())
    assert "hidden" in page.attrs("controls")  # controls that could not work stay hidden
