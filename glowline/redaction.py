"""No patient data in any log line: numbers, bodies and SQL values are scrubbed before a record is formatted.

The code logs row ids, never a number or a body; this is the net under it for what it
does not control: a driver's error (PostgreSQL's ``DETAIL: Failing row contains (...)``
holds the whole row), SQLAlchemy's ``[parameters: ...]`` from an engine built without
``hide_parameters``, or a third-party traceback. Installed once per process by the
Runtime, it rewrites every log record as it is made, so every handler (stderr, files,
pytest's capture) sees the scrubbed text.
"""

from __future__ import annotations

import logging
import re
import traceback

HIDDEN = "[hidden]"

# A phone number as people and Twilio write it: E.164, or a 10-digit number with separators.
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{7,15}|\+?1?[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4})(?![\w])")
# SQL values, as SQLAlchemy and the drivers render them into messages.
_SQL_VALUES = [
    re.compile(r"\[parameters: .*?\](?=\n|$|\s*\()", re.DOTALL),
    re.compile(r"\[SQL parameters: .*?\](?=\n|$)", re.DOTALL),
    re.compile(r"(DETAIL:\s*).*"),
    re.compile(r"(Failing row contains ).*"),
    re.compile(r"(Key \([^)]*\)=).*"),
]

_installed = False


def scrub(text: str) -> str:
    """``text`` with phone numbers and SQL values replaced by a marker."""
    if not text:
        return text
    for pattern in _SQL_VALUES:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + HIDDEN, text)
    return _PHONE.sub(HIDDEN, text)


def _scrub_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string must not hide the record itself
        message = str(record.msg)
    record.msg, record.args = scrub(message), None
    if record.exc_info and not record.exc_text:
        # Formatted here, once, so no handler formats the raw exception (and its values) again.
        record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def install() -> None:
    """Scrub every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed:
        return
    make = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        return _scrub_record(make(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
