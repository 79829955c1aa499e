"""gunicorn settings for Nudge's web nodes: `gunicorn -c deploy/gunicorn.conf.py`.

gthread workers: a request mostly waits on PostgreSQL, so threads overlap those waits at
a fraction of a process's memory. One process per CPU (what the container may use), a
few threads each. Twilio waits 15 s for a webhook answer and Nudge answers in
milliseconds; nginx cuts webhook requests at 14 s so Twilio sees an error, not silence.
Every setting can be overridden by environment variables named below.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

wsgi_app = "app:create_app()"
bind = os.environ.get("NUDGE_BIND", "0.0.0.0:8000")

worker_class = "gthread"
workers = int(os.environ.get("NUDGE_WEB_WORKERS", 0)) or max(2, len(os.sched_getaffinity(0)))
threads = int(os.environ.get("NUDGE_WEB_THREADS", 4))

# a worker that stops answering its arbiter for this long is killed and replaced; with
# gthread a long request does not count against it, the proxy's timeouts bound those
timeout = 30
graceful_timeout = 30
# longer than nginx's upstream keepalive (60 s), so gunicorn never closes a connection
# nginx is about to reuse
keepalive = 65
# recycle workers now and then so slow leaks never reach the OOM killer (jitter: not all
# at once)
max_requests = 5000
max_requests_jitter = 500

# only the proxy may say which scheme the client used (X-Forwarded-Proto); client
# addresses are taken from X-Forwarded-For by the app (NUDGE_TRUSTED_PROXIES)
forwarded_allow_ips = os.environ.get("NUDGE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's control socket lives at one path per user: two nodes on a host would share
# it, and nothing here uses it
control_socket_disable = True

# the app writes its own access line (route pattern, request id, no query strings)
accesslog = None
errorlog = "-"
loglevel = os.environ.get("NUDGE_LOG_LEVEL", "info")
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "nudge": {"()": "app.logs.JsonFormatter"}
        if os.environ.get("NUDGE_LOG_FORMAT", "json") == "json"
        else {"()": "app.logs.TextFormatter"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "nudge",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": "INFO", "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        "alembic.runtime": {"level": "WARNING"},
    },
}

# Prometheus multiprocess mode: each worker writes its samples under this directory and
# /metrics merges them. One directory per gunicorn master, emptied when it starts.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="nudge-prometheus-"))


def on_starting(server: Any) -> None:
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
