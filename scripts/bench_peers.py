"""Peer figures for docs/benchmarks.md, measured in the same run as ours.

python-stdnum: stdnum.cn.ric.validate / stdnum.cn.uscc.validate per second.
chinesecalendar: find_workday(20, date) per second (its add-workdays; note it
counts the start day differently, the cost is what is compared).
"""
import datetime
import timeit

from stdnum.cn import ric, uscc
import chinese_calendar

def rate(stmt, number):
    best = min(timeit.repeat(stmt, number=number, repeat=5))
    return number / best

print(f"stdnum.cn.ric.validate       {rate(lambda: ric.validate('11010519491231002X'), 20000):>12,.0f} /s")
print(f"stdnum.cn.uscc.validate      {rate(lambda: uscc.validate('91350100M000100Y43'), 20000):>12,.0f} /s")
d = datetime.date(2025, 9, 26)
print(f"chinese_calendar.find_workday(20) {rate(lambda: chinese_calendar.find_workday(20, d), 5000):>8,.0f} /s")
