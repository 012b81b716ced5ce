"""The payment simulator: a separate server speaking Stripe's REST API (PaymentIntents, refunds, hosted
pages, signed events), so that the unmodified `stripe` SDK is its client.

It is the provider's system, not ours: the Stripe adapter (`topup.adapters.payments.stripe`) talks to it
exactly as it talks to api.stripe.com. Run it with `python -m topup.simulators.payments`; its test
conventions (test payment methods, refund failure marker, faults, `/_sim`) are in `state` and `admin`.
"""

from topup.simulators.payments.app import run
from topup.simulators.payments.config import add_arguments

__all__ = ["add_arguments", "run"]
