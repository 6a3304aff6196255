"""Timestamps in every form the contract lists become Help Scout's one format."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from importer.errors import UsageError
from importer.transform.times import TimestampError, format_api_time, load_zone, parse_timestamp

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2021-06-24T08:05:49Z", "2021-06-24T08:05:49Z"),
        ("2024-11-14T13:56:16.494726+00:00", "2024-11-14T13:56:16Z"),
        ("2026-06-11T15:26:10.000Z", "2026-06-11T15:26:10Z"),
        ("2022-11-16T16:03:17+05:30", "2022-11-16T10:33:17Z"),
        ("2022-11-16T16:03:17-0700", "2022-11-16T23:03:17Z"),
        ("2024-05-10T10:30.000Z", "2024-05-10T10:30:00Z"),
        (1729618499, "2024-10-22T17:34:59Z"),
        (1729618499.791, "2024-10-22T17:34:59Z"),
        ("1729618499", "2024-10-22T17:34:59Z"),
        (1729618499791, "2024-10-22T17:34:59Z"),
        ("20240510T103000Z", "2024-05-10T10:30:00Z"),  # ISO 8601 basic format
        ("20240510T1030+0200", "2024-05-10T08:30:00Z"),
    ],
)
def test_parse_timestamp_accepts_every_form(value: str | float, expected: str) -> None:
    """Zoned ISO text and epoch numbers do not depend on --source-tz."""
    assert expected == format_api_time(parse_timestamp(value, PARIS))


def test_parse_timestamp_reads_zoneless_values_in_source_tz() -> None:
    """A value without a zone is read in the given zone (summer time included)."""
    assert "2017-07-14T19:45:08Z" == format_api_time(parse_timestamp("2017-07-14 21:45:08", PARIS))
    assert "2017-11-14T20:45:08Z" == format_api_time(parse_timestamp("2017-11-14 21:45:08", PARIS))


@pytest.mark.parametrize(
    "value", ["yesterday", "2024-13-01T00:00:00Z", "", "2024-02-30", True, None]
)
def test_parse_timestamp_refuses_non_timestamps(value: object) -> None:
    """Anything else is an error that quotes the value."""
    with pytest.raises(TimestampError):
        parse_timestamp(value)  # type: ignore[arg-type]


def test_load_zone_names_the_option_on_unknown_zone() -> None:
    """An unknown zone is a usage error naming --source-tz."""
    with pytest.raises(UsageError, match="--source-tz"):
        load_zone("Mars/Olympus")


@pytest.mark.parametrize("value", [1e20, float("inf"), float("nan"), "99999999999999999999"])
def test_epoch_values_out_of_range_are_not_timestamps(value: object) -> None:
    """No crash: the record is invalid with a reason."""
    with pytest.raises(TimestampError, match="out of range"):
        parse_timestamp(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2024-01-01T00:00:00+25:00", "no real time zone"),
        ("2024-01-01 00:00:00 -2400", "no real time zone"),
        ("0001-01-01T00:00:00+23:59", "out of range"),
        ("0001-01-01T00:00:00.123+01:00", "out of range"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
    ],
)
def test_zones_and_moments_past_what_a_datetime_holds_are_not_timestamps(
    value: str, why: str
) -> None:
    """A zone of 24 hours or more, a moment before year 1 or after 9999 once in UTC: a
    ValueError or OverflowError of datetime's crashed validate; now the record is invalid."""
    with pytest.raises(TimestampError, match=why):
        parse_timestamp(value)
    assert "9999-12-31T22:59:59Z" == format_api_time(parse_timestamp("9999-12-31T23:59:59+01:00"))
