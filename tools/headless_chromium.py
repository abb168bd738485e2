"""Drive Debian's headless Chromium with no network, through the DevTools protocol (no
extra package).

The book's browser test (``tests/test_book_build.py``) opens every built page with this:
it loads a ``file://`` page, waits for it (and for MathJax), evaluates JavaScript in it,
records every request the page makes, and saves a screenshot. The DevTools websocket is
spoken with ``tornado`` (installed with Jupyter), so no browser-driver package is
needed.

No network: DNS resolution is disabled (``--host-resolver-rules``) and every request to
something other than ``file:``, ``data:``, ``blob:`` or ``about:`` is recorded, so a
page that would need a CDN is caught even where the machine happens to be online.

Example::

    with Browser() as browser:
        page = browser.open(Path("_build/html/book/intro.html"))
        print(page.remote_requests, browser.evaluate("document.title"))
        browser.screenshot(Path("intro.png"))
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    # no DNS: nothing outside this machine can be reached
    "--host-resolver-rules=MAP * ~NOTFOUND",
)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:", "chrome:", "devtools:")


class BrowserError(RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """The path of a Chromium executable, or ``None`` when none is installed."""
    override = os.environ.get("CHROMIUM")
    for candidate in ((override,) if override else ()) + CHROMIUM_CANDIDATES:
        path = shutil.which(candidate) if not os.path.isabs(candidate) else candidate
        if path and os.access(path, os.X_OK):
            return path
    return None


@dataclass
class PageLoad:
    """What happened while one page loaded.

    Attributes:
        url: the page's URL.
        remote_requests: URLs the page asked for that are not local files or data
            (should be empty).
        failed_requests: ``(url, error)`` of local requests that failed (a missing file,
            for instance).
        console_errors: messages of JavaScript exceptions and console errors.
        seconds: time from navigation to the load event.
    """

    url: str
    remote_requests: list[str] = field(default_factory=list)
    failed_requests: list[tuple[str, str]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Browser:
    """A headless Chromium with one tab, driven over the DevTools protocol (use as a
    context manager)."""

    def __init__(
        self,
        executable: str | None = None,
        *,
        width: int = 1280,
        height: int = 900,
        timeout: float = 30.0,
    ) -> None:
        self.executable = executable or find_chromium()
        if self.executable is None:
            raise BrowserError(
                "Chromium is not installed (on Debian: apt-get install -y chromium)"
            )
        self.width, self.height, self.timeout = width, height, timeout
        self._loop = asyncio.new_event_loop()
        self._next_id = 0
        self._events: list[dict[str, Any]] = []
        self._process: subprocess.Popen | None = None
        self._profile = tempfile.mkdtemp(prefix="course-chromium-")
        self._socket = None
        self._session: str | None = None

    # -- life cycle
    # ---------------------------------------------------------------------------------
    def __enter__(self) -> Browser:
        command = [
            self.executable,
            *FLAGS,
            f"--user-data-dir={self._profile}",
            "--remote-debugging-port=0",
            f"--window-size={self.width},{self.height}",
            "about:blank",
        ]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
            if self._process.poll() is not None or time.monotonic() > deadline:
                error = (
                    self._process.stderr.read().decode(errors="replace")[-2000:]
                    if self._process.poll()
                    else ""
                )
                self.close()
                raise BrowserError(
                    "Chromium did not start: "
                    f"{error or 'no DevTools port after timeout'}"
                )
            time.sleep(0.05)
        port, path = port_file.read_text().split()[:2]
        self._run(self._connect(f"ws://127.0.0.1:{port}{path}"))
        target = self.send(
            "Target.createTarget", {"url": "about:blank"}, session=False
        )["targetId"]
        attached = self.send(
            "Target.attachToTarget",
            {"targetId": target, "flatten": True},
            session=False,
        )
        self._session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable")
        self._set_viewport(self.height)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop Chromium and delete its temporary profile."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._process is not None and self._process.stderr is not None:
            self._process.stderr.close()
        self._process = None
        shutil.rmtree(self._profile, ignore_errors=True)
        if not self._loop.is_closed():
            self._loop.close()

    # -- protocol
    # ----------------------------------------------------------------------------------
    def _run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    async def _connect(self, url: str) -> None:
        from tornado.websocket import websocket_connect

        self._socket = await websocket_connect(url, max_message_size=256 * 1024 * 1024)

    async def _receive(self, timeout: float) -> dict[str, Any]:
        message = await asyncio.wait_for(self._socket.read_message(), timeout)
        if message is None:
            raise BrowserError("Chromium closed the DevTools connection")
        return json.loads(message)

    async def _call(
        self, method: str, params: dict[str, Any], session: bool, timeout: float
    ) -> dict[str, Any]:
        self._next_id += 1
        request = {"id": self._next_id, "method": method, "params": params}
        if session and self._session:
            request["sessionId"] = self._session
        await self._socket.write_message(json.dumps(request))
        while True:
            message = await self._receive(timeout)
            if message.get("id") == request["id"]:
                if "error" in message:
                    raise BrowserError(
                        f"{method} failed: {message['error'].get('message')}"
                    )
                return message.get("result", {})
            if "method" in message:
                self._events.append(message)

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        session: bool = True,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one DevTools command and return its result (events that arrive meanwhile
        are kept)."""
        return self._run(
            self._call(method, params or {}, session, timeout or self.timeout)
        )

    def _wait_for_event(self, method: str, timeout: float) -> None:
        async def wait() -> None:
            deadline = time.monotonic() + timeout
            while not any(event["method"] == method for event in self._events):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise BrowserError(
                        f"timed out after {timeout:.0f} s waiting for {method}"
                    )
                try:
                    self._events.append(await self._receive(remaining))
                except asyncio.TimeoutError:
                    raise BrowserError(
                        f"timed out after {timeout:.0f} s waiting for {method}"
                    ) from None

        self._run(wait())

    # -- pages
    # ----------------------------------------------------------------------------------
    def open(self, page: Path | str) -> PageLoad:
        """Load ``page`` (a file path or URL) and wait for its load event; report its
        requests."""
        url = Path(page).resolve().as_uri() if isinstance(page, Path) else page
        self._events.clear()
        started = time.monotonic()
        self.send("Page.navigate", {"url": url})
        self._wait_for_event("Page.loadEventFired", self.timeout)
        load = PageLoad(url, seconds=time.monotonic() - started)
        self._collect(load)
        return load

    def _collect(self, load: PageLoad) -> None:
        requested: dict[str, str] = {}
        for event in self._events:
            method, params = event["method"], event.get("params", {})
            if method == "Network.requestWillBeSent":
                request_url = params["request"]["url"]
                requested[params["requestId"]] = request_url
                if not request_url.startswith(LOCAL_SCHEMES):
                    load.remote_requests.append(request_url)
            elif method == "Network.loadingFailed":
                request_url = requested.get(params["requestId"], "?")
                if request_url.startswith("file:"):
                    load.failed_requests.append(
                        (request_url, params.get("errorText", ""))
                    )
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                load.console_errors.append(
                    details.get("exception", {}).get("description") or details["text"]
                )
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                entry = params["entry"]
                # failed requests are reported above
                if entry.get("source") != "network":
                    load.console_errors.append(entry["text"])

    def drain_events(self, seconds: float = 0.0) -> PageLoad:
        """Read events for ``seconds`` more and report requests made since the page
        loaded."""

        async def drain() -> None:
            deadline = time.monotonic() + seconds
            while (remaining := deadline - time.monotonic()) > 0:
                try:
                    self._events.append(await self._receive(remaining))
                except asyncio.TimeoutError:
                    return

        self._run(drain())
        load = PageLoad(url="")
        self._collect(load)
        return load

    def evaluate(self, expression: str, *, timeout: float | None = None) -> Any:
        """Evaluate JavaScript in the page (promises are awaited) and return its JSON
        value.

        Raises:
            BrowserError: when the expression throws.
        """
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(
                "JavaScript error: "
                f"{details.get('exception', {}).get('description') or details}"
            )
        return result["result"].get("value")

    def _set_viewport(self, height: int) -> None:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": self.width,
                "height": height,
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )

    def screenshot(self, path: Path, *, max_height: int = 6000) -> Path:
        """Save a PNG of the whole page (up to ``max_height`` pixels tall) to ``path``.

        The viewport is stretched to the page's height for the shot (so sticky headers
        and sidebars are laid out as a reader sees them), then restored.
        """
        height = int(
            self.evaluate("Math.ceil(document.documentElement.scrollHeight)")
            or self.height
        )
        self._set_viewport(min(max(height, self.height), max_height))
        try:
            self.evaluate(
                "new Promise(r => requestAnimationFrame(() => "
                "requestAnimationFrame(r)))"
            )
            shot = self.send("Page.captureScreenshot", {"format": "png"}, timeout=60)
        finally:
            self._set_viewport(self.height)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def screenshot_element(
        self, selector: str, index: int, path: Path, *, margin: int = 8
    ) -> Path | None:
        """Save a PNG of the ``index``-th element matching the CSS ``selector``
        (``None`` if absent)."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelectorAll({selector!r})[{index}]; "
            "if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, "
            "height: r.height}; })()"
        )
        if not box or box["width"] <= 0 or box["height"] <= 0:
            return None
        clip = {
            "x": max(box["x"] - margin, 0),
            "y": max(box["y"] - margin, 0),
            "width": box["width"] + 2 * margin,
            "height": min(box["height"] + 2 * margin, 4000),
            "scale": 1,
        }
        shot = self.send(
            "Page.captureScreenshot",
            {"format": "png", "clip": clip, "captureBeyondViewport": True},
            timeout=60,
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path
