"""Bundles on hosted lines: a bundle plan's instance, how purchases stack or extend it, activation and expiry.

Data is counted in kB with 1 MB = 1024 kB (the catalogue's 1 GB is 1 024 MB). An unlimited bundle has no
`data_kb`; it is consumed against its fair-use cap instead, so `cap_kb`/`remaining_kb` are always numbers.
Validity is a whole number of 24-hour days in UTC; `expires_at` is exclusive (usable while `at < expires_at`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from topup.domain.catalogue import Plan, PlanKind
from topup.domain.errors import Conflict, IllegalTransition, InvalidInput

KB_PER_MB = 1024
DEFAULT_THRESHOLDS: tuple[int, ...] = (80, 100)


class BundleStart(StrEnum):
    ON_PURCHASE = "on_purchase"
    ON_FIRST_USE = "on_first_use"


class TopupRule(StrEnum):
    STACK = "stack"  # a new bundle with its own expiry
    EXTEND = "extend"  # add to the active bundle of the same plan and push its expiry by the validity


class BundleStatus(StrEnum):
    PENDING = "pending"  # bought, waiting for first use
    ACTIVE = "active"
    EXHAUSTED = "exhausted"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


def _invalid_bundle(message: str) -> InvalidInput:
    return InvalidInput(message, code="invalid_bundle", field="bundle")


def require_aware(value: datetime, what: str) -> None:
    """Refuse naive datetimes: the domain reasons in timezone-aware instants only."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{what} must be timezone-aware", code="naive_datetime", field=what)


@dataclass(frozen=True, slots=True)
class Bundle:
    id: str
    line_id: str
    plan_id: str
    data_kb: int | None  # None = unlimited, consumed against fair_use_kb
    used_kb: int
    fair_use_kb: int | None
    validity_days: int
    purchased_at: datetime
    starts_at: datetime | None
    expires_at: datetime | None
    status: BundleStatus

    def __post_init__(self) -> None:
        if not self.id or not self.line_id or not self.plan_id:
            raise _invalid_bundle("a bundle needs an id, a line and a plan")
        if (self.data_kb is None) == (self.fair_use_kb is None):
            raise _invalid_bundle(f"bundle {self.id}: exactly one of data_kb and fair_use_kb is set")
        if self.cap_kb <= 0 or self.validity_days <= 0:
            raise _invalid_bundle(f"bundle {self.id}: data and validity must be positive")
        if not 0 <= self.used_kb <= self.cap_kb:
            raise _invalid_bundle(f"bundle {self.id}: used_kb {self.used_kb} outside 0..{self.cap_kb}")
        require_aware(self.purchased_at, "purchased_at")
        if self.status == BundleStatus.PENDING:
            if self.starts_at is not None or self.expires_at is not None:
                raise _invalid_bundle(f"bundle {self.id}: a pending bundle has no validity yet")
        elif self.status == BundleStatus.ACTIVE and (
            self.starts_at is None or self.expires_at is None or self.expires_at <= self.starts_at
        ):
            raise _invalid_bundle(f"bundle {self.id}: an active bundle needs starts_at < expires_at")

    @property
    def is_unlimited(self) -> bool:
        return self.data_kb is None

    @property
    def cap_kb(self) -> int:
        """What can be drawn in total: the data, or the fair-use cap of an unlimited bundle."""
        cap = self.data_kb if self.data_kb is not None else self.fair_use_kb
        assert cap is not None  # __post_init__ guarantees exactly one is set
        return cap

    @property
    def remaining_kb(self) -> int:
        """What is left: of the data, or, for an unlimited bundle, of its fair-use cap."""
        return self.cap_kb - self.used_kb

    def is_usable(self, at: datetime) -> bool:
        """Active, within its validity at `at` and not used up."""
        return (
            self.status == BundleStatus.ACTIVE
            and self.starts_at is not None
            and self.expires_at is not None
            and self.starts_at <= at < self.expires_at
            and self.used_kb < self.cap_kb
        )


@dataclass(frozen=True, slots=True)
class BundleTerms:
    """What one purchase of a bundle plan gives, and the operator's policy for it."""

    plan_id: str
    data_kb: int | None
    fair_use_kb: int | None
    validity_days: int
    start: BundleStart
    rule: TopupRule

    def __post_init__(self) -> None:
        if (self.data_kb is None) == (self.fair_use_kb is None):
            raise InvalidInput(f"terms {self.plan_id}: data or fair use, not both", code="invalid_terms")
        amount = self.data_kb if self.data_kb is not None else self.fair_use_kb
        if amount is None or amount <= 0 or self.validity_days <= 0:
            raise InvalidInput(f"terms {self.plan_id}: amounts must be positive", code="invalid_terms")


def terms_for(plan: Plan, start: BundleStart, rule: TopupRule) -> BundleTerms:
    """The terms of a bundle plan; a credit plan has none (InvalidInput `not_a_bundle_plan`)."""
    if plan.kind != PlanKind.BUNDLE or plan.validity_days is None:
        raise InvalidInput(f"plan {plan.id} is not a bundle", code="not_a_bundle_plan", field="plan_id")
    return BundleTerms(
        plan_id=plan.id,
        data_kb=None if plan.data_mb is None else plan.data_mb * KB_PER_MB,
        fair_use_kb=None if plan.fair_use_mb is None else plan.fair_use_mb * KB_PER_MB,
        validity_days=plan.validity_days,
        start=start,
        rule=rule,
    )


@dataclass(frozen=True, slots=True)
class PurchaseOutcome:
    """Exactly one of the two is set: a new bundle, or the existing bundle after the extension."""

    created: Bundle | None
    extended: Bundle | None


def _extension_target(
    existing: Sequence[Bundle], terms: BundleTerms, line_id: str, at: datetime
) -> Bundle | None:
    """The active bundle of the same plan and kind, valid at `at`; the latest-expiring one if several."""
    best: Bundle | None = None
    for bundle in existing:
        if (
            bundle.line_id == line_id
            and bundle.plan_id == terms.plan_id
            and bundle.status == BundleStatus.ACTIVE
            and bundle.expires_at is not None
            and bundle.expires_at > at
            and bundle.is_unlimited == (terms.data_kb is None)
            and (best is None or _latest_key(bundle) > _latest_key(best))
        ):
            best = bundle
    return best


def _latest_key(bundle: Bundle) -> tuple[datetime, str]:
    assert bundle.expires_at is not None
    return bundle.expires_at, bundle.id


def apply_purchase(
    existing: Sequence[Bundle], terms: BundleTerms, *, bundle_id: str, line_id: str, at: datetime
) -> PurchaseOutcome:
    """Apply one purchase to a line's bundles, following the terms' rule.

    EXTEND adds the data (or fair-use allowance) to the active bundle of the same plan and sets its expiry to
    max(at, expires_at) + validity, so it never moves earlier; with no such bundle (none, or only pending,
    exhausted or expired ones) it behaves as STACK. `bundle_id` must be new on the line (Conflict otherwise),
    so a retried purchase cannot create a second bundle under the same id.
    """
    require_aware(at, "at")
    if any(bundle.id == bundle_id for bundle in existing):
        raise Conflict(f"bundle {bundle_id} already exists", code="bundle_exists", field="bundle_id")
    target = _extension_target(existing, terms, line_id, at) if terms.rule == TopupRule.EXTEND else None
    if target is not None:
        assert target.expires_at is not None
        extended = replace(
            target,
            data_kb=None if target.data_kb is None else target.data_kb + (terms.data_kb or 0),
            fair_use_kb=None if target.fair_use_kb is None else target.fair_use_kb + (terms.fair_use_kb or 0),
            expires_at=max(at, target.expires_at) + timedelta(days=terms.validity_days),
        )
        return PurchaseOutcome(created=None, extended=extended)
    on_purchase = terms.start == BundleStart.ON_PURCHASE
    created = Bundle(
        id=bundle_id,
        line_id=line_id,
        plan_id=terms.plan_id,
        data_kb=terms.data_kb,
        used_kb=0,
        fair_use_kb=terms.fair_use_kb,
        validity_days=terms.validity_days,
        purchased_at=at,
        starts_at=at if on_purchase else None,
        expires_at=at + timedelta(days=terms.validity_days) if on_purchase else None,
        status=BundleStatus.ACTIVE if on_purchase else BundleStatus.PENDING,
    )
    return PurchaseOutcome(created=created, extended=None)


def activate_on_first_use(bundle: Bundle, at: datetime) -> Bundle:
    """Pending -> active at the first use: valid from `at` for the bundle's validity."""
    require_aware(at, "at")
    if bundle.status != BundleStatus.PENDING:
        raise IllegalTransition(
            f"bundle {bundle.id} is {bundle.status}, not pending", code="bundle_not_pending"
        )
    if at < bundle.purchased_at:
        raise InvalidInput(f"bundle {bundle.id} used before it was bought", code="activation_before_purchase")
    return replace(
        bundle,
        status=BundleStatus.ACTIVE,
        starts_at=at,
        expires_at=at + timedelta(days=bundle.validity_days),
    )


def cancel(bundle: Bundle) -> Bundle:
    """A pending or active bundle is cancelled (refund of its order); what was left is `remaining_kb`."""
    if bundle.status not in (BundleStatus.PENDING, BundleStatus.ACTIVE):
        raise IllegalTransition(f"bundle {bundle.id} is {bundle.status}", code="bundle_not_cancellable")
    return replace(bundle, status=BundleStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class ExpiryRecord:
    """A bundle that expired, with what it still held, so the remainder is written off explicitly."""

    bundle_id: str
    remaining_kb: int
    expired_at: datetime
    bundle: Bundle  # the bundle after expiry (status expired)


def expire(bundles: Iterable[Bundle], at: datetime) -> list[ExpiryRecord]:
    """Expire every active bundle whose validity ended at or before `at`, in input order.

    `expired_at` is the bundle's own `expires_at`, not `at`, so a late or repeated sweep records the same
    facts. Pending bundles never expire (their validity has not started); exhausted ones stay exhausted.
    """
    require_aware(at, "at")
    records: list[ExpiryRecord] = []
    for bundle in bundles:
        if bundle.status == BundleStatus.ACTIVE and bundle.expires_at is not None and bundle.expires_at <= at:
            records.append(
                ExpiryRecord(
                    bundle_id=bundle.id,
                    remaining_kb=bundle.remaining_kb,
                    expired_at=bundle.expires_at,
                    bundle=replace(bundle, status=BundleStatus.EXPIRED),
                )
            )
    return records


def crossed_thresholds(
    before_used_kb: int, after_used_kb: int, total_kb: int, thresholds: Sequence[int] = DEFAULT_THRESHOLDS
) -> list[int]:
    """The usage percentages in `thresholds` that this usage crossed, ascending.

    A threshold p is crossed when before < p% of total <= after, so consecutive usages cross each one once.
    """
    if total_kb <= 0 or not 0 <= before_used_kb <= after_used_kb:
        raise InvalidInput("thresholds need 0 <= before <= after and a positive total", code="invalid_usage")
    return sorted(p for p in set(thresholds) if before_used_kb * 100 < p * total_kb <= after_used_kb * 100)
