"""The run's calendar: simulated days to dates, calendar quarters and years, and their labels.

Day 0 is ``start``. Without a start date, a run counts 365-day years from its first day, each cut into four
quarters of 91, 91, 91 and 92 days, labelled ``Y1``, ``Y1Q1``; with one, periods are calendar years and quarters
(``2022``, ``2022Q2``). The core never sees a date: it gets the quarter index of each day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

__all__ = ["HORIZON", "Calendar"]

#: The label of the whole horizon in period tables.
HORIZON = "all"


@dataclass(frozen=True)
class Calendar:
    """``days`` simulated days from ``start`` (None: years counted from the first day)."""

    start: dt.date | None
    days: int

    def date(self, day: int) -> dt.date | None:
        """The date of a simulated day (None without a start date)."""
        return None if self.start is None else self.start + dt.timedelta(days=day)

    def day(self, when: dt.date) -> int:
        """The simulated day of a date (negative before the start)."""
        if self.start is None:
            raise ValueError("a run without a start date has no calendar dates")
        return (when - self.start).days

    @cached_property
    def _quarter_keys(self) -> list[tuple[int, int]]:
        """(year, quarter) of each day: calendar ones, or (1-based year, quarter) counted from day 0."""
        if self.start is None:
            return [(t // 365 + 1, min(3, (t % 365) // 91) + 1) for t in range(self.days)]
        keys = []
        for t in range(self.days):
            d = self.start + dt.timedelta(days=t)
            keys.append((d.year, (d.month - 1) // 3 + 1))
        return keys

    @cached_property
    def quarters(self) -> tuple[str, ...]:
        """The labels of the quarters the horizon touches, in order (``2022Q1`` or ``Y1Q1``)."""
        return tuple(self._quarter_label(k) for k in dict.fromkeys(self._quarter_keys))

    @cached_property
    def quarter_of_day(self) -> NDArray[np.int64]:
        """The index into ``quarters`` of each day, shape (days,)."""
        index = {k: i for i, k in enumerate(dict.fromkeys(self._quarter_keys))}
        return np.array([index[k] for k in self._quarter_keys], dtype=np.int64)

    @cached_property
    def years(self) -> tuple[str, ...]:
        """The labels of the years the horizon touches (``2022`` or ``Y1``)."""
        return tuple(dict.fromkeys(self._year_label(y) for y, _ in self._quarter_keys))

    @cached_property
    def year_of_quarter(self) -> NDArray[np.int64]:
        """The index into ``years`` of each quarter."""
        years = {label: i for i, label in enumerate(self.years)}
        keys = dict.fromkeys(self._quarter_keys)
        return np.array([years[self._year_label(y)] for y, _ in keys], dtype=np.int64)

    @property
    def periods(self) -> tuple[str, ...]:
        """Every period label of the horizon: the quarters, the years, then the whole horizon."""
        return (*self.quarters, *self.years, HORIZON)

    @cached_property
    def period_days(self) -> NDArray[np.int64]:
        """The number of days of each period of ``periods``."""
        quarters = np.bincount(self.quarter_of_day, minlength=len(self.quarters))
        return np.concatenate([quarters, np.bincount(self.year_of_quarter, weights=quarters), [self.days]]).astype(
            np.int64
        )

    def by_period(self, by_quarter: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sums by quarter along axis 1, shape (B, Q, ...) -> (B, P, ...): the quarters, the years, the horizon."""
        to_year = np.zeros((len(self.quarters), len(self.years)))
        to_year[np.arange(len(self.quarters)), self.year_of_quarter] = 1.0
        years = np.einsum("bq...,qy->by...", by_quarter, to_year)
        return np.concatenate([by_quarter, years, by_quarter.sum(axis=1, keepdims=True)], axis=1)

    def _year_label(self, year: int) -> str:
        return str(year) if self.start is not None else f"Y{year}"

    def _quarter_label(self, key: tuple[int, int]) -> str:
        return f"{self._year_label(key[0])}Q{key[1]}"
