"""LISTEN/NOTIFY wake-ups: a listener hears what was committed, never what was rolled back."""

from __future__ import annotations

import pytest
from django.db import transaction

from topup.db import wakeup

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_listener_hears_a_committed_notification_and_not_a_rolled_back_one() -> None:
    listener = wakeup.Listener(wakeup.JOBS, poll_s=0.01)
    try:
        assert listener.wait(0.05) == []  # connects (PostgreSQL) and hears nothing yet
        with transaction.atomic():
            wakeup.notify(wakeup.JOBS, "rolled-back")
            transaction.set_rollback(True)
        with transaction.atomic():
            wakeup.notify(wakeup.JOBS, "deliver")
        heard = listener.wait(2.0)
        if wakeup.is_postgres():
            assert heard == [(wakeup.JOBS, "deliver")]
        else:
            assert heard == []  # SQLite: a tick, the waiter looks at the database itself
    finally:
        listener.close()
