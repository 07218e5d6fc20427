"""Does the protocol client measure what a browser user waits for? The same few interactions of a captain,
taken in turn by one Chromium page (Playwright, Debian's /usr/bin/chromium) and by one wsclient session on
the same server, each timed its own way: Chromium from the click to `data-test-script-state` back at
notRunning (bench/browser.py's recorder), the client from the BackMsg to the run's `script_finished`.

    python -m bench.agree [--rounds 3]"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import morning  # noqa: E402  (also sets the demo clock and a cookie key)
from bench.browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, RECORDER, VIEWPORT, _finished, _login  # noqa: E402
from bench.wsclient import Session  # noqa: E402

STEPS = ("nav_testing", "view_mark", "mark", "undo", "nav_overview")


async def _browser_round(page, rid: str) -> dict[str, float | None]:
    targets = {
        "nav_testing": page.locator("[data-testid='stSidebarNav'] a").filter(has_text="核酸检测"),
        "view_mark": page.locator("[data-testid='stRadio'] label").filter(has_text="登记结果"),
        "mark": page.locator(f".st-key-ts_tap_{rid}_tested button"),
        "undo": page.locator(f".st-key-ts_tap_{rid}_pending button"),
        "nav_overview": page.locator("[data-testid='stSidebarNav'] a").filter(has_text="总览"),
    }
    out = {}
    for step in STEPS:
        target = targets[step].first
        await target.wait_for(state="visible", timeout=30_000)
        t0 = await page.evaluate("Date.now()")
        await target.click(timeout=30_000)
        out[step] = await _finished(page, t0, timeout=30)
        await asyncio.sleep(0.5)
    return out


async def _client_round(s: Session, rid: str) -> dict[str, float]:
    out = {"nav_testing": await s.open_page("核酸检测")}
    await asyncio.sleep(0.5)
    out["view_mark"] = await s.select("视图", "登记结果")
    await asyncio.sleep(0.5)
    out["mark"] = await s.click(key=f"ts_tap_{rid}_tested")
    await asyncio.sleep(0.5)
    out["undo"] = await s.click(key=f"ts_tap_{rid}_pending")
    await asyncio.sleep(0.5)
    out["nav_overview"] = await s.open_page("总览")
    await asyncio.sleep(0.5)
    return out


async def _compare(url: str, rounds: int) -> dict:
    from playwright.async_api import async_playwright

    s = Session(url, "/", query="lang=zh")
    await s.connect()
    await s.login("captain01", PASSWORD)
    await s.open_page("核酸检测")
    await s.select("视图", "登记结果")
    rid = next(b for b in s.find_all("button") if b.key.endswith("_tested") and not b.proto.disabled).key.split("_")[2]
    await s.open_page("总览")
    browser_times: dict[str, list] = {k: [] for k in STEPS}
    client_times: dict[str, list] = {k: [] for k in STEPS}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")
            page = await context.new_page()
            await page.add_init_script(RECORDER)
            await _login(page, url, "captain01")
            for _ in range(rounds):  # in turn, so the machine's noise falls on both alike
                for k, v in (await _browser_round(page, rid)).items():
                    browser_times[k].append(v)
                for k, v in (await _client_round(s, rid)).items():
                    client_times[k].append(v)
        finally:
            await browser.close()
            await s.close()

    def med(values):
        done = [v for v in values if v is not None]
        return round(statistics.median(done), 3) if done else None

    rows = [{"step": k, "chromium_s": med(browser_times[k]), "client_s": med(client_times[k]), "n": rounds} for k in STEPS]
    both = [(r["chromium_s"], r["client_s"]) for r in rows if r["chromium_s"] and r["client_s"]]
    return {
        "agree_steps": rows,
        "agree_chromium_median_s": round(statistics.median(b for b, _ in both), 3) if both else None,
        "agree_client_median_s": round(statistics.median(c for _, c in both), 3) if both else None,
        "agree_timeouts": sum(1 for v in sum(browser_times.values(), []) if v is None),
    }


def run(db: str | None = None, rounds: int = 3, work: Path | None = None) -> dict:
    """A server of its own on a demo copy (DuckDB), unpinned: one Chromium and one client take turns."""
    from tests.support.server import Server

    work = work or ROOT / "bench" / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    server = Server(morning.fresh_database(work / "agree.duckdb", db))
    t0 = time.monotonic()
    try:
        out = asyncio.run(_compare(server.url, rounds))
    finally:
        server.stop()
    out["agree_seconds"] = round(time.monotonic() - t0, 1)
    out["agree_note"] = (
        "one Chromium page and one protocol-client session, the same captain's interactions taken in turn on one "
        f"server over the scale-1 demo; medians of {rounds} rounds; machine load {[round(x, 1) for x in os.getloadavg()]}"
    )
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    print(json.dumps(run(rounds=ap.parse_args().rounds), ensure_ascii=False, indent=1))
