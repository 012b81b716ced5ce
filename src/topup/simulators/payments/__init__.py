"""The payment simulator: a separate Stripe-like server (intents, hosted checkout, refunds, signed webhooks).

It is the provider's system, not ours: the sandbox adapter (`topup.adapters.payments.sandbox`) talks to it
over HTTP exactly as it would talk to a real provider. Run it with `python -m topup.simulators.payments`.
"""

from topup.simulators.payments.app import run
from topup.simulators.payments.config import add_arguments

__all__ = ["add_arguments", "run"]
