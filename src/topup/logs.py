"""Structured logging: one JSON object a line in production, carrying the ids passed in `extra`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

CONTEXT_KEYS = ("order_id", "payment_id", "line_id", "job_id", "event_id", "network", "outcome", "alert")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
