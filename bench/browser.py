"""Concurrent Chromium sessions against one `streamlit run` server (Playwright, asyncio).

All sessions log in first (a few at a time), each as a different captain; then, for the measured
period, each moves between its pages and presses the work buttons it finds there (deliver a
medicine order, mark a household tested), pausing 2-6 s between taps like a person reading.
Latency is measured inside the page: from the click to the moment the app's
`data-test-script-state` attribute next turns `notRunning` (the rerun finished)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import time
from pathlib import Path

from qinyuan import i18n
from tests.support.server import Server

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-renderer-backgrounding",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
]
PASSWORD = "qinyuan2022"
TIMEOUT_S = 30.0
VIEWPORT = {"width": 1280, "height": 800}
# work buttons a captain presses: deliver a medicine order, mark a resident tested (keys of the catalogues)
ACTION_KEYS = {"medicine.step.delivered", "medicine.view.queue", "testing.view.mark", "testing.mark_household_tested"}

RECORDER = """
(() => {
  window.__qy = [];
  // wall-clock times, so a click that reloads the whole page is still timed from the click
  const note = (el) => window.__qy.push([el.getAttribute('data-test-script-state'), Date.now()]);
  const obs = new MutationObserver((muts) => { for (const m of muts) note(m.target); });
  const start = () => obs.observe(document.documentElement, {attributes: true, subtree: true,
                                                              attributeFilter: ['data-test-script-state']});
  if (document.documentElement) start(); else document.addEventListener('DOMContentLoaded', start);
})();
"""
FINISHED_AFTER = "t0 => (window.__qy || []).some(e => e[0] === 'notRunning' && e[1] > t0)"
ELAPSED = "t0 => { const e = (window.__qy || []).find(e => e[0] === 'notRunning' && e[1] > t0); return e ? e[1] - t0 : null; }"


def action_labels() -> list[str]:
    """Work-button labels in Chinese: deliver a medicine order, mark a resident tested/sampled."""
    labels = []
    for key, text in i18n.catalogue("zh").items():
        if key in ACTION_KEYS:
            labels.append(text)
    return sorted(set(labels))


async def _finished(page, t0: float, timeout: float) -> float | None:
    """Seconds from t0 (wall clock, ms) to the first finished rerun after it, or None after timeout.
    A click that reloads the page (the old document is gone) is followed into the new one."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            await page.wait_for_function(FINISHED_AFTER, arg=t0, timeout=left * 1000, polling=50)
            elapsed = await page.evaluate(ELAPSED, t0)
            if elapsed is not None:
                return elapsed / 1000
        except PlaywrightTimeout:
            return None
        except Exception:  # noqa: BLE001 - the page navigated while we waited: wait in the new document
            await asyncio.sleep(0.1)
    return None


async def _login(page, url: str, username: str) -> None:
    await page.goto(f"{url}/?lang=zh", timeout=90_000)
    await page.get_by_label("用户名").fill(username, timeout=90_000)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_label("用户名").wait_for(state="detached", timeout=90_000)
    await page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=90_000)


async def _open(browser, url: str, username: str, out: dict, gate: asyncio.Semaphore):
    """A context logged in as username (logins limited to a few at a time), or None if it failed."""
    async with gate:
        context = await browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        page = await context.new_page()
        await page.add_init_script(RECORDER)
        try:
            await _login(page, url, username)
        except Exception as exc:  # noqa: BLE001
            out["login_failures"].append(f"{username}: {type(exc).__name__}: {str(exc)[:160]}")
            await context.close()
            return None
        out["contexts"].append(context)
        return page


async def _interact(page, deadline: float, labels: list[str], out: dict, seed: int, think: tuple[float, float]) -> None:
    rng = random.Random(seed)
    nav = page.locator("[data-testid='stSidebarNav'] a:not([aria-current='page'])")  # the shown page would not rerun
    await asyncio.sleep(rng.uniform(*think))  # sessions do not all click at the same instant
    while time.monotonic() < deadline:
        kind = "nav"
        target = None
        label = ""
        if labels and rng.random() < 0.5:
            for label in rng.sample(labels, len(labels)):
                candidates = page.locator(
                    "[data-testid='stMain'] button:not([role='tab']):not([aria-checked='true']), "
                    "[data-testid='stMain'] [data-testid='stRadio'] label"
                ).filter(has_text=label)
                count = await candidates.count()
                if count:
                    target = candidates.nth(rng.randrange(count))
                    radio = target.locator("input[type='radio']")
                    if await radio.count() and await radio.first.is_checked():
                        target = None  # the view already shown: clicking it would not rerun
                        continue
                    kind = "action"
                    break
        if target is None:
            count = await nav.count()
            if not count:
                await asyncio.sleep(0.5)
                continue
            target = nav.nth(rng.randrange(count))
            label = await target.get_attribute("href") or ""
        try:
            if not await target.is_visible() or not await target.is_enabled():
                await asyncio.sleep(0.2)
                continue
            origin = await page.evaluate("performance.timeOrigin")
            t0 = await page.evaluate("Date.now()")
            await target.click(timeout=10_000)
        except Exception:  # noqa: BLE001 - the element went away under us: pick again
            await asyncio.sleep(0.2)
            continue
        elapsed = await _finished(page, t0, timeout=TIMEOUT_S)
        try:
            if await page.evaluate("performance.timeOrigin") != origin:
                out["reloads"] += 1  # the click loaded the page afresh (new session, cookie login) instead of a rerun
        except Exception:  # noqa: BLE001
            pass
        if elapsed is None:
            out["timeouts"] += 1
            if len(out["timeout_samples"]) < 5:
                state = await page.evaluate("(window.__qy || []).slice(-3)")
                out["timeout_samples"].append(f"{kind} {label!r} on {page.url.split('/')[-1][:40]} last states {state}")
        else:
            out["latencies"].append(elapsed)
            out["kinds"][kind] = out["kinds"].get(kind, 0) + 1
        await asyncio.sleep(rng.uniform(*think))  # a person reads before the next tap


async def _run(url: str, sessions: int, seconds: float, server: Server, think: tuple[float, float]) -> dict:
    from playwright.async_api import async_playwright

    labels = action_labels()
    out = {"latencies": [], "timeouts": 0, "timeout_samples": [], "reloads": 0, "kinds": {}, "login_failures": [], "contexts": []}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            gate = asyncio.Semaphore(3)
            first = await _open(browser, url, "captain01", out, gate)
            if first is not None:  # warm the server's caches the way one user does
                await _interact(first, time.monotonic() + 10, labels, out, 1, (0.5, 1.0))
            base = server.rss_mb()
            out["latencies"].clear()
            out["kinds"].clear()
            out["timeouts"] = 0
            out["reloads"] = 0
            out["timeout_samples"].clear()
            t0 = time.monotonic()
            others = await asyncio.gather(*[_open(browser, url, f"captain{n:02d}", out, gate) for n in range(2, sessions + 1)])
            login_s = time.monotonic() - t0
            logged_in = server.rss_mb()
            pages = [pg for pg in [first, *others] if pg is not None]
            out["measured_from"] = time.time()
            deadline = time.monotonic() + seconds
            peak = max(base, logged_in)
            work = [asyncio.create_task(_interact(pg, deadline, labels, out, n, think)) for n, pg in enumerate(pages)]
            while not all(t.done() for t in work):
                peak = max(peak, server.rss_mb())
                await asyncio.sleep(2)
            await asyncio.gather(*work, return_exceptions=True)
            after = server.rss_mb()
            for context in out["contexts"]:
                await context.close()
        finally:
            await browser.close()
    lat = sorted(out["latencies"])
    counted = sorted(lat + [TIMEOUT_S] * out["timeouts"])  # a timed-out click counts as the full wait
    p95 = counted[min(len(counted) - 1, int(0.95 * len(counted)))] if counted else None
    extra = max(1, len(pages) - 1)
    return {
        "sessions": len(pages),
        "sessions_requested": sessions,
        "session_seconds": seconds,
        "session_viewport": f"{VIEWPORT['width']}×{VIEWPORT['height']}",
        "session_think_s": list(think),
        "session_login_s": round(login_s, 1),
        "interactions": len(lat),
        "interaction_kinds": out["kinds"],
        "interaction_timeouts": out["timeouts"],
        "interaction_timeout_samples": out["timeout_samples"],
        "interaction_page_reloads": out["reloads"],
        "median_interaction_s": round(statistics.median(lat), 3) if lat else None,
        "p95_interaction_s": round(p95, 3) if p95 is not None else None,
        "max_interaction_s": round(lat[-1], 3) if lat else None,
        "rss_base_mb": round(base, 1),
        "rss_logged_in_mb": round(logged_in, 1),
        "rss_all_mb": round(after, 1),
        "rss_peak_mb": round(peak, 1),
        "rss_per_session_mb": round((max(after, logged_in) - base) / extra, 2),
        "login_failures": len(out["login_failures"]),
        "login_failure_samples": out["login_failures"][:3],
        "action_labels": labels,
        "_measured_from": out.get("measured_from"),
    }


def _server_runs(run_log: Path, since: float | None) -> dict:
    """The server's own script-run times during the measured period (QINYUAN_RUN_LOG): what the
    server does per click, apart from the browsers' rendering on the same cores."""
    if not run_log.exists():
        return {}
    runs = sorted(
        float(seconds)
        for ts, _role, seconds in (line.split("\t") for line in run_log.read_text().splitlines())
        if since is None or float(ts) >= since
    )
    if not runs:
        return {}
    return {
        "server_runs": len(runs),
        "server_run_median_s": round(statistics.median(runs), 3),
        "server_run_p95_s": round(runs[min(len(runs) - 1, int(0.95 * len(runs)))], 3),
    }


def seed_work(db_path: Path, captains: int, per_unit: int = 12) -> int:
    """Set-up, not measured: orders waiting at the gate-disinfected step in each captain's unit, so every
    captain has deliveries to press during the run (the demo day has few per unit)."""
    from qinyuan.db import Database

    db = Database.open(str(db_path))
    cur = db.con.cursor()
    try:
        cur.begin()
        added = cur.execute(
            """INSERT INTO medicine_orders (id, household_id, items, channel, urgency, status, placed_by, created_at,
                                            updated_at, updated_by)
               SELECT nextval('medicine_seq'), id, '["bench 药品 ×1盒"]', 'phone', 'normal', 'disinfected', 'bench',
                      ?, ?, 'bench'
               FROM (SELECT id, row_number() OVER (PARTITION BY unit_id ORDER BY id) AS n FROM households
                     WHERE unit_id BETWEEN 1 AND ?) WHERE n <= ?""",
            [db.now(), db.now(), captains, per_unit],
        ).fetchall()
        cur.commit()
    finally:
        cur.close()
        db.close()
    return int(added[0][0])


def run_sessions(
    db_path: Path, sessions: int = 30, seconds: float = 90, think: tuple[float, float] = (2.0, 6.0), pin: bool = False
) -> dict:
    """pin: the server gets CPU 0 to itself and the browsers (and this process) the others, as if the
    phones were other machines; without it everything shares every core."""
    seeded = seed_work(db_path, sessions)
    run_log = Path(db_path).with_suffix(".runs.tsv")
    run_log.unlink(missing_ok=True)
    cpus = sorted(os.sched_getaffinity(0))
    pin = pin and len(cpus) >= 2
    server = Server(db_path, env={"QINYUAN_RUN_LOG": str(run_log)}, cpus={cpus[0]} if pin else None)
    try:
        if pin:
            os.sched_setaffinity(0, set(cpus[1:]))  # Chromium and the Playwright driver inherit this
        result = asyncio.run(_run(server.url, sessions, seconds, server, think))
    finally:
        if pin:
            os.sched_setaffinity(0, set(cpus))
        server.stop()
    result["session_seeded_orders"] = seeded
    result.update(_server_runs(run_log, result.pop("_measured_from", None)))
    if pin:
        result["session_note"] = (
            f"The server ran alone on CPU {cpus[0]}; the {sessions} Chromium renderers and the "
            f"bench shared the other {len(cpus) - 1}."
        )
    else:
        result["session_note"] = (
            f"Browser, server and bench share {len(cpus)} CPU cores, so the latency includes "
            f"CPU contention with {sessions} Chromium renderers."
        )
    return result


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--sessions", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--pin", action="store_true", help="the server alone on one CPU, the browsers on the others")
    a = ap.parse_args()
    print(json.dumps(run_sessions(Path(a.db), a.sessions, a.seconds, pin=a.pin), ensure_ascii=False, indent=1, default=str))
