"""The code formats the gate knows, behind one small interface, found by the prefix of a QR text.

A QR text at the gate is one of: a person's health code (JKM1; the EU DCC `HC1:` or a SMART
Health Card `shc:/`, credentials.md), a venue card (`JKMV1:`, directives.md), or anything else (a
web address, a payment code): `unknown`. Each format is one object that says what its texts start
with, what kind of thing they are, how long a text of it may be, and whether a text is well formed
(syntax only: no decompression, no signature); a health-code format also declares the signature
algorithms and key types it accepts, parses and verifies. A new format is a new module with such
an object, listed in `_BUILTIN` (or passed to `register`): its keys come from its own section of
the trust list (gate.codes.trust.TrustList.keyring), its result is a VerifyResult naming it.

Routing never verifies: `kind_of` and `format_of` only read the prefix, `well_formed` adds the
format's cheap syntax check (what the QR decoder uses to drop invented reads), and `verify` hands
the text to its health-code format, or refuses it as `not_a_health_code` when it has none.
"""

from __future__ import annotations

import enum
import functools
import importlib
import logging
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gate.codes.keys import ALGORITHM_KEY_TYPES
from gate.codes.result import VerifyResult

if TYPE_CHECKING:
    from gate.codes.trust import TrustList

DEFAULT_SKEW_S = 300  # how far a code's times may be off the gate's clock (config verification.clock_skew_s)

log = logging.getLogger(__name__)


class TrustSource(Protocol):
    """What a format's verify may ask of the trust store (gate.codes.trust.TrustStore): the
    trust list in force (JKM1's keys, and every format's section by `keyring`), the status list's
    entry for a subject, and whether a credential's hash is revoked (credentials.md)."""

    trust_list: "TrustList | None"

    def status_of(self, iss: str, sub: bytes) -> tuple[int, int] | None: ...

    def is_revoked_hash(self, digest: bytes) -> bool: ...


class CodeKind(enum.StrEnum):
    """What a QR text is, as far as its prefix tells."""

    HEALTH_CODE = "health_code"
    VENUE_CARD = "venue_card"
    UNKNOWN = "unknown"


@runtime_checkable
class CodeFormat(Protocol):
    """What the registry needs of any format: its name, its prefix, its kind, its syntax check."""

    name: str    # short and stable, e.g. "JKM1"
    prefix: str  # what every text of the format starts with, case and all, e.g. JKM1:
    kind: CodeKind
    max_text_chars: int  # a longer text is never one of this format (the decoder reads the largest)

    def well_formed(self, text: str) -> bool:
        """Whether `text` (which starts with the prefix) could be a real code of this format.

        Syntax only and cheap (it runs on every decoder read): never decompresses or verifies.
        """
        ...


@runtime_checkable
class HealthCodeFormat(CodeFormat, Protocol):
    """A person's health code: parsed, then verified into the result the venue rules read.

    `algorithms` names the signature schemes the format accepts (gate.codes.keys, e.g. ES256,
    PS256), `key_types` the kinds of key (Ed25519, P-256, RSA, ...)."""

    algorithms: frozenset[str]
    key_types: frozenset[str]

    def parse(self, text: str | bytes) -> Any:
        """The code taken apart; raises the format's error (with a health-code.md reason) if unreadable."""
        ...

    def verify(self, text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
        """Judge the code against the trust store at time `now`; never raises."""
        ...


class FormatRegistry:
    """The known formats, found by prefix. No prefix may be the start of another (a text has one format)."""

    def __init__(self, formats: list[CodeFormat] | tuple[CodeFormat, ...] = ()) -> None:
        self._formats: list[CodeFormat] = []
        for fmt in formats:
            self.register(fmt)

    def register(self, fmt: CodeFormat) -> None:
        """Add a format; ValueError when its prefix is empty, not ASCII or overlaps a known one, or
        when it says it is a health code but cannot be verified."""
        if not fmt.prefix or not fmt.prefix.isascii():
            raise ValueError(f"code format {fmt.name} needs a non-empty ASCII prefix, not {fmt.prefix!r}")
        if fmt.kind is CodeKind.HEALTH_CODE and not isinstance(fmt, HealthCodeFormat):
            raise ValueError(f"code format {fmt.name} is a health code without parse() and verify(), "
                             "or without the algorithms and key types it accepts")
        if fmt.kind is CodeKind.HEALTH_CODE:
            unknown = set(fmt.algorithms) - set(ALGORITHM_KEY_TYPES)  # type: ignore[attr-defined]
            if unknown:
                raise ValueError(f"code format {fmt.name} names signature algorithms the gate cannot verify: "
                                 f"{', '.join(sorted(unknown))}")
        for known in self._formats:
            if known.prefix.startswith(fmt.prefix) or fmt.prefix.startswith(known.prefix):
                raise ValueError(f"code format {fmt.name} ({fmt.prefix!r}) overlaps {known.name} ({known.prefix!r})")
        self._formats.append(fmt)

    @property
    def formats(self) -> tuple[CodeFormat, ...]:
        return tuple(self._formats)

    def format_of(self, text: str | bytes) -> CodeFormat | None:
        """The format whose prefix `text` starts with, or None. Reads the prefix only."""
        if isinstance(text, str):
            for fmt in self._formats:
                if text.startswith(fmt.prefix):
                    return fmt
        elif isinstance(text, (bytes, bytearray)):  # a prefix is ASCII: compared as bytes
            for fmt in self._formats:
                if text.startswith(fmt.prefix.encode("ascii")):
                    return fmt
        return None

    @property
    def max_text_chars(self) -> int:
        """The longest text any known format allows (what a QR decoder keeps)."""
        return max((fmt.max_text_chars for fmt in self._formats), default=0)

    def kind_of(self, text: str | bytes) -> CodeKind:
        """health_code, venue_card or unknown, from the prefix alone (nothing is verified)."""
        fmt = self.format_of(text)
        return fmt.kind if fmt is not None else CodeKind.UNKNOWN

    def well_formed(self, text: str) -> bool:
        """True when `text` is of a known format and passes that format's syntax check."""
        fmt = self.format_of(text)
        return fmt is not None and isinstance(text, str) and fmt.well_formed(text)

    def verify(self, text: str | bytes, trust: TrustSource, now: float, skew: int) -> VerifyResult:
        """Verify a health code of any known format; anything else is refused as not_a_health_code."""
        fmt = self.format_of(text)
        if fmt is None or fmt.kind is not CodeKind.HEALTH_CODE:
            return VerifyResult.refused("not_a_health_code")
        try:
            return fmt.verify(text, trust, now, skew)  # type: ignore[attr-defined]
        # A format's verify promises never to raise; if one does, the code is refused, never passed.
        except Exception:  # noqa: BLE001
            log.exception("code format %s raised while verifying; code refused as malformed", fmt.name)
            return VerifyResult.refused("malformed")


# The formats the gate ships with: module path and the name of its format object.
_BUILTIN: tuple[tuple[str, str], ...] = (
    ("gate.codes.jkm1_verify", "JKM1"),
    ("gate.codes.jkmv1", "JKMV1"),
    ("gate.codes.dcc", "DCC"),
    ("gate.codes.shc", "SHC"),
)


@functools.cache
def default_registry() -> FormatRegistry:
    """The registry of the built-in formats, made on first use (the format modules import this one)."""
    return FormatRegistry([getattr(importlib.import_module(module), name) for module, name in _BUILTIN])


def register(fmt: CodeFormat) -> None:
    """Add a format to the default registry (for a format shipped outside gate.codes)."""
    default_registry().register(fmt)


def format_of(text: str | bytes) -> CodeFormat | None:
    """The known format `text` is of, by its prefix, or None."""
    return default_registry().format_of(text)


def kind_of(text: str | bytes) -> CodeKind:
    """health_code, venue_card or unknown: what a text is, without verifying it."""
    return default_registry().kind_of(text)


def max_text_chars() -> int:
    """The longest text any known format allows."""
    return default_registry().max_text_chars


def well_formed(text: str) -> bool:
    """Of a known format and syntactically sound (what a decoder's rescue pass may report)."""
    return default_registry().well_formed(text)


def verify(text: str | bytes, trust: TrustSource, now: float, skew: int = DEFAULT_SKEW_S) -> VerifyResult:
    """Judge a QR text as a person's health code, whatever its format; never raises."""
    return default_registry().verify(text, trust, now, skew)
