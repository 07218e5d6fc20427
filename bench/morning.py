"""Scenario "testing morning": the load that matters, from protocol clients (bench/wsclient.py), not browsers.

Captains mark residents on the testing page (view 登记结果: pick a room, tap 已检测 per resident, now and then
undo a tap or open another page); households open their door page from the card's link, reload it and now and
then ask for home sampling, while the page's own status block refreshes every 30 s; the committee keeps the
overview open and the clinic its emergencies board (both refresh on their own). Every person thinks 5-15 s
between taps. Sessions are added in steps until the P95 of the interactions passes 1 s.

Measured per step: P50/P95 per interaction kind (sending to the run's `script_finished`), the server's own
script runs (QINYUAN_RUN_LOG), server CPU per run and per interaction, server RSS, the load client's own CPU.
Before the ramp, idle sessions (page open, no taps) give the RSS per idle session.

    python -m bench.morning --quick                   # a minute or two, short think times
    python -m bench.morning --db data/x.duckdb        # a server of our own on a copy of that file (DuckDB)
    python -m bench.morning --url http://127.0.0.1:8500 --db postgresql://...   # a running cluster

With --url nothing is started: the app (one process or replicas behind a balancer) is measured as it runs;
--db is then only used to issue the door links (as `python -m qinyuan door-links` does) and --pids names the
server processes to watch (CPU, RSS)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("QINYUAN_NOW", "2022-01-10T09:00:00+08:00")  # the demo's testing morning
os.environ.setdefault("QINYUAN_COOKIE_KEY", secrets.token_hex(32))  # per run: the repository holds no usable key

from bench.wsclient import NotFound, Session  # noqa: E402

PASSWORD = "qinyuan2022"
TIMEOUT_S = 30.0  # an interaction still waiting after this counts as this long
TARGET_P95_S = 1.0
MIX = {"household": 0.6, "captain": 0.3, "committee": 0.05, "medic": 0.05}
BACKGROUND = {"auto"}  # fragment refreshes nobody waits for: reported, not in the headline P95


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


@dataclass
class Record:
    at: float
    kind: str
    seconds: float
    ok: bool = True
    queued: float | None = None  # of which waiting for the run to start (send -> its new_session)


@dataclass
class Load:
    url: str
    think: tuple[float, float]
    cookies: dict[str, dict[str, str]]
    tokens: list[str]
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    runs_caused: int = 0  # interactions + fragment auto-reruns: every script run the clients asked for
    captains: int = 24  # captain accounts logged in; sessions beyond share them (a team's phones)
    inflight: dict[int, tuple[str, float]] = field(default_factory=dict)  # interactions still waiting: kind, start
    page_load: bool = False  # GET the page before the websocket (a balancer's sticky cookie comes with it)

    def note(self, kind: str, seconds: float, ok: bool = True, queued: float | None = None) -> None:
        self.records.append(Record(time.time(), kind, seconds, ok, queued))
        self.runs_caused += 1

    async def timed(self, kind: str, action, session: Session | None = None) -> None:
        token = object()
        self.inflight[id(token)] = (kind, time.time())
        try:
            self.note(kind, await action, queued=session.last_queued if session else None)
        except TimeoutError:
            self.note(kind, TIMEOUT_S, ok=False)
        except NotFound as exc:
            self.errors.append(f"{kind}: {exc}"[:200])
        except Exception as exc:  # noqa: BLE001 - a session that breaks is counted, the others go on
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:200])
            self.note(kind, TIMEOUT_S, ok=False)
        finally:
            self.inflight.pop(id(token), None)

    def session(self, path: str, query: str = "", cookies=None) -> Session:
        def auto(seconds: float) -> None:
            self.records.append(Record(time.time(), "auto", seconds))
            self.runs_caused += 1

        s = Session(self.url, path, query=query, cookies=cookies, timeout=TIMEOUT_S, on_auto=auto, page_load=self.page_load)
        self.sessions.append(s)
        return s

    async def pause(self, rng: random.Random) -> bool:
        """Think; False when the run is over."""
        try:
            await asyncio.wait_for(self.stop.wait(), rng.uniform(*self.think))
            return False
        except TimeoutError:
            return True


# -- the people ------------------------------------------------------------------------------------------
async def captain(load: Load, n: int, rng: random.Random, idle: asyncio.Event) -> None:
    account = f"captain{n % load.captains + 1:02d}"
    s = load.session("/testing", "lang=zh", load.cookies[account])
    await load.timed("open", s.connect(), s)
    await idle.wait()
    if not await load.pause(rng):
        return
    await load.timed("view", s.select("视图", "登记结果"), s)
    while await load.pause(rng):
        buttons = [b for b in s.find_all("button") if b.key.startswith("ts_tap_") and not b.proto.disabled]
        tested = [b for b in buttons if b.key.endswith("_tested")]
        undo = [b for b in buttons if b.key.endswith("_pending")]
        roll = rng.random()
        if roll < 0.08:
            await load.timed("nav", s.open_page(rng.choice(["总览", "送药上门"])), s)
            if await load.pause(rng):
                await load.timed("nav", s.open_page("核酸检测"), s)
                await load.timed("view", s.select("视图", "登记结果"), s)
        elif roll < 0.25:
            rooms = s.find_all("selectbox", "房号")
            if rooms and len(rooms[0].proto.options) > 1:
                await load.timed("room", s.select("房号", rng.choice(list(rooms[0].proto.options))), s)
        elif tested and (roll < 0.8 or not undo):
            await load.timed("mark", s.click(key=rng.choice(tested).key), s)
        elif undo:
            await load.timed("undo", s.click(key=rng.choice(undo).key), s)
        elif s.find_all("checkbox", "只看未落实的户"):
            await load.timed("toggle", s.check("只看未落实的户", False), s)
        else:
            await load.timed("open", s.reload(), s)
            await load.timed("view", s.select("视图", "登记结果"), s)


async def household(load: Load, n: int, rng: random.Random, idle: asyncio.Event) -> None:
    token = load.tokens[n % len(load.tokens)]
    s = load.session("/door", f"k={token}")
    await load.timed("door_open", s.connect(), s)
    await idle.wait()
    while await load.pause(rng):
        asks = [b for b in s.find_all("button") if b.key.startswith("door_home_sampling_")]
        if asks and rng.random() < 0.15:
            await load.timed("door_ask", s.click(key=rng.choice(asks).key), s)
        else:
            await load.timed("door_reload", s.reload(), s)


async def staff(load: Load, rng: random.Random, idle: asyncio.Event, account: str, path: str, home: str, others) -> None:
    s = load.session(path, "lang=zh", load.cookies[account])
    await load.timed("open", s.connect(), s)
    await idle.wait()
    while await load.pause(rng):
        if rng.random() < 0.5:
            await load.timed("nav", s.open_page(rng.choice(others)), s)
            if await load.pause(rng):
                await load.timed("nav", s.open_page(home), s)
        else:
            await load.timed("rerun", s.rerun(), s)


def person(load: Load, n: int, rng: random.Random, idle: asyncio.Event):
    roll, edge = rng.random(), 0.0
    role = "household"
    for role, share in MIX.items():  # noqa: B007 - the role the roll landed on is used after the loop
        edge += share
        if roll < edge:
            break
    if role == "household":
        return household(load, n, rng, idle)
    if role == "captain":
        return captain(load, n, rng, idle)
    if role == "committee":
        return staff(load, rng, idle, "committee", "/", "总览", ["核酸检测", "就医急诊"])
    return staff(load, rng, idle, "medic01", "/emergencies", "就医急诊", ["核酸检测", "送药上门"])


# -- set-up -------------------------------------------------------------------------------------------
def prepare(db_url: str, units: int) -> list[str]:
    """Door links for the households of the first `units` units (what `python -m qinyuan door-links` prints),
    and a per-client hourly limit that lets every household of the test share one loopback address."""
    from qinyuan import door
    from qinyuan.access import SYSTEM
    from qinyuan.db import Database

    db = Database.open(db_url)
    try:

        def limit(tx) -> None:
            tx.set_setting("door_client_per_hour", "1000000")
            tx.audit("settings.update", "setting", "door_client_per_hour", None, "1000000")

        db.write(SYSTEM, limit)
        ids = [r[0] for r in db.rows("SELECT id FROM units ORDER BY id LIMIT ?", [units])]
        return [row["token"] for uid in ids for row in door.issue_unit(db, SYSTEM, uid)]
    finally:
        db.close()


async def logins(url: str, accounts: list[str], page_load: bool = False) -> dict[str, dict[str, str]]:
    """One form login per account (the morning's phones logged in earlier): its cookie serves every session
    of that account, as a phone reopening the app does."""
    gate = asyncio.Semaphore(4)

    async def one(account: str):
        async with gate:
            s = Session(url, "/", query="lang=zh", timeout=60, page_load=page_load)
            try:
                await s.connect()
                await s.login(account, PASSWORD)
                return account, {k: v for k, v in s.cookies.items() if k == "qinyuan_auth"}  # not the balancer's
            finally:
                await s.close()

    return dict(await asyncio.gather(*(one(a) for a in accounts)))


# -- the server's side ------------------------------------------------------------------------------------
class Watch:
    """CPU and RSS of the server processes, and their own script runs (QINYUAN_RUN_LOG)."""

    def __init__(self, pids: list[int], run_log: Path | None):
        self.procs = [psutil.Process(p) for p in pids]
        self.run_log = run_log

    def _all(self):
        out = []
        for p in self.procs:
            with contextlib.suppress(psutil.Error):
                out += [p, *p.children(recursive=True)]
        return out

    def cpu(self) -> float:
        total = 0.0
        for p in self._all():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def rss_mb(self) -> float:
        total = 0
        for p in self._all():
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        return total / 2**20

    def runs(self, since: float, until: float) -> list[float]:
        if not self.run_log or not self.run_log.exists():
            return []
        out = []
        for line in self.run_log.read_text().splitlines():
            ts, _role, seconds = line.split("\t")
            if since <= float(ts) < until:
                out.append(float(seconds))
        return out


def step_figures(load: Load, watch: Watch, since: float, until: float, cpu: float, runs_caused: int, client_cpu: float) -> dict:
    window = [r for r in load.records if since <= r.at < until]
    waiting = [until - start for kind, start in load.inflight.values() if kind not in BACKGROUND and start < until]
    felt = [r.seconds for r in window if r.kind not in BACKGROUND] + waiting  # still waiting: at least this long
    queued = [r.queued for r in window if r.kind not in BACKGROUND and r.queued is not None]
    kinds: dict[str, list[float]] = {}
    for r in window:
        kinds.setdefault(r.kind, []).append(r.seconds)
    server = watch.runs(since, until)
    seconds = until - since
    return {
        "interactions": len(felt),
        "per_s": round(len(felt) / seconds, 1),
        "p50_s": pct(felt, 0.5),
        "p95_s": pct(felt, 0.95),
        "timeouts": sum(1 for r in window if not r.ok),
        "waiting_at_end": len(waiting),
        "queued_p50_s": pct(queued, 0.5),
        "queued_p95_s": pct(queued, 0.95),
        "kinds": {k: {"n": len(v), "p50_s": pct(v, 0.5), "p95_s": pct(v, 0.95)} for k, v in sorted(kinds.items())},
        "server_cpu_s_per_s": round(cpu / seconds, 2),
        "server_cpu_ms_per_run": round(cpu / runs_caused * 1000, 1) if runs_caused else None,
        "server_page_runs": len(server),
        "server_run_p50_s": pct(server, 0.5),
        "server_run_p95_s": pct(server, 0.95),
        "runs_asked": runs_caused,
        "client_cpu_share": round(client_cpu / seconds, 2),
        "rss_mb": round(watch.rss_mb(), 1),
    }


async def ramp(
    url: str,
    watch: Watch,
    steps: list[int],
    hold: float,
    think: tuple[float, float],
    tokens: list[str],
    idle_sessions: int,
    budget: float,
    captains: int = 24,
    page_load: bool = False,
    seed: int = 20220110,
) -> dict:
    me = psutil.Process()
    accounts = [f"captain{n:02d}" for n in range(1, captains + 1)] + ["committee", "medic01"]
    t0 = time.monotonic()
    cookies = await logins(url, accounts, page_load)
    out: dict = {"login_s": round(time.monotonic() - t0, 1), "steps": []}
    load = Load(url, think, cookies, tokens, captains=captains, page_load=page_load)
    idle = asyncio.Event()
    tasks: list[asyncio.Task] = []

    async def add(upto: int, over: float) -> None:
        """New people arrive spread over `over` seconds, not all in the same instant."""
        new = upto - len(tasks)
        while len(tasks) < upto:
            n = len(tasks)
            tasks.append(asyncio.create_task(person(load, n, random.Random(seed + n), idle)))
            await asyncio.sleep(over / max(1, new))

    # idle sessions: pages open, nobody tapping (their fragments refresh on their own); closed again after
    await asyncio.sleep(2)
    base = watch.rss_mb()
    never = asyncio.Event()
    sitting = []
    for n in range(idle_sessions):
        sitting.append(asyncio.create_task(person(load, -1 - n, random.Random(seed - 1 - n), never)))
        await asyncio.sleep(20 / max(1, idle_sessions))
    deadline = time.monotonic() + 180
    while sum(1 for r in load.records if r.kind in ("open", "door_open")) < idle_sessions and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    await asyncio.sleep(5)
    idle_rss = watch.rss_mb()
    out["idle"] = {
        "sessions": idle_sessions,
        "rss_base_mb": round(base, 1),
        "rss_idle_mb": round(idle_rss, 1),
        "rss_per_idle_session_mb": round((idle_rss - base) / max(1, idle_sessions), 2),
        "open_p50_s": pct([r.seconds for r in load.records if r.kind in ("open", "door_open")], 0.5),
    }
    for task in sitting:
        task.cancel()
    await asyncio.gather(*sitting, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in load.sessions), return_exceptions=True)
    load.sessions.clear()
    await asyncio.sleep(3)
    idle.set()
    started = time.monotonic()
    for n in steps:
        if n < len(tasks):
            continue
        warm = min(hold / 3, think[1])
        await add(n, warm / 2)
        await asyncio.sleep(warm / 2)
        since, cpu0, runs0, mine0 = time.time(), watch.cpu(), load.runs_caused, sum(me.cpu_times()[:2])
        await asyncio.sleep(hold - warm)
        until = time.time()
        fig = step_figures(
            load, watch, since, until, watch.cpu() - cpu0, load.runs_caused - runs0, sum(me.cpu_times()[:2]) - mine0
        )
        fig["sessions"] = n
        per_session = fig["runs_asked"] / (until - since) / max(1, n)  # script runs a session asks for, per s
        cost = (fig["server_cpu_ms_per_run"] or 0) / 1000
        fig["runs_per_session_s"] = round(per_session, 3)
        # what one core could carry if CPU were the only limit: 1 / (CPU per run x runs per session per s)
        fig["sessions_per_core_if_cpu_bound"] = round(1 / (cost * per_session)) if cost and per_session else None
        fig["live"] = sum(1 for s in load.sessions if s._ws is not None and not s._closed)
        out["steps"].append(fig)
        print(
            f"[morning] {n:4d} sessions: {fig['interactions']} taps ({fig['per_s']}/s) P50 {fig['p50_s']} s "
            f"P95 {fig['p95_s']} s (waiting to start P95 {fig['queued_p95_s']} s); server CPU {fig['server_cpu_s_per_s']} s/s, {fig['server_cpu_ms_per_run']} ms/run, "
            f"its runs P95 {fig['server_run_p95_s']} s; CPU-bound estimate {fig['sessions_per_core_if_cpu_bound']} "
            f"sessions per core; client CPU {fig['client_cpu_share']}; RSS {fig['rss_mb']} MB",
            flush=True,
        )
        if fig["p95_s"] is None or fig["p95_s"] >= TARGET_P95_S or time.monotonic() - started > budget:
            break
    load.stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in load.sessions), return_exceptions=True)
    held = [s for s in out["steps"] if s["p95_s"] is not None and s["p95_s"] < TARGET_P95_S]
    held = held[: next((i for i, s in enumerate(out["steps"]) if s not in held), len(held))]  # up to the first miss
    out["sessions_held"] = max((s["sessions"] for s in held), default=0)
    out["first_over"] = next((s["sessions"] for s in out["steps"] if s not in held), None)
    out["errors"] = len(load.errors)
    out["error_samples"] = sorted(set(load.errors))[:6]
    return out


def pin_running(pids: list[int]) -> tuple[set[int] | None, str]:
    """Running replicas one per CPU (round robin), the load client on the last CPU; the balancer and the
    database float."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or not pids:
        return None, f"not pinned: everything shares CPUs {cpus}"
    placed = []
    for n, pid in enumerate(pids):
        cpu = cpus[n % len(cpus)]
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, {cpu})
            placed.append(f"server {pid} on CPU {cpu}")
    return {cpus[-1]}, (
        f"{', '.join(placed)}, load client on CPU {cpus[-1]} (sched_setaffinity, as taskset -c); the balancer, "
        "PostgreSQL and the other engineers' work float over both"
    )


def fresh_database(path: Path, source: str | None = None, scale: int = 1) -> Path:
    """A DuckDB file of the bench's own: a copy of `source`, or a fresh demo at `scale`."""
    for leftover in (path, Path(str(path) + ".wal")):
        leftover.unlink(missing_ok=True)
    if source:
        shutil.copy(source, path)
        return path
    from qinyuan import demo
    from qinyuan.db import Database

    built = Database.open(str(path), create=True)
    demo.build(built, scale=scale)
    built.close()
    return path


def pin_cpus(pin: bool) -> tuple[set[int] | None, set[int] | None, str]:
    """The server on one core, the load client on the other (as `taskset -c` does: sched_setaffinity)."""
    cpus = sorted(os.sched_getaffinity(0))
    if not pin or len(cpus) < 2:
        return None, None, f"not pinned: server, load client and everything else share CPUs {cpus}"
    server, client = {cpus[0]}, set(cpus[1:])
    return (
        server,
        client,
        (
            f"server pinned to CPU {cpus[0]}, load client to CPU {','.join(map(str, sorted(client)))} "
            "(sched_setaffinity, as taskset -c); the machine's other work (other engineers' tests) still runs on both"
        ),
    )


def run(
    db: str | None = None,
    url: str | None = None,
    scale: int = 1,
    steps: list[int] | None = None,
    hold: float = 45,
    think: tuple[float, float] = (5.0, 15.0),
    idle_sessions: int = 100,
    units: int = 51,
    pin: bool = True,
    pids: list[int] | None = None,
    budget: float = 420,
    work: Path | None = None,
    server_env: dict[str, str] | None = None,
    captains: int = 24,
) -> dict:
    steps = steps or [25, 50, 75, 100, 150, 200, 300, 400, 500]
    work = work or ROOT / "bench" / "tmp"
    work.mkdir(parents=True, exist_ok=True)
    server = None
    server_cpus, client_cpus, how = pin_cpus(pin and url is None)
    if url is None:
        from tests.support.server import Server

        path = fresh_database(work / "morning.duckdb", db, scale)
        tokens = prepare(str(path), units)
        run_log = work / "morning.runs.tsv"
        run_log.unlink(missing_ok=True)
        server = Server(path, env={"QINYUAN_RUN_LOG": str(run_log), **(server_env or {})}, cpus=server_cpus)
        watch = Watch([server.proc.pid], run_log)
        url = server.url
        where = f"one `streamlit run` process on a copy of the scale-{scale} DuckDB file"
    else:
        tokens = prepare(db, units) if db else []
        watch = Watch(pids or [], None)
        where = f"the app at {url} ({len(pids or [])} server processes watched)"
        if pin:
            client_cpus, how = pin_running(pids or [])
    original = os.sched_getaffinity(0)
    before = {pid: os.sched_getaffinity(pid) for pid in (pids or []) if psutil.pid_exists(pid)}
    try:
        if client_cpus:
            os.sched_setaffinity(0, client_cpus)
        result = asyncio.run(ramp(url, watch, steps, hold, think, tokens, idle_sessions, budget, captains, server is None))
    finally:
        os.sched_setaffinity(0, original)
        for pid, cpus in before.items():  # running servers get their own affinity back
            with contextlib.suppress(OSError):
                os.sched_setaffinity(pid, cpus)
        if server is not None:
            server.stop()
    result.update(
        {
            "where": where,
            "cores": how,
            "think_s": list(think),
            "hold_s": hold,
            "steps_planned": steps,
            "mix": MIX,
            "door_links": len(tokens),
            "load_average": [round(x, 1) for x in os.getloadavg()],
            "server_env": server_env or {},
        }
    )
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.morning", description=__doc__.split("\n\n")[0])
    p.add_argument("--db", help="DuckDB file to copy (default: a fresh demo at --scale); with --url: the database URL")
    p.add_argument("--url", help="measure a running app (e.g. the balancer http://127.0.0.1:8500) instead of starting one")
    p.add_argument("--pids", default="", help="with --url: server process ids to watch (comma-separated)")
    p.add_argument("--scale", type=int, default=1)
    p.add_argument("--steps", default="25,50,75,100,150,200,300,400,500")
    p.add_argument("--hold", type=float, default=45, help="seconds per step")
    p.add_argument("--think", default="5,15", help="think time range in seconds")
    p.add_argument("--idle", type=int, default=100, help="idle sessions opened first (RSS per idle session)")
    p.add_argument("--units", type=int, default=51, help="units whose households get door links")
    p.add_argument("--no-pin", action="store_true")
    p.add_argument("--quick", action="store_true", help="short steps and think times, to iterate")
    p.add_argument("--out", help="write the figures as JSON here")
    p.add_argument(
        "--server-env", default="", help="what-if: NAME=value,... for the server (e.g. STREAMLIT_RUNNER_POST_SCRIPT_GC=false)"
    )
    a = p.parse_args(argv)
    steps, hold, think, idle = [int(x) for x in a.steps.split(",")], a.hold, tuple(float(x) for x in a.think.split(",")), a.idle
    if a.quick:
        steps, hold, think, idle = [10, 20, 40], 20, (1.0, 3.0), 20
    result = run(
        a.db,
        a.url,
        a.scale,
        steps,
        hold,
        think,
        idle,
        a.units,
        not a.no_pin,
        [int(x) for x in a.pids.split(",") if x],
        server_env=dict(kv.split("=", 1) for kv in a.server_env.split(",") if kv),
    )
    text = json.dumps(result, ensure_ascii=False, indent=1)
    if a.out:
        Path(a.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())


# -- for `make bench` (bench/run.py) ------------------------------------------------------------------------
NO_GC = {"STREAMLIT_RUNNER_POST_SCRIPT_GC": "false"}  # what-if: Streamlit's gc.collect(2) after every run, off
AT_TARGET = 300  # sessions the one-process target asks for


def headline(result: dict) -> dict:
    """The figures the targets read: sessions held, the P95 at 300 sessions (or the last step measured)."""
    steps = result.get("steps") or []
    at = next((s for s in steps if s["sessions"] == AT_TARGET), steps[-1] if steps else {})
    held = [s for s in steps if s["sessions"] <= (result.get("sessions_held") or 0)]
    cost = held[-1] if held else steps[0] if steps else {}  # CPU per run where the core was not yet the queue
    return {
        "sessions_held": result.get("sessions_held"),
        "p95_s": at.get("p95_s"),
        "p95_at_sessions": at.get("sessions"),
        "server_cpu_ms_per_run": cost.get("server_cpu_ms_per_run"),
        "sessions_per_core_if_cpu_bound": cost.get("sessions_per_core_if_cpu_bound"),
        "cost_at_sessions": cost.get("sessions"),
    }


def shape(quick: bool) -> dict:
    """The ramp of `make bench` (quick: to iterate)."""
    if quick:
        return {"steps": [10, 20, 40], "hold": 20, "think": (1.0, 3.0), "idle_sessions": 20}
    return {"steps": [25, 50, 75, 100, 150, 200, 300, 400, 500], "hold": 35, "think": (5.0, 15.0), "idle_sessions": 100}


def for_report(db_path: Path, work: Path, quick: bool = False, whatif: bool = True) -> dict:
    kw = shape(quick)
    one = run(str(db_path), budget=240, work=work, **kw)
    top = headline(one)
    out = {
        "morning": one,
        "sessions_held_one_process": one["sessions_held"],
        "p95_interaction_s": top["p95_s"],
        "p95_interaction_at_sessions": top["p95_at_sessions"],
        "server_cpu_ms_per_run": top["server_cpu_ms_per_run"],
        "rss_per_idle_session_mb": one["idle"]["rss_per_idle_session_mb"],
    }
    if whatif:
        out["morning_whatif_no_gc"] = run(str(db_path), budget=150, work=work, server_env=NO_GC, **kw)
    return out


def cluster_figures(folder: Path, balancer: str, quick: bool = False) -> dict:
    """`make cluster`'s replicas on the same PostgreSQL: one replica on its own port (the other idle), then both
    behind the balancer; the ratio of the sessions each held. The folder names the database and the pids.
    Start the cluster with the demo's clock (QINYUAN_NOW=2022-01-10T09:00:00+08:00 make cluster), else today has
    no testing round and the captains find nothing to mark: the mix would not be the morning's."""
    db = (folder / "database_url").read_text().strip()
    replicas = {int(f.stem[3:]): int(f.read_text().strip()) for f in sorted(folder.glob("app*.pid"))}
    port, pid = next(iter(replicas.items()))
    one = run(db, url=f"http://127.0.0.1:{port}", pids=[pid], budget=240, **shape(quick))
    two = run(db, url=balancer, pids=list(replicas.values()), budget=240, **shape(quick))
    out = {"morning_one_replica": one, "morning_cluster": two}
    if one["sessions_held"]:
        out["cluster_sessions_ratio"] = round(two["sessions_held"] / one["sessions_held"], 2)
    return out


def report_lines(r: dict) -> list[str]:
    """The report's section on the testing morning."""
    lines = ["## Testing morning (protocol clients, bench/morning.py)", ""]
    for key, title in (
        ("morning", "One app process"),
        ("morning_whatif_no_gc", "What-if: the same with Streamlit's post-run `gc.collect(2)` off (runner.postScriptGC=false)"),
        ("morning_one_replica", "One replica of `make cluster` (PostgreSQL), on its own port"),
        ("morning_cluster", "Two replicas of `make cluster` behind the balancer"),
    ):
        m = r.get(key)
        if not m:
            continue
        idle = m.get("idle", {})
        lines += [
            f"### {title}",
            "",
            f"- {m['where']}; {m['cores']}; think time {m['think_s'][0]}–{m['think_s'][1]} s; mix {m['mix']}; "
            f"{m['door_links']} door links; logins (one form login per account, its cookie for every session of it) "
            f"{m['login_s']} s; load average at the end {m['load_average']}.",
            f"- idle: {idle.get('sessions')} sessions with their page open and no taps: RSS {idle.get('rss_base_mb')} → "
            f"{idle.get('rss_idle_mb')} MB, **{idle.get('rss_per_idle_session_mb')} MB per idle session**.",
            f"- **sessions held at P95 < 1 s: {m['sessions_held']}** (first step over: {m.get('first_over')}); "
            f"client errors {m['errors']} {m.get('error_samples') or ''}",
            "",
            "| sessions | taps/s | P50 s | P95 s | of which waiting for the run to start P50 / P95 s | timeouts | "
            "server CPU s/s | CPU ms per run | runs per session per s | sessions one core carries if CPU-bound | "
            "server's own runs P50 / P95 s | client CPU | RSS MB | P50 / P95 per kind (n) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for s in m["steps"]:
            kinds = "; ".join(f"{k} {v['p50_s']}/{v['p95_s']} ({v['n']})" for k, v in s["kinds"].items())
            lines.append(
                f"| {s['sessions']} | {s['per_s']} | {s['p50_s']} | {s['p95_s']} | {s['queued_p50_s']} / {s['queued_p95_s']} | "
                f"{s['timeouts']} | "
                f"{s['server_cpu_s_per_s']} | {s['server_cpu_ms_per_run']} | {s.get('runs_per_session_s')} | "
                f"{s.get('sessions_per_core_if_cpu_bound')} | {s['server_run_p50_s']} / "
                f"{s['server_run_p95_s']} | {s['client_cpu_share']} | {s['rss_mb']} | {kinds} |"
            )
        lines.append("")
    if r.get("agree_steps"):
        lines += [
            "### The protocol client beside Chromium",
            "",
            f"- {r.get('agree_note')}. Chromium is timed from the click to `data-test-script-state` back at notRunning, "
            "the client from its BackMsg to the run's `script_finished`.",
            "",
            "| interaction | Chromium median s | protocol client median s |",
            "|---|---|---|",
        ]
        lines += [f"| {x['step']} | {x['chromium_s']} | {x['client_s']} |" for x in r["agree_steps"]]
        lines.append("")
    return lines


def notes(r: dict) -> list[str]:
    """What the morning's numbers say, for the report's notes."""
    m = r.get("morning")
    if not m or not m.get("steps"):
        return []
    out = []
    held, last, top = m["sessions_held"], m["steps"][-1], headline(m)
    what = r.get("morning_whatif_no_gc") or {}
    alt = headline(what) if what.get("steps") else {}
    if held < AT_TARGET:
        out.append(
            f"One process held {held} sessions at P95 < 1 s (target {AT_TARGET}; {m['cores']}; load average "
            f"{m['load_average']}). At {last['sessions']} sessions the P95 was {last['p95_s']} s, of which "
            f"{last['queued_p95_s']} s (P95) waiting for the run to start; the server's own script runs "
            f"(QINYUAN_RUN_LOG) took P50 {last['server_run_p50_s']} / P95 {last['server_run_p95_s']} s and the process "
            f"used {last['server_cpu_s_per_s']} CPU-s per s. A run costs {top['server_cpu_ms_per_run']} ms of server "
            f"CPU (at {top['cost_at_sessions']} sessions, before the queue formed), "
            f"most of it outside our script: Streamlit calls gc.collect(2) after every script run "
            f"(runner.postScriptGC; py-spy on the server: about 60 % of its CPU, the script about 20 %, the event "
            f"loop sending deltas about 12 %). A session asks for {last.get('runs_per_session_s')} runs per s (its "
            f"taps at 5-15 s think time plus its page's own refreshes: door status 30 s, to-do 15 s, emergencies 12 s), "
            f"so one core carries about {top['sessions_per_core_if_cpu_bound']} sessions if CPU were the only limit. "
            + (
                f"With postScriptGC off a run costs {alt.get('server_cpu_ms_per_run')} ms (about "
                f"{alt.get('sessions_per_core_if_cpu_bound')} sessions per core) and the same ramp held "
                f"{what.get('sessions_held')} sessions; past that, at {what['steps'][-1]['sessions']} sessions, its P95 "
                f"{what['steps'][-1]['p95_s']} s was mostly waiting for the run to start ("
                f"{what['steps'][-1]['queued_p95_s']} s P95) with the process at "
                f"{what['steps'][-1]['server_cpu_s_per_s']} CPU-s per s: every session's script thread, the event "
                f"loop that reads taps and sends deltas, and the rest of the machine share one GIL on one core. "
                if alt
                else ""
            )
            + "What would change it: `[runner] postScriptGC = false` in .streamlit/config.toml (Python's own "
            "generational GC still runs; RSS in the what-if shows whether memory grows), fewer runs per session "
            "(the door page's 30 s refresh and a reload are whole script runs: a household refreshing costs as much "
            "as a captain's tap), then replicas (issue 19), one per core. On this machine the server's core is "
            "shared with five engineers' test runs, so the latencies here are upper bounds; the CPU per run is not."
        )
    idle = m.get("idle", {}).get("rss_per_idle_session_mb")
    if idle is not None and idle >= 3:
        out.append(f"Memory per idle session {idle} MB (target < 3 MB).")
    if r.get("agree_chromium_median_s") is not None:
        out.append(
            f"Chromium and the protocol client on the same interactions (in turn, same server): median "
            f"{r['agree_chromium_median_s']} s vs {r['agree_client_median_s']} s. The difference is the browser's "
            f"side (Playwright's click, React drawing the deltas and setting the run state), which a phone spends on "
            f"its own CPU; the server's part is the client's figure."
        )
    if "cluster_sessions_ratio" not in r:
        out.append(
            "Two replicas: not measured in this run; with `make cluster` running, `python -m bench.run --only morning "
            "--cluster .cluster` measures one replica and then both behind the balancer with the same ramp."
        )
    else:
        one, two = r["morning_one_replica"], r["morning_cluster"]
        out.append(
            f"Two replicas held {two['sessions_held']} sessions against {one['sessions_held']} for one replica on the "
            f"same PostgreSQL: ratio {r['cluster_sessions_ratio']} (target 1.7; steps {two['steps_planned']}; "
            f"{two['cores']}). At {two['steps'][-1]['sessions']} sessions two replicas answered with P95 "
            f"{two['steps'][-1]['p95_s']} s and used {two['steps'][-1]['server_cpu_s_per_s']} CPU-s per s between them, "
            f"against one replica's P95 {one['steps'][-1]['p95_s']} s at {one['steps'][-1]['sessions']}: on two "
            f"cores that also carry the load client, PostgreSQL, haproxy and five engineers' tests, the second "
            f"replica cannot get a core of its own, which is what 1.7x needs."
        )
    return out
