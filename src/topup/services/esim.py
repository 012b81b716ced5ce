"""eSIM lines on the hosted network: provisioning a profile at the SM-DP+ (ES2+), adding bundles,
recording the profile's download progress, and what is left on a line.

Provisioning is safe to repeat: downloadOrder carries a call id derived from the order (the SM-DP+
answers a repeat with the same ICCID), the reserved ICCID is saved before confirmOrder, and
confirmOrder for the same ICCID returns the same matching id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

from topup.clock import new_id, now
from topup.db.models import BundleRecord, IdempotencyRecord, Line, LineEvent, Order, PlanRecord
from topup.domain.bundles import BundleStart, BundleStatus, TopupRule, apply_purchase, terms_for
from topup.domain.errors import Conflict, NotFound
from topup.domain.esim_catalogue import ESIM_PROFILE_TYPE
from topup.domain.identifiers import parse_iccid
from topup.ports import PortUnavailable, SmdpResult
from topup.services import peers
from topup.services.payments import enqueue

log = logging.getLogger(__name__)

USABLE = (BundleStatus.ACTIVE.value, BundleStatus.PENDING.value)
# Profile states after which the SM-DP+ may hand the ICCID to someone else.
RECYCLABLE_STATES = frozenset({"cancelled", "deleted"})
# SGP.22 notification points and the profile state each successful one leads to.
PROGRESS_STATES = {1: "eligible", 3: "downloaded", 4: "installed", 5: "deleted", 6: "disabled", 7: "enabled"}


@dataclass(frozen=True)
class Provisioned:
    """A released profile ready to be downloaded, or the SM-DP+'s refusal."""

    ok: bool
    iccid: str = ""
    result: SmdpResult | None = None


def smdp_code(result: SmdpResult) -> str:
    return f"smdp_{result.subject_code or 'unknown'}_{result.reason_code or 'unknown'}"


def reserve_profile(order: Order) -> Provisioned:
    """downloadOrder (once per order) then confirmOrder with release, for a new eSIM order."""
    smdp = peers.current().smdp
    iccid = order.iccid
    if not iccid:
        ordered = smdp.download_order(
            eid=order.eid or None, profile_type=ESIM_PROFILE_TYPE, call_id=f"{order.id}:downloadOrder"
        )
        if not ordered.ok or not ordered.iccid:
            return Provisioned(ok=False, result=ordered)
        iccid = ordered.iccid
        Order.objects.filter(id=order.id).update(iccid=iccid)  # committed: a retry confirms this profile
    confirmed = smdp.confirm_order(iccid=iccid, eid=order.eid or None, release=True)
    if not confirmed.ok:
        return Provisioned(ok=False, iccid=iccid, result=confirmed)
    return Provisioned(ok=True, iccid=iccid, result=confirmed)


def release_reservation(iccid: str) -> None:
    """Give a reserved profile back to the pool after the order failed (best effort)."""
    answer = peers.current().smdp.cancel_order(iccid=iccid, final_status="Available")
    if not answer.ok:
        log.warning("cancelOrder for %s failed: %s", iccid, smdp_code(answer))


def create_line(order: Order, provisioned: Provisioned, at: datetime) -> Line:
    """The hosted line of a new eSIM, inside the caller's transaction; an ICCID the SM-DP+ recycled
    from a cancelled line starts a new life (the old row is archived with its history)."""
    result = provisioned.result
    assert result is not None
    _archive_recycled(provisioned.iccid, order.id, at)
    line = Line.objects.create(
        id=new_id("ln"), network_id=order.network_id, iccid=provisioned.iccid, eid=result.eid or order.eid,
        matching_id=result.matching_id or "", smdp_address=result.smdp_address or "",
        profile_state="released", language=order.language, created_at=at, updated_at=at,
    )  # fmt: skip
    LineEvent.objects.create(line=line, kind="profile", state="released", code="confirmOrder", at=at)
    Order.objects.filter(id=order.id).update(line=line)
    order.line = line
    return line


def _archive_recycled(iccid: str, order_id: str, at: datetime) -> None:
    """Free the ICCID of a former line the SM-DP+ took back, keeping that line's history and bundles under
    `<iccid>~<line id>`; the new owner gets a fresh line and never sees them. Refuses a live line's ICCID."""
    former = Line.objects.select_for_update().filter(iccid=iccid).first()
    if former is None:
        return
    if former.profile_state not in RECYCLABLE_STATES:
        raise Conflict(
            f"the SM-DP+ handed out ICCID {iccid} of a line in state {former.profile_state}",
            code="smdp_iccid_in_use", field="iccid",
        )  # fmt: skip
    Line.objects.filter(id=former.id).update(
        iccid=f"{iccid}~{former.id}", archived_iccid=iccid, archived_at=at, updated_at=at
    )
    LineEvent.objects.create(
        line_id=former.id, kind="profile", state="archived", code="iccid_recycled", at=at,
        detail=f"ICCID handed out again by the SM-DP+ for order {order_id}",
    )  # fmt: skip
    log.warning("ICCID recycled: former line %s archived", former.id, extra={"order_id": order_id})


def add_bundle(line_id: str, order: Order, at: datetime) -> None:
    """Apply the order's plan to the line's bundles (stack or extend, never shortening), in a transaction."""
    record = PlanRecord.objects.get(id=order.plan_id)
    terms = terms_for(record.to_domain(), BundleStart(record.bundle_start), TopupRule(record.topup_rule))
    rows = BundleRecord.objects.select_for_update().filter(line_id=line_id, status__in=USABLE)
    outcome = apply_purchase(
        [row.to_domain() for row in rows], terms, bundle_id=new_id("bdl"), line_id=line_id, at=at
    )
    if outcome.created is not None:
        BundleRecord.from_domain(outcome.created, order.id).save(force_insert=True)
    if outcome.extended is not None:
        grown = outcome.extended
        BundleRecord.objects.filter(id=grown.id).update(
            data_kb=grown.data_kb, fair_use_kb=grown.fair_use_kb, expires_at=grown.expires_at
        )


def looks_like_iccid(text: str) -> bool:
    """ICCIDs start with 89 (telecom) and are 18-20 characters; Belgian numbers never look like that."""
    digits = text.strip().rstrip("Ff")
    return digits.startswith("89") and digits.isdigit() and 17 <= len(digits) <= 20


def find_line(iccid_or_msisdn: str) -> Line:
    text = iccid_or_msisdn.strip()
    if looks_like_iccid(text):
        line = Line.objects.filter(iccid=parse_iccid(text)).first()
    else:
        line = Line.objects.filter(msisdn=text).first()
    if line is None:
        raise NotFound("no eSIM line with this ICCID or number", code="line_not_found", field="iccid")
    return line


PROGRESS_SCOPE = "es2plus:handleDownloadProgressInfo"
CALL_ID_REUSED = "call_id_reused"


def _claim_call(source_ref: str, request_hash: str, at: datetime) -> str | None:
    """Claim an ES2+ call (`requester:functionCallIdentifier`) for this request body, inside the caller's
    transaction: None for a new call, "duplicate" for the same call again, CALL_ID_REUSED for another body."""
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(
                scope=PROGRESS_SCOPE, key=source_ref, request_hash=request_hash,
                response_status=204, response_body={}, created_at=at,
            )  # fmt: skip
    except IntegrityError:
        first = IdempotencyRecord.objects.filter(scope=PROGRESS_SCOPE, key=source_ref)
        first_hash = first.values_list("request_hash", flat=True).first()
        return "duplicate" if first_hash == request_hash else CALL_ID_REUSED
    return None


def record_progress(
    *, iccid: str, point: int, ok: bool, code: str, source_ref: str, at: datetime, request_hash: str = ""
) -> str:
    """Move a line's profile state after a handleDownloadProgressInfo notification (each applied once).

    With `request_hash` (of the whole request body), the call id is claimed in the same transaction: the same
    call again is "duplicate" (nothing changes), the call id with another body is CALL_ID_REUSED (refused)."""
    with transaction.atomic():
        if request_hash:
            repeated = _claim_call(source_ref, request_hash, at)
            if repeated is not None:
                return repeated
        line = Line.objects.filter(iccid=iccid).first()
        if line is None:
            log.warning("progress notification for unknown ICCID %s", iccid)
            return "unknown_iccid"
        state = PROGRESS_STATES.get(point, f"point_{point}") if ok else "error"
        try:
            with transaction.atomic():
                LineEvent.objects.create(
                    line=line, kind="profile", state=state, code=code, source_ref=source_ref, at=at,
                    detail=f"notification point {point}",
                )  # fmt: skip
                if (ok and point in PROGRESS_STATES) or not ok:
                    Line.objects.filter(id=line.id).update(profile_state=state, updated_at=at)
        except IntegrityError:
            return "duplicate"
    return state


def line_document(line: Line, at: datetime | None = None) -> dict[str, object]:
    """Credit and bundles of a hosted line, as the balance endpoint shows them."""
    at = at or now()
    bundles = BundleRecord.objects.filter(line=line).order_by("expires_at", "purchased_at")
    return {
        "iccid": line.iccid,
        "msisdn": line.msisdn,
        "network": line.network_id,
        "profile_state": line.profile_state,
        "credit": {"amount_minor": line.credit_minor, "currency": line.currency},
        "valid_until": None,
        "source": "platform",
        "bundles": [
            {
                "id": b.id,
                "plan_id": b.plan_id,
                "remaining_mb": b.to_domain().remaining_kb // 1024,
                "total_mb": b.data_kb // 1024 if b.data_kb is not None else None,
                "unlimited": b.data_kb is None,
                "starts_at": b.starts_at,
                "expires_at": b.expires_at,
                "status": b.status,
            }
            for b in bundles
            if b.status in USABLE or b.expires_at is None or b.expires_at > at
        ],
    }


def cancel_before_download(order_id: str) -> None:
    """Cancel a new eSIM whose profile was not downloaded yet: cancelOrder at the SM-DP+, then a refund."""
    order = Order.objects.select_related("line").filter(id=order_id).first()
    if order is None:
        raise NotFound(f"no order {order_id!r}", code="order_not_found", field="order_id")
    line = order.line
    if order.status != "delivered" or line is None or order.iccid != line.iccid:
        raise Conflict("only a delivered new eSIM can be cancelled", code="not_cancellable", field="order_id")
    if line.profile_state not in {"released", "eligible"}:
        raise Conflict(
            "the eSIM was already downloaded to a phone; it can no longer be cancelled",
            code="esim_already_downloaded", field="order_id",
        )  # fmt: skip
    answer = peers.current().smdp.cancel_order(iccid=line.iccid, final_status="Available")
    if not answer.ok:
        if answer.transient:
            raise PortUnavailable("the SM-DP+ did not answer")
        raise Conflict(answer.message or "the SM-DP+ refused", code=smdp_code(answer), field="order_id")
    at = now()
    with transaction.atomic():
        Line.objects.filter(id=line.id).update(profile_state="cancelled", updated_at=at)
        LineEvent.objects.create(line=line, kind="profile", state="cancelled", code="cancelOrder", at=at)
        BundleRecord.objects.filter(line=line, order_id=order.id).update(status=BundleStatus.CANCELLED.value)
        enqueue("refund", order.id, at=at)
