"""The finance export: monthly sales and marketing expense, for CAC and CAC payback.

Spend loosely tracks acquisition: sales cost follows the month's new paying
customers, marketing leads them by a month. A fixed base per month (scaled to
the size of the demo) keeps the ratios realistic for small runs too.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from .accounts import Account
from .billing import first_paid_at
from .common import to_datetime

SALES_BASE, SALES_PER_CUSTOMER = 18_000.0, 9_000.0
MARKETING_BASE, MARKETING_PER_CUSTOMER = 12_000.0, 5_000.0


def _months(window_start: int, cutoff: int) -> list[dt.date]:
    first, last = to_datetime(window_start).date(), to_datetime(cutoff - 1).date()
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def expense_columns(
    rng: np.random.Generator, accounts: list[Account], window_start: int, cutoff: int
) -> dict:
    months = _months(window_start, cutoff)
    index = {m: i for i, m in enumerate(months)}
    new_customers = np.zeros(len(months))
    for account in accounts:
        paid = first_paid_at(account, cutoff)
        if paid is not None:
            moment = to_datetime(paid).date().replace(day=1)
            if moment in index:
                new_customers[index[moment]] += 1
    scale = max(len(accounts), 1) / 500
    leading = np.append(new_customers[1:], new_customers[-1:])  # next month's wins
    columns: dict[str, list] = {"expense_month": [], "department": [], "amount": [],
                                "currency": []}
    for i, month in enumerate(months):
        sales = (SALES_BASE * scale + SALES_PER_CUSTOMER * new_customers[i]) * rng.lognormal(
            0, 0.08)
        marketing = (MARKETING_BASE * scale + MARKETING_PER_CUSTOMER * leading[i]) * (
            rng.lognormal(0, 0.12))
        for department, amount in (("sales", sales), ("marketing", marketing)):
            columns["expense_month"].append(month.isoformat())
            columns["department"].append(department)
            columns["amount"].append(round(float(amount), 2))
            columns["currency"].append("usd")
    return columns
