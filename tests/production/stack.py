"""The production shape on one machine, from the files deploy/ ships: nginx (TLS) on
loopback in front of two gunicorn nodes, two scheduler processes, one PostgreSQL
database of its own, Redis for limits, and the fake Twilio standing in for Twilio.

Every process is started through `deploy/bin/nudge`, the entry point the image runs, and
nginx runs `deploy/nginx/nudge.conf` with only its addresses, ports and paths changed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
NUDGE = ROOT / "deploy" / "bin" / "nudge"
NGINX_SITE = ROOT / "deploy" / "nginx" / "nudge.conf"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], seconds: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except requests.RequestException:
            pass
        time.sleep(interval)
    return False


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "fullchain.pem", directory / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def nginx_config(root: Path, *, http: int, https: int, nodes: list[int], tls: Path) -> Path:
    """deploy/nginx/nudge.conf on loopback ports, trusting the test as the hop in front."""
    site = NGINX_SITE.read_text()
    replacements = {
        "server web1:8000": f"server 127.0.0.1:{nodes[0]}",
        "server web2:8000": f"server 127.0.0.1:{nodes[1]}",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/nudge/tls/": f"{tls}/",
        "/var/log/nginx/": f"{root}/",
        "# set_real_ip_from <load balancer address or range>;": "set_real_ip_from 127.0.0.1;",
    }
    for old, new in replacements.items():
        assert old in site, f"deploy/nginx/nudge.conf no longer has {old!r}"
        site = site.replace(old, new)
    (root / "nudge.conf").write_text(site)
    main = root / "nginx.conf"
    user = "user root root;\n" if os.geteuid() == 0 else ""
    main.write_text(
        f"{user}worker_processes 2;\npid {root}/nginx.pid;\nerror_log {root}/error.log;\n"
        "events { worker_connections 256; }\n"
        "http {\n  include /etc/nginx/mime.types;\n"
        f"  client_body_temp_path {root}/body;\n  proxy_temp_path {root}/proxy;\n"
        f"  fastcgi_temp_path {root}/fastcgi;\n  uwsgi_temp_path {root}/uwsgi;\n"
        f"  scgi_temp_path {root}/scgi;\n  include {root}/nudge.conf;\n}}\n"
    )
    return main


@dataclass
class Stack:
    root: Path
    env: dict[str, str]
    base_url: str = ""
    certificate: Path | None = None
    nodes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    schedulers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    nginx: subprocess.Popen[bytes] | None = None

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        # a session of its own: the node's master and workers die together on killpg
        with self.log(name).open("ab") as out:
            return subprocess.Popen(
                [str(NUDGE), *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def release(self) -> None:
        done = subprocess.run([str(NUDGE), "release"], env=self.env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-3000:]

    def start_node(self, name: str, port: int) -> None:
        self.nodes[name] = self._start(name, "web", "--bind", f"127.0.0.1:{port}")
        assert wait_for(
            lambda: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok, 60
        ), self.log(name).read_text()[-3000:]

    def start_scheduler(self, n: int) -> None:
        self.schedulers.append(self._start(f"scheduler{n}", "scheduler"))

    def start_nginx(self, nodes: list[int], *, https: int) -> None:
        nginx = nginx_binary()
        assert nginx is not None
        http = free_port()
        tls = self.root / "tls"
        tls.mkdir()
        self.certificate, _ = self_signed_certificate(tls)
        config = nginx_config(self.root, http=http, https=https, nodes=nodes, tls=tls)
        check = subprocess.run(
            [nginx, "-t", "-c", str(config), "-e", str(self.root / "error.log")],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr
        with self.log("nginx-stdout").open("ab") as out:
            self.nginx = subprocess.Popen(
                [nginx, "-c", str(config), "-e", str(self.root / "error.log"), "-g", "daemon off;"],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base_url = f"https://127.0.0.1:{https}"
        assert wait_for(
            lambda: requests.get(self.base_url + "/healthz", verify=self.certificate, timeout=2).ok,
            30,
        ), (self.root / "error.log").read_text()[-3000:]

    def kill_node(self, name: str) -> None:
        """SIGKILL a whole web node, master and workers, with no chance to clean up."""
        process = self.nodes[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop(self) -> None:
        processes = [*self.nodes.values(), *self.schedulers]
        if self.nginx is not None:
            processes.append(self.nginx)
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)

    def logs(self) -> str:
        names = sorted(self.root.glob("*.log"))
        return "\n".join(path.read_text(errors="replace") for path in names)


def base_env(root: Path, database_url: str, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NUDGE_PYTHON": sys.executable,
            "PYTHONPATH": str(ROOT),
            "NUDGE_INSTANCE_PATH": str(root / "instance"),
            "NUDGE_DATABASE_URL": database_url,
            "NUDGE_LOG_FORMAT": "json",
            "NUDGE_WEB_WORKERS": "2",
            "NUDGE_WEB_THREADS": "4",
            **{f"NUDGE_{key}": value for key, value in settings.items()},
        }
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env
