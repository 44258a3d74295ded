"""Screenshot of the running dashboard for the docs: ``tikkun serve`` on a free loopback port,
Debian's Chromium (headless, driven by Playwright) runs the history with a given number of
souls and pauses it after a given year (the page's own "pause after year"), and the page is saved as a PNG.

    python scripts/dashboard_screenshot.py [--souls 20000] [--year 2470] [--out docs/figures/dashboard.png]
                                          [--top 753]

``--top N`` also saves the page's first N pixels beside it (``dashboard-top.png``): the controls
and the first charts, legible at the width of a README.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

WIDTH = 1500  # px: the page's width, wide enough for the charts side by side
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--souls", type=int, default=20_000)
    ap.add_argument("--year", type=int, default=2_470, help="pause after this year (0: run to the end)")
    ap.add_argument("--out", type=Path, default=Path("docs/figures/dashboard.png"))
    ap.add_argument("--top", type=int, default=0, help="also save the page's first TOP pixels as OUT-top.png")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "tikkun", "serve", "--port", str(port)],
                              env=dict(os.environ, NUMBA_NUM_THREADS=os.environ.get("NUMBA_NUM_THREADS", "1")))
    try:
        for _ in range(240):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#tk-year", timeout=60_000)
            box = page.locator(".tk-souls input").first
            box.fill(str(args.souls))
            box.press("Enter")
            if args.year:
                after = page.locator(".tk-pause-after input").first
                after.fill(str(args.year))
                after.press("Enter")
            page.wait_for_timeout(500)
            page.locator(".tk-run button").click()
            year = page.locator("#tk-year")
            t0 = time.monotonic()
            while time.monotonic() - t0 < 1800:
                phase = year.get_attribute("data-phase")
                if phase in ("finished", "failed", "paused"):
                    break
                time.sleep(0.2)
            page.wait_for_timeout(1500)  # the last rows and the souls' picture drawn
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            print(f"{args.out}: {year.inner_text()}")
            if args.top > 0:
                top = args.out.with_name(f"{args.out.stem}-top{args.out.suffix}")
                page.screenshot(path=str(top), clip={"x": 0, "y": 0, "width": WIDTH, "height": args.top})
                print(f"{top}: the page's first {args.top} pixels")
            browser.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
