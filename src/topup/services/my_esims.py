"""My eSIMs: a customer with an eSIM and no number signs in with a one-time code sent to the e-mail address
the eSIM was bought with, then sees the eSIMs bought with that address (bundles, usage, install state, the
QR code again while the profile is not installed) and adds data to one of them.

Who owns an eSIM: the address of the order that *created* its line (a new-eSIM order, `Order.iccid` equal to
the line's ICCID). An address given on a top-up of someone else's eSIM owns nothing. A signed-in customer is
known only by the address's blind index (`Order.email_index`); the address itself is not kept in the sign-in
(only "add data" carries it, `address_of`, to the review's receipt field, as a typed address would be).
Errors (stable codes): InvalidInput invalid_email, NotFound line_not_found | esim_not_ready, and those of
services.otp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, QuerySet, Sum
from django.utils import translation
from django.utils.translation import gettext as _

from topup.clock import now
from topup.db.fields import digest
from topup.db.models import BundleRecord, Line, Order, UsageRow
from topup.domain.bundles import BundleStatus
from topup.domain.errors import NotFound
from topup.domain.identifiers import parse_email
from topup.domain.orders import OrderStatus
from topup.services import otp

USAGE_WINDOW = timedelta(days=30)
# The QR code is shown again only while the profile can still be downloaded: once on a phone, the
# SM-DP+ will not hand it out again, and a cancelled or deleted profile must never be installed.
QR_STATES = frozenset({"released", "eligible"})
NO_MORE_DATA_STATES = frozenset({"cancelled", "deleted"})
SHOWN_STATUSES = (BundleStatus.ACTIVE.value, BundleStatus.PENDING.value, BundleStatus.EXHAUSTED.value)


def email_index(email: str) -> str:
    """The blind index under which orders keep this address (`Order.email_index`)."""
    return digest(email, "email")


def _bought(index: str) -> QuerySet[Order]:
    """The new-eSIM orders placed with this address whose line is still theirs (not recycled)."""
    return Order.objects.filter(
        email_index=index, line__isnull=False, line__archived_at__isnull=True, iccid=F("line__iccid")
    ).exclude(email_index="")


def ask_code(typed_email: str, ip: str | None, *, language: str) -> None:
    """E-mail a sign-in code. An address that bought no eSIM gets a message saying so, with no code: the
    page answers the same either way, so nobody learns from it whether an address is a customer's."""
    email = parse_email(typed_email)
    known = _bought(email_index(email)).exists()

    def compose(code: str) -> tuple[str, str]:
        with translation.override(language):
            subject = _("Your code for My eSIMs")
            if known:
                body = _(
                    "%(code)s is your code to sign in to My eSIMs. It is valid for 5 minutes. Never share it."
                    "\n\nIf you did not ask for this code, you can ignore this e-mail."
                ) % {"code": code}
            else:
                body = _(
                    "Someone asked to sign in to My eSIMs with this address, but no eSIM was bought with it."
                    "\n\nIf it was you, use the address you gave when you bought your eSIM. "
                    "If it was not you, you can ignore this e-mail."
                )
        return str(subject), str(body)

    otp.send_email_code(email, ip, language=language, compose=compose)


def sign_in(typed_email: str, code: str, ip: str | None) -> str:
    """The address's blind index, once the right code was given (services.otp counts every try)."""
    email = parse_email(typed_email)
    otp.verify_email(email, code, ip)
    return email_index(email)


@dataclass(frozen=True)
class BundleView:
    plan_id: str
    status: str
    unlimited: bool
    cap_kb: int  # the data, or the fair-use cap of an unlimited bundle
    used_kb: int
    starts_at: datetime | None
    expires_at: datetime | None

    @property
    def left_kb(self) -> int:
        return max(self.cap_kb - self.used_kb, 0)

    @property
    def used_percent(self) -> int:
        return min(100, round(self.used_kb * 100 / self.cap_kb)) if self.cap_kb else 100


@dataclass(frozen=True)
class EsimView:
    iccid: str
    order_id: str
    profile_state: str
    bought_at: datetime
    bundles: tuple[BundleView, ...]
    used_recently_kb: int  # in the last USAGE_WINDOW
    show_qr: bool
    activation_code: str  # "" unless show_qr
    can_add_data: bool


def esims(index: str, at: datetime | None = None) -> list[EsimView]:
    """The eSIMs bought with the address of this blind index, newest first."""
    at = at or now()
    found = []
    for order in _bought(index).select_related("line").order_by("-created_at"):
        line = order.line
        assert line is not None  # _bought filters on it
        show_qr = _may_show_qr(order, line)
        found.append(
            EsimView(
                iccid=line.iccid,
                order_id=order.id,
                profile_state=line.profile_state,
                bought_at=order.created_at,
                bundles=_bundles(line, at),
                used_recently_kb=_used_since(line, at - USAGE_WINDOW),
                show_qr=show_qr,
                activation_code=line.activation_code if show_qr else "",
                can_add_data=line.profile_state not in NO_MORE_DATA_STATES,
            )
        )
    return found


def _bundles(line: Line, at: datetime) -> tuple[BundleView, ...]:
    rows = BundleRecord.objects.filter(line=line, status__in=SHOWN_STATUSES).order_by(
        "expires_at", "purchased_at"
    )
    shown = []
    for row in rows:
        if row.expires_at is not None and row.expires_at <= at:
            continue  # expired, not yet swept by the expiry job
        bundle = row.to_domain()
        shown.append(
            BundleView(
                plan_id=row.plan_id,
                status=row.status,
                unlimited=bundle.is_unlimited,
                cap_kb=bundle.cap_kb,
                used_kb=bundle.used_kb,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
            )
        )
    return tuple(shown)


def _used_since(line: Line, since: datetime) -> int:
    total = UsageRow.objects.filter(line=line, start__gte=since).aggregate(kb=Sum("kb"))["kb"]
    return int(total or 0)


def _may_show_qr(order: Order, line: Line) -> bool:
    return order.status == OrderStatus.DELIVERED.value and line.profile_state in QR_STATES


def owned_line(index: str, iccid: str) -> Line:
    """The line of an eSIM bought with this address; line_not_found for any other ICCID, known or not."""
    order = _bought(index).select_related("line").filter(iccid=iccid).first() if index and iccid else None
    if order is None or order.line is None:
        raise NotFound("no eSIM with this ICCID for this address", code="line_not_found", field="iccid")
    return order.line


def address_of(index: str, iccid: str) -> str:
    """The address an owned eSIM was bought with (where its add-data receipts go); line_not_found else."""
    owned_line(index, iccid)
    order = _bought(index).filter(iccid=iccid).only("email").first()
    return order.email if order is not None else ""


def activation_code(index: str, iccid: str) -> str:
    """The activation code (LPA:1$…) of an owned eSIM that is not installed yet; esim_not_ready after."""
    line = owned_line(index, iccid)
    order = _bought(index).filter(iccid=iccid).first()
    if order is None or not _may_show_qr(order, line):
        raise NotFound("this eSIM is installed or cancelled", code="esim_not_ready", field="iccid")
    return line.activation_code
