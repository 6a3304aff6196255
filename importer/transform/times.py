"""Timestamps in every form the exports use, turned into UTC and Help Scout's one format.

Accepted: ISO 8601 with ``Z`` or an offset (``+00:00``, ``+0530``, ``+05``), with or without a
fraction of any length, with ``T`` or a space, seconds optional (Zoho writes ``10:30.000Z``), a
bare date, the basic format (``20240510T103000Z``); epoch seconds as a number or a digit string
(float seconds as Front writes them; values above 10^11 are taken as milliseconds). Values without
a zone are read in ``--source-tz``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from importer.errors import UsageError

API_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
API_TIME_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
#: what :data:`API_TIME_PATTERN` matches in ASCII text, checked about twice as fast (``$``
#: also matches before a last newline); ``\d`` also takes other scripts' digits
_ASCII_API_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\n?")
#: ISO 8601 as programs write it (``isoformat()``, ``toISOString()``): seconds, perhaps 3 or 6
#: digits of fraction, and a zone; read by ``fromisoformat`` (20 times faster than the
#: general pattern), the general reading kept for anything it refuses
_ASCII_ISO_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{3}|\.[0-9]{6})?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})"
)
_API_TIME_TEXT = "%04d-%02d-%02dT%02d:%02d:%02dZ"
_EPOCH_MS_THRESHOLD = 10**11

_ISO = re.compile(
    r"""^\s*(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})
    (?:[T\s](?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2}))?(?:[.,](?P<frac>\d+))?)?
    \s*(?P<zone>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?\s*$""",
    re.VERBOSE,
)
#: ISO 8601 basic format (``20240510T103000Z``); the ``T`` is required (8 bare digits are epoch)
_ISO_BASIC = re.compile(
    r"""^\s*(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})
    T(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?(?:[.,](?P<frac>\d+))?
    \s*(?P<zone>Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$""",
    re.VERBOSE,
)
_EPOCH = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")


class TimestampError(ValueError):
    """A value that is not a timestamp in any accepted form."""


def load_zone(name: str) -> tzinfo:
    """The zone for ``--source-tz``; an unknown name is a usage error naming the option."""
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UsageError(
            f"--source-tz {name!r} is not a known time zone; use an IANA name such as "
            "Europe/Paris or America/New_York"
        ) from exc


def _from_epoch(seconds: float) -> datetime:
    if abs(seconds) >= _EPOCH_MS_THRESHOLD:
        seconds = seconds / 1000
    try:
        return datetime.fromtimestamp(int(seconds // 1), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:  # 1e20, nan, inf: no real moment
        raise TimestampError(f"{seconds!r} is out of range for a timestamp") from exc


def _zone_of(text: str) -> tzinfo:
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) > 2 else 0
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _api_moment_by_fields(value: str) -> datetime:
    """The moment of a value in Help Scout's format that ``fromisoformat`` refuses: digits
    other than ASCII, or no real date (the error names the field)."""
    try:
        return datetime(
            int(value[0:4]),
            int(value[5:7]),
            int(value[8:10]),
            int(value[11:13]),
            int(value[14:16]),
            int(value[17:19]),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise TimestampError(f"{value!r} is not a real date ({exc})") from exc


def _ascii_api_moment(value: str) -> datetime | None:
    """The moment of ``value`` when it is a real date in Help Scout's format with ASCII digits
    (which :func:`format_api_time` writes back unchanged), else None."""
    if len(value) == 20 and _ASCII_API_TIME.fullmatch(value):
        try:
            return datetime.fromisoformat(value)  # in UTC: the value ends in Z
        except ValueError:  # no real date
            return None
    return None


def parse_timestamp(value: str | int | float, source_tz: tzinfo = UTC) -> datetime:
    """Parse one source timestamp into an aware UTC datetime, whole seconds."""
    if not isinstance(value, str):
        return _parse_number(value)
    moment = _ascii_api_moment(value)  # the common form, parsed fast
    if moment is not None:
        return moment
    if len(value) == 20 and API_TIME_PATTERN.match(value):
        return _api_moment_by_fields(value)
    moment = _ascii_iso_moment(value)
    if moment is not None:
        return moment
    return _parse_text(value, source_tz)


def _ascii_iso_moment(value: str) -> datetime | None:
    """The moment of ``value`` when it is written as :data:`_ASCII_ISO_TIME` and is a real
    time, as the general reading reads it (the fraction dropped); else None."""
    if len(value) < 24 or not _ASCII_ISO_TIME.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value).replace(microsecond=0).astimezone(UTC)
    except (ValueError, OverflowError):  # no real moment: the general reading says why
        return None


def read_timestamp(value: str | int | float, source_tz: tzinfo = UTC) -> tuple[datetime, str]:
    """``value`` as :func:`parse_timestamp` reads it, and that moment in Help Scout's format
    (``value`` itself when it is written so already)."""
    if type(value) is str:
        moment = _ascii_api_moment(value)
        if moment is not None:
            return moment, value
    moment = parse_timestamp(value, source_tz)
    return moment, format_api_time(moment)


def _parse_number(value: object) -> datetime:
    if isinstance(value, bool):
        raise TimestampError(f"{value!r} is not a timestamp")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    raise TimestampError(f"{value!r} is not a timestamp")


def _parse_text(value: str, source_tz: tzinfo) -> datetime:
    if _EPOCH.match(value):
        return _from_epoch(float(value))
    match = _ISO.match(value) or _ISO_BASIC.match(value)
    if not match:
        raise TimestampError(
            f"{value!r} is not a timestamp (expected ISO 8601 such as 2024-05-10T10:30:00Z, "
            "or epoch seconds)"
        )
    parts = match.groupdict()
    try:
        naive = datetime(
            int(parts["y"]),
            int(parts["mo"]),
            int(parts["d"]),
            int(parts["h"] or 0),
            int(parts["mi"] or 0),
            int(parts["s"] or 0),
        )
    except ValueError as exc:
        raise TimestampError(f"{value!r} is not a real date ({exc})") from exc
    try:
        zone = _zone_of(parts["zone"]) if parts["zone"] else source_tz
    except ValueError as exc:  # timezone() takes less than 24 hours
        raise TimestampError(
            f"{value!r} has no real time zone (an offset from UTC is under 24 hours)"
        ) from exc
    try:
        return naive.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # year 1 east of UTC, 9999 west of it
        raise TimestampError(
            f"{value!r} is out of range for a timestamp (before year 1 or after 9999 in UTC)"
        ) from exc


def format_api_time(moment: datetime) -> str:
    """Help Scout's only date format: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _API_TIME_TEXT % (
        moment.year,
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


def is_api_time(text: object) -> bool:
    """Whether ``text`` is already in Help Scout's date format (:data:`API_TIME_PATTERN`)."""
    if not isinstance(text, str):
        return False
    if _ASCII_API_TIME.fullmatch(text):
        return True
    return not text.isascii() and bool(API_TIME_PATTERN.match(text))


_BARE_DATE = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}\s*$")


def is_bare_date(text: str) -> bool:
    """Whether ``text`` names a day without a time (``2024-05-10``), not a moment."""
    return bool(_BARE_DATE.match(text))


def times_in_utc(record: dict[str, Any], source_tz: tzinfo) -> dict[str, Any]:
    """A copy of a canonical record whose times that can be read (the conversation's and each
    message's) are in Help Scout's format, so written back out they no longer depend on
    ``--source-tz``; the rest is kept as it is."""
    body = dict(record)
    for key in ("created_at", "closed_at"):
        if body.get(key) is not None:
            body[key] = _api_time_or_given(body[key], source_tz)
    if isinstance(body.get("messages"), list):
        body["messages"] = [
            {**message, "created_at": _api_time_or_given(message["created_at"], source_tz)}
            if isinstance(message, dict) and "created_at" in message
            else message
            for message in body["messages"]
        ]
    return body


def _api_time_or_given(value: object, source_tz: tzinfo) -> object:
    """``value`` in Help Scout's format when it is a timestamp, else ``value`` unchanged."""
    try:
        return format_api_time(parse_timestamp(value, source_tz))  # type: ignore[arg-type]
    except TimestampError:
        return value
