"""The one place where ports are bound to adapters, by name, from the configuration.

Adding a payment provider or a carrier gateway is one adapter file plus one line here.
"""

from __future__ import annotations

from functools import cache

from topup.adapters.carriers.http import HttpCarrierGateway
from topup.adapters.esim.es2plus import Es2PlusClient
from topup.adapters.messaging.outbox_sms import SmppSmsSender
from topup.adapters.messaging.smtp import SmtpMailer
from topup.adapters.payments.sandbox import SandboxPaymentProvider
from topup.adapters.payments.voucher import VoucherPaymentProvider
from topup.services import notifications
from topup.services.ports import CarrierGateway, PaymentProvider, SmdpGateway
from topup.settings import CONFIG

_urls = {"payments": CONFIG.payments_url, "carriers": CONFIG.carriers_url, "smdp": CONFIG.smdp_url}


def configure(
    *, payments_url: str | None = None, carriers_url: str | None = None, smdp_url: str | None = None
) -> None:
    """Point the adapters at other peers (tests start simulators on free ports)."""
    for name, url in (("payments", payments_url), ("carriers", carriers_url), ("smdp", smdp_url)):
        if url:
            _urls[name] = url
    payment_providers.cache_clear()
    carrier_gateway.cache_clear()
    smdp_gateway.cache_clear()


@cache
def payment_providers() -> dict[str, PaymentProvider]:
    provider = SandboxPaymentProvider(_urls["payments"], CONFIG.payments_api_key, CONFIG.webhook_secrets)
    return {"sandbox": provider, "voucher": VoucherPaymentProvider()}


def payment_provider(name: str) -> PaymentProvider:
    return payment_providers()[name]


# The provider each payment method goes through; a Stripe adapter would take card and bancontact here.
PROVIDER_FOR_METHOD = {
    "card": "sandbox",
    "bancontact": "sandbox",
    "alipay": "sandbox",
    "wechat_pay": "sandbox",
}


@cache
def carrier_gateway() -> CarrierGateway:
    return HttpCarrierGateway(_urls["carriers"], CONFIG.carrier_api_key, CONFIG.carrier_timeout_s)


@cache
def smdp_gateway() -> SmdpGateway:
    return Es2PlusClient(_urls["smdp"], CONFIG.smdp_api_key, requester_id="topup")


def configure_messaging() -> None:
    """Give notifications their senders: SMS through the SMSC over SMPP, e-mail over SMTP when configured."""
    sms = (
        SmppSmsSender(
            CONFIG.smsc_host, CONFIG.smsc_port, CONFIG.smsc_system_id, CONFIG.smsc_password,
            source_addr=CONFIG.sms_short_code,
        )
        if CONFIG.smsc_host
        else None
    )  # fmt: skip
    mailer = SmtpMailer(CONFIG.smtp_host, CONFIG.smtp_port, CONFIG.mail_from) if CONFIG.smtp_host else None
    notifications.configure(sms=sms, mailer=mailer)
