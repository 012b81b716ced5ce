"""SMPP 3.4 side of the SMSC simulator: an asyncio TCP server for ESMEs, with the PDU codec of `smpppdu`.

Per connection: `bind_transceiver` or `bind_transmitter` (checked against one system_id/password: an unknown
system_id is ESME_RINVSYSID, a wrong password ESME_RINVPASWD, then close; a transmitter is never sent a
`deliver_sm`: mobile-originated texts and receipts go to a transceiver),
`enquire_link`, `submit_sm` (GSM, Latin-1, UCS-2; concatenated by UDH or sar_* TLVs) answered with a message
id and, when asked for, a delivery receipt after a delay; `unbind`; anything else gets `generic_nack`.
Mobile-originated texts and receipts go out as `deliver_sm`; they wait in a queue while no ESME is bound,
like an SMSC's store-and-forward. A phone's number goes out international (TON 1), national (TON 2, without
the trunk 0) or as dialled (TON 0, `0470…`), as the test asks. The SMSC can unbind an ESME itself
(`Smsc.unbind_all`): it sends `unbind`, waits for `unbind_resp`, then closes the connection.

Strict on addresses: a submit_sm to TON 1 (international) must carry NPI 1 and 8 to 15 digits not starting
with 0 (so `0470123456` sent as international is refused with ESME_RINVDSTADR, as a real SMSC would route it
nowhere); TON 2 is read as a Belgian national number, TON 0 as dialled in Belgium.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import struct
from collections import deque
from datetime import UTC, datetime
from typing import Any, Final

from topup.simulators.smsc.codec import DC_GSM, Segment, concat_udh, encode_parts, split_udh
from topup.simulators.smsc.pdu_codec import operations, pdu_encoding, pdu_types
from topup.simulators.smsc.state import COUNTRY_CODE, Message, SmscState, normalize_address

log = logging.getLogger(__name__)

HEADER: Final = struct.Struct(">LL")
MAX_PDU_OCTETS: Final = 64 * 1024
ESM_RECEIPT: Final = 0x04
ESM_UDHI: Final = 0x40
TON_UNKNOWN: Final = 0
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
TON_NETWORK_SPECIFIC: Final = 3
NPI_ISDN: Final = 1
SOURCE_FORMATS: Final = ("international", "national", "unknown")
UNBIND_TIMEOUT_S: Final = 5.0
MESSAGE_STATE_DELIVERED: Final = 2
Status = pdu_types.CommandStatus
Command = pdu_types.CommandId


def _octet(encoder: Any, value: Any) -> int:
    return int(encoder.encode(value)[0])


def _from_octet(encoder: Any, value: int) -> Any:
    return encoder.decode(io.BytesIO(bytes([value])))


def _ton_for(address: str) -> int:
    return TON_INTERNATIONAL if address.startswith("+") else TON_NETWORK_SPECIFIC


def _wire_address(address: str) -> str:
    return address.removeprefix("+")


def wire_phone(phone: str, source_format: str) -> tuple[str, int]:
    """A phone's `+32…` number as a network would put it in deliver_sm: international `32470123456` (TON 1),
    national `470123456` (TON 2) or as dialled `0470123456` (TON 0)."""
    if source_format == "international" or not phone.startswith("+" + COUNTRY_CODE):
        return _wire_address(phone), _ton_for(phone)
    national = phone.removeprefix("+" + COUNTRY_CODE)
    return (national, TON_NATIONAL) if source_format == "national" else ("0" + national, TON_UNKNOWN)


def phone_of(address: str, ton: int, npi: int) -> str | None:
    """The `+…` phone (or short code) a submit_sm's destination names, or None when it names none."""
    if ton == TON_INTERNATIONAL:
        plausible = address.isdigit() and 8 <= len(address) <= 15 and not address.startswith("0")
        return "+" + address if plausible and npi == NPI_ISDN else None
    if ton == TON_NATIONAL and address.isdigit():
        return "+" + COUNTRY_CODE + address.removeprefix("0")
    return normalize_address(address) if address else None


def receipt_text(message_id: str, text: str, submitted_at: datetime, done_at: datetime) -> str:
    """The de facto standard receipt body (SMPP 3.4 appendix B)."""
    stamp = "%y%m%d%H%M"
    return (
        f"id:{message_id} sub:001 dlvrd:001 submit date:{submitted_at.strftime(stamp)} "
        f"done date:{done_at.strftime(stamp)} stat:DELIVRD err:000 text:{text[:20]}"
    )


class Smsc:
    """The SMPP server and what it shares between connections: the state, the bound ESMEs, the queue."""

    def __init__(
        self, state: SmscState, system_id: str, password: str, short_code: str, receipt_delay_s: float
    ) -> None:
        self.state = state
        self.system_id = system_id
        self.password = password
        self.short_code = short_code
        self.receipt_delay_s = receipt_delay_s
        self.sessions: list[EsmeSession] = []
        self._waiting: deque[dict[str, Any]] = deque()  # deliver_sm fields while no ESME is bound
        self._tasks: set[asyncio.Task[None]] = set()
        self._flushing = asyncio.Lock()  # one sender at a time, or two could both send the queue's head
        self.unbinds_sent = 0
        self.unbinds_answered = 0

    def bound(self) -> list[EsmeSession]:
        return [session for session in self.sessions if session.bound]

    def receivers(self) -> list[EsmeSession]:
        """The bound ESMEs that take `deliver_sm` (transceivers, not transmitters)."""
        return [session for session in self.bound() if session.receives]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = EsmeSession(self, reader, writer)
        self.sessions.append(session)
        try:
            await session.run()
        finally:
            self.sessions.remove(session)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def close_all(self) -> None:
        for session in self.sessions:
            session.writer.close()
        for task in self._tasks:
            task.cancel()

    def later(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def phone_sends(
        self, phone: str, to: str, text: str, source_format: str = "international"
    ) -> tuple[Message, bool]:
        """A phone sends `text` to `to`: recorded, then delivered to a bound ESME (or queued); its number
        goes out in `source_format` (international, national or unknown)."""
        coding, parts = encode_parts(text)
        source, source_ton = wire_phone(phone, source_format)
        message = self.state.record(
            direction="mo", phone=phone, peer=to, text=text, data_coding=coding, ids=[]
        )
        reference = self.state.next_reference()
        for number, part in enumerate(parts, start=1):
            fields: dict[str, Any] = {"source": source, "source_ton": source_ton, "destination": to,
                                      "data_coding": coding}  # fmt: skip
            if len(parts) > 1:
                fields.update(payload=concat_udh(reference, len(parts), number) + part, esm_class=ESM_UDHI)
            else:
                fields.update(payload=part, esm_class=0)
            self._waiting.append(fields)
        return message, await self.flush()

    async def flush(self) -> bool:
        """Send what waits to the first bound ESME; False while none is bound."""
        async with self._flushing:
            while self._waiting:
                sessions = self.receivers()
                if not sessions:
                    return False
                try:
                    await sessions[0].deliver(**self._waiting[0])
                except ConnectionError:
                    sessions[0].bound = False  # its reader sees the close too; try the next ESME
                    continue
                self._waiting.popleft()
            return True

    async def unbind_all(self, timeout_s: float = UNBIND_TIMEOUT_S) -> list[dict[str, Any]]:
        """Unbind every bound ESME (as an SMSC going down for maintenance does): whether each answered."""
        sessions = self.bound()
        answers = await asyncio.gather(*(session.unbind(timeout_s) for session in sessions))
        self.unbinds_sent += len(sessions)
        self.unbinds_answered += sum(answers)
        return [{"peer": str(s.writer.get_extra_info("peername")), "unbind_resp": a} for s, a in zip(
            sessions, answers, strict=True)]  # fmt: skip

    async def receipt(self, esme_address: str, phone: str, message_id: str, text: str, at: datetime) -> None:
        await asyncio.sleep(self.receipt_delay_s)
        body = receipt_text(message_id, text, at, datetime.now(UTC)).encode("ascii", errors="replace")
        self._waiting.append(
            {"source": phone, "destination": esme_address, "data_coding": DC_GSM, "payload": body,
             "esm_class": ESM_RECEIPT, "receipted_id": message_id}
        )  # fmt: skip
        await self.flush()


class EsmeSession:
    """One TCP connection from an ESME."""

    def __init__(self, smsc: Smsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.smsc = smsc
        self.reader = reader
        self.writer = writer
        self.bound = False
        self.receives = False  # bound as a transceiver: deliver_sm may be sent to it
        self._sequence = 0
        self._encoder = pdu_encoding.PDUEncoder()
        self._unbind_answer: asyncio.Future[bool] | None = None

    async def run(self) -> None:
        peer = self.writer.get_extra_info("peername")
        try:
            while True:
                raw = await self._read_pdu()
                if raw is None:
                    break
                if not await self._dispatch(raw):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.bound = False
            log.info("ESME %s disconnected", peer)

    async def _read_pdu(self) -> bytes | None:
        try:
            header = await self.reader.readexactly(HEADER.size)
        except asyncio.IncompleteReadError:
            return None
        length, _ = HEADER.unpack(header)
        if not HEADER.size + 8 <= length <= MAX_PDU_OCTETS:
            raise ConnectionError(f"PDU length {length} out of range")
        return header + await self.reader.readexactly(length - HEADER.size)

    def _send(self, pdu: Any) -> None:
        self.writer.write(self._encoder.encode(pdu))

    def _next_sequence(self) -> int:
        self._sequence = self._sequence % 0x7FFFFFFF + 1
        return self._sequence

    async def _dispatch(self, raw: bytes) -> bool:
        """Answer one PDU; False when the connection should close."""
        try:
            pdu = self._encoder.decode(io.BytesIO(raw))
        except Exception as exc:  # any undecodable PDU is answered with generic_nack
            status = getattr(exc, "status", Status.ESME_RINVCMDID)
            self._send(operations.GenericNack(sequence_number=HEADER.unpack(raw[:8])[1], status=status))
            return True
        command, sequence = pdu.command_id, pdu.sequence_number
        if command in (Command.bind_transceiver, Command.bind_transmitter):
            return self._bind(pdu, transceiver=command == Command.bind_transceiver)
        if command == Command.bind_receiver:
            self._send(operations.BindReceiverResp(sequence_number=sequence, status=Status.ESME_RBINDFAIL))
            return False
        if command == Command.enquire_link:
            self._send(operations.EnquireLinkResp(sequence_number=sequence))
        elif command == Command.unbind:
            self.bound = False
            self._send(operations.UnbindResp(sequence_number=sequence))
            await self.writer.drain()
            return False
        elif command == Command.unbind_resp:
            if self._unbind_answer is not None and not self._unbind_answer.done():
                self._unbind_answer.set_result(True)
            return False  # the unbind is complete: close
        elif command == Command.submit_sm:
            self._submit(pdu)
        elif command in (Command.deliver_sm_resp, Command.enquire_link_resp, Command.generic_nack):
            if pdu.status != Status.ESME_ROK:
                log.warning("ESME answered %s with %s", command, pdu.status)
        else:
            self._send(operations.GenericNack(sequence_number=sequence, status=Status.ESME_RINVCMDID))
        await self.writer.drain()
        return True

    async def unbind(self, timeout_s: float) -> bool:
        """Send `unbind`, wait for the ESME's `unbind_resp`, then close the connection; True if answered."""
        self.bound = False  # nothing more is delivered to it
        self._unbind_answer = asyncio.get_running_loop().create_future()
        self._send(operations.Unbind(sequence_number=self._next_sequence()))
        await self.writer.drain()
        try:
            answered = await asyncio.wait_for(asyncio.shield(self._unbind_answer), timeout_s)
        except TimeoutError:
            answered = False
            log.warning("ESME %s never answered unbind", self.writer.get_extra_info("peername"))
        self.writer.close()
        return answered

    def _bind(self, pdu: Any, *, transceiver: bool) -> bool:
        params, sequence = pdu.params, pdu.sequence_number
        if self.bound:
            status = Status.ESME_RALYBND
        elif params["system_id"] != self.smsc.system_id:
            status = Status.ESME_RINVSYSID
        elif params["password"] != self.smsc.password:
            status = Status.ESME_RINVPASWD
        else:
            status = Status.ESME_ROK
        ok = status == Status.ESME_ROK
        system_id = self.smsc.system_id if ok else None
        answer = operations.BindTransceiverResp if transceiver else operations.BindTransmitterResp
        self._send(answer(sequence_number=sequence, status=status, system_id=system_id))
        kind = "bind_transceiver" if transceiver else "bind_transmitter"
        log.info("%s from %r: %s", kind, params["system_id"], status)
        if ok:
            self.bound, self.receives = True, transceiver
            if transceiver:
                self.smsc.later(self.smsc.flush())
        return ok or bool(status == Status.ESME_RALYBND)

    def _submit(self, pdu: Any) -> None:
        params, sequence = pdu.params, pdu.sequence_number
        if not self.bound:
            self._send(operations.SubmitSMResp(sequence_number=sequence, status=Status.ESME_RINVBNDSTS))
            return
        esm_class = _octet(pdu_encoding.EsmClassEncoder(), params["esm_class"])
        data_coding = _octet(pdu_encoding.DataCodingEncoder(), params["data_coding"])
        payload: bytes = params.get("short_message") or params.get("message_payload") or b""
        segment: Segment | None = None
        if esm_class & ESM_UDHI:
            segment, payload = split_udh(payload)
        elif params.get("sar_total_segments"):
            segment = Segment(
                params["sar_msg_ref_num"], params["sar_total_segments"], params["sar_segment_seqnum"]
            )
        source = normalize_address(params["source_addr"] or self.smsc.short_code)
        address = params["destination_addr"] or ""
        address = address.decode("ascii", errors="replace") if isinstance(address, bytes) else str(address)
        ton = _octet(pdu_encoding.AddrTonEncoder(), params["dest_addr_ton"])
        npi = _octet(pdu_encoding.AddrNpiEncoder(), params["dest_addr_npi"])
        wire = {"destination_addr": address, "dest_addr_ton": ton, "dest_addr_npi": npi}
        phone = phone_of(address, ton, npi)
        if phone is None:
            log.warning("submit_sm refused: no such destination %s", wire)
            self._send(operations.SubmitSMResp(sequence_number=sequence, status=Status.ESME_RINVDSTADR))
            return
        message_id, message = self.smsc.state.submitted(source, phone, data_coding, payload, segment, wire)
        self._send(operations.SubmitSMResp(sequence_number=sequence, message_id=message_id))
        log.debug(  # one line per message would be most of the demo's log under load
            "submit_sm to %s: %d octets, data_coding %d, id %s", phone, len(payload), data_coding, message_id
        )
        receipt = _octet(pdu_encoding.RegisteredDeliveryEncoder(), params["registered_delivery"]) & 0x03
        if receipt == 0x01:  # 0x01: a receipt on success or failure; 0x02 asks only for failures
            text = message.text if message else payload.decode("latin-1")
            when = datetime.now(UTC)
            self.smsc.later(self.smsc.receipt(source, phone, message_id, text, when))

    async def deliver(
        self,
        *, source: str, destination: str, data_coding: int, payload: bytes, esm_class: int,
        receipted_id: str | None = None, source_ton: int | None = None,
    ) -> None:  # fmt: skip
        extra: dict[str, Any] = {}
        if receipted_id is not None:
            extra = {"receipted_message_id": receipted_id,
                     "message_state": pdu_types.MessageState.DELIVERED}  # fmt: skip
        pdu = operations.DeliverSM(
            sequence_number=self._next_sequence(),
            source_addr_ton=_from_octet(
                pdu_encoding.AddrTonEncoder(), _ton_for(source) if source_ton is None else source_ton
            ),
            source_addr_npi=pdu_types.AddrNpi.ISDN,
            source_addr=_wire_address(source),
            dest_addr_ton=_from_octet(pdu_encoding.AddrTonEncoder(), _ton_for(destination)),
            dest_addr_npi=pdu_types.AddrNpi.ISDN,
            destination_addr=_wire_address(destination),
            esm_class=_from_octet(pdu_encoding.EsmClassEncoder(), esm_class),
            data_coding=_from_octet(pdu_encoding.DataCodingEncoder(), data_coding),
            short_message=payload,
            **extra,
        )
        self._send(pdu)
        await self.writer.drain()
