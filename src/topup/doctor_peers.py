"""`topup doctor`'s look at every configured peer: reachable, and our credentials accepted.

Each probe is the cheapest call its peer answers only to a known caller, made with the adapter's own client
where it has a harmless read (the carrier gateway's status of a reference nobody used, the SDK's
PaymentIntent list), or with the adapter's own authentication where it has none (DT One's balances, an
ES2+ CancelOrder of an ICCID whose Luhn check digit is wrong, so that no SM-DP+ can hold it, an SMPP
bind_transmitter then unbind, SMTP EHLO). Credentials count as accepted only on the answer a known caller
gets (DT One: a list of balances; the SM-DP+: Failed, ICCID unknown or invalid). A refused credential is
named as such (HTTP 401/403, ES2+ reason 1.1/1.2, SMPP 0x0E/0x0F); a wrong address (HTTP 404) as such; a
peer that does not answer as unreachable.

The SMPP probe binds as a transmitter, never a transceiver: an SMSC may route a customer's SMS or a receipt
to any transceiver session of our system id, and the probe would swallow it on unbind.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from collections.abc import Sequence
from typing import Any

import httpx
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import stripe

from topup.adapters.carriers.http import HttpCarrierGateway
from topup.adapters.esim.es2plus import ES2_PATH, PROTOCOL
from topup.doctor_report import FAIL, OK, WARN, Finding
from topup.domain.identifiers import luhn_check_digit
from topup.ports import CarrierOutcome
from topup.settings import Config

PROBE_REFERENCE = (
    "doctor-probe-0000"  # never one of ours (ours are `ord_…`/`ln_…` ids): status says not found
)
_PROBE_PAYLOAD = "899999000000000000"  # an ICCID's 18 digits before its check digit
# Its check digit is wrong: no SM-DP+ can hold it, so CancelOrder is refused without touching anything.
PROBE_ICCID = _PROBE_PAYLOAD + str((int(luhn_check_digit(_PROBE_PAYLOAD)) + 1) % 10)
ICCID_SUBJECT = "8.2.1"  # ES2+ subject code: Profile ICCID
ICCID_UNKNOWN_REASONS = frozenset({"3.9", "2.1"})  # Unknown; Invalid (format, check digit)
ACCESS_REFUSED_REASONS = frozenset({"1.1", "1.2"})  # Access error: unknown (authentication), not allowed
SMTP_OK = 250
HTTP_NOT_FOUND = 404
SMPP_LOGGER = "smpp.doctor"
CREDENTIAL_CODES = frozenset({"unauthorized", "forbidden", "http_401", "http_403"})
SMPP_CREDENTIAL_STATUSES = frozenset({smpplib.consts.SMPP_ESME_RINVPASWD, smpplib.consts.SMPP_ESME_RINVSYSID})


def check_peers(config: Config, networks: Sequence[str], timeout_s: float) -> list[Finding]:
    """One finding per peer (per network for the carrier gateway); only the peers the routes use."""
    found: list[Finding] = []
    routes = {"*": "gateway", **config.carrier_routes}
    gateway_networks = [n for n in networks if routes.get(n, routes["*"]) == "gateway"]
    if "gateway" in routes.values():
        found += [_carrier(config, network, timeout_s) for network in gateway_networks or ["*"]]
    if "dtone" in routes.values():
        found.append(_dtone(config, timeout_s))
    found.append(_smdp(config, timeout_s))
    if "stripe" in config.payment_routes.values():
        found.append(_stripe(config, timeout_s))
    if config.smsc_host:
        found.append(_smsc(config, timeout_s))
    if config.smtp_host:
        found.append(_smtp(config, timeout_s))
    return found


def _unreachable(subject: str, where: str, why: str, setting: str) -> Finding:
    return Finding(
        "peers", subject, FAIL, f"unreachable at {where} ({why})",
        f"start it or correct {setting}; check the network path and firewall",
    )  # fmt: skip


def _refused(subject: str, how: str, setting: str) -> Finding:
    return Finding(
        "peers", subject, FAIL, f"credentials refused ({how})", f"set {setting} to what it issued us"
    )


def _http_answer(subject: str, where: str, status: int, key_setting: str, url_setting: str) -> Finding | None:
    """The finding an HTTP status alone decides (refused, wrong URL, server error), else None."""
    if status in {401, 403}:
        return _refused(subject, f"HTTP {status}", key_setting)
    if status == HTTP_NOT_FOUND:
        return Finding(
            "peers", subject, FAIL, f"HTTP 404 at {where}: wrong URL", f"correct {url_setting} (base address)"
        )
    if status >= 500:
        return Finding(
            "peers", subject, FAIL, f"answers HTTP {status} at {where}", f"ask its operator; {url_setting}"
        )
    return None


def _unexpected(subject: str, where: str, what: str, url_setting: str) -> Finding:
    return Finding(
        "peers", subject, FAIL, f"unexpected answer at {where}: {what}",
        f"is {url_setting} the address of this peer (and of its API, not a web page)?",
    )  # fmt: skip


def _accepted(subject: str, where: str) -> Finding:
    return Finding("peers", subject, OK, f"reachable at {where}, credentials accepted")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _carrier(config: Config, network: str, timeout_s: float) -> Finding:
    subject = f"carrier gateway ({network})" if network != "*" else "carrier gateway"
    where, setting = config.carriers_url, "TOPUP_CARRIERS_URL"
    with HttpCarrierGateway(where, config.carrier_api_key, timeout_s) as gateway:
        result = gateway.status(network if network != "*" else "doctor", PROBE_REFERENCE)
    known = result.outcome in {CarrierOutcome.NOT_FOUND, CarrierOutcome.CONFIRMED, CarrierOutcome.CANCELLED}
    if known or (
        network == "*" and result.code == "unknown_network"
    ):  # no network named: any answer past auth
        return Finding("peers", subject, OK, f"reachable at {where}, credentials accepted")
    code = result.code or ""
    if code in CREDENTIAL_CODES:
        return _refused(subject, code, "TOPUP_CARRIER_API_KEY")
    if code == "unreachable":
        return _unreachable(subject, where, "connection refused or timed out", setting)
    if code == "timeout":
        return _unreachable(subject, where, f"no answer within {timeout_s:g} s", setting)
    if code == "unknown_network" and network != "*":
        return Finding(
            "peers", subject, FAIL, f"the gateway does not know network {network}",
            f"route {network} elsewhere (TOPUP_CARRIER_ROUTES) or deactivate it in the catalogue",
        )  # fmt: skip
    return Finding("peers", subject, WARN, f"reachable at {where}, answered {code} to a status read", "")


def _httpx_probe(subject: str, where: str, setting: str, send: Any) -> httpx.Response | Finding:
    try:
        response: httpx.Response = send()
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return _unreachable(subject, where, type(exc).__name__, setting)
    except httpx.TimeoutException:
        return _unreachable(subject, where, "no answer in time", setting)
    except httpx.HTTPError as exc:
        return _unreachable(subject, where, type(exc).__name__, setting)
    return response


def _dtone(config: Config, timeout_s: float) -> Finding:
    subject, where = "DT One", config.dtone_url
    auth = httpx.BasicAuth(config.dtone_api_key, config.dtone_api_secret)  # as topup.adapters.carriers.dtone
    answer = _httpx_probe(
        subject, where, "TOPUP_DTONE_URL",
        lambda: httpx.get(f"{where}/v1/balances", auth=auth, timeout=timeout_s),
    )  # fmt: skip
    if isinstance(answer, Finding):
        return answer
    keys, url = "TOPUP_DTONE_API_KEY and TOPUP_DTONE_API_SECRET", "TOPUP_DTONE_URL"
    decided = _http_answer(subject, where, answer.status_code, keys, url)
    if decided is not None:
        return decided
    body = _json(answer)
    balances = isinstance(body, list) and all(isinstance(b, dict) and "available" in b for b in body)
    if not answer.is_success or not balances:
        return _unexpected(subject, where, f"HTTP {answer.status_code} without a list of balances", url)
    return _accepted(subject, where)


def _smdp(config: Config, timeout_s: float) -> Finding:
    subject, where = "SM-DP+ (ES2+)", config.smdp_url
    headers = {"Authorization": f"Bearer {config.smdp_api_key}", "X-Admin-Protocol": PROTOCOL}
    call_id = f"doctor-{secrets.token_hex(8)}"
    body = {
        "header": {"functionRequesterIdentifier": "topup", "functionCallIdentifier": call_id},
        "iccid": PROBE_ICCID, "finalProfileStatusIndicator": "Available",
    }  # fmt: skip
    answer = _httpx_probe(
        subject, where, "TOPUP_SMDP_URL",
        lambda: httpx.post(f"{where}{ES2_PATH}cancelOrder", json=body, headers=headers, timeout=timeout_s),
    )  # fmt: skip
    if isinstance(answer, Finding):
        return answer
    decided = _http_answer(subject, where, answer.status_code, "TOPUP_SMDP_API_KEY", "TOPUP_SMDP_URL")
    return decided or _es2_answer(subject, where, answer)


def _es2_answer(subject: str, where: str, answer: httpx.Response) -> Finding:
    """CancelOrder of an ICCID no SM-DP+ can hold: Failed, ICCID unknown or invalid, is the answer a known
    caller gets; an access error is a refusal; anything else (a success above all) is unexpected."""
    body = _json(answer)
    header = body.get("header") if isinstance(body, dict) else None
    status = header.get("functionExecutionStatus") if isinstance(header, dict) else None
    if not answer.is_success or not isinstance(status, dict):
        return _unexpected(
            subject, where, f"HTTP {answer.status_code} without an ES2+ header", "TOPUP_SMDP_URL"
        )
    found = status.get("statusCodeData")
    data: dict[str, Any] = found if isinstance(found, dict) else {}
    codes = f"{data.get('subjectCode')}/{data.get('reasonCode')}"
    if status.get("status") == "Failed" and data.get("reasonCode") in ACCESS_REFUSED_REASONS:
        return _refused(subject, f"ES2+ {codes}", "TOPUP_SMDP_API_KEY")
    if (
        status.get("status") == "Failed"
        and data.get("subjectCode") == ICCID_SUBJECT
        and data.get("reasonCode") in ICCID_UNKNOWN_REASONS
    ):
        return _accepted(subject, where)
    return _unexpected(
        subject, where, f"CancelOrder of an impossible ICCID answered {status.get('status')} {codes}",
        "TOPUP_SMDP_URL",
    )  # fmt: skip


def _stripe(config: Config, timeout_s: float) -> Finding:
    subject, where = "payment provider (stripe)", config.payments_url
    client = stripe.StripeClient(
        config.payments_api_key,
        base_addresses={"api": where},
        stripe_version=config.stripe_api_version,
        max_network_retries=0,
        http_client=stripe.HTTPXClient(timeout=timeout_s, allow_sync_methods=True),
    )
    try:
        client.v1.payment_intents.list(params={"limit": 1})
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        return _refused(subject, f"HTTP {exc.http_status}", "TOPUP_PAYMENTS_API_KEY")
    except stripe.APIConnectionError:
        return _unreachable(subject, where, "no connection or no answer in time", "TOPUP_PAYMENTS_URL")
    except stripe.StripeError as exc:
        return Finding(
            "peers", subject, FAIL, f"answers HTTP {exc.http_status} ({exc.code or type(exc).__name__})", ""
        )
    return Finding("peers", subject, OK, f"reachable at {where}, credentials accepted")


def _smsc(config: Config, timeout_s: float) -> Finding:
    subject, where = "SMSC (SMPP)", f"{config.smsc_host}:{config.smsc_port}"
    logging.getLogger(SMPP_LOGGER).setLevel(logging.ERROR)  # smpplib narrates connects and closes at INFO
    client = smpplib.client.Client(
        config.smsc_host, config.smsc_port, timeout=timeout_s, allow_unknown_opt_params=True,
        logger_name=SMPP_LOGGER,
    )  # fmt: skip
    try:
        client.connect()
        # A transmitter: the SMSC never routes a customer's SMS or a receipt to this session.
        client.bind_transmitter(system_id=config.smsc_system_id, password=config.smsc_password)
        client.unbind()
    except smpplib.exceptions.PDUError as exc:
        status = exc.args[1] if len(exc.args) > 1 else None
        if status in SMPP_CREDENTIAL_STATUSES:
            setting = "TOPUP_SMSC_SYSTEM_ID / TOPUP_SMSC_PASSWORD"
            return _refused(subject, f"bind refused, command status {status:#04x}", setting)
        if status == smpplib.consts.SMPP_ESME_RBINDFAIL:
            return Finding(
                "peers", subject, FAIL, "bind failed (bind limit reached, or refused), command status 0x0d",
                "ask the SMSC's operator how many binds our system id may hold, and whether it is allowed",
            )  # fmt: skip
        return Finding("peers", subject, FAIL, f"bind refused ({exc})", "ask the SMSC's operator")
    except (OSError, smpplib.exceptions.ConnectionError) as exc:
        return _unreachable(subject, where, type(exc).__name__, "TOPUP_SMSC_HOST / TOPUP_SMSC_PORT")
    finally:
        client.disconnect()
    return Finding("peers", subject, OK, f"bound and unbound at {where} as {config.smsc_system_id}")


def _smtp(config: Config, timeout_s: float) -> Finding:
    subject, where = "SMTP relay", f"{config.smtp_host}:{config.smtp_port}"
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout_s) as client:
            code, _ = client.ehlo()
    except (OSError, smtplib.SMTPException) as exc:
        return _unreachable(subject, where, type(exc).__name__, "TOPUP_SMTP_HOST / TOPUP_SMTP_PORT")
    if code != SMTP_OK:
        return Finding("peers", subject, FAIL, f"EHLO answered {code}", "ask the relay's operator")
    return Finding("peers", subject, OK, f"reachable at {where}, EHLO accepted")
