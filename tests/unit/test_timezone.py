"""Reads go through cursors; each must see Asia/Shanghai, so SQL days and hours are the compound's."""

from datetime import date


def test_every_cursor_reads_in_shanghai_time(db):
    assert db.scalar("SELECT current_setting('TimeZone')") == "Asia/Shanghai"
    # 2022-01-09 23:30 UTC is already 2022-01-10 in Xi'an.
    assert db.scalar("SELECT CAST(TIMESTAMPTZ '2022-01-09 23:30:00+00' AS DATE)") == date(2022, 1, 10)


def test_frames_carry_shanghai_times(db):
    frame = db.df("SELECT ts FROM audit_log WHERE action = 'demo.build'")
    assert str(frame["ts"].dt.tz) == "Asia/Shanghai"
    assert frame["ts"].iloc[0].hour == 0
