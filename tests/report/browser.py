"""Open a page in headless Chromium through the DevTools protocol (tornado's websocket client).

Collects console errors, uncaught exceptions, failed loads and every request that is
not ``file:``/``data:`` (the report must work offline), then evaluates a script in the page.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "about:blank",
]


def chromium_or_skip() -> str:
    """The Chromium binary; outside CI a missing browser skips, in CI it fails."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("Chromium is required in CI: apt-get install -y chromium")
    pytest.skip("Chromium not installed (apt-get install -y chromium)")


@dataclass
class PageResult:
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    remote_requests: list[str] = field(default_factory=list)
    value: object = None


async def _inspect(browser: str, url: str, script: str, timeout_s: float) -> PageResult:
    from tornado.websocket import websocket_connect

    result = PageResult()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [browser, f"--user-data-dir={profile}", *FLAGS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            port_file, deadline = Path(profile) / "DevToolsActivePort", time.monotonic() + timeout_s
            while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("Chromium did not start its DevTools endpoint")
                await asyncio.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            local = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an http_proxy
            with local.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                page = next(t for t in json.load(response) if t["type"] == "page")
            socket = await websocket_connect(page["webSocketDebuggerUrl"], max_message_size=256 << 20)
            counter = iter(range(1, 10**6))

            async def call(method: str, **params) -> dict:
                ident = next(counter)
                await socket.write_message(json.dumps({"id": ident, "method": method, "params": params}))
                while True:
                    message = await asyncio.wait_for(socket.read_message(), timeout_s)
                    if message is None:
                        raise RuntimeError("DevTools connection closed")
                    data = json.loads(message)
                    if data.get("id") == ident:
                        if "error" in data:
                            raise RuntimeError(f"{method}: {data['error']}")
                        return data.get("result", {})
                    _event(data, result)

            for domain in ("Runtime", "Log", "Page", "Network"):
                await call(f"{domain}.enable")
            await call("Page.navigate", url=url)
            loaded = False
            while not loaded:
                data = json.loads(await asyncio.wait_for(socket.read_message(), timeout_s))
                loaded = data.get("method") == "Page.loadEventFired"
                _event(data, result)
            evaluated = await call("Runtime.evaluate", expression=script, returnByValue=True, awaitPromise=True)
            if "exceptionDetails" in evaluated:
                raise RuntimeError(f"test script failed: {evaluated['exceptionDetails']}")
            result.value = evaluated["result"].get("value")
            await asyncio.sleep(0.2)  # late console messages
            socket.close()
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
    return result


def _event(data: dict, result: PageResult) -> None:
    method, params = data.get("method"), data.get("params", {})
    if method == "Runtime.exceptionThrown":
        result.errors.append(f"exception: {params['exceptionDetails'].get('text')}")
    elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        result.errors.append(f"console.{params['type']}: {params.get('args')}")
    elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
        result.errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
    elif method == "Network.loadingFailed":
        result.errors.append(f"load failed: {params.get('errorText')}")
    elif method == "Network.requestWillBeSent":
        request_url = params["request"]["url"]
        if not request_url.startswith(("file:", "data:", "about:")):
            result.remote_requests.append(request_url)


def inspect_page(url: str, script: str, *, timeout_s: float = 60.0) -> PageResult:
    """Load ``url`` in headless Chromium, evaluate ``script`` (an expression) once loaded."""
    return asyncio.run(_inspect(chromium_or_skip(), url, script, timeout_s))
