"""Page numbers of the console's lists: `?page=` read without ever failing, and a page past the
last one shown as the last page (a bookmarked or typed number never makes an error)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

MAX_PAGE = 10**9  # more digits than any list has pages; longer numbers are read as this
_DIGITS = re.compile(r"\s*\+?(\d{1,40})\s*")


def asked_page(value: Any) -> int:
    """The page number asked for: 1 for anything that is not a positive whole number, capped
    at `MAX_PAGE` (``99999999999999999999999`` is a page past the last, not an overflow)."""
    found = _DIGITS.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        return 1
    return max(1, min(int(found.group(1)), MAX_PAGE))


@dataclass
class Window:
    """One page of a list: its rows, its number, and whether pages follow or precede it."""

    rows: list[Any]
    number: int
    has_next: bool
    last: int | None = None  # the number of the last page, when it was counted

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def window(fetch: Callable[[int, int], Sequence[Any]], count: Callable[[], int], asked: int,
           size: int) -> Window:
    """Page `asked` of `size` rows: `fetch(offset, limit)` reads rows; one row past the page says
    whether another follows, so the list is counted (`count()`) only when `asked` lies past
    its end, and then the last page is shown."""
    found = list(fetch((asked - 1) * size, size + 1))
    if found or asked == 1:
        return Window(found[:size], asked, len(found) > size)
    total = count()
    last = max(1, -(-total // size))
    rows = list(fetch((last - 1) * size, size))
    return Window(rows, last, False, last)
