"""The agent console's wording where it differs from the customers' (`topup.channels.messages`, which holds
the console's own codes too): an agent refunds what a customer would cancel."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from topup.channels.messages import message_for

AGENT_WORDING = {
    "line_not_found": _("No line has this ICCID."),
    "not_cancellable": _("Only a delivered new eSIM can be refunded here."),
    "esim_already_downloaded": _("The eSIM was already downloaded to a phone: it can no longer be refunded."),
}


def agent_message(code: str) -> str:
    message = AGENT_WORDING.get(code)
    return str(message) if message is not None else message_for(code)
