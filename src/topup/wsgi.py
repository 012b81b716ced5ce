"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
application = get_wsgi_application()

from topup import logs, wiring  # noqa: E402 - needs the apps loaded above

if os.environ.get("TOPUP_PROCESS") == "web":  # set by `topup web`; tests importing this module stay quiet
    wiring.start()  # the peers, and the SMS sender for one-time codes
    logs.adopt("gunicorn.error", "gunicorn.access")  # gunicorn's lines in our format, numbers masked
