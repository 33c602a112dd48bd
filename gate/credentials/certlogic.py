"""CertLogic, the EU's JSON business-rule language (a subset of JsonLogic with date-times).

`evaluate(expr, data)` follows the CertLogic specification (eu-dcc-business-rules,
certlogic/specification) and behaves as its reference engine does, including JavaScript's date
arithmetic in UTC (a month added to 31 January rolls into March) and the leap-day rule of
`plusTime` in years. Anything the language does not allow (an unknown operator, an `in` on
something that is not an array, a comparison of things that are not integers, a date-time
string it cannot read) raises `CertLogicError`; the rule engine counts such a rule as failed.

Values are JSON values (None, bool, int, str, list, dict) plus `DateTime`, which only
`plusTime` and `dccDateOfBirth` make and only the date comparisons read.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from gate.errors import GateError

_UTC = dt.timezone.utc


class CertLogicError(GateError):
    """An expression CertLogic does not allow, or data it cannot evaluate."""


@dataclass(frozen=True, slots=True, order=True)
class DateTime:
    """An instant (UTC), as `plusTime` and `dccDateOfBirth` make them."""

    at: dt.datetime


_PARTIAL_DATE = re.compile(r"^\d{4}(-\d{2})?$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+?)?(Z|(([+-])(\d{1,2}):?(\d{2})?))?$")


def date_from_string(text: str) -> DateTime:
    """A date (midnight UTC) or date-time (no zone: UTC; offsets `+h`, `+hh`, `+hhmm`, `+hh:mm`);
    a partial date (`YYYY`, `YYYY-MM`) is the last day it can mean, as `dccDateOfBirth` reads it."""
    if _PARTIAL_DATE.match(text):
        return dcc_date_of_birth(text)
    m = _DATE.match(text)
    try:
        if m:
            return DateTime(dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=_UTC))
        m = _DATE_TIME.match(text)
        if m:
            millis = int((m[7] or ".0")[1:].ljust(3, "0")[:3])
            zone = _UTC
            if m[8] and m[8] != "Z":
                sign = -1 if m[10] == "-" else 1
                zone = dt.timezone(sign * dt.timedelta(hours=int(m[11]), minutes=int(m[12] or 0)))
            when = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]),
                               millis * 1000, tzinfo=zone)
            return DateTime(when.astimezone(_UTC))
    except ValueError as exc:
        raise CertLogicError(f"not a date-time: {text!r} ({exc})") from None
    raise CertLogicError(f"not an allowed date or date-time format: {text!r}")


def plus_time(text: str, amount: int, unit: str) -> DateTime:
    """`text` read as a date-time, plus `amount` of `unit` (year, month, day, hour), in UTC.

    Months and years roll over as JavaScript's Date does (31 Jan + 1 month = 3 Mar); a leap day
    plus years that land off a leap year gives 28 February.
    """
    at = date_from_string(text).at
    if amount == 0:
        return DateTime(at)
    if unit == "hour":
        return DateTime(at + dt.timedelta(hours=amount))
    if unit == "day":
        return DateTime(at + dt.timedelta(days=amount))
    if unit in ("month", "year"):
        months = at.month - 1 + (amount if unit == "month" else 12 * amount)
        year, month = at.year + months // 12, months % 12 + 1
        if not 1 <= year <= 9999:
            raise CertLogicError("plusTime leaves the calendar")
        rolled = at.replace(year=year, month=month, day=1) + dt.timedelta(days=at.day - 1)
        if unit == "year" and at.month == 2 and at.day == 29 and rolled.day != 29:
            rolled -= dt.timedelta(days=1)
        return DateTime(rolled)
    raise CertLogicError(f"unknown plusTime unit {unit!r}")


def dcc_date_of_birth(text: str) -> DateTime:
    """A DCC's date of birth, possibly partial (`YYYY`, `YYYY-MM`), as the latest date it can mean."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", text)
    if not m:
        raise CertLogicError(f"not a DCC date of birth: {text!r}")
    year = int(m[1])
    month = int(m[2]) if m[2] else 12
    try:
        day = int(m[3]) if m[3] else calendar.monthrange(year, month)[1]
        return DateTime(dt.datetime(year, month, day, tzinfo=_UTC))
    except (ValueError, calendar.IllegalMonthError) as exc:
        raise CertLogicError(f"not a DCC date of birth: {text!r} ({exc})") from None


def is_int(value: Any) -> bool:
    return type(value) is int


def is_falsy(value: Any) -> bool:
    """CertLogic's falsy values: false, null, 0, "", [] and {}."""
    return (value is False or value is None or (type(value) is str and value == "")
            or (is_int(value) and value == 0) or (isinstance(value, (list, dict)) and not value))


def is_truthy(value: Any) -> bool:
    """CertLogic's truthy values: true, and non-empty strings, non-zero integers, arrays and objects."""
    return (value is True or (type(value) is str and value != "") or (is_int(value) and value != 0)
            or (isinstance(value, (list, dict)) and bool(value)))


def _strict_equal(left: Any, right: Any) -> bool:
    """JavaScript's ===: same type and value for literals; arrays and objects only by identity."""
    if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
        return left is right
    if type(left) is not type(right):
        return False
    return bool(left == right)


def _var(path: Any, data: Any) -> Any:
    if not isinstance(path, str):
        raise CertLogicError("a var's operand must be a string")
    if path == "":
        return data
    value = data
    for fragment in path.split("."):
        if value is None:
            return None
        if isinstance(value, dict):
            value = value.get(fragment)
        elif isinstance(value, list) and re.fullmatch(r"\d+", fragment):
            index = int(fragment)
            value = value[index] if index < len(value) else None
        else:
            value = None
    return value


def extract_from_uvci(uvci: Any, index: int) -> str | None:
    """The `index`-th fragment of a UVCI without its `URN:UVCI:` prefix, split at `/`, `#` and `:`."""
    if uvci is None or index < 0:
        return None
    if not isinstance(uvci, str):
        raise CertLogicError("extractFromUVCI needs a string or null")
    bare = uvci[len("URN:UVCI:"):] if uvci.startswith("URN:UVCI:") else uvci
    fragments = re.split(r"[/#:]", bare)
    return fragments[index] if index < len(fragments) else None


_COMPARISONS = {
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    "before": lambda a, b: a < b, "after": lambda a, b: a > b,
    "not-before": lambda a, b: a >= b, "not-after": lambda a, b: a <= b,
}
_DATE_COMPARISONS = frozenset({"before", "after", "not-before", "not-after"})


def evaluate(expr: Any, data: Any) -> Any:
    """The value of a CertLogic expression on `data`; CertLogicError for what the language forbids."""
    if isinstance(expr, (str, bool)) or is_int(expr):
        return expr
    if expr is None:
        raise CertLogicError("invalid CertLogic expression: null")
    if isinstance(expr, list):
        return [evaluate(item, data) for item in expr]
    if not isinstance(expr, dict):
        raise CertLogicError(f"invalid CertLogic expression: {expr!r}")
    if len(expr) != 1:
        raise CertLogicError("an operation object has exactly one key")
    (operator, values), = expr.items()
    if operator == "var":
        return _var(values, data)
    if not isinstance(values, list) or not values:
        raise CertLogicError(f'operation not of the form {{ "{operator}": [ <values...> ] }}')
    if operator == "if":
        return _if(values, data)
    if operator in ("===", "in", "+") or operator in _COMPARISONS:
        return _infix(operator, values, data)
    if operator == "!":
        return _not(values, data)
    if operator == "and":
        return _and(values, data)
    if operator == "plusTime":
        return _plus_time(values, data)
    if operator == "reduce":
        return _reduce(values, data)
    if operator == "extractFromUVCI":
        return _extract(values, data)
    if operator == "dccDateOfBirth":
        return _dob(values, data)
    raise CertLogicError(f"unrecognised operation {operator!r}")


def _if(values: list[Any], data: Any) -> Any:
    if len(values) != 3:
        raise CertLogicError("an if needs guard, then and else")
    guard = evaluate(values[0], data)
    if is_truthy(guard):
        return evaluate(values[1], data)
    if is_falsy(guard):
        return evaluate(values[2], data)
    raise CertLogicError("if-guard is neither truthy nor falsy")


def _infix(operator: str, values: list[Any], data: Any) -> Any:
    comparison = operator in _COMPARISONS and operator not in ("===", "in", "+")
    if not (len(values) == 2 or (comparison and len(values) == 3)):
        raise CertLogicError(f"an {operator} takes 2 operands{' or 3' if comparison else ''}")
    args = [evaluate(value, data) for value in values]
    if operator == "===":
        return _strict_equal(args[0], args[1])
    if operator == "in":
        if not isinstance(args[1], list):
            raise CertLogicError('the right-hand side of an "in" must be an array')
        return any(_strict_equal(args[0], item) for item in args[1])
    if operator == "+":
        if not all(is_int(a) for a in args):
            raise CertLogicError("+ adds integers")
        return args[0] + args[1]
    kind = DateTime if operator in _DATE_COMPARISONS else int
    if not all(type(a) is kind for a in args):
        raise CertLogicError(f"{operator} compares {'date-times' if kind is DateTime else 'integers'}")
    compare = _COMPARISONS[operator]
    return all(compare(a, b) for a, b in zip(args, args[1:]))


def _not(values: list[Any], data: Any) -> bool:
    if len(values) != 1:
        raise CertLogicError("a ! takes one operand")
    operand = evaluate(values[0], data)
    if is_falsy(operand):
        return True
    if is_truthy(operand):
        return False
    raise CertLogicError("operand of ! is neither truthy nor falsy")


def _and(values: list[Any], data: Any) -> Any:
    if len(values) < 2:
        raise CertLogicError("an and takes at least 2 operands")
    result: Any = True
    for value in values:
        if is_falsy(result):
            return result
        if not is_truthy(result):
            raise CertLogicError("an and operand is neither truthy nor falsy")
        result = evaluate(value, data)
    return result


def _plus_time(values: list[Any], data: Any) -> DateTime:
    if len(values) != 3 or not is_int(values[1]) or not isinstance(values[2], str):
        raise CertLogicError("plusTime takes a date-time, an integer literal and a unit")
    text = evaluate(values[0], data)
    if not isinstance(text, str):
        raise CertLogicError("plusTime needs a date-time string")
    return plus_time(text, values[1], values[2])


def _reduce(values: list[Any], data: Any) -> Any:
    if len(values) != 3:
        raise CertLogicError("a reduce takes an operand, a lambda and an initial value")
    operand, body, initial = values
    items = evaluate(operand, data)
    accumulator = evaluate(initial, data)
    if items is None:
        return accumulator
    if not isinstance(items, list):
        raise CertLogicError("a reduce works on an array or null")
    for current in items:
        accumulator = evaluate(body, {"accumulator": accumulator, "current": current})
    return accumulator


def _extract(values: list[Any], data: Any) -> str | None:
    if len(values) != 2 or not is_int(values[1]):
        raise CertLogicError("extractFromUVCI takes an operand and an integer literal")
    return extract_from_uvci(evaluate(values[0], data), values[1])


def _dob(values: list[Any], data: Any) -> DateTime:
    if len(values) != 1:
        raise CertLogicError("dccDateOfBirth takes one operand")
    text = evaluate(values[0], data)
    if not isinstance(text, str):
        raise CertLogicError("dccDateOfBirth needs a string")
    return dcc_date_of_birth(text)
