"""Regenerate crates/calendar/data/cn_holidays.tsv from PyPI chinesecalendar (MIT).

Usage: pip install chinesecalendar==1.11.0
       python3 scripts/gen_holidays.py 2024 2026 > crates/calendar/data/cn_holidays.tsv
Each line: date, kind (holiday = statutory holiday block day, makeup = 调休 weekend workday), name.
"""
import datetime, sys
import chinese_calendar as cc
start, end = int(sys.argv[1]), int(sys.argv[2])
print(f"# date\tkind\tname  (source: PyPI chinesecalendar {cc.__version__}, MIT; see README.md)")
d = datetime.date(start, 1, 1)
while d.year <= end:
    on_holiday, name = cc.get_holiday_detail(d)
    weekend = d.weekday() >= 5
    if cc.is_holiday(d) and name is not None:
        print(f"{d.isoformat()}\tholiday\t{name}")
    elif cc.is_workday(d) and weekend:
        print(f"{d.isoformat()}\tmakeup\t{name or ''}")
    d += datetime.timedelta(days=1)
