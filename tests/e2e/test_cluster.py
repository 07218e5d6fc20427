"""Through `make cluster` (deploy/cluster.py): two app replicas on one PostgreSQL behind haproxy, on free ports in
a folder of its own. A member checks in via the balancer; a committee laptop pinned to the other replica sees it;
the replica holding the member's session is killed and the member checks out on the other one without logging in
again (both replicas share the cookie key and Streamlit's cookieSecret)."""

from __future__ import annotations

import glob
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from deploy import cluster as qycluster
from qinyuan.db import Database
from tests.support.server import free_port

from .conftest import ROOT, login, screenshot, wait_for_app

pytestmark = pytest.mark.e2e
LOGS = ROOT / "test-artifacts" / "cluster"
VISIBLE_WITHIN = 1.0  # seconds from a write shown on one replica to the other replica showing it (issue 19)


@pytest.fixture(scope="module")
def balancer():
    if not shutil.which(qycluster.HAPROXY) or not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.fail("haproxy or postgresql is missing: run `make test` (it installs them)")
    folder = Path(tempfile.mkdtemp(prefix="qy-cluster-"))  # not under pytest's 0700 folders: the postgres user reads it
    ports = [free_port() for _ in range(3)]
    try:
        started = time.monotonic()
        url = qycluster.start(folder, ports[0], ports[1:])
        print(f"cluster started in {time.monotonic() - started:.1f} s")
        yield url, folder, [qycluster.replica_name(p) for p in ports[1:]]
    finally:
        qycluster.stop(folder)
        LOGS.mkdir(parents=True, exist_ok=True)
        for log in folder.glob("*.log"):  # kept for a failure's post-mortem
            shutil.copy(log, LOGS / log.name)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def member_name(balancer):
    db = Database.open((Path(balancer[1]) / "database_url").read_text())
    try:
        return db.scalar("SELECT v.name FROM users u JOIN volunteers v ON v.id = u.volunteer_id WHERE u.username = 'member001'")
    finally:
        db.close()


def replica_of(page: Page) -> str:
    """The replica haproxy pinned this browser to: the value of the sticky cookie it inserted."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies[qycluster.STICKY_COOKIE]


def watch_disconnects(page: Page) -> None:
    """Count the page's losses of its connection (a MutationObserver sees even one shorter than a poll)."""
    page.evaluate("""() => {
        window.__qyDisconnects = 0;
        const app = document.querySelector("[data-testid='stApp']");
        new MutationObserver(() => {
            if (app.getAttribute('data-test-connection-state') !== 'CONNECTED') window.__qyDisconnects++;
        }).observe(app, {attributes: true, attributeFilter: ['data-test-connection-state']});
    }""")


def north_gate(page: Page):
    return page.locator(".qy-card[data-post='gate_north']")


def board(page: Page, url: str):
    """The committee's on-duty-now board, freshly loaded (a new script run on the page's replica)."""
    page.goto(f"{url}/duty?lang=zh")
    wait_for_app(page)
    page.get_by_role("tab", name="现在在岗").click()
    return north_gate(page)


def test_a_session_survives_its_replica_and_writes_reach_the_other(balancer, phone, laptop, member_name):
    url, folder, replicas = balancer
    checked_in = re.compile(f"{member_name}\\s*已签到")

    login(phone, url, "member001", path="/duty")
    first = replica_of(phone)
    other = next(r for r in replicas if r != first)

    # The committee's laptop is pinned to the other replica; its board is read (and cached) before the write.
    laptop.context.add_cookies([{"name": qycluster.STICKY_COOKIE, "value": other, "url": url}])
    login(laptop, url, "committee", path="/duty")
    assert replica_of(laptop) == other
    expect(board(laptop, url)).to_contain_text("到岗 0/2", timeout=20_000)

    phone.get_by_role("button", name="签到", exact=True).click()
    expect(phone.get_by_text("已签到，辛苦了！")).to_be_visible(timeout=20_000)
    written = time.monotonic()
    assert replica_of(phone) == first

    # The other replica's board, loaded again until it shows the write: a script run that began more than
    # VISIBLE_WITHIN after the write must show it (its cached answer from before the write is void by then).
    while True:
        began = time.monotonic() - written
        if checked_in.search(board(laptop, url).inner_text()):
            break
        assert began < VISIBLE_WITHIN, f"a run that began {began:.2f} s after the write still showed the board from before it"
    print(f"write on one replica shown by the other to a run that began {began:.2f} s after it")
    assert replica_of(laptop) == other

    # The replica holding the member's session dies; the page reconnects through the balancer to the other one.
    wait_for_app(phone)
    watch_disconnects(phone)
    killed = time.monotonic()
    qycluster.kill(folder, first, signal.SIGKILL)
    phone.wait_for_function("() => window.__qyDisconnects > 0", timeout=20_000)
    wait_for_app(phone, timeout=60_000)
    expect(phone.get_by_label("用户名")).to_have_count(0)
    phone.get_by_role("button", name="签退").click()
    phone.get_by_role("button", name="确定签退").click()
    expect(phone.get_by_text("已签退，交接已记录。")).to_be_visible(timeout=20_000)
    print(f"member checked out on the other replica {time.monotonic() - killed:.1f} s after the first was killed")
    expect(phone.get_by_label("用户名")).to_have_count(0)
    assert replica_of(phone) == other
    screenshot(phone, "cluster_after_failover_member_phone")
