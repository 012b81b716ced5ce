"""Structured logging: one JSON object a line in production (`JsonFormatter`), a readable line in the demo
(`TextFormatter`), each carrying the plain fields passed in `extra` (text, numbers: never an object such as
Django's `request`; a field named as a secret shows "***") and the ids bound to the request or job
(`BoundIds`, from `topup.logcontext`: request_id on every line, order, payment, line and job ids when known).

`MaskNumbers` is on every handler: a phone number in any usual format (+32…, %2B32… in a URL, 0032…,
32 4…, 04…, 4xx xx xx xx) is replaced by its mask (`+32 470 •• •• 56`) in the final message and traceback.
`RoutineLines` keeps the lines every request or job writes when all went well out of the log unless
TOPUP_ACCESS_LOG is on: at a few thousand top-ups they were megabytes that hid the warnings.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from topup import logcontext
from topup.pii import mask_msisdn

_SEP = r"[ ./-]?"
_NUMBER = re.compile(
    r"(?<![\w%])(?:(?P<plus>\+|%2[Bb])(?P<e164>[1-9](?:[ ./-]?\d){7,14})"
    rf"|(?P<intl>00[1-9](?:{_SEP}\d){{7,14}})"
    rf"|(?P<be>32{_SEP}4\d{{2}}(?:{_SEP}\d{{2}}){{3}})"
    rf"|(?P<national>0?4\d{{2}}(?:{_SEP}\d{{2}}){{3}})"
    r")(?![\w])"
)


_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_MASKED = "_topup_masked"  # set on a record by `MaskNumbers`: its numbers are masked already
_PLAIN = (str, int, float, bool)
_SECRET_SHOWN = "***"  # noqa: S105 - what a secret field shows, not a secret
_SECRET_WORDS = frozenset(
    {"token", "secret", "password", "passwd", "pin", "otp", "key", "authorization", "auth", "cookie",
     "signature", "credential", "credentials", "sessionid", "csrftoken"}
)  # fmt: skip
# A field named `…_code` is taken for a one-time code, except these (answers' and errors' codes).
_PLAIN_CODES = frozenset(
    {"status_code", "error_code", "reason_code", "http_code", "country_code", "currency_code"}
)


def _mask(found: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", found.group(0).replace("%2B", "").replace("%2b", ""))
    if found.group("intl"):
        digits = digits[2:]
    elif found.group("national"):
        digits = "32" + digits.lstrip("0")
    return mask_msisdn(digits)


def mask_numbers(text: str) -> str:
    """`text` with every phone number masked."""
    return _NUMBER.sub(_mask, text)


class MaskNumbers(logging.Filter):
    """Rewrites each record's final message, its `extra` text fields and its traceback with phone numbers
    masked, once: the formatters then leave them as they are (`_MASKED`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _MASKED, False):
            return True  # a second handler of the same record
        message = record.getMessage()
        record.msg, record.args = mask_numbers(message), None
        for key, value in list(vars(record).items()):  # values passed in `extra`, e.g. {"line": "+32…"}
            if key not in _STANDARD and isinstance(value, str | int) and not isinstance(value, bool):
                setattr(record, key, _masked(value))
        info = record.exc_info
        if info and info[0] is not None and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(info)
        if record.exc_text:
            record.exc_text = mask_numbers(record.exc_text)
        setattr(record, _MASKED, True)
        return True


def adopt(*names: str) -> None:
    """Send loggers that set up their own handlers (gunicorn's) through the root's: same format, same
    masking, the same ids."""
    for name in names:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.propagate = True


def install_number_masking() -> None:
    """Put `MaskNumbers` on the root logger's handlers (for processes configured by basicConfig)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskNumbers) for f in handler.filters):
            handler.addFilter(MaskNumbers())


class BoundIds(logging.Filter):
    """Puts the ids bound to the request or job on the record (a field passed in `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in logcontext.current().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        if not hasattr(record, "request_id"):
            record.request_id = None  # on every line: null outside a request or job
        return True


def fields(record: logging.LogRecord) -> dict[str, object]:
    """The record's own fields (`extra`, bound ids), request_id first: plain values only (text, numbers,
    booleans, None: never an object such as Django's `request`, whose repr carries the URL's query), a field
    named as a secret starred, phone numbers masked (unless `MaskNumbers` already did)."""
    masked = getattr(record, _MASKED, False)
    found = {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD and not key.startswith("_") and (value is None or isinstance(value, _PLAIN))
    }
    ordered = {key: found.pop(key) for key in logcontext.KEYS if key in found}
    return {key: _shown(key, value, masked=masked) for key, value in {**ordered, **found}.items()}


def _shown(key: str, value: object, *, masked: bool) -> object:
    if is_secret(key) and value not in {None, ""}:
        return _SECRET_SHOWN
    return value if masked else _masked(value)


def is_secret(key: str) -> bool:
    """A field whose name says it holds a secret (`token`, `api_key`, `otp_code`, `pin`, `Cookie`…)."""
    words = key.lower().replace("-", "_").split("_")
    if words[-1] == "code":
        return key.lower() not in _PLAIN_CODES
    return any(word in _SECRET_WORDS for word in words)


def _masked(value: object) -> object:
    if isinstance(value, str):
        return mask_numbers(value)
    if isinstance(value, int) and not isinstance(value, bool):  # 32470123456 as a number is a phone number
        text = str(value)
        masked = mask_numbers(text)
        return value if masked == text else masked
    return value


def _message(record: logging.LogRecord) -> str:
    message = record.getMessage()
    return message if getattr(record, _MASKED, False) else mask_numbers(message)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, msg, then every field of the record (`fields`), exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _message(record),
        }
        entry.update((key, value) for key, value in fields(record).items() if key not in entry)
        if record.exc_text:  # already masked by MaskNumbers
            entry["exc"] = record.exc_text
        elif record.exc_info:
            entry["exc"] = mask_numbers(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The demo's readable line: time, level, logger, message, then `key=value` of the record's fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging.Formatter's name
        line = super().formatMessage(record)
        if not getattr(record, _MASKED, False):
            line = mask_numbers(line)
        shown = " ".join(f"{key}={value}" for key, value in fields(record).items() if value not in {None, ""})
        return f"{line} [{shown}]" if shown else line


# (logger, message template) of the INFO lines written once per request, job or message when all went well.
# Errors, warnings, refusals and money events (refunds, alerts, voids, float top-ups) are not listed: they
# always log. A template reworded in its module is caught by tests/unit/test_access_log.py.
ROUTINE = frozenset(
    {
        ("topup.access", "%s %s %s %.1fms"),  # topup.channels.access_log: one line per HTTP request
        ("topup.adapters.observed", "%s %s %s %.1fms"),  # a call to a peer that answered
        ("topup.jobscope", "job %s %s ran in %.1fms"),  # one line per job run
        ("topup.services.payments", "webhook applied"),
        ("topup.services.payments", "payment %s: checkout %s paid as %s"),
        ("topup.services.delivery", "delivered"),
        ("topup.adapters.messaging.smpp", "submit_sm to %s: %d characters in %d part(s)"),
        ("topup.adapters.messaging.smpp", "deliver_sm from %s: %d characters"),
        ("topup.adapters.messaging.smpp", "delivery receipt for %s: %s"),
    }
)


class RoutineLines(logging.Filter):
    """Drops the INFO lines of `ROUTINE` (the same template at WARNING or above still passes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.INFO and (record.name, record.msg) in ROUTINE)
