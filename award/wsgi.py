"""The WSGI entry point for production servers: ``gunicorn award.wsgi:app``.

Configuration comes from the environment (``DATABASE_URL``, ``SECRET_KEY``, ``AWARD_INSTANCE_PATH``,
``AWARD_<NAME>``) and ``instance/config.py``, as for the ``award`` command; see docs/deploy.md.
"""

from . import create_app

app = create_app()
