"""gunicorn settings for production (`gunicorn config.wsgi -c config/gunicorn.conf.py`).

- Bound to loopback (or a unix socket): the app sits behind a buffering reverse proxy
  (README, "Running it in production"), never on a public address by itself.
- Threaded workers (`gthread`): a client that sends its request slowly holds one thread,
  not a whole worker; the proxy's buffering keeps slow clients away altogether.
- Timeouts: a worker stuck longer than `timeout` is replaced; request line and header
  limits refuse absurd requests early.
Every value can be changed from the environment.
"""

import os

bind = os.environ.get("STOCKPILE_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
worker_class = "gthread"
threads = int(os.environ.get("STOCKPILE_WEB_THREADS", "8"))
timeout = int(os.environ.get("STOCKPILE_WEB_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# Replace workers now and then (memory held by a large export is given back).
max_requests = int(os.environ.get("STOCKPILE_WEB_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
# The proxy in front sets X-Forwarded-Proto; trust it only from loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
