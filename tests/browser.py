"""Browser checks of r3d's HTML pages: a headless Chromium driven by Playwright.

Not a test module: tests/conftest.py's ``browser`` fixture starts the browser with
:func:`start`, and the tests open pages with :func:`open_page`, which records what a page
logged, threw and fetched, waits until every viewer has drawn (``document.body.dataset.r3dReady``,
set by r3d/vis/assets/viewer.js) and measures how long that took. Images are PIL RGB images; the
helpers at the end measure them against the viewer's background colour.

The browser is the system's Chromium (WebGL through SwiftShader, no GPU needed): the path in
``R3D_CHROMIUM``, else /usr/bin/chromium, ``chromium`` or ``chromium-browser`` on PATH.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# the viewer's clear colour (viewer.js) and the page's canvas class
BACKGROUND = (0xF3, 0xF4, 0xF6)
CANVAS = "canvas.r3d-canvas"
# what screenshots leave out at each side of the canvas: the stage's border and rounded corners
# (viewer.css), which a canvas at a fractional position also shows
CANVAS_INSET = 8
READY = "document.body && document.body.dataset.r3dReady === '1'"
# URL schemes that stay inside the page (the file itself, GLTFLoader's blob: textures)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")
HOW_TO_GET_ONE = "install Debian's chromium package and `pip install playwright`"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]
# what the software rasteriser logs when a screenshot reads the canvas back: not the page's fault
HARMLESS_WARNINGS = ("GPU stall due to ReadPixels",)


class BrowserUnavailable(RuntimeError):
    """No browser to test with; the message says what is missing and how to get it."""


def find_chromium() -> str | None:
    """The Chromium executable: ``R3D_CHROMIUM``, /usr/bin/chromium, or ``chromium`` /
    ``chromium-browser`` on PATH; None when there is none."""
    given = os.environ.get("R3D_CHROMIUM")
    if given:
        return given if os.path.isfile(given) and os.access(given, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class BrowserSession:
    """A running Playwright and its Chromium; :meth:`close` ends both."""

    playwright: object
    browser: object

    def close(self) -> None:
        self.browser.close()
        self.playwright.stop()


def start() -> BrowserSession:
    """Starts Playwright and the system Chromium, headless. BrowserUnavailable when Playwright
    is not installed, no Chromium is found or it does not start."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        raise BrowserUnavailable(f"Playwright is not installed ({exc}): {HOW_TO_GET_ONE}") from None
    executable = find_chromium()
    if executable is None:
        where = (f"R3D_CHROMIUM={os.environ['R3D_CHROMIUM']} is not an executable"
                 if os.environ.get("R3D_CHROMIUM") else
                 "none at /usr/bin/chromium or on PATH (chromium, chromium-browser)")
        raise BrowserUnavailable(f"no Chromium: {where}; {HOW_TO_GET_ONE}")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
    except Error as exc:
        playwright.stop()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BrowserUnavailable(f"Chromium at {executable} did not start: {first}") from None
    return BrowserSession(playwright, browser)


def image_of(png: bytes) -> Image.Image:
    """A PNG's bytes as an RGB image."""
    return Image.open(io.BytesIO(png)).convert("RGB")


@dataclass
class PageReport:
    """An opened page and what it did.

    Attributes:
        page: the Playwright page (close it with :meth:`close`).
        frame: the frame holding the viewer (the page's main frame, or its first iframe).
        path: the HTML file; size_bytes its size.
        load_seconds: from the start of the navigation until every viewer had drawn.
        console: (type, text) of every console message.
        page_errors: uncaught exceptions.
        requests: URLs of every request the page made.
    """

    page: object
    frame: object
    path: Path
    size_bytes: int
    load_seconds: float = float("nan")
    console: list[tuple[str, str]] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """Page errors and console errors."""
        return self.page_errors + [text for kind, text in self.console if kind == "error"]

    @property
    def warnings(self) -> list[str]:
        """Console warnings, less the software rasteriser's :data:`HARMLESS_WARNINGS`."""
        return [text for kind, text in self.console if kind == "warning"
                and not any(harmless in text for harmless in HARMLESS_WARNINGS)]

    @property
    def network(self) -> list[str]:
        """Requests that left the page: any scheme but file:, data:, blob: and about:."""
        return [url for url in self.requests if not url.startswith(LOCAL_SCHEMES)]

    def canvas(self, index: int = 0):
        """The locator of viewer ``index``'s canvas."""
        return self.frame.locator(CANVAS).nth(index)

    def screenshot_canvas(self, path=None, index: int = 0, inset: int = CANVAS_INSET
                          ) -> Image.Image:
        """What viewer ``index``'s canvas shows on screen (RGB, CSS pixels) less ``inset``
        pixels at each side (the stage's border and rounded corners), also saved as PNG at
        ``path`` when given."""
        image = image_of(self.canvas(index).screenshot())
        image = image.crop((inset, inset, image.width - inset, image.height - inset))
        if path is not None:
            image.save(path)
        return image

    def drag(self, dx: float, dy: float, steps: int = 12, button: str = "left") -> None:
        """Drags from the first canvas's centre by (dx, dy) CSS pixels (left: orbit)."""
        box = self.canvas().bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        mouse = self.page.mouse
        mouse.move(x, y)
        mouse.down(button=button)
        mouse.move(x + dx, y + dy, steps=steps)
        mouse.up(button=button)
        self.next_frame()

    def check(self, label: str, on: bool = True) -> None:
        """Sets the panel's checkbox labelled ``label``."""
        self.frame.get_by_label(label, exact=True).set_checked(on)
        self.next_frame()

    def click(self, name: str) -> None:
        """Clicks the button named ``name`` (e.g. "reset view")."""
        self.frame.get_by_role("button", name=name).click()
        self.next_frame()

    def text(self) -> str:
        """The visible text of the viewer's document."""
        return self.frame.locator("body").inner_text()

    def evaluate(self, script: str):
        """``script``'s value in the viewer's frame."""
        return self.frame.evaluate(script)

    def next_frame(self) -> None:
        """Waits until the browser has painted twice (what a handler drew is on screen)."""
        self.frame.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    def close(self) -> None:
        self.page.close()


def open_page(browser, path, *, viewport: tuple[int, int] = (1000, 700), timeout_s: float = 60,
              in_iframe: bool = False) -> PageReport:
    """Opens the HTML file ``path`` in a new page of ``browser`` and waits until its viewers
    have drawn (the viewer of its first iframe with ``in_iframe``, e.g. a notebook output).

    Records console messages, page errors and requests from the first moment, and the time
    from the navigation's start until ready. A page that is not ready after ``timeout_s``
    raises (Playwright's TimeoutError, with what the page logged)."""
    path = Path(path).resolve()
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    report = PageReport(page, page.main_frame, path, path.stat().st_size)
    page.on("console", lambda message: report.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: report.page_errors.append(str(error)))
    page.on("request", lambda request: report.requests.append(request.url))
    started = time.perf_counter()
    page.goto(path.as_uri(), timeout=timeout_s * 1000)
    if in_iframe:
        report.frame = page.locator("iframe").first.element_handle().content_frame()
    try:
        report.frame.wait_for_function(READY, timeout=timeout_s * 1000)
    except Exception as exc:
        page.close()
        raise type(exc)(f"{path.name} not ready after {timeout_s} s; errors {report.errors}, "
                        f"console {report.console}") from exc
    report.load_seconds = time.perf_counter() - started
    return report


def as_array(image: Image.Image) -> np.ndarray:
    """(H, W, 3) int16 pixels of an RGB image (signed, for differences)."""
    return np.asarray(image.convert("RGB"), dtype=np.int16)


def foreground(image: Image.Image, background=BACKGROUND, tolerance: int = 10) -> np.ndarray:
    """(H, W) bool: pixels whose colour differs from ``background`` by more than
    ``tolerance`` in some channel."""
    return (np.abs(as_array(image) - np.array(background)) > tolerance).any(axis=2)


def covered_fraction(image: Image.Image, background=BACKGROUND, tolerance: int = 10) -> float:
    """The share of pixels that are not ``background`` (what the model covers)."""
    return float(foreground(image, background, tolerance).mean())


def changed_fraction(a: Image.Image, b: Image.Image, tolerance: int = 24) -> float:
    """The share of pixels whose colour differs between the same-sized ``a`` and ``b`` by more
    than ``tolerance`` in some channel."""
    return float((np.abs(as_array(a) - as_array(b)) > tolerance).any(axis=2).mean())


def distinct_colours(image: Image.Image, levels: int = 4, min_share: float = 0.005,
                     dark: int = 64, background=BACKGROUND) -> int:
    """How many colours the model shows, whatever its shading: its pixels divided by their
    brightest channel (light falling on one colour keeps that ratio) and quantised to
    ``levels`` per channel, the pixels darker than ``dark`` as one more colour; the colours
    that cover at least ``min_share`` of the model counted. A model of one colour gives 1 or
    2 (highlights), the textured cow 4."""
    pixels = as_array(image)[foreground(image, background)]
    if pixels.shape[0] == 0:
        return 0
    value = pixels.max(axis=1)
    ratio = np.minimum(pixels * levels // np.maximum(value, 1)[:, None], levels - 1)
    codes = (ratio[:, 0] * levels + ratio[:, 1]) * levels + ratio[:, 2] + 1
    codes[value < dark] = 0
    counts = np.bincount(codes, minlength=levels**3 + 1)
    return int((counts >= min_share * pixels.shape[0]).sum())


def median_colour(image: Image.Image, background=BACKGROUND) -> tuple[int, int, int]:
    """The per-channel median of the model's pixels."""
    pixels = as_array(image)[foreground(image, background)]
    return tuple(int(c) for c in np.median(pixels, axis=0))
