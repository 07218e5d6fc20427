"""deploy/cluster.py without starting a cluster: haproxy accepts the balancer's configuration and it holds the
rules of the README; `stop` ends only the programs whose pid files the folder holds and that are what it started."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import psutil
import pytest

from deploy import cluster


@pytest.fixture
def config(tmp_path):
    return cluster.haproxy_config(tmp_path, 8500, [8501, 8502])


@pytest.mark.skipif(not shutil.which(cluster.HAPROXY), reason="haproxy is not installed (make haproxy)")
def test_haproxy_accepts_the_configuration(tmp_path, config):
    (tmp_path / "haproxy.cfg").write_text(config)
    checked = subprocess.run([cluster.HAPROXY, "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_balancer_keeps_the_rules(config):
    tunnel = int(re.search(r"timeout tunnel (\d+)s", config).group(1))
    assert tunnel > cluster.PING_SECONDS  # an idle page's WebSocket is not cut between two pings
    assert "balance leastconn" in config
    assert f"cookie {cluster.STICKY_COOKIE} insert indirect nocache" in config
    assert "http-check send meth GET uri /_stcore/health" in config
    assert config.index("del-header X-Forwarded-For") < config.index("option forwardfor")
    assert "disable-l7-retry if !METH_GET" in config
    for port in (8501, 8502):
        assert f"server app{port} 127.0.0.1:{port} cookie app{port}" in config


def test_stop_ends_only_what_the_folder_started(tmp_path):
    ours = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "streamlit"])
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "app9001.pid").write_text(str(ours.pid))
        (tmp_path / "app9002.pid").write_text(str(stranger.pid))  # a reused pid: not a replica, left alone
        assert cluster.running(tmp_path) == {"app9001": ours.pid}
        assert cluster.stop(tmp_path) == ["app9001"]
        assert ours.wait(10) is not None
        assert psutil.pid_exists(stranger.pid) and stranger.poll() is None
        assert not list(tmp_path.glob("*.pid"))
    finally:
        for proc in (ours, stranger):
            proc.kill()
            proc.wait()
