"""Start-up of a process that uses the database: Django's apps, then the peers handed to the services."""

from __future__ import annotations

import os


def start_django(*, wired: bool = True) -> None:
    """Load Django (only commands that need the database pay for its start-up); with `wired`, also build
    and install the payment providers, carrier routes, SM-DP+ and message senders (`topup.wiring`)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topup.settings")
    from topup.metrics import processes  # noqa: PLC0415
    from topup.settings import CONFIG  # noqa: PLC0415

    processes.join(CONFIG.metrics_dir)  # before prometheus-client loads: this process's figures are shared
    import django  # noqa: PLC0415

    django.setup()
    from topup.services import peers  # noqa: PLC0415 - needs the apps loaded

    if wired and not peers.installed():  # a process is wired once, when it starts
        from topup import wiring  # noqa: PLC0415

        wiring.start()
