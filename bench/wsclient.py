"""A headless Streamlit session: the browser's side of `/_stcore/stream`, without a browser.

It speaks the app's own protocol with the protobuf classes shipped in the installed `streamlit` package and
does what the frontend (streamlit/static, App.tsx + WidgetStateManager + ForwardMsgCache) does with them:

- opens the websocket with the subprotocol `streamlit` and the browser's cookies, sends the first
  `rerun_script` with the page name taken from the path (`/testing`) and the query string, as a page load does;
- keeps the element tree from the deltas (`metadata.delta_path`), drops what the finished run did not draw
  (`clearStaleNodes`: by run id, and only inside the run's fragments after a fragment run);
- keeps every widget's value as the frontend does (the value the server drew, or what the user set) and sends
  them all with each rerun; a button press is a one-shot `trigger_value`; widgets in a form wait for the submit;
- caches messages marked `cacheable`, declares their hashes in each rerun (`cached_message_hashes`) and
  answers the server's `ref_hash` references from the cache, with the browser's age-based eviction;
- runs the fragments' `auto_rerun` timers (st.fragment(run_every=...)) like the frontend's setInterval, and
  holds them back while an interaction of the user is waiting, so a fragment's run is never taken for the end
  of the interaction (which needs a `script_finished` of a run that started after the send);
- leaves keepalive to the websocket layer: the server (uvicorn) pings, `websockets` answers while the reader runs;
  the app heartbeat BackMsg is only sent by a host page that embeds the app, so it is not sent;
- answers the cookie manager component of streamlit-authenticator (set/delete a cookie, then its value
  `true`, which reruns the script as in the browser).

Every interaction returns its latency: from sending the BackMsg to the `script_finished` of the run it caused
(FINISHED_SUCCESSFULLY for a whole-page run; FINISHED_FRAGMENT_RUN_SUCCESSFULLY for a widget inside a
fragment), the moment the browser's `data-test-script-state` turns back to notRunning.

    async with Session("http://127.0.0.1:8501", "/") as s:
        await s.login("captain01", "qinyuan2022")
        await s.open_page("testing")
        await s.click("已检")
        assert "已检" in s.text()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ContextInfo
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

COOKIE_COMPONENT = "extra_streamlit_components.CookieManager.cookie_manager"
# element kinds whose text a person reads (markdown covers captions, st.write, labels drawn as markdown)
TEXT_FIELDS = {
    "markdown": "body",
    "alert": "body",
    "heading": "body",
    "text": "body",
    "code": "code_text",
    "exception": "message",
}
FULL, FRAGMENT = ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY
ENDS = {FULL, FRAGMENT, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}


class NotFound(LookupError):
    pass


@dataclass
class Node:
    path: tuple[int, ...]
    kind: str  # element type (button, markdown, ...) or "block"
    proto: object  # the Element's oneof value, or the Block
    run_id: str
    fragment_id: str
    script_hash: str

    @property
    def label(self) -> str:
        return getattr(self.proto, "label", "") or ""

    @property
    def id(self) -> str:
        return getattr(self.proto, "id", "") or ""

    @property
    def key(self) -> str:
        """The author's key=, which Streamlit keeps as the id's last part ($$ID-<hash>-<key>)."""
        parts = self.id.split("-", 2)
        key = parts[2] if self.id.startswith("$$ID-") and len(parts) == 3 else ""
        return "" if key == "None" else key

    def text(self) -> str:
        name = TEXT_FIELDS.get(self.kind)
        if name:
            return str(getattr(self.proto, name, ""))
        if self.kind == "metric":
            return f"{self.proto.label} {self.proto.body}"
        return self.label


@dataclass
class _Wait:
    sent: float
    fragment_id: str  # "" = a whole-page run ends the interaction
    started: set[str] = field(default_factory=set)  # runs begun after the send
    done: asyncio.Future | None = None
    queued: float | None = None  # seconds from the send to the first run's start (its new_session)


class Session:
    """One browser tab. `url` is the server (or the balancer); `path` the page address (`/`, `/testing`, `/door`)."""

    def __init__(
        self,
        url: str,
        path: str = "/",
        query: str = "",
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        cache: bool = True,
        timeout: float = 60.0,
        timezone: str = "Asia/Shanghai",
        locale: str = "zh-CN",
        on_auto: Callable[[float], None] | None = None,
        page_load: bool = False,
    ):
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.ws_url = ("wss" if parts.scheme == "https" else "ws") + f"://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"
        self.page_name = path.strip("/")
        self.query = query.lstrip("?")
        self.cookies = dict(cookies or {})
        self.headers = dict(headers or {})
        self.cache_enabled = cache
        self.timeout = timeout
        self.context = ContextInfo(timezone=timezone, timezone_offset=-480, locale=locale, url=f"{url.rstrip('/')}{path}")
        self.on_auto = on_auto  # called with the latency of each timed fragment auto-rerun
        self.page_load = page_load  # GET the page first, as a browser does (a balancer sets its sticky cookie)
        self.page_url = f"{url.rstrip('/')}{path}" + (f"?{self.query}" if self.query else "")
        self.nodes: dict[tuple[int, ...], Node] = {}
        self.pages: dict[str, str] = {}  # url path and title -> page script hash
        self.page_hash = ""
        self.main_hash = ""
        self.run_id = ""
        self.run_fragments: list[str] = []
        self.running = False
        self.values: dict[str, WidgetState] = {}
        self.pending_form: dict[str, dict[str, WidgetState]] = {}
        self.components: dict[str, str] = {}  # component id -> the args it was answered for
        self.errors: list[str] = []  # exceptions the app showed, cache misses
        self.not_found: list[str] = []  # page_not_found messages
        self.messages = 0
        self.bytes_in = 0
        self.last_queued: float | None = None  # the last interaction's wait before its run started
        self._cache: dict[str, list] = {}  # hash -> [raw bytes, run count when last used, fragment id]
        self._runs_counted = 0
        self._max_age = 2
        self._wait: _Wait | None = None
        self._autos: dict[str, tuple[float, asyncio.Task]] = {}
        self._auto_sent: dict[str, float] = {}
        self._ws = None
        self._reader: asyncio.Task | None = None
        self._closed = False

    # -- connection ---------------------------------------------------------------------------------
    async def __aenter__(self) -> Session:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> float:
        """Open the page as a browser does (a new session); returns the first run's latency."""
        if self.page_load:
            await asyncio.to_thread(self._get_page)
        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self._ws = await websockets.connect(
            self.ws_url,
            subprotocols=["streamlit"],
            origin=self.origin,
            additional_headers=headers,
            max_size=None,
            open_timeout=self.timeout,
            ping_interval=None,  # the server pings (uvicorn); this side answers
        )
        self._closed = False
        self._reader = asyncio.create_task(self._read())
        return await self._rerun(page_name=self.page_name)

    def _get_page(self) -> None:
        """The page's HTML (static, cached by a browser after the first load) and the cookies it sets."""
        request = urllib.request.Request(
            self.page_url, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]

    async def close(self) -> None:
        self._closed = True
        for _, task in self._autos.values():
            task.cancel()
        self._autos.clear()
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)

    async def reload(self) -> float:
        """The browser's reload: a new websocket and a new server session, same cookies and address."""
        await self.close()
        self.nodes.clear()
        self.values.clear()
        self.pending_form.clear()
        self.components.clear()
        self.page_hash = ""
        return await self.connect()

    # -- reading the tree ------------------------------------------------------------------------------
    def walk(self, within: str | None = None) -> Iterator[Node]:
        """Nodes in page order; `within` = the key of a container (st.container(key=...)) to look inside."""
        root: tuple[int, ...] | None = None
        if within is not None:
            root = next((n.path for n in self.nodes.values() if n.kind == "block" and n.key == within), None)
            if root is None:
                return
        for path in sorted(self.nodes):
            if root is None or path[: len(root)] == root:
                yield self.nodes[path]

    def find_all(self, kind: str | None = None, label: str | None = None, key: str | None = None, within=None, exact=True):
        out = []
        for n in self.walk(within):
            if kind and n.kind != kind:
                continue
            if key is not None and n.key != key:
                continue
            if label is not None and not (n.label == label if exact else label in n.label):
                continue
            out.append(n)
        return out

    def find(self, kind: str | None = None, label: str | None = None, key: str | None = None, within=None, exact=True) -> Node:
        found = self.find_all(kind, label, key, within, exact)
        if not found:
            what = ", ".join(f"{k}={v!r}" for k, v in (("kind", kind), ("label", label), ("key", key), ("within", within)) if v)
            raise NotFound(f"no element with {what}; labels here: {sorted({n.label for n in self.walk() if n.label})[:40]}")
        return found[0]

    def text(self) -> str:
        """Everything the page shows as text, in page order (for checks)."""
        return "\n".join(t for n in self.walk() if (t := n.text()))

    # -- interactions: each returns its latency in seconds ------------------------------------------------
    async def click(self, label: str | None = None, key: str | None = None, within: str | None = None, exact=True) -> float:
        node = self.find("button", label, key, within, exact)
        if node.proto.disabled:
            raise NotFound(f"button {node.label!r} is disabled")
        form = node.proto.form_id
        if node.proto.is_form_submitter and form:
            self.values.update(self.pending_form.pop(form, {}))
        return await self._rerun(trigger=WidgetState(id=node.id, trigger_value=True), fragment_id=node.fragment_id)

    async def set_text(self, label: str, value: str, key: str | None = None, within: str | None = None) -> float:
        node = self._widget(("text_input", "text_area"), label, key, within)
        return await self._set(node, WidgetState(id=node.id, string_value=value))

    async def select(self, label: str, option: str, key: str | None = None, within: str | None = None) -> float:
        """A selectbox or radio option, by the text shown."""
        node = self._widget(("selectbox", "radio"), label, key, within)
        if option not in node.proto.options:
            raise NotFound(f"{label!r} has no option {option!r}: {list(node.proto.options)}")
        return await self._set(node, WidgetState(id=node.id, string_value=option))

    async def check(self, label: str, value: bool = True, key: str | None = None, within: str | None = None) -> float:
        node = self._widget(("checkbox",), label, key, within)
        return await self._set(node, WidgetState(id=node.id, bool_value=value))

    async def open_page(self, name: str) -> float:
        """A click in the navigation: by url path (`testing`; "" for the default page) or title, as the
        Navigation message lists them."""
        if name not in self.pages:
            raise NotFound(f"no page {name!r}: {sorted(self.pages)}")
        for _, task in self._autos.values():  # the frontend's cleanupAutoReruns
            task.cancel()
        self._autos.clear()
        keep = {n.id for n in self.nodes.values() if n.id and n.script_hash == self.main_hash}
        self.values = {k: v for k, v in self.values.items() if k in keep}
        self.query = ""
        return await self._rerun(page_hash=self.pages[name])

    async def rerun(self) -> float:
        """The user's "Rerun" (R): the same page again with the same widget values."""
        return await self._rerun()

    async def login(self, username: str, password: str, labels=("用户名", "密码", "登录")) -> float:
        """Type into the login form and submit it; returns the submit's latency (to the logged-in page)."""
        await self.set_text(labels[0], username)
        await self.set_text(labels[1], password)
        elapsed = await self.click(labels[2])
        await self.settle()
        return elapsed

    async def settle(self, quiet: float = 0.3) -> None:
        """Wait until no run is going on and none follows within `quiet` s (a component's answer reruns)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            while (self.running or self._wait) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(quiet)
            if not self.running and not self._wait:
                return

    # -- sending ---------------------------------------------------------------------------------------
    def _widget(self, kinds: tuple[str, ...], label, key, within) -> Node:
        for kind in kinds:
            found = self.find_all(kind, label, key, within)
            if found:
                return found[0]
        return self.find(kinds[0], label, key, within)

    async def _set(self, node: Node, state: WidgetState) -> float:
        form = getattr(node.proto, "form_id", "")
        if form:  # a form's widgets wait for its submit button
            self.pending_form.setdefault(form, {})[node.id] = state
            return 0.0
        self.values[node.id] = state
        return await self._rerun(fragment_id=node.fragment_id)

    def _back(
        self, trigger=None, fragment_id: str = "", page_hash: str | None = None, page_name: str = "", auto: bool = False
    ) -> BackMsg:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        cs.page_script_hash = self.page_hash if page_hash is None else page_hash
        cs.page_name = page_name
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        cs.context_info.CopyFrom(self.context)
        if self.cache_enabled:
            cs.cached_message_hashes.extend(self._cache)
        cs.widget_states.widgets.extend(self.values.values())
        if trigger is not None:
            cs.widget_states.widgets.append(trigger)
        return msg

    async def _rerun(self, trigger=None, fragment_id: str = "", page_hash=None, page_name: str = "") -> float:
        if self._wait is not None:
            raise RuntimeError("one interaction at a time")
        loop = asyncio.get_running_loop()
        wait = _Wait(time.perf_counter(), fragment_id, done=loop.create_future())
        self._wait = wait
        try:
            await self._ws.send(self._back(trigger, fragment_id, page_hash, page_name).SerializeToString())
            return await asyncio.wait_for(wait.done, self.timeout)
        finally:
            self._wait = None
            self.last_queued = wait.queued

    async def _auto(self, fragment_id: str, interval: float) -> None:
        """The frontend's setInterval for st.fragment(run_every=...); skipped while the user waits."""
        while not self._closed:
            await asyncio.sleep(interval)
            if self._wait is not None or self._ws is None:
                continue
            self._auto_sent[fragment_id] = time.perf_counter()
            try:
                await self._ws.send(self._back(fragment_id=fragment_id, auto=True).SerializeToString())
            except websockets.ConnectionClosed:
                return

    # -- receiving -------------------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for raw in self._ws:
                self.messages += 1
                self.bytes_in += len(raw)
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                if msg.WhichOneof("type") == "ref_hash":
                    cached = self._cache.get(msg.ref_hash)
                    if cached is None:
                        self.errors.append(f"cache miss {msg.ref_hash}")
                        continue
                    cached[1] = self._runs_counted
                    full = ForwardMsg()
                    full.ParseFromString(cached[0])
                    full.metadata.CopyFrom(msg.metadata)
                    msg = full
                elif self.cache_enabled and msg.metadata.cacheable and msg.hash and msg.hash not in self._cache:
                    self._cache[msg.hash] = [raw, self._runs_counted, msg.delta.fragment_id]
                self._handle(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._wait is not None and not self._wait.done.done():
                self._wait.done.set_exception(ConnectionError("the server closed the session"))

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "delta":
            self._delta(msg)
        elif kind == "new_session":
            ns = msg.new_session
            self.run_id = msg.metadata.run.script_run_id
            self.run_fragments = list(msg.metadata.run.fragment_ids)
            self.page_hash, self.main_hash = ns.page_script_hash, ns.main_script_hash
            self._max_age = ns.config.max_cached_message_age or self._max_age
            if self._wait is not None:
                self._wait.started.add(self.run_id)
                if self._wait.queued is None:
                    self._wait.queued = time.perf_counter() - self._wait.sent
        elif kind == "navigation":  # st.navigation: the pages offered, and which one this run is on
            self.pages = {}
            for page in msg.navigation.app_pages:
                self._page(page)
            if msg.navigation.page_script_hash:
                self.page_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "auto_rerun":
            fid, interval = msg.auto_rerun.fragment_id, msg.auto_rerun.interval
            if fid and self._autos.get(fid, (None,))[0] != interval:
                if fid in self._autos:
                    self._autos[fid][1].cancel()
                self._autos[fid] = (interval, asyncio.get_running_loop().create_task(self._auto(fid, interval)))
        elif kind == "stop_auto_rerun":
            for fid in msg.stop_auto_rerun.fragment_ids:
                if fid in self._autos:
                    self._autos.pop(fid)[1].cancel()
        elif kind == "page_not_found":  # the browser shows it and goes on with the default page: so do we
            self.not_found.append(msg.page_not_found.page_name)
        elif kind == "script_finished":
            self._finished(msg)

    def _page(self, page) -> None:
        """By url path ("" for the default page) and by title."""
        for name in (page.url_pathname, page.page_name):
            self.pages.setdefault(name.strip("/"), page.page_script_hash)

    def _delta(self, msg: ForwardMsg) -> None:
        path = tuple(msg.metadata.delta_path)
        delta = msg.delta
        which = delta.WhichOneof("type")
        common = {"run_id": self.run_id, "fragment_id": delta.fragment_id, "script_hash": msg.metadata.active_script_hash}
        if which == "new_element":
            el = delta.new_element
            kind = el.WhichOneof("type")
            value = getattr(el, kind)
            for p in [p for p in self.nodes if len(p) > len(path) and p[: len(path)] == path]:
                del self.nodes[p]
            self.nodes[path] = Node(path, kind, value, **common)
            if kind == "exception":
                self.errors.append(value.message)
            if kind == "component_instance" and value.component_name == COOKIE_COMPONENT:
                self._cookie(value, delta.fragment_id)
            self._initial_value(kind, value)
        elif which == "add_block":
            self.nodes[path] = Node(path, "block", delta.add_block, **common)

    def _initial_value(self, kind: str, el) -> None:
        """What the frontend stores for a widget drawn (WidgetStateManager): the server's value when it set
        one, else the default; a value the user set earlier stays."""
        wid = getattr(el, "id", "")
        if not wid or (wid in self.values and not getattr(el, "set_value", False)):
            return
        if kind == "checkbox":
            self.values[wid] = WidgetState(id=wid, bool_value=el.value if el.set_value else el.default)
        elif kind in ("text_input", "text_area"):
            self.values[wid] = WidgetState(id=wid, string_value=el.value if el.set_value else el.default)
        elif kind in ("selectbox", "radio"):
            if el.set_value:
                self.values[wid] = WidgetState(id=wid, string_value=el.raw_value)
            elif 0 <= el.default < len(el.options):
                self.values[wid] = WidgetState(id=wid, string_value=el.options[el.default])

    def _cookie(self, el, fragment_id: str) -> None:
        """streamlit-authenticator's cookie manager: the browser sets or deletes the cookie, then answers
        `true`, which reruns the script."""
        if self.components.get(el.id) == el.json_args:
            return
        args = json.loads(el.json_args or "{}")
        if args.get("method") == "set":
            self.cookies[args["cookie"]] = str(args.get("value", ""))
        elif args.get("method") == "delete":
            self.cookies.pop(args.get("cookie"), None)
        else:
            return
        self.components[el.id] = el.json_args
        self.values[el.id] = WidgetState(id=el.id, json_value="true")
        self._answer = fragment_id  # the component lives in a fragment: its answer reruns that fragment

    _answer: str | None = None

    def _finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        run = msg.metadata.run.script_run_id
        fragments = list(msg.metadata.run.fragment_ids)
        if status in (FULL, FRAGMENT) and (not run or run == self.run_id):
            self._clear_stale(self.run_id, fragments)
        if status in (FULL, FRAGMENT):
            self._age_cache(fragments)
        wait = self._wait
        now = time.perf_counter()
        ours = wait is not None and status in ENDS and (not run or run in wait.started)
        if ours and (status != FRAGMENT or wait.fragment_id in fragments) and not wait.done.done():
            wait.done.set_result(now - wait.sent)
        if status == FRAGMENT:
            for fid in fragments:
                sent = self._auto_sent.pop(fid, None)
                if sent is not None and self.on_auto:
                    self.on_auto(now - sent)
        if status in ENDS and self._answer is not None:  # the cookie component's answer, as its iframe sends it
            fragment, self._answer = self._answer, None
            asyncio.get_running_loop().create_task(self._send_quietly(fragment))

    async def _send_quietly(self, fragment_id: str) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._ws.send(self._back(fragment_id=fragment_id).SerializeToString())

    def _clear_stale(self, run_id: str, fragments: list[str]) -> None:
        """The frontend's clearStaleNodes: a whole run keeps only what it drew; a fragment run only
        touches nodes of its fragments."""
        for path, node in list(self.nodes.items()):
            if node.run_id == run_id:
                continue
            if fragments and node.fragment_id not in fragments:
                continue
            if path in self.nodes:
                del self.nodes[path]
        if not fragments:
            live = {n.id for n in self.nodes.values() if n.id}
            self.values = {k: v for k, v in self.values.items() if k in live}

    def _age_cache(self, fragments: list[str]) -> None:
        """ForwardMsgCache.incrementRunCount: forget messages unused for more than maxCachedMessageAge runs
        (after a fragment run, only that fragment's messages age)."""
        self._runs_counted += 1
        for h, (_, last, frag) in list(self._cache.items()):
            if fragments and (not frag or frag not in fragments):
                continue
            if self._runs_counted - last > self._max_age:
                del self._cache[h]
