"""The platform's SMPP 3.4 link to an SMSC (an ESME bound as transceiver), built on smpplib.

One background thread binds, reads every PDU and keeps the link alive with `enquire_link`; it rebinds with
backoff whenever the link drops, and after answering an SMSC's `unbind` with `unbind_resp`. Mobile-originated
texts are decoded and handed to `on_message` on a second thread, so a handler may call `send` without blocking
the reader. `send` is safe from any thread.

Addresses: a sender's number arrives in whatever format its network used (international `32470123456` TON 1,
national `470123456` TON 2, or `0470123456` TON 0 unknown); `on_message` always gets it in E.164
(`+32470123456`, national numbers read in `national_region`). A phone number we send to goes out
international (TON 1, NPI 1, `32470123456`) whatever format it was given in; a short code goes out network
specific. Long texts are split between characters (`sms_text.split_text`), never inside a GSM escape or a
surrogate pair.

Errors::

    SmppError
    ├── LinkDown        not bound now: nothing was sent, retry later
    │   └── SmscUnbound the SMSC sent unbind (answered with unbind_resp; the link rebinds)
    ├── SubmitRejected  the SMSC answered submit_sm with an error status (`status`)
    └── SubmitTimeout   no submit_sm_resp in time: the outcome is unknown

Message bodies may hold a PIN or a voucher code: they are never logged (lengths only), and smpplib's wire
logger, which dumps PDUs in hex at DEBUG, is held at INFO.
"""

from __future__ import annotations

import itertools
import logging
import queue
import random
import re
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Final

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from topup.adapters.messaging.sms_text import DC_GSM, DC_UCS2, ESM_UDHI, decode_gsm, split_text
from topup.domain.errors import InvalidInput
from topup.domain.identifiers import parse_msisdn
from topup.pii import mask_msisdn

log = logging.getLogger(__name__)
WIRE_LOGGER: Final = "topup.adapters.messaging.smpp.wire"
logging.getLogger(WIRE_LOGGER).setLevel(logging.INFO)

ESM_TYPE_MASK: Final = 0x3C
ESM_RECEIPT: Final = 0x04
TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
TON_NETWORK_SPECIFIC: Final = 3
TON_ALPHANUMERIC: Final = 5
NPI_ISDN: Final = 1
MAX_SHORT_CODE_DIGITS: Final = 6
RECEIPT_REQUESTED: Final = smpplib.consts.SMPP_SMSC_DELIVERY_RECEIPT_BOTH  # on success and on failure
RECEIPT_ID = re.compile(r"\bid:(\S+)")
RECEIPT_STAT = re.compile(r"\bstat:(\w+)")

OnMessage = Callable[[str, str], None]


class SmppError(Exception):
    pass


class LinkDown(SmppError):
    pass


class SmscUnbound(LinkDown, smpplib.exceptions.ConnectionError):  # type: ignore[misc]
    pass


LINK_ERRORS: Final = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError)


class SubmitRejected(SmppError):
    def __init__(self, status: int) -> None:
        super().__init__(f"submit_sm refused with status 0x{status:08x}")
        self.status = status


class SubmitTimeout(SmppError):
    pass


def decode_text(payload: bytes, data_coding: int) -> str:
    """data_coding 8 is UCS-2 (UTF-16-BE); 0 is GSM 03.38, one septet per octet; anything else Latin-1."""
    if data_coding == DC_UCS2:
        return payload.decode("utf-16-be", errors="replace")
    if data_coding != DC_GSM:
        return payload.decode("latin-1")
    return decode_gsm(payload)


def international_sender(address: str, ton: int, region: str = "BE") -> str:
    """A deliver_sm's source address in E.164 (`+32470123456`) whatever its TON: international digits get
    their `+`, national and unknown ones are read as dialled in `region`; a short code or a name stays."""
    digits = address.removeprefix("+")
    if ton == TON_INTERNATIONAL:
        candidates = ["+" + digits]
    elif ton in {TON_UNKNOWN, TON_NATIONAL} and len(digits) > MAX_SHORT_CODE_DIGITS:
        candidates = [address, "+" + digits] if ton == TON_UNKNOWN else [address]
    else:
        return address
    for candidate in candidates:
        try:
            return parse_msisdn(candidate, region)
        except InvalidInput:
            continue
    return "+" + digits if ton == TON_INTERNATIONAL else address


def destination(address: str, region: str = "BE") -> tuple[str, int]:
    """The SMPP form of an address we send from or to, and its TON (NPI is ISDN/E.164): a phone number in
    any format goes out international without the `+` (TON 1); a short code is network specific (TON 3)."""
    digits = address.removeprefix("+")
    if not address.startswith("+") and len(digits) <= MAX_SHORT_CODE_DIGITS:
        return address, TON_NETWORK_SPECIFIC
    try:
        return parse_msisdn(address, region).removeprefix("+"), TON_INTERNATIONAL
    except InvalidInput:
        return digits, TON_INTERNATIONAL if address.startswith("+") else TON_UNKNOWN


def _text(value: Any) -> str:
    return value.decode("ascii", errors="replace") if isinstance(value, bytes) else str(value or "")


class _Client(smpplib.client.Client):  # type: ignore[misc]
    """smpplib's client with every write under the link's lock (the reader thread answers PDUs too)."""

    def __init__(self, lock: threading.RLock, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._write_lock = lock

    def send_pdu(self, p: Any) -> bool:
        with self._write_lock:
            return bool(super().send_pdu(p))

    def read_pdu(self) -> Any:
        """smpplib reads an SMSC's `unbind` and ignores it: answer it with unbind_resp, then end the link."""
        pdu = super().read_pdu()
        if pdu.command == "unbind":
            answer = smpplib.smpp.make_pdu("unbind_resp", client=self)
            answer.sequence = pdu.sequence
            self.send_pdu(answer)
            self.state = smpplib.consts.SMPP_CLIENT_STATE_OPEN
            raise SmscUnbound("the SMSC unbound the link")
        return pdu


class SmppLink:
    def __init__(  # noqa: PLR0917 - source_addr and on_message are positional in the documented signature
        self,
        host: str,
        port: int,
        system_id: str,
        password: str,
        source_addr: str = "1919",
        on_message: OnMessage | None = None,
        *,
        national_region: str = "BE",
        enquire_link_s: float = 30.0,
        response_timeout_s: float = 10.0,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
    ) -> None:
        self.host, self.port = host, port
        self._system_id, self._password = system_id, password
        self.source_addr = source_addr
        self.national_region = national_region
        self._on_message = on_message or (lambda sender, text: None)
        self._enquire_link_s = enquire_link_s
        self._response_timeout_s = response_timeout_s
        self._reconnect_min_s, self._reconnect_max_s = reconnect_min_s, reconnect_max_s
        self._lock = threading.RLock()
        self._client: _Client | None = None
        self._pending: dict[int, Future[str]] = {}
        self._receipts: dict[str, str] = {}
        self._parts: dict[tuple[str, int, int], dict[int, bytes]] = {}
        self._inbound: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._bound = threading.Event()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._references = itertools.count(random.randrange(256))  # noqa: S311 - a concatenation reference
        self.bind_count = 0
        self.unbinds_answered = 0
        self.last_error: str | None = None

    # -- public -------------------------------------------------------------------------------------

    @property
    def bound(self) -> bool:
        return self._bound.is_set()

    @property
    def receipts(self) -> dict[str, str]:
        with self._lock:
            return dict(self._receipts)

    def wait_bound(self, timeout_s: float) -> bool:
        return self._bound.wait(timeout_s)

    def start(self) -> None:
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._run, name="smpp-link", daemon=True),
            threading.Thread(target=self._dispatch, name="smpp-dispatch", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        self._inbound.put(None)
        for thread in self._threads:
            thread.join(timeout_s)

    def send(self, to: str, text: str) -> list[str]:
        """Submit `text` to `to` (UCS-2 when not GSM-7, concatenated parts when long); the message ids."""
        data_coding, parts, esm_class = split_text(text, next(self._references) % 256)
        destination_addr, dest_ton = destination(to, self.national_region)
        source, source_ton = destination(self.source_addr, self.national_region)
        futures: list[Future[str]] = []
        with self._lock:
            client = self._client
            if client is None or not self._bound.is_set():
                raise LinkDown("not bound to the SMSC")
            try:
                for part in parts:
                    pdu = smpplib.smpp.make_pdu(
                        "submit_sm", client=client,
                        source_addr_ton=source_ton, source_addr_npi=NPI_ISDN, source_addr=source,
                        dest_addr_ton=dest_ton, dest_addr_npi=NPI_ISDN, destination_addr=destination_addr,
                        esm_class=esm_class | smpplib.consts.SMPP_MSGMODE_DEFAULT, data_coding=data_coding,
                        registered_delivery=RECEIPT_REQUESTED, short_message=part,
                    )  # fmt: skip
                    future: Future[str] = Future()
                    self._pending[pdu.sequence] = future
                    futures.append(future)
                    client.send_pdu(pdu)
            except LINK_ERRORS as exc:
                raise LinkDown(str(exc)) from exc
        log.info("submit_sm to %s: %d characters in %d part(s)", mask_msisdn(to), len(text), len(parts))
        try:
            return [future.result(self._response_timeout_s) for future in futures]
        except FutureTimeout as exc:
            raise SubmitTimeout(f"no submit_sm_resp within {self._response_timeout_s} s") from exc

    # -- reader thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        backoff = self._reconnect_min_s
        while not self._stopping.is_set():
            try:
                self._bind()
                backoff = self._reconnect_min_s
                self._listen()
            except SmscUnbound:
                self.unbinds_answered += 1
                log.info(
                    "SMSC %s:%s unbound the link (answered unbind_resp); rebinding", self.host, self.port
                )
            except LINK_ERRORS as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("SMPP link to %s:%s down: %s", self.host, self.port, self.last_error)
            finally:
                self._drop()
            if self._stopping.wait(backoff):
                break
            backoff = min(backoff * 2, self._reconnect_max_s)

    def _bind(self) -> None:
        client = _Client(
            self._lock, self.host, self.port, timeout=self._response_timeout_s,
            logger_name=WIRE_LOGGER, allow_unknown_opt_params=True,
        )  # fmt: skip
        client.set_message_received_handler(self._received)
        client.set_message_sent_handler(self._submit_answered)
        client.set_error_pdu_handler(self._error_pdu)
        with self._lock:
            self._client = client
        client.connect()
        client.bind_transceiver(system_id=self._system_id, password=self._password)
        self.bind_count += 1
        self._bound.set()
        log.info("bound to SMSC %s:%s as %s", self.host, self.port, self._system_id)

    def _listen(self) -> None:
        client = self._client
        assert client is not None
        last_enquire = last_heard = time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            if now - last_heard > 2 * self._enquire_link_s + self._response_timeout_s:
                raise smpplib.exceptions.ConnectionError("no PDU from the SMSC, not even enquire_link_resp")
            if now - last_enquire >= self._enquire_link_s:
                client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client))
                last_enquire = now
            readable, _, _ = select.select([client._socket], [], [], 0.5)
            if readable:
                client.read_once(auto_send_enquire_link=False)
                last_heard = time.monotonic()
        self._unbind(client)

    def _unbind(self, client: _Client) -> None:
        try:
            client.send_pdu(smpplib.smpp.make_pdu("unbind", client=client))
            client._socket.settimeout(1.0)
            deadline = time.monotonic() + 1.0
            while client.read_pdu().command != "unbind_resp" and time.monotonic() < deadline:
                pass  # a receipt read here goes unanswered: the link is closing
        except (TimeoutError, *LINK_ERRORS):
            pass

    def _drop(self) -> None:
        self._bound.clear()
        with self._lock:
            client, self._client = self._client, None
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(LinkDown("link dropped before submit_sm_resp"))
        if client is not None:
            client.disconnect()

    # -- PDU handlers (reader thread) ---------------------------------------------------------------

    def _submit_answered(self, pdu: Any) -> None:
        with self._lock:
            future = self._pending.pop(pdu.sequence, None)
        if future is None:
            return
        if pdu.status != smpplib.consts.SMPP_ESME_ROK:
            future.set_exception(SubmitRejected(int(pdu.status)))
        else:
            future.set_result(_text(pdu.message_id))

    def _error_pdu(self, pdu: Any) -> None:
        if pdu.command == "generic_nack":
            self._submit_answered(pdu)
        elif pdu.command != "submit_sm_resp":  # submit_sm_resp errors reach _submit_answered too
            log.warning("SMSC answered %s with status 0x%08x", pdu.command, int(pdu.status))

    def _received(self, pdu: Any) -> int:
        esm_class, data_coding = int(pdu.esm_class), int(pdu.data_coding)
        payload: bytes = pdu.short_message or getattr(pdu, "message_payload", None) or b""
        if esm_class & ESM_TYPE_MASK == ESM_RECEIPT:
            self._receipt(pdu, payload)
            return int(smpplib.consts.SMPP_ESME_ROK)
        sender = international_sender(_text(pdu.source_addr), int(pdu.source_addr_ton), self.national_region)
        whole = self._reassemble(sender, esm_class, payload, pdu)
        if whole is not None:
            text = decode_text(whole, data_coding)
            log.info("deliver_sm from %s: %d characters", mask_msisdn(sender), len(text))
            self._inbound.put((sender, text))
        return int(smpplib.consts.SMPP_ESME_ROK)

    def _reassemble(self, sender: str, esm_class: int, payload: bytes, pdu: Any) -> bytes | None:
        if esm_class & ESM_UDHI and payload:
            header, payload = payload[1 : 1 + payload[0]], payload[1 + payload[0] :]
            if len(header) >= 5 and header[0] == 0x00:
                reference, total, number = header[2], header[3], header[4]
            elif len(header) >= 6 and header[0] == 0x08:
                reference, total, number = int.from_bytes(header[2:4], "big"), header[4], header[5]
            else:
                return payload
        elif getattr(pdu, "sar_total_segments", None):
            reference, total, number = pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum
        else:
            return payload
        key = (sender, int(reference), int(total))
        parts = self._parts.setdefault(key, {})
        parts[int(number)] = payload
        if len(parts) < int(total):
            return None
        del self._parts[key]
        return b"".join(parts[n] for n in sorted(parts))

    def _receipt(self, pdu: Any, payload: bytes) -> None:
        body = payload.decode("latin-1")
        found_id, found_stat = RECEIPT_ID.search(body), RECEIPT_STAT.search(body)
        message_id = _text(getattr(pdu, "receipted_message_id", None)) or (
            found_id.group(1) if found_id else ""
        )
        status = found_stat.group(1) if found_stat else "UNKNOWN"
        if message_id:
            with self._lock:
                self._receipts[message_id] = status
            # An SMS that did not arrive needs a look; a delivered one is routine (logs.ROUTINE).
            level = logging.INFO if status == "DELIVRD" else logging.WARNING
            log.log(level, "delivery receipt for %s: %s", message_id, status)

    # -- dispatch thread ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        while (item := self._inbound.get()) is not None:
            try:
                self._on_message(*item)
            except Exception:
                log.exception("on_message failed for a message from %s", mask_msisdn(item[0]))
