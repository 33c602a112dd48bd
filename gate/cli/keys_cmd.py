"""`gate keys`: make anchor, issuer and device keys; build and sign trust and status lists."""

from __future__ import annotations

import base64
import binascii
import json
import time
from pathlib import Path

import click

from gate.cli.errors import fail
from gate.codes import dcc, shc
from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.codes.trust import SIG_SUFFIX, TrustError, parse_status_list, parse_trust_list
from gate.directives.bulletin import BulletinError
from gate.directives.issue import make_bulletin, sign_directive
from gate.directives.keys import directive_entry

KINDS = {"anchor": "EdDSA", "device": "EdDSA", "directive": "EdDSA", "issuer": None}


def _private(path: Path) -> keylib.PrivateKey:
    try:
        return keylib.load_private_key(path)
    except ValueError as exc:
        fail(str(exc))


def _write_signed(out: Path, data: bytes, anchor: keylib.PrivateKey) -> None:
    """Write `out` and `out.sig` (each atomically enough for a build step)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    out.with_name(out.name + SIG_SUFFIX).write_text(issuelib.sign_document(anchor, data) + "\n")
    click.echo(f"wrote {out} and {out.name}{SIG_SUFFIX}")


@click.group()
def keys() -> None:
    """Make keys and sign trust and status lists (never put a private key on a gate but its device key)."""


@keys.command("new")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Private key file to create (PEM, mode 600); the public key goes beside it as .pem.")
@click.option("--alg", type=click.Choice(["EdDSA", "ES256"]), default="EdDSA", show_default=True,
              help="Issuer keys only: the signature algorithm.")
def new(kind: str, out: Path, alg: str) -> None:
    """Make a new KIND key pair: anchor, issuer, device or directive (signs bulletins and venue cards)."""
    alg = KINDS[kind] or alg
    public_path = out.with_suffix(".pem")
    if out.exists() or public_path.exists():
        fail(f"{out} or {public_path} already exists; choose another --out, keys are never overwritten.")
    private_key = keylib.generate(alg)
    keylib.write_private_key(out, private_key)
    public_path.write_bytes(keylib.public_pem(private_key.public_key()))
    der = keylib.spki_der(private_key.public_key())
    click.echo(f"wrote {out} (private, keep it secret) and {public_path}")
    click.echo(f"public key (base64 SPKI): {base64.b64encode(der).decode()}")
    click.echo(f"kid: {keylib.b64url(keylib.kid_of(der))}")


@keys.command("sign")
@click.option("--anchor", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The trust anchor's private key.")
@click.argument("document", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def sign(anchor: Path, document: Path) -> None:
    """Sign a trust list or status list file as it is: writes DOCUMENT.sig."""
    data = document.read_bytes()
    try:
        (parse_trust_list if "keys" in data.decode("utf-8", "replace") else parse_status_list)(data)
    except TrustError as exc:
        fail(f"{document} would be refused by a gate: {exc}")
    _write_signed(document, data, _private(anchor))


@keys.command("trustlist")
@click.option("--anchor", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="e.g. keys/trust/trustlist.json")
@click.option("--version", "version", required=True, type=click.IntRange(1))
@click.option("--issued-at", type=int, default=None, help="Default: now.")
@click.option("--valid-days", type=click.IntRange(1), default=30, show_default=True)
@click.option("--issuer", "issuers", multiple=True, metavar="ISSUER=PUBKEY.pem",
              help="An issuer id and its public key file; repeat for each key.")
@click.option("--max-validity", type=click.IntRange(1), default=86400, show_default=True,
              help="Longest code validity (exp - iat) accepted for these keys, seconds.")
@click.option("--key-years", type=click.IntRange(1), default=2, show_default=True, help="Key validity from issued-at.")
@click.option("--revoke", "revoked", multiple=True, metavar="KID", help="A revoked key id (base64url).")
@click.option("--directive", "directives", multiple=True, metavar="PUBKEY.pem",
              help="A directive key's public key (signs bulletins and venue cards); repeat for each.")
@click.option("--dsc", "dscs", multiple=True, metavar="CERT", type=click.Path(path_type=Path, dir_okay=False),
              help="An EU DCC Document Signer Certificate (PEM or DER); repeat for each.")
@click.option("--dsc-country", default=None, metavar="CC", help="The DSCs' country, when not the certificates' own.")
@click.option("--shc-issuer", "shc_issuers", multiple=True, metavar="ISS=JWKS_FILE",
              help="A SMART Health Card issuer URL and its JWKS file; repeat for each.")
@click.option("--pseudonym-salt", default=None, type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="The fleet's pseudonym salt: 32 bytes, raw or base64 (credentials.md).")
def trustlist(anchor: Path, out: Path, version: int, issued_at: int | None, valid_days: int, issuers: tuple[str, ...],
              max_validity: int, key_years: int, revoked: tuple[str, ...], directives: tuple[str, ...],
              dscs: tuple[Path, ...], dsc_country: str | None, shc_issuers: tuple[str, ...],
              pseudonym_salt: Path | None) -> None:
    """Build and sign a trust list from issuer public keys, DSCs and SMART Health Card issuers."""
    if not (issuers or dscs or shc_issuers):
        fail("name at least one key: --issuer, --dsc or --shc-issuer.")
    if dsc_country is not None and not (len(dsc_country) == 2 and dsc_country.isascii() and dsc_country.isalpha()):
        fail(f"--dsc-country {dsc_country!r} must be a two-letter country code, e.g. DE.")
    sections = {"dscs": [_dsc_entry(path, dsc_country) for path in dscs],
                "shc_issuers": [_shc_issuer_entry(spec) for spec in shc_issuers]}
    if pseudonym_salt is not None:
        sections["pseudonym_salt"] = _salt(pseudonym_salt)
    issued = int(time.time()) if issued_at is None else issued_at
    entries = []
    for spec in issuers:
        name, _, pem = spec.partition("=")
        if not name or not pem:
            fail(f"--issuer {spec!r} must look like CN-JX=keys/jx.pem.")
        try:
            public_key = keylib.load_public_key(Path(pem))
        except ValueError as exc:
            fail(str(exc))
        entries.append(issuelib.trust_entry(public_key, name, issued - 86400, issued + key_years * 365 * 86400, max_validity))
    delegated = []
    for pem in directives:
        try:
            public_key = keylib.load_public_key(Path(pem))
        except ValueError as exc:
            fail(str(exc))
        if keylib.alg_of(public_key) != "EdDSA":
            fail(f"--directive {pem}: a directive key must be an Ed25519 key")
        delegated.append(directive_entry(public_key, issued - 86400, issued + key_years * 365 * 86400))
    data = issuelib.make_trust_list(version, issued, issued + valid_days * 86400, entries, revoked, delegated, sections)
    _write_signed(out, data, _private(anchor))


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"{what} {path}: {exc.strerror or exc}")


def _dsc_entry(path: Path, country: str | None) -> dict[str, str]:
    """A `dscs` entry from a certificate file; one line and exit 2 when it cannot serve as a DSC."""
    try:
        dsc = dcc.dsc_from_der(dcc.certificate_der(_read(path, "--dsc")), country.upper() if country else None)
    except ValueError as exc:
        fail(f"--dsc {path}: not a usable DSC certificate ({exc}).")
    if not dsc.country:
        fail(f"--dsc {path}: the certificate names no country; give --dsc-country.")
    return dcc.dsc_entry(dsc)


def _shc_issuer_entry(spec: str) -> dict[str, object]:
    """A `shc_issuers` entry from ISS=JWKS_FILE; its JWKS must hold at least one ES256 P-256 key."""
    iss, _, path = spec.partition("=")
    if not shc.issuer_url_ok(iss) or not path:
        fail(f"--shc-issuer {spec!r} must look like https://issuer.example/path=jwks.json (https, no trailing /).")
    try:
        jwks = json.loads(_read(Path(path), "--shc-issuer"))
        _, usable = shc.issuer_keys({"iss": iss, "jwks": jwks})
    except (ValueError, UnicodeDecodeError) as exc:
        fail(f"--shc-issuer {path}: not a JWKS ({exc}).")
    if not usable:
        fail(f"--shc-issuer {path}: no EC P-256 public key for ES256 in it.")
    return {"iss": iss, "jwks": jwks}


def _salt(path: Path) -> str:
    """The salt file's 32 bytes (raw, or base64 text), as base64."""
    data = _read(path, "--pseudonym-salt")
    if len(data) != 32:
        try:
            data = base64.b64decode(data.strip(), validate=True)
        except (ValueError, binascii.Error):
            data = b""
    if len(data) != 32:
        fail(f"--pseudonym-salt {path}: must hold 32 random bytes (raw or base64).")
    return base64.b64encode(data).decode("ascii")


@keys.command("statuslist")
@click.option("--anchor", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--version", "version", required=True, type=click.IntRange(1))
@click.option("--base", "base_version", type=click.IntRange(0), default=0, show_default=True,
              help="0 for a full list, else the version this delta applies on.")
@click.option("--issued-at", type=int, default=None, help="Default: now.")
@click.option("--entry", "entries", multiple=True, metavar="ISS:SUBHEX:STATUS:SINCE",
              help="A subject whose status rose, e.g. CN-JX:0011...eeff:2:1764001000 (STATUS 0-2 or green/yellow/red).")
@click.option("--revoked-hash", "revoked_hashes", multiple=True, metavar="HEX",
              help="A revoked credential's hash (32 hex digits, credentials.md); repeat for each.")
def statuslist(anchor: Path, out: Path, version: int, base_version: int, issued_at: int | None,
               entries: tuple[str, ...], revoked_hashes: tuple[str, ...]) -> None:
    """Build and sign a status list (full or delta)."""
    parsed = []
    for spec in entries:
        try:
            iss, sub, status, since = spec.split(":")
            code = issuelib.STATUS_CODES.get(status, None)
            parsed.append((iss, bytes.fromhex(sub), int(status) if code is None else code, int(since)))
        except ValueError:
            fail(f"--entry {spec!r} must look like CN-JX:<32 hex digits>:2:1764001000.")
    hashes = []
    for text in revoked_hashes:
        try:
            value = bytes.fromhex(text)
        except ValueError:
            value = b""
        if len(value) != 16:
            fail(f"--revoked-hash {text!r} must be 32 hex digits (16 bytes).")
        hashes.append(value)
    data = issuelib.make_status_list(version, int(time.time()) if issued_at is None else issued_at, parsed, base_version,
                                     hashes)
    try:
        parse_status_list(data)
    except TrustError as exc:
        fail(str(exc))
    _write_signed(out, data, _private(anchor))


@keys.command("bulletin")
@click.option("--key", required=True, type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="The directive key's private key.")
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False), help="e.g. lists/bulletin.json")
@click.option("--version", "version", required=True, type=click.IntRange(1))
@click.option("--effective-at", type=int, default=None, help="Epoch seconds; default: now.")
@click.option("--note", default="", help="What the gates show while it is in force.")
@click.option("--setting", "settings", multiple=True, required=True, metavar="JSON",
              help='One settings entry, e.g. \'{"scope": {"venue_types": ["residential"]}, '
                   '"set": {"venue.itinerary_check": false}}\'; repeat for each.')
def bulletin(key: Path, out: Path, version: int, effective_at: int | None, note: str, settings: tuple[str, ...]) -> None:
    """Build and sign a bulletin (directives.md) with a directive key."""
    import json

    entries = []
    for raw in settings:
        try:
            entries.append(json.loads(raw))
        except ValueError:
            fail(f"--setting {raw!r} is not JSON")
    now = int(time.time())
    try:
        data = make_bulletin(version, now, now if effective_at is None else effective_at, note, entries)
    except BulletinError as exc:
        fail(f"a gate would refuse this bulletin: {exc}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    out.with_name(out.name + SIG_SUFFIX).write_text(sign_directive(_private(key), data) + "\n")
    click.echo(f"wrote {out} and {out.name}{SIG_SUFFIX}")
