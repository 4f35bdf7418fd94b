"""A small Chrome DevTools Protocol client: headless Chromium driven over a websocket.

Used by tests/test_browser.py to open the built book in a real browser. It needs only the
``websocket-client`` package (pinned in requirements.txt, as a dependency of Jupyter) and a Chromium
executable; it starts the browser with a fresh profile and no background networking, opens one
page target, and exposes ``send`` (a command and its result) and the events received so far.

Protocol reference: the DevTools protocol's domains Page, Runtime, Log, Network and Emulation.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import websocket

# The flags of a browser that talks to no one but the pages it is told to open: no sync, no
# component or safe-browsing updates, no QUIC probing; as root in a container it needs --no-sandbox.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)

INSTALL_HINT = ("Chromium is needed for the browser test: on Debian or Ubuntu `sudo apt-get install chromium` "
                "(installs /usr/bin/chromium), or point RNNLIB_CHROMIUM at a Chromium or Chrome executable")


def find_chromium() -> str | None:
    """The Chromium executable: $RNNLIB_CHROMIUM, else chromium / chromium-browser / google-chrome on PATH."""
    explicit = os.environ.get("RNNLIB_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class CDPError(RuntimeError):
    """A DevTools command failed, or the browser did not answer in time."""


class Chromium:
    """Headless Chromium with one page target, as a context manager.

    Args:
        executable: path of the Chromium binary.
        width, height: the viewport in CSS pixels.
        timeout: seconds to wait for the browser to start and for each command.
    """

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900, timeout: float = 60.0):
        self.executable = executable
        self.width, self.height, self.timeout = width, height, timeout
        self._profile = tempfile.mkdtemp(prefix="rnnlib-chromium-")
        self._proc: subprocess.Popen | None = None
        self._ws: websocket.WebSocket | None = None
        self._next_id = 0
        self._results: dict[int, dict] = {}
        self._events: list[dict] = []
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None
        self._closed = False

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "Chromium":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        args = [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE)
        # With port 0 Chromium picks a free port and writes it into <profile>/DevToolsActivePort.
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode(errors="replace")[-2000:]
                raise CDPError(f"{self.executable} exited with code {self._proc.returncode}:\n{err}")
            if time.monotonic() > deadline:
                self.close()
                raise CDPError(f"{self.executable} did not open its DevTools port within {self.timeout} s")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t.get("type") == "page")
        # Chromium refuses DevTools websockets that carry an Origin header it was not told to allow.
        self._ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                               suppress_origin=True, enable_multithread=True)
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                  deviceScaleFactor=1, mobile=False)

    def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            try:
                self._ws.close()
            except Exception:  # the browser may already be gone; nothing left to release
                pass
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stderr is not None:
            self._proc.stderr.close()
        shutil.rmtree(self._profile, ignore_errors=True)

    # -- protocol --------------------------------------------------------------------------
    def _read_loop(self) -> None:
        while not self._closed:
            try:
                raw = self._ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:  # connection closed: wake up anyone waiting, then stop
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            if not raw:
                continue
            msg = json.loads(raw)
            with self._cond:
                if "id" in msg:
                    self._results[msg["id"]] = msg
                else:
                    self._events.append(msg)
                self._cond.notify_all()

    def send(self, method: str, timeout: float | None = None, **params) -> dict:
        """Send one command and return its result; raise CDPError on a protocol error or time-out."""
        with self._cond:
            self._next_id += 1
            msg_id = self._next_id
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while msg_id not in self._results:
                if self._closed:
                    raise CDPError(f"browser connection closed while waiting for {method}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no answer to {method} within {timeout or self.timeout} s")
                self._cond.wait(left)
            msg = self._results.pop(msg_id)
        if "error" in msg:
            raise CDPError(f"{method} failed: {msg['error']}")
        return msg.get("result", {})

    def take_events(self) -> list[dict]:
        """The events received since the last call (and forget them)."""
        with self._cond:
            events, self._events = self._events, []
        return events

    def wait_for_event(self, method: str, timeout: float | None = None) -> dict:
        """Block until an event named ``method`` arrives (kept in the event list too)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            seen = 0
            while True:
                for ev in self._events[seen:]:
                    if ev.get("method") == method:
                        return ev
                seen = len(self._events)
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise CDPError(f"no {method} event within {timeout or self.timeout} s")
                self._cond.wait(left)

    # -- conveniences ----------------------------------------------------------------------
    def evaluate(self, expression: str, *, await_promise: bool = False, timeout: float | None = None):
        """The JSON value of a JavaScript expression in the page; a thrown exception raises CDPError."""
        res = self.send("Runtime.evaluate", timeout=timeout, expression=expression, returnByValue=True,
                        awaitPromise=await_promise)
        if "exceptionDetails" in res:
            details = res["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript error evaluating {expression[:80]!r}: {text}")
        return res["result"].get("value")

    def navigate(self, url: str, timeout: float | None = None) -> None:
        """Open ``url`` and wait for its load event."""
        self.take_events()
        res = self.send("Page.navigate", url=url)
        if res.get("errorText"):
            raise CDPError(f"navigation to {url} failed: {res['errorText']}")
        self.wait_for_event("Page.loadEventFired", timeout=timeout)

    def screenshot(self, path: Path, *, max_height: int = 12000) -> None:
        """Save a PNG of the whole page (at most ``max_height`` CSS pixels tall).

        The viewport is stretched to the page's height for the shot, so that sticky and
        viewport-high parts (the sidebar) are laid out as a reader scrolling would see them.
        """
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(min(max(size["height"], self.height), max_height))
        self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=height,
                  deviceScaleFactor=1, mobile=False)
        try:
            # Two animation frames: the re-layout at the new size has been painted.
            self.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))",
                          await_promise=True)
            shot = self.send("Page.captureScreenshot", format="png")
        finally:
            self.send("Emulation.setDeviceMetricsOverride", width=self.width, height=self.height,
                      deviceScaleFactor=1, mobile=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
