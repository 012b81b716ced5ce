"""Recharge vouchers: generate a batch (the PINs are returned once, only their keyed hash is stored), redeem a
PIN into a paid order in one transaction, give a voucher back after a refund, void a batch, expire vouchers.

Vouchers are created `active`: a batch is generated when it is sold to the distributor, so every printed
card is redeemable at once. (A shop-activation step would create them `issued`; the states allow it.)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When

from topup.clock import new_id, now
from topup.db.models import (
    NetworkRecord,
    PlanRecord,
    RedeemAttempts,
    Voucher,
    VoucherBatch,
)
from topup.domain import vouchers as rules
from topup.domain.errors import DomainError, InvalidInput
from topup.domain.identifiers import parse_belgian_mobile, parse_iccid
from topup.domain.vouchers import VoucherState
from topup.metrics import record
from topup.pii import blind_index, hash_ip, mask_msisdn
from topup.services import breaker, orders
from topup.services.idempotency import IdempotencyKey, store_answer
from topup.services.order_view import order_document
from topup.services.paid_orders import PaidBy, create_paid_order
from topup.settings import CONFIG

log = logging.getLogger(__name__)

PROVIDER = "voucher"  # the payment provider name of voucher orders (ledger: provider_clearing:voucher)
CHUNK = 5_000
_MAX_COLLISION_ROUNDS = 20
# Refusals that a guesser gets and a customer with a real voucher almost never does: the breaker counts them.
GUESS_CODES = frozenset({"voucher_unknown", "invalid_pin_format"})


@cache
def _keys(peppers: tuple[tuple[str, str], ...]) -> tuple[bytes, ...]:
    """The PIN hashing keys of the voucher peppers, the newest first. A pepper is rotated by putting a new
    one first: it hashes new PINs, the older ones still redeem the PINs printed under them. (The demo's
    only pepper, v1, is the secret key, which hashed every PIN before peppers were separate.)"""
    if not peppers:
        raise RuntimeError("TOPUP_VOUCHER_PEPPERS is empty")
    return tuple(
        hmac.new(secret.encode(), b"topup voucher pin hash v1", hashlib.sha256).digest()
        for _id, secret in peppers
    )


def pin_hash(pin: str) -> str:
    """The stored form of a new PIN: its digest under the newest pepper."""
    return rules.pin_digest(_keys(CONFIG.voucher_peppers)[0], pin)


def pin_hashes(pin: str) -> list[str]:
    """The digests a stored PIN may have, one per pepper (newest first)."""
    return [rules.pin_digest(key, pin) for key in _keys(CONFIG.voucher_peppers)]


def _secure_digits(n: int) -> str:
    return str(secrets.randbelow(10**n)).zfill(n)


# ---------------------------------------------------------------- generation


def generate_batch(
    network_id: str,
    plan_id: str,
    count: int,
    *,
    expires_in_days: int = 365,
    note: str = "",
    progress: Callable[[int], None] | None = None,
    random_digits: Callable[[int], str] = _secure_digits,
) -> tuple[VoucherBatch, list[tuple[str, str]]]:
    """Create `count` active vouchers for `plan_id`; returns the batch and its (serial, PIN) pairs.

    All or nothing (one transaction). `progress(done)` is called after each chunk is written.
    """
    rules.check_batch_size(count)
    if expires_in_days < 1:
        raise InvalidInput(
            "expires_in_days must be at least 1", code="invalid_voucher_batch", field="expires_in_days"
        )
    plan = PlanRecord.objects.select_related("network").get(id=plan_id, network_id=network_id)
    network: NetworkRecord = plan.network
    length = rules.pin_length(network.id)
    at = now()
    expires_at = at + timedelta(days=expires_in_days)
    pins = _unique_pins(network.id, count, random_digits)
    with transaction.atomic():
        batch = _save_with_free_code(
            VoucherBatch(
                network=network, plan=plan, count=count, pin_length=length, price_minor=plan.price_minor,
                currency=plan.currency, created_at=at, expires_at=expires_at, note=note[:200],
            )
        )  # fmt: skip
        pairs: list[tuple[str, str]] = []
        for start in range(0, count, CHUNK):
            chunk = pins[start : start + CHUNK]
            serials = [
                rules.make_serial(network.id, batch.id, seq)
                for seq in range(start + 1, start + 1 + len(chunk))
            ]
            chunk = _insert_chunk(batch, serials, chunk, at, random_digits)
            pairs.extend(zip(serials, chunk, strict=True))
            if progress is not None:
                progress(len(pairs))
    log.info("voucher batch generated", extra={"batch": batch.id, "count": count, "plan": plan.id})
    return batch, pairs


def _unique_pins(network_id: str, count: int, random_digits: Callable[[int], str]) -> list[str]:
    pins: dict[str, None] = {}  # insertion-ordered set
    draw = random_digits
    while len(pins) < count:
        pin = rules.make_pin(network_id, draw)
        if pin in pins:
            draw = _secure_digits  # a repeat: an injected source may not be random enough to finish
        pins[pin] = None
    return list(pins)


def _save_with_free_code(batch: VoucherBatch) -> VoucherBatch:
    """Save the batch under a batch code not taken yet (today's date and four random characters)."""
    for _ in range(10):
        suffix = "".join(secrets.choice(rules.BATCH_SUFFIX_ALPHABET) for _ in range(4))
        batch.id = rules.batch_code(batch.created_at.date(), suffix)
        try:
            with transaction.atomic():
                batch.save(force_insert=True)
        except IntegrityError:
            continue  # that code was taken today: draw another
        return batch
    raise RuntimeError("could not find a free batch code")


def _insert_chunk(
    batch: VoucherBatch,
    serials: list[str],
    pins: list[str],
    at: datetime,
    random_digits: Callable[[int], str],
) -> list[str]:
    """Insert one chunk; a PIN that another voucher holds already (unique pin_hash) is drawn again."""
    pins = list(pins)
    for _ in range(_MAX_COLLISION_ROUNDS):
        hashes = [pin_hash(pin) for pin in pins]
        redraw = _held_under_older_peppers(pins)
        if not redraw:
            rows = [
                Voucher(
                    id=serial, batch_id=batch.id, plan_id=batch.plan_id, pin_hash=digest,
                    state=VoucherState.ACTIVE.value, expires_at=batch.expires_at, activated_at=at,
                )
                for serial, digest in zip(serials, hashes, strict=True)
            ]  # fmt: skip
            try:
                with transaction.atomic():
                    Voucher.objects.bulk_create(rows)
            except IntegrityError:
                taken = set(Voucher.objects.filter(pin_hash__in=hashes).values_list("pin_hash", flat=True))
                # Nothing visible: a concurrent batch holds it uncommitted; draw the whole chunk again.
                redraw = {i for i, digest in enumerate(hashes) if digest in taken} or set(range(len(pins)))
            else:
                return pins
        log.info("voucher PIN collision: %d PIN(s) drawn again", len(redraw))
        pins = [
            rules.make_pin(batch.network_id, _secure_digits) if i in redraw else pin
            for i, pin in enumerate(pins)
        ]
    raise RuntimeError("voucher PINs kept colliding: is random_digits random?")


def _held_under_older_peppers(pins: list[str]) -> set[int]:
    """Indexes of PINs that a voucher hashed under an older pepper holds already: one PIN, one voucher."""
    held: set[int] = set()
    for key in _keys(CONFIG.voucher_peppers)[1:]:
        digests = [rules.pin_digest(key, pin) for pin in pins]
        taken = set(Voucher.objects.filter(pin_hash__in=digests).values_list("pin_hash", flat=True))
        held.update(i for i, digest in enumerate(digests) if digest in taken)
    return held


# ---------------------------------------------------------------- redemption


def redeem(
    pin: str,
    *,
    msisdn: str = "",
    iccid: str = "",
    channel: str,
    caller_keys: Sequence[str],
    language: str = "en",
    idem: IdempotencyKey | None = None,
) -> dict[str, object]:
    """Redeem a PIN for a line: the answer is the document of the new paid order (delivery is queued).

    With `idem` (the API's and the website's key), that answer is stored under the key in the redemption's
    own transaction, so that a resend after a lost connection replays it rather than finding the PIN used.

    `caller_keys` name who asks, as `kind:value` (`line:+32…`, `ip:…`, `ussd:<session>`, `call:<CallSid>`):
    each is limited on its own (typos are free up to three times; then the caller waits 2, 4, 8 ... s, and
    from the 10th failure an hour), and every caller together by the guessing breaker (breaker.py).
    """
    keys = sorted({caller_key(key) for key in caller_keys})
    if not keys:
        raise ValueError("caller_keys must name at least one caller")
    # The line's format is checked first: telling a typo in the number says nothing about the PIN.
    msisdn = parse_belgian_mobile(msisdn) if msisdn else ""
    iccid = parse_iccid(iccid) if iccid else ""
    at = now()
    _claim_attempt(keys, at)
    try:
        with transaction.atomic():
            line = _Line(msisdn=msisdn, iccid=iccid, channel=channel, language=language)
            order = _redeem_valid(rules.checked_pin(pin), line, keys, at)
            if idem is not None:
                store_answer(idem, 201, order, at)
            return order
    except DomainError as error:
        if error.code in GUESS_CODES:
            record.voucher_failed(channel, error.code)  # /metrics: the guessing alarm
            # One line a refusal (never the PIN; the number masked): a lockout stops a caller at ten.
            shown = mask_msisdn(msisdn) if msisdn else ""
            log.warning(
                "voucher refused: %s", error.code,
                extra={"code": error.code, "channel": channel, "msisdn": shown},
            )  # fmt: skip
            breaker.failed(at)
        raise


def caller_key(key: str) -> str:
    """`kind:value` as stored: the kind, and a blind index of the value (never a raw number or address)."""
    kind, _, value = key.partition(":")
    if not kind or not value or len(kind) > 20:
        raise ValueError("a caller key is kind:value, e.g. line:+32470123456")
    digest = hash_ip(value) if kind == "ip" else blind_index(value, purpose=f"redeem_{kind}")
    return f"{kind}:{digest}"


def _claim_attempt(keys: list[str], at: datetime) -> None:
    """Count this attempt as a failure of every caller before the PIN is looked at (a success resets it),
    unless one of them is locked out or the breaker has no room: then nothing is counted."""
    with transaction.atomic():
        RedeemAttempts.objects.bulk_create([RedeemAttempts(key=key) for key in keys], ignore_conflicts=True)
        for key in keys:  # in key order: concurrent attempts on PostgreSQL cannot deadlock
            free = Q(locked_until__isnull=True) | Q(locked_until__lte=at)
            counted = RedeemAttempts.objects.filter(Q(key=key) & free).update(
                failures=F("failures") + 1, last_failure_at=at, locked_until=_lock_after_one_more(at)
            )
            if not counted:
                transaction.set_rollback(True)
                log.warning("voucher redemption refused: caller locked out", extra={"outcome": key[:12]})
                raise rules.locked_out()
        if not breaker.admit(at):
            transaction.set_rollback(True)
            raise rules.busy()


def _lock_after_one_more(at: datetime) -> Case:
    """locked_until for the row's failures + 1, computed by the domain for each count (one UPDATE)."""
    whens = [
        When(failures=n, then=Value(rules.unlock_at(n + 1, at))) for n in range(rules.HARD_LOCK_FAILURES)
    ]
    return Case(*whens, default=Value(rules.unlock_at(rules.HARD_LOCK_FAILURES, at)))


@dataclass(frozen=True)
class _Line:
    """Who redeems, where: the line topped up and the channel and language of the order."""

    msisdn: str
    iccid: str
    channel: str
    language: str


def _redeem_valid(normalised: str, line: _Line, keys: list[str], at: datetime) -> dict[str, object]:
    digests = pin_hashes(normalised)
    taken = Voucher.objects.filter(
        pin_hash__in=digests, state=VoucherState.ACTIVE.value, expires_at__gt=at
    ).update(
        state=VoucherState.REDEEMED.value,
        redeemed_at=at,
        redeemed_by=(line.iccid or line.msisdn)[:22],
        channel=line.channel,
    )
    if taken != 1:
        found = Voucher.objects.filter(pin_hash__in=digests).values("state", "expires_at").first()
        if found is None:
            raise rules.unknown_voucher()
        raise rules.refusal(VoucherState(found["state"]), found["expires_at"], at)
    voucher = Voucher.objects.get(pin_hash__in=digests)
    document = _paid_order(voucher, line, at)
    RedeemAttempts.objects.filter(key__in=keys).update(failures=0, locked_until=None)
    log.info("voucher redeemed", extra={"voucher": voucher.id, "order_id": document["id"]})
    return document


def _paid_order(voucher: Voucher, line: _Line, at: datetime) -> dict[str, object]:
    """The voucher's order, created paid (see services/paid_orders), and the voucher marked as its payment."""
    priced = orders.price(
        orders.QuoteRequest(
            voucher.plan_id,
            msisdn=line.msisdn,
            iccid=line.iccid,
            network_confirmed=True,
            with_promotions=False,  # a voucher pays its plan at face value: it was sold so
        )
    )
    order_id = new_id("ord")
    paid_by = PaidBy(PROVIDER, "voucher", voucher_payment_ref(voucher.id, order_id), "voucher", voucher.id)
    order, payment = create_paid_order(
        priced, paid_by, channel=line.channel, language=line.language, at=at, order_id=order_id
    )
    Voucher.objects.filter(id=voucher.id).update(order=order)
    return order_document(order, [payment], history=list(order.events.all()))


def voucher_payment_ref(serial: str, order_id: str) -> str:
    """The payment's provider_ref: serial and order, since a voucher given back may pay a second order."""
    return f"{serial}/{order_id}"


# ---------------------------------------------------------------- after the sale


def reinstate(serial: str, *, order_id: str) -> bool:
    """Give a voucher back after its order was refunded (the voucher provider's refund); True once done.

    Idempotent: a voucher already given back for this order answers True again.
    """
    at = now()
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().filter(id=serial).first()
        if voucher is None:
            return False
        if voucher.state == VoucherState.ACTIVE and voucher.order_id is None:
            return True  # given back already (a retried refund)
        if voucher.order_id != order_id:
            return False
        rules.check_voucher_transition(VoucherState(voucher.state), VoucherState.ACTIVE)
        Voucher.objects.filter(id=serial, state=VoucherState.REDEEMED.value, order_id=order_id).update(
            state=VoucherState.ACTIVE.value, order=None, redeemed_at=None, redeemed_by="", channel="",
            expires_at=rules.reinstated_expiry(voucher.expires_at, at),
        )  # fmt: skip
    log.info("voucher given back after a refund", extra={"voucher": serial, "order_id": order_id})
    return True


def void_batch(batch_id: str) -> int:
    """Cancel every voucher of a batch that is not used yet (a lost or stolen print run); returns how many."""
    if not VoucherBatch.objects.filter(id=batch_id).exists():
        raise rules.batch_not_found(batch_id)
    voided = Voucher.objects.filter(
        batch_id=batch_id, state__in=rules.states_that_can_become(VoucherState.VOID)
    ).update(state=VoucherState.VOID.value)
    log.info("voucher batch voided", extra={"batch": batch_id, "voided": voided})
    return voided


def expire_vouchers() -> int:
    """Mark vouchers past their expiry as expired (redemption refuses them already); returns how many."""
    expired = Voucher.objects.filter(
        state__in=rules.states_that_can_become(VoucherState.EXPIRED), expires_at__lte=now()
    ).update(state=VoucherState.EXPIRED.value)
    if expired:
        log.info("vouchers expired", extra={"expired": expired})
    return expired
