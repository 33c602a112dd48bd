"""A small PKI for tests: an anchor, two issuers (EdDSA and ES256), their signed trust folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.codes.trust import TrustStore

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The shared vectors when the checkout has shared/ beside it (CI does), else the copy in tests/.
VECTORS = SHARED / "vectors" if (SHARED / "vectors" / "codes.json").is_file() else ROOT / "tests" / "vectors"

NOW = 1_795_000_000


@dataclass
class PKI:
    """A trust anchor, an EdDSA issuer (CN-JX) and an ES256 issuer (CN-ZJ-SX), and their signed trust folder."""

    root: Path
    anchor: keylib.PrivateKey
    jx: issuelib.Issuer
    sx: issuelib.Issuer
    trust_version: int = 0
    status_version: int = 0
    extra_entries: list[dict[str, Any]] = field(default_factory=list)
    directive_entries: list[dict[str, Any]] = field(default_factory=list)  # directives.md

    @property
    def trust_dir(self) -> Path:
        return self.root / "trust"

    def sign(self, data: bytes) -> str:
        return issuelib.sign_document(self.anchor, data)

    def trust_list(self, version: int | None = None, revoked: tuple[str, ...] = (), max_validity_s: int = 86400,
                   issued_at: int = NOW - 3600) -> bytes:
        """The bytes of a trust list naming both issuers."""
        entries = [
            issuelib.trust_entry(i.private_key.public_key(), i.issuer, NOW - 10**7, NOW + 10**7, max_validity_s)
            for i in (self.jx, self.sx)
        ] + self.extra_entries
        return issuelib.make_trust_list(self.trust_version if version is None else version, issued_at, NOW + 30 * 86400,
                                        entries, revoked, self.directive_entries)

    def write_trust_list(self, version: int, **kwargs: Any) -> None:
        self.trust_version = version
        data = self.trust_list(version, **kwargs)
        (self.trust_dir / "trustlist.json").write_bytes(data)
        (self.trust_dir / "trustlist.json.sig").write_text(self.sign(data))

    def status_list(self, version: int, entries: list[tuple[str, bytes, int, int]], base: int = 0) -> bytes:
        return issuelib.make_status_list(version, NOW - 60, entries, base)

    def write_status_list(self, version: int, entries: list[tuple[str, bytes, int, int]]) -> None:
        data = self.status_list(version, entries)
        (self.trust_dir / "statuslist.json").write_bytes(data)
        (self.trust_dir / "statuslist.json.sig").write_text(self.sign(data))

    def code(self, status: str = "green", issuer: str = "jx", subject: str = "alice", iat: int = NOW - 600,
             valid_for: int = 3000, **kwargs: Any) -> str:
        """A signed QR text."""
        return issuelib.make_code(getattr(self, issuer), subject_id(subject), status, iat, iat + valid_for, **kwargs)

    def store(self, state: Path | None = None) -> TrustStore:
        return TrustStore(self.trust_dir, state)


def subject_id(name: str) -> bytes:
    """A stable 16-byte pseudonym for a test person."""
    return hashlib.sha256(name.encode()).digest()[:16]


