"""The dashboard page in a real browser, and the dashboard flow end to end.

1. The page built from the hand-checked dataset is opened in headless Chromium (Debian's
   `chromium`; `.ci/run` installs it) with every network path blocked; the test checks the
   DOM Chromium built (charts with bars, the figures) and the pixels of a screenshot (the
   charts are painted), and leaves the screenshot in benchmarks/out/dashboard-page.png.
2. The flow runs against a Prefect test server, a real SeaweedFS and a SQLite store: the page
   lands in the object store and a local file, and the table, markdown and link artifacts
   are published.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.request
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from offboarding.dashboard.measures import compute_dashboard
from offboarding.dashboard.page import render_page
from tests.unit.dashboard.measures_fixtures import AS_OF, dataset

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "benchmarks" / "out" / "dashboard-page.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # no network at all: every host resolves to nothing and every request goes to a dead proxy
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--hide-scrollbars",
]
CHARTS = {  # data-chart -> does the fixed dataset give it bars?
    "open-requests": True,
    "processing-histogram": True,
    "reasons": True,
    "reasons-by-segment": True,
    "reasons-by-month": True,
    "arr-by-reason": True,
    "save-outcomes": True,
    "feedback-responses": True,
    "nps-split": True,
    "winback-rates": True,
    "at-risk-by-priority": False,  # §14: the fixed dataset has no early-warning scan
    "tile-processing": True,
    "tile-ack": True,
    "tile-export": True,
    "tile-feedback": True,
    "tile-save": True,
    "tile-satisfaction": True,
    "tile-nps": True,
    "tile-winback": True,
}


def chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        pytest.skip(
            "skipped: Debian's `chromium` is not installed on this machine "
            "(`apt-get install chromium`; .ci/run installs it), so the page was not opened"
        )
    return path


def run_chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    """A fresh profile per run; stderr is Chromium's chatter (D-Bus and the like)."""
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(profile)},
    )


class _Dom(HTMLParser):
    """What the browser built: charts with their bars, figures, tiles."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, Counter] = {}
        self.current: str | None = None
        self.figures: dict[str, str] = {}
        self._figure: str | None = None
        self.tiles: dict[str, str] = {}
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key) and re.match(r"(?i)(https?:)?//", a[key] or ""):
                self.external.append(a[key] or "")
        if tag == "svg" and a.get("data-chart"):
            self.current = a["data-chart"]
            self.charts[self.current] = Counter()
        elif self.current and tag in ("rect", "text"):
            self.charts[self.current][a.get("class") or tag] += 1
        if a.get("data-figure"):
            self._figure = a["data-figure"]
            self.figures[self._figure] = ""
        if a.get("class") == "tile":
            self.tiles[a.get("id", "")] = a.get("data-status", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.current = None
        if self._figure and tag in ("div", "b"):
            self._figure = None

    def handle_data(self, data: str) -> None:
        if self._figure:
            self.figures[self._figure] += data.strip()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = compute_dashboard(dataset(), AS_OF)
    d["patterns"] = [
        {
            "pattern_id": "PAT-0000TEST",
            "kind": "product_gap",
            "label": "SAML SSO <script>alert(1)</script>",  # user text is escaped
            "customers": 3,
            "accounts": ["A1", "A3", "A9"],
            "status": "open",
            "fixed_at": None,
        }
    ]
    path = tmp_path_factory.mktemp("page") / "offboarding-dashboard.html"
    path.write_text(render_page(d), encoding="utf-8")
    return path


def test_the_page_needs_nothing_from_a_network(page: Path) -> None:
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html  # the hostile label is text, not a script
    assert "&lt;script&gt;" in html
    # the only URL is the SVG namespace, which is a name, never fetched
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls == {"http://www.w3.org/2000/svg"}
    assert "default-src 'none'" in html  # and the page forbids itself any fetch


def test_chromium_renders_the_charts_and_figures(page: Path, tmp_path: Path) -> None:
    r = run_chromium(["--window-size=1366,900", "--dump-dom", page.as_uri()], tmp_path / "p1")
    assert r.returncode == 0, r.stderr[-2000:]
    dom = _Dom()
    dom.feed(r.stdout)
    assert dom.external == []
    assert set(dom.charts) == set(CHARTS), sorted(set(dom.charts) ^ set(CHARTS))
    for name, has_bars in CHARTS.items():
        if has_bars:
            assert dom.charts[name]["bar"] >= 1, name
    assert dom.charts["open-requests"]["bar"] == 3  # three statuses have open cases
    assert dom.charts["processing-histogram"]["target-band"] == 1
    # the figures, as the hand-checked dataset says
    assert dom.figures["processing"] == "12 d"
    assert dom.figures["feedback"] == "60 %"
    assert dom.figures["save"] == "25 %"
    assert dom.figures["nps"] == "33.3"
    assert dom.figures["open-total"] == "3"
    assert dom.figures["churned"] == "5"
    assert dom.tiles["tile-processing"] == "met"
    assert dom.tiles["tile-acknowledgement"] == "missed"
    assert "PAT-0000TEST" in r.stdout


def test_a_screenshot_shows_the_painted_charts(page: Path, tmp_path: Path) -> None:
    from PIL import Image

    shot = tmp_path / "dashboard-page.png"
    r = run_chromium(
        ["--window-size=1366,3400", f"--screenshot={shot}", page.as_uri()], tmp_path / "p2"
    )
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)  # left for people to look at (gitignored)
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (3400, 1366, 3)

    def count(rgb: tuple[int, int, int]) -> int:
        return int(np.all(pixels == rgb, axis=-1).sum())

    # bars in the palette's blue, the "met" green and the "missed" red are on screen
    assert count((0x00, 0x72, 0xB2)) > 2000
    assert count((0x1A, 0x7F, 0x37)) > 500
    assert count((0xCF, 0x22, 0x2E)) > 200
    top = pixels[:900].reshape(-1, 3)  # the first laptop screen: tiles and first charts
    assert len(np.unique(top, axis=0)) > 50


# -- the flow ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def flow_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A Prefect test server, SeaweedFS and a SQLite store holding the fixed dataset."""
    from prefect.testing.utilities import prefect_test_harness

    from offboarding.adapters.seaweedfs import SeaweedS3
    from offboarding.settings import get_settings
    from offboarding.storage.db import session_scope
    from tests.db.feedback_seed import seed_all

    state = tmp_path_factory.mktemp("state")
    home = tmp_path_factory.mktemp("aws")
    url = f"sqlite:///{state / 'offboarding.db'}"
    with pytest.MonkeyPatch.context() as mp, SeaweedS3(tmp_path_factory.mktemp("s3")) as s3:
        for k, v in {
            "OFFBOARDING_STATE_DIR": str(state),
            "OFFBOARDING_DATABASE_URL": url,
            "OFFBOARDING_BUCKET": "dashboard-test",
            "AWS_ENDPOINT_URL_S3": s3.endpoint,
            "AWS_ACCESS_KEY_ID": "offboarding-test",
            "AWS_SECRET_ACCESS_KEY": "offboarding-test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        }.items():
            mp.setenv(k, v)
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "OFFBOARDING_POLICY_FILE"):
            mp.delenv(k, raising=False)
        get_settings.cache_clear()
        with session_scope(url) as s:
            seed_all(s)
        with prefect_test_harness(server_startup_timeout=120):
            yield {"state": state, "url": url}
        get_settings.cache_clear()


def test_the_flow_publishes_the_page_and_the_artifacts(flow_env: dict, tmp_path: Path) -> None:
    from prefect.artifacts import Artifact

    from flows.dashboard_flow import dashboard_flow
    from offboarding.adapters.s3.object_store import ObjectStore

    local = tmp_path / "out" / "page.html"
    result = dashboard_flow(as_of=AS_OF, local_path=str(local), pattern_threshold=2)
    page = result["page"]
    assert Path(page["local_path"]) == local.resolve() and local.exists()
    html = local.read_text(encoding="utf-8")
    assert html.count('class="chart"') == len(CHARTS)
    store = ObjectStore("dashboard-test")
    assert store.head(page["key"])["content_type"].startswith("text/html")
    assert store.head(page["dated_key"]) is not None
    with urllib.request.urlopen(page["url"], timeout=30) as resp:  # the link of the artifact
        assert resp.read().decode("utf-8") == html
    # the SSO gap of A1 and A3 became a pattern and product was told
    assert len(result["patterns"]["new"]) == 1 and result["notified"] == result["patterns"]["new"]
    table = Artifact.get(result["artifact_keys"]["table"])
    assert table is not None and "save rate of attempted saves" in str(table.data)
    markdown = Artifact.get(result["artifact_keys"]["markdown"])
    assert "| exit feedback response rate | 60 % |" in markdown.data
    assert page["s3_uri"] in markdown.data and page["local_path"] in markdown.data
    link = Artifact.get(result["artifact_keys"]["link"])
    assert page["key"] in str(link.data)
    # a second run replaces the same objects and notifies nobody again
    again = dashboard_flow(as_of=AS_OF, local_path=str(local), pattern_threshold=2)
    assert again["page"]["key"] == page["key"] and again["notified"] == []
