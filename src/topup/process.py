"""Start-up of a process that uses the database: Django's apps, then the peers handed to the services."""

from __future__ import annotations

import os


def setup_once() -> None:
    """`django.setup()` unless it ran already in this process: a second call configures logging again, onto
    whatever standard error is then (a test's capture, closed after it), and the earlier handlers are lost."""
    from django.apps import apps  # noqa: PLC0415

    if not apps.ready:
        import django  # noqa: PLC0415

        django.setup()


def start_django(*, wired: bool = True) -> None:
    """Load Django (only commands that need the database pay for its start-up); with `wired`, also build
    and install the payment providers, carrier routes, SM-DP+ and message senders (`topup.wiring`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    from topup.metrics import processes  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    processes.join(CONFIG.metrics_dir)  # before prometheus-client loads: this process's figures are shared
    setup_once()
    from topup.services import peers  # noqa: PLC0415 - needs the apps loaded

    if wired and not peers.installed():  # a process is wired once, when it starts
        from topup import wiring  # noqa: PLC0415

        wiring.start()
