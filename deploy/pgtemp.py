"""A throwaway PostgreSQL cluster in a folder, from Debian's `postgresql` package: for the tests and `make cluster`.

Not for production (fsync is off). `python -m deploy.pgtemp start DIR` prints the server's URL;
`python -m deploy.pgtemp stop DIR` stops it. As root, initdb and the server run as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "listen_addresses": "'127.0.0.1'",
    "timezone": "'Asia/Shanghai'",
    "log_min_messages": "warning",
}


def bindir() -> Path:
    """The newest installed server's programs (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def url(folder: str | Path, database: str = "postgres") -> str:
    port = (Path(folder) / "port").read_text().strip()
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def start(folder: str | Path, port: int | None = None, *, durable: bool = False) -> str:
    """initdb (once) and start a server on a free local port; returns its URL (database `postgres`).
    durable=True keeps fsync and synchronous commit on, as a real server runs (the benchmark compares that)."""
    folder = Path(folder).resolve()
    data = folder / "data"
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_server_user(
                [
                    str(bindir() / "initdb"),
                    "--no-sync",
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "-D",
                    str(data),
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with open(data / "postgresql.conf", "a") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in {**SETTINGS, **(DURABLE if durable else {})}.items()))
    port = port or free_port()
    (folder / "port").write_text(str(port))
    subprocess.run(
        _as_server_user(
            [
                str(bindir() / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(folder / "server.log"),
                "-w",
                "-o",
                f"-p {port} -k {folder}",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return url(folder)


def stop(folder: str | Path, mode: str = "fast") -> None:
    data = Path(folder).resolve() / "data"
    if (data / "postmaster.pid").exists():
        subprocess.run(
            _as_server_user([str(bindir() / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"]),
            check=False,
            stdout=subprocess.DEVNULL,
        )


def wait_ready(address: str, timeout: float = 30) -> None:
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(address, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


if __name__ == "__main__":
    verb, where = sys.argv[1], sys.argv[2]
    if verb == "start":
        print(start(where, int(sys.argv[3]) if len(sys.argv) > 3 else None))
    elif verb == "stop":
        stop(where)
    else:
        raise SystemExit("usage: python -m deploy.pgtemp start|stop DIR [PORT]")
