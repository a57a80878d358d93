"""gunicorn settings for the award system (docs/deploy.md). Use: gunicorn -c gunicorn.conf.py award.wsgi:app

Every setting can be overridden on the command line or with GUNICORN_CMD_ARGS. The workers are plain
stateless Flask processes: sessions are signed cookies, tus upload offsets live in the database and
the received bytes under UPLOAD_FOLDER, login lockouts in the database, rate limits in Redis
(RATELIMIT_STORAGE_URI) — so any worker, on any host sharing the database and the upload volume,
can answer any request.
"""

import multiprocessing
import os

# Behind nginx on the same host; nginx terminates TLS and buffers slow clients' request bodies.
bind = os.environ.get("AWARD_BIND", "127.0.0.1:8000")

# gunicorn's rule of thumb: (2 × cores) + 1 workers. Each worker holds its own SQLAlchemy pool
# (5 connections, 10 overflow): keep workers × threads within PostgreSQL's max_connections.
workers = int(os.environ.get("AWARD_WORKERS", 2 * multiprocessing.cpu_count() + 1))
# Threads let a worker keep serving while one request waits on the database or on a slow upload.
worker_class = "gthread"
threads = int(os.environ.get("AWARD_THREADS", 4))

# A 5 MB tus chunk from an outlying island over a slow link may take a while even after nginx's buffering.
timeout = 120
graceful_timeout = 30
keepalive = 5

# Restart each worker now and then, so a slow leak never grows (jitter spreads the restarts).
max_requests = 2000
max_requests_jitter = 200

# Not preloading keeps the workers independent (no database connection or file handle is inherited
# across fork); each worker builds the app itself, reading the same instance folder.
preload_app = False

# Access log on standard output (journald keeps it); %(p)s is the worker's pid, %(M)s the duration in ms.
accesslog = "-"
access_log_format = '%(h)s %(p)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
errorlog = "-"

# Trust X-Forwarded-* from nginx on this host only (the app applies ProxyFix with AWARD_TRUSTED_PROXIES=1).
forwarded_allow_ips = "127.0.0.1"
