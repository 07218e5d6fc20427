"""`make cluster`: the street-office shape on one machine. A throwaway PostgreSQL in a folder (deploy.pgtemp)
holding the demo world, app replicas (`streamlit run app.py`) sharing it, the cookie key and Streamlit's
cookieSecret, and haproxy in front: sticky sessions by a cookie it inserts, WebSockets, health checks,
least connections for new sessions. Everything runs in the background; pid files and logs stay in the folder,
so `stop(folder)` ends exactly what `start(folder)` began.

    python -m deploy.cluster start [.cluster] [--port 8500] [--replicas 8501,8502]
    python -m deploy.cluster stop [.cluster]
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from deploy import pgtemp

ROOT = Path(__file__).resolve().parents[1]
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
STICKY_COOKIE = "qy_replica"
PING_SECONDS = 30  # Streamlit's WebSocket ping (server.websocketPingInterval; 30 s is also its default in 1.67)
TUNNEL_SECONDS = 10 * PING_SECONDS  # an idle WebSocket lives through many pings; a dead one is freed in minutes
DATABASE = "qinyuan"


def replica_name(port: int) -> str:
    return f"app{port}"


def haproxy_config(folder: Path, port: int, replica_ports: list[int], host: str = "127.0.0.1") -> str:
    """The balancer's rules (README, "Deployment for a street office")."""
    servers = "\n".join(f"    server {replica_name(p)} 127.0.0.1:{p} cookie {replica_name(p)}" for p in replica_ports)
    return f"""\
global
    log stdout format raw local0 info
    stats socket {folder / "haproxy.sock"} mode 600 level admin
    maxconn 4096

defaults
    mode http
    log global
    option httplog
    option dontlognull
    option redispatch 1             # every retry may go to another replica: a session outlives its replica
    retries 2
    retry-on conn-failure empty-response response-timeout   # also a GET cut off by a replica dying under it
    timeout connect 3s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout tunnel {TUNNEL_SECONDS}s            # an upgraded WebSocket: longer than Streamlit's {PING_SECONDS} s ping

frontend qinyuan
    bind {host}:{port}
    http-request del-header X-Forwarded-For   # the client may not choose its address: we write it
    option forwardfor                         # the app trusts one hop (QINYUAN_PROXY_HOPS=1)
    http-request disable-l7-retry if !METH_GET   # never send a form or an upload twice
    default_backend replicas

backend replicas
    balance leastconn               # new sessions go to the replica with the fewest open connections
    cookie {STICKY_COOKIE} insert indirect nocache httponly attr "SameSite=Lax"
    option httpchk
    http-check send meth GET uri /_stcore/health
    http-check expect status 200
    default-server check inter 1s fastinter 500ms downinter 2s fall 2 rise 2
{servers}
"""


def _program(folder: Path, name: str) -> psutil.Process | None:
    """The process NAME.pid names, if it still runs and is the program we started there (not a reused pid)."""
    try:
        proc = psutil.Process(int((folder / f"{name}.pid").read_text().strip()))
        expected = "haproxy" if name == "haproxy" else "streamlit"
        return proc if expected in " ".join(proc.cmdline()) and proc.status() != psutil.STATUS_ZOMBIE else None
    except (OSError, ValueError, psutil.Error):
        return None


def _postmaster(folder: Path) -> int | None:
    """The pid of the folder's PostgreSQL server, if it runs."""
    try:
        pid = int((folder / "pg" / "data" / "postmaster.pid").read_text().splitlines()[0])
        return pid if "postgres" in psutil.Process(pid).name() else None
    except (OSError, ValueError, IndexError, psutil.Error):
        return None


def _spawn(folder: Path, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a program in its own session (it outlives `make cluster`), logging to NAME.log, pid in NAME.pid."""
    with open(folder / f"{name}.log", "ab") as log:
        proc = subprocess.Popen(
            args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    (folder / f"{name}.pid").write_text(str(proc.pid))
    return proc


def healthy(url: str) -> bool:
    try:
        return urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        return False


def wait_healthy(urls: list[str], procs: list[subprocess.Popen], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(urls)
    while waiting:
        dead = [p.pid for p in procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"exited while starting (pid {dead}): see the logs")
        waiting = [u for u in waiting if not healthy(u)]
        if waiting and time.monotonic() > deadline:
            raise RuntimeError(f"not healthy after {timeout:.0f} s: {waiting}")
        if waiting:
            time.sleep(0.2)


def cookie_secret(folder: Path) -> str:
    """Streamlit's server.cookieSecret, generated once into the folder: every replica signs alike."""
    path = folder / "cookie_secret"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def _check_cookie_key() -> None:
    if not os.environ.get("QINYUAN_COOKIE_KEY") and not (ROOT / ".streamlit" / "secrets.toml").exists():
        raise SystemExit("no cookie key: run `make secrets` (every replica reads .streamlit/secrets.toml)")


def _cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "qinyuan", *args], cwd=ROOT, check=True)


def database(folder: Path) -> str:
    """Start the folder's PostgreSQL. The first time, create the database, migrate it and build the demo world
    (a set-up that fails half-way is removed, so the next start begins afresh); later, only migrate."""
    pg = folder / "pg"
    fresh = not (folder / "database_url").exists()
    if fresh and pg.exists():
        pgtemp.stop(pg)
        shutil.rmtree(pg)
    pgtemp.wait_ready(pgtemp.start(pg))
    address = pgtemp.url(pg, DATABASE)
    if not fresh:
        _cli("migrate", "--db", address)
        (folder / "database_url").write_text(address)  # the server's port is new at every start
        return address
    try:
        port = (pg / "port").read_text().strip()
        subprocess.run([str(pgtemp.bindir() / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", DATABASE], check=True)
        _cli("migrate", "--db", address)
        _cli("demo", "--db", address)
    except BaseException:
        pgtemp.stop(pg)
        shutil.rmtree(pg)
        raise
    (folder / "database_url").write_text(address)
    return address


def replica_env(folder: Path, db: str, public_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "QINYUAN_DB": db,
        "QINYUAN_PROXY_HOPS": "1",
        "QINYUAN_PUBLIC_URL": public_url,
        "STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret(folder),
    }


def start_replica(folder: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    args = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)]
    args += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    args += ["--server.websocketPingInterval", str(PING_SECONDS)]
    return _spawn(folder, replica_name(port), args, env)


def start(
    folder: str | Path = ".cluster",
    port: int = 8500,
    replica_ports: list[int] | None = None,
    timeout: float = 120,
) -> str:
    """Start the cluster; returns the balancer's URL once it answers /_stcore/health."""
    folder = Path(folder).resolve()
    replica_ports = list(replica_ports or [8501, 8502])
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # the PostgreSQL server user reaches its data inside
    if running(folder):
        raise SystemExit(f"a cluster already runs from {folder}: stop it first (make cluster-stop)")
    _check_cookie_key()
    url = f"http://127.0.0.1:{port}"
    try:
        db = database(folder)
        procs = [start_replica(folder, p, replica_env(folder, db, url)) for p in replica_ports]
        wait_healthy([f"http://127.0.0.1:{p}" for p in replica_ports], procs, timeout)
        (folder / "haproxy.cfg").write_text(haproxy_config(folder, port, replica_ports))
        subprocess.run([HAPROXY, "-c", "-q", "-f", str(folder / "haproxy.cfg")], check=True)
        balancer = _spawn(folder, "haproxy", [HAPROXY, "-db", "-f", str(folder / "haproxy.cfg")])
        wait_healthy([url], [balancer], 30)
    except BaseException:
        stop(folder)
        raise
    return url


def running(folder: str | Path) -> dict[str, int]:
    """What of the folder's cluster still runs: name -> pid (replicas, haproxy, postgres)."""
    folder = Path(folder)
    found = {name: proc.pid for name in sorted(p.stem for p in folder.glob("*.pid")) if (proc := _program(folder, name))}
    if postmaster := _postmaster(folder):
        found["postgres"] = postmaster
    return found


def kill(folder: str | Path, name: str, sig: int = signal.SIGKILL) -> None:
    """Send a signal to one of the cluster's programs by its pid file (the tests kill a replica)."""
    proc = _program(Path(folder), name)
    if proc:
        proc.send_signal(sig)
        proc.wait(15)


def stop(folder: str | Path = ".cluster") -> list[str]:
    """Stop the balancer, the replicas and the PostgreSQL server started from this folder, and nothing else."""
    folder = Path(folder).resolve()
    stopped = []
    names = sorted((p.stem for p in folder.glob("*.pid")), key=lambda n: n != "haproxy")  # the balancer first
    for name in names:
        proc = _program(folder, name)
        if proc:
            proc.terminate()
            try:
                proc.wait(15)
            except psutil.TimeoutExpired:
                proc.kill()
            stopped.append(name)
        (folder / f"{name}.pid").unlink(missing_ok=True)
    if _postmaster(folder):
        pgtemp.stop(folder / "pg")
        stopped.append("postgres")
    return stopped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("verb", choices=["start", "stop", "status"])
    parser.add_argument("folder", nargs="?", default=".cluster")
    parser.add_argument("--port", type=int, default=8500, help="the balancer's port")
    parser.add_argument("--replicas", default="8501,8502", help="the app replicas' ports, comma-separated")
    args = parser.parse_args(argv)
    if args.verb == "stop":
        stopped = stop(args.folder)
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    elif args.verb == "status":
        print("\n".join(f"{name}\t{pid}" for name, pid in running(args.folder).items()) or "nothing runs")
    else:
        started = time.monotonic()
        url = start(args.folder, args.port, [int(p) for p in args.replicas.split(",")])
        print(f"Qinyuan Ops cluster: {url}  (started in {time.monotonic() - started:.1f} s; logs in {args.folder}/)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
