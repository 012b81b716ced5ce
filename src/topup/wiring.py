"""The composition root: builds every adapter once from the configuration and hands them to the services.

A process calls `start()` when it starts (the web process in `wsgi`, the worker and every command in
`cli`; tests with their simulators' addresses). Adding a payment provider or a carrier route is one
adapter module, one line in `PAYMENT_ADAPTERS` or `CARRIER_ADAPTERS`, and its settings; then
`TOPUP_PAYMENT_ROUTES` / `TOPUP_CARRIER_ROUTES` send methods and networks through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from topup.adapters.carriers.dtone import DtoneGateway
from topup.adapters.carriers.http import HttpCarrierGateway
from topup.adapters.esim.es2plus import Es2PlusClient
from topup.adapters.kiosk.cash_acceptor import HttpCashAcceptor
from topup.adapters.messaging.outbox_sms import SmppSmsSender
from topup.adapters.messaging.smtp import SmtpMailer
from topup.adapters.payments.stripe import StripePaymentProvider
from topup.adapters.payments.stripe_saved import StripeSavedCards
from topup.adapters.payments.stripe_terminal import StripeTerminalReader
from topup.ports import CarrierGateway, PaymentProvider
from topup.services import notifications, peers
from topup.services.counter_payments import SpotPaymentProvider
from topup.services.retail_voids import RetailPaymentProvider
from topup.services.voucher_payments import VoucherPaymentProvider
from topup.settings import CONFIG, Config


@dataclass(frozen=True)
class Addresses:
    """Where the outside parties listen; tests replace one with a simulator's free port."""

    payments: str
    carriers: str
    smdp: str
    dtone: str

    @classmethod
    def of(cls, config: Config) -> Addresses:
        return cls(
            payments=config.payments_url, carriers=config.carriers_url, smdp=config.smdp_url,
            dtone=config.dtone_url,
        )  # fmt: skip


# name -> how to build it. Routes name a provider; voucher, retail, counter and goodwill are internal.
PAYMENT_ADAPTERS: dict[str, Callable[[Config, Addresses], PaymentProvider]] = {
    "stripe": lambda c, a: StripePaymentProvider(
        a.payments,
        c.payments_api_key,
        c.webhook_secrets,
        c.stripe_api_version,
        card_payment_method=c.stripe_card_payment_method,
        card_flow=c.stripe_card_flow,
    ),
    "voucher": lambda c, a: VoucherPaymentProvider(),
    "retail": lambda c, a: RetailPaymentProvider(),  # a shop's sale, paid from its float
    "counter": lambda c, a: SpotPaymentProvider("counter"),  # cash at an agent's counter
    "goodwill": lambda c, a: SpotPaymentProvider("goodwill"),  # a free top-up an agent gives
}
INTERNAL_PROVIDERS = ("voucher", "retail", "counter", "goodwill")  # no route names them: paid on the spot
CARRIER_ADAPTERS: dict[str, Callable[[Config, Addresses], CarrierGateway]] = {
    "gateway": lambda c, a: HttpCarrierGateway(a.carriers, c.carrier_api_key, c.carrier_timeout_s),
    "dtone": lambda c, a: DtoneGateway(
        a.dtone, c.dtone_api_key, c.dtone_api_secret, c.dtone_timeout_s, callback_url=_dtone_callback_url(c)
    ),
}


def _dtone_callback_url(config: Config) -> str:
    """Where DT One posts status changes (a secret path); empty without a token: the worker only polls."""
    token = config.dtone_callback_token
    return f"{config.public_url}/carriers/dtone/callbacks/{token}" if token else ""


class WiringError(ValueError):
    """A route names an adapter that is not registered: refused at start, before any customer."""


def _check_routes(routes: Mapping[str, str], known: Mapping[str, object], setting: str) -> None:
    unknown = sorted({name for name in routes.values() if name not in known})
    if unknown:
        raise WiringError(f"{setting} names unknown adapters {unknown}; known: {sorted(known)}")


def build(config: Config = CONFIG, addresses: Addresses | None = None) -> peers.Peers:
    """Every adapter the routes use, built once."""
    where = addresses or Addresses.of(config)
    carrier_routes = {"*": "gateway", **config.carrier_routes}
    _check_routes(config.payment_routes, PAYMENT_ADAPTERS, "TOPUP_PAYMENT_ROUTES")
    _check_routes(carrier_routes, CARRIER_ADAPTERS, "TOPUP_CARRIER_ROUTES")
    payment_names = {*config.payment_routes.values(), *INTERNAL_PROVIDERS}
    return peers.Peers(
        payments={name: PAYMENT_ADAPTERS[name](config, where) for name in sorted(payment_names)},
        payment_routes=dict(config.payment_routes),
        carriers={
            name: CARRIER_ADAPTERS[name](config, where) for name in sorted(set(carrier_routes.values()))
        },
        carrier_routes=carrier_routes,
        smdp=Es2PlusClient(where.smdp, config.smdp_api_key, requester_id="topup"),
        cash=HttpCashAcceptor(),  # each kiosk's own device service (services/kiosk_devices)
        card_reader=StripeTerminalReader(where.payments, config.payments_api_key, config.stripe_api_version),
        saved_cards=(  # auto top-up: cards saved at the provider that takes cards, when it is Stripe
            StripeSavedCards(where.payments, config.payments_api_key, config.stripe_api_version)
            if config.payment_routes.get("card") == "stripe"
            else None
        ),
    )


def start(*, config: Config = CONFIG, messaging: bool = True, **addresses: str) -> peers.Peers:
    """Build and install the peers (and the SMS and mail senders); `addresses` overrides where they are."""
    where = replace(Addresses.of(config), **addresses)
    built = build(config, where)
    peers.install(built)
    if messaging:
        start_messaging(config)
    return built


def start_messaging(config: Config = CONFIG) -> None:
    """Give notifications their senders: SMS through the SMSC over SMPP, e-mail over SMTP when configured."""
    sms = (
        SmppSmsSender(
            config.smsc_host, config.smsc_port, config.smsc_system_id, config.smsc_password,
            source_addr=config.sms_short_code,
        )
        if config.smsc_host
        else None
    )  # fmt: skip
    mailer = SmtpMailer(config.smtp_host, config.smtp_port, config.mail_from) if config.smtp_host else None
    notifications.configure(sms=sms, mailer=mailer)
