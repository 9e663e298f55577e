"""``time-tool`` (pip-installed, loaded by a ToolRegistry): its tools on the operating system's real zone data —
offsets and abbreviations, daylight-saving gaps and overlaps, calendar differences."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import registry_on


def test_time_tool_uses_real_zone_data(on_path: Path) -> None:
    registry = registry_on(on_path, PLUGINKIT_LOAD_PLUGINS="time-tool")
    try:
        call = registry.call
        converted = call("convert_time", {"time": "2024-07-01T12:00", "from_zone": "Europe/Paris",
                                          "to_zone": "America/New_York"}).content[0].data
        assert converted["from"]["utc_offset"] == "+02:00" and converted["from"]["abbreviation"] == "CEST"
        assert converted["to"]["time"] == "2024-07-01T06:00:00-04:00" and converted["to"]["abbreviation"] == "EDT"
        winter = call("convert_time", {"time": "2024-01-15T12:00:00Z", "from_zone": "UTC",
                                       "to_zone": "Asia/Kolkata"}).content[0].data
        assert winter["to"]["time"] == "2024-01-15T17:30:00+05:30"
        gap = call("convert_time", {"time": "2024-03-31T02:30", "from_zone": "Europe/Paris", "to_zone": "UTC"})
        assert gap.is_error and "does not exist in Europe/Paris" in gap.text
        overlap = call("convert_time", {"time": "2024-11-03T01:30", "from_zone": "America/New_York",
                                        "to_zone": "UTC"}).content[0].data
        assert overlap["to"]["time"] == "2024-11-03T05:30:00+00:00" and "happens twice" in overlap["note"]
        now = call("current_time", {"zone": "Australia/Adelaide"}).content[0].data
        assert now["zone"] == "Australia/Adelaide" and now["utc_offset"] in ("+09:30", "+10:30")
        unknown = call("current_time", {"zone": "Mars/Olympus_Mons"})
        assert unknown.is_error and unknown.text.startswith("unknown time zone 'Mars/Olympus_Mons'")
        difference = call("date_difference", {"start": "2024-01-31", "end": "2025-03-01"}).content[0].data
        assert difference["days"] == 395 and difference["calendar"] == {"years": 1, "months": 1, "days": 1}
        dst_day = call("date_difference", {"start": "2024-03-30T12:00", "end": "2024-03-31T12:00",
                                           "zone": "Europe/Paris"}).content[0].data
        assert dst_day["days"] == 1 and dst_day["total_hours"] == 23.0
        assert call("date_difference", {"start": "yesterday", "end": "2024-01-01"}).is_error
    finally:
        registry.shutdown()
