"""The demo: footage of people at a residential gate, made from the demo keys, and its script.

`make_footage()` writes a short video of phones held up to the camera (green, yellow resident and
visitor, red, expired, forged, a fever that comes back, the itinerary mark, a reading that fails,
a web address) and a sidecar JSON with the footage's start time and what the simulated
thermometer reads while each person stands there. Nothing big is committed: `gate demo` makes the
footage on first use (a few seconds) under var/demo/.

`fresh_trust_folder()` makes the demo gate's trust folder for one run: the committed demo lists
(keys/demo/trust) signed again by the demo anchor as issued now, so the demo's gate does not
report a status list weeks old when nothing is wrong with it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cbor2
import cv2
import numpy as np

from gate.codes import base45, cose, dcc, dcc_issue, shc_issue
from gate.codes import jkm1 as fmt
from gate.codes import issue as issuelib
from gate.codes import keys as keylib
from gate.footage import ScriptedThermometer, load_script  # noqa: F401  (gate.demo's names, kept)
from gate.vision import synthetic

FPS = 15
WIDTH, HEIGHT = 640, 480
PERSON_S = 1.4  # how long a phone is held up
GAP_S = 1.3  # empty scene between people
COMMUNITY = "360102-012"


@dataclass(frozen=True)
class Person:
    """Someone at the gate in the demo footage, and what the gate should decide."""

    label: str
    issuer: str  # "jx" (EdDSA, CN-JX) or "sx" (ES256, CN-ZJ-SX); "" for a QR that is not a code
    status: str
    subject: str
    temp_c: float | None
    expect: str
    home: str | None = None
    itinerary: bool = False
    expired: bool = False
    forged: bool = False
    text: str | None = None  # a QR that is not a health code
    credential: str = ""  # "dcc" or "shc": a visitor showing an EU DCC or a SMART Health Card (issue 22)


PEOPLE: tuple[Person, ...] = (
    Person("resident, green code", "jx", "green", "wang", 36.5, "allow", home=COMMUNITY, ),
    Person("resident, yellow code", "sx", "yellow", "li", 36.7, "allow", home=COMMUNITY),
    Person("visitor, yellow code", "jx", "yellow", "zhao", 36.6, "deny", home="360105-001"),
    Person("red code", "jx", "red", "chen", 36.6, "hold"),
    Person("expired code", "jx", "green", "sun", 36.5, "deny", expired=True),
    Person("forged code", "jx", "green", "zhou", 36.5, "deny", forged=True),
    Person("fever, first reading", "jx", "green", "wu", 38.2, "recheck", home=COMMUNITY),
    Person("itinerary mark", "sx", "green", "zheng", 36.6, "hold", itinerary=True),
    Person("thermometer gets no reading", "jx", "green", "feng", None, "manual", home=COMMUNITY),
    Person("fever, back after resting", "jx", "green", "wu", 38.4, "refer", home=COMMUNITY),
    Person("a web address, not a code", "", "", "", 36.5, "deny", text="HTTPS://EXAMPLE.COM/PAY?ID=42"),
    Person("visitor, EU DCC (vaccinated)", "", "", "schneider", 36.4, "allow", credential="dcc"),
    Person("visitor, SMART Health Card", "", "", "anyperson", 36.6, "allow", credential="shc"),
)
SHC_ISSUER = "https://shc.demo.example/issuer"  # the demo SHC issuer (scripts/make-demo-credentials.py)


def _issuers(keys_dir: Path) -> dict[str, issuelib.Issuer]:
    return {
        "jx": issuelib.Issuer("CN-JX", keylib.load_private_key(keys_dir / "issuer-cn-jx.demo.key")),
        "sx": issuelib.Issuer("CN-ZJ-SX", keylib.load_private_key(keys_dir / "issuer-cn-zj-sx.demo.key")),
    }


def code_for(person: Person, issuers: dict[str, issuelib.Issuer], start: int, cache: dict[str, str],
             keys_dir: Path | None = None) -> str:
    """The QR text a person shows; the same person shows the same code when they come back."""
    if person.text is not None:
        return person.text
    key = f"{person.subject}/{person.status}"
    if person.credential:
        return cache.setdefault(key, _credential(person, start, keys_dir or _KEYS_DIR))
    if key in cache:
        return cache[key]
    sub = hashlib.sha256(f"demo/{person.subject}".encode()).digest()[:16]
    iat = start - 7200 if person.expired else start - 600
    exp = start - 3600 if person.expired else start + 3000
    issuer = issuers[person.issuer]
    text = issuelib.make_code(issuer, sub, person.status, iat, exp, home=person.home,
                              itinerary_risk=person.itinerary or None, name=_masked(person.subject),
                              cti=hashlib.sha256(key.encode()).digest()[:8])
    if person.forged:
        text = _forge(text)
    cache[key] = text
    return text


def _credential(person: Person, start: int, keys_dir: Path) -> str:
    """A demo visitor's EU DCC or SMART Health Card, signed by the demo DSC or SHC issuer key (made by
    scripts/make-demo-credentials.py, in the demo trust list): vaccinated about two months ago."""
    day = time.strftime("%Y-%m-%d", time.gmtime(start - 60 * 86400))
    if person.credential == "dcc":
        der = dcc.certificate_der((keys_dir / "dsc-de.demo.pem").read_bytes())
        hcert = dcc_issue.vaccination("Schneider", "Anna", "1985-06-15", day, uci="URN:UVCI:01:DE:DEMO/GATE#1")
        return dcc_issue.issue(hcert, keylib.load_private_key(keys_dir / "dsc-de.demo.key"), der,
                               iss="DE", iat=start - 600, exp=start + 365 * 86400)
    jwk = json.loads((keys_dir / "shc-issuer.demo.jwks.json").read_text())["keys"][0]
    earlier = time.strftime("%Y-%m-%d", time.gmtime(start - 81 * 86400))
    card = shc_issue.immunization_card(SHC_ISSUER, start - 600, "Anyperson", ["John"], "1951-01-20",
                                       [("208", earlier), ("208", day)])
    return shc_issue.issue(card, keylib.load_private_key(keys_dir / "shc-issuer.demo.key"), jwk["kid"])


_KEYS_DIR = Path(__file__).resolve().parents[1] / "keys" / "demo"


def _forge(text: str) -> str:
    """The same code with one bit of its signature flipped: it reads, but its signature fails."""
    message = cbor2.loads(cose.inflate(base45.b45decode(text[len(fmt.PREFIX):])))
    protected, unprotected, payload, signature = message.value
    forged = bytes([signature[0] ^ 1]) + signature[1:]
    return fmt.encode_text(cbor2.dumps(cbor2.CBORTag(cose.COSE_SIGN1_TAG, [protected, {}, payload, forged])))


def _masked(subject: str) -> str:
    return {"wang": "王*明", "li": "李*", "zhao": "赵*华", "chen": "陈*", "sun": "孙*丽", "zhou": "周*",
            "wu": "吴*强", "zheng": "郑*", "feng": "冯*", "qian": "钱*芳"}.get(subject, "*")


def _phone(text: str, seed: int) -> np.ndarray:
    """A phone showing `text` (the vision corpus's phone), scaled to arm's length in the view."""
    rng = np.random.default_rng(seed)
    matrix = synthetic.qr_matrix(text)
    phone, _ = synthetic.phone_face(rng, matrix, dark=seed % 5 == 3)
    # held at arm's length; a dense code (a DCC, an SHC) is held closer, at 3 camera pixels a module
    n = matrix.shape[0]
    scale = max(300 / phone.shape[0], 3.0 / synthetic.screen_module_px(n))
    return cv2.resize(phone, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _with_phone(scene: np.ndarray, phone: np.ndarray, progress: float, seed: int) -> np.ndarray:
    """The scene with the phone sliding in and settling, slightly tilted."""
    ph, pw = phone.shape[:2]
    settle = min(1.0, progress * 4)
    cx = WIDTH / 2 + (1 - settle) * 260 + 8 * np.sin(progress * 7 + seed)
    cy = HEIGHT / 2 + 6 * np.cos(progress * 5 + seed)
    angle = 6 * np.sin(seed) + (1 - settle) * 12
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, 1.0)
    m[0, 2] += cx - pw / 2
    m[1, 2] += cy - ph / 2
    warped = cv2.warpAffine(phone, m, (WIDTH, HEIGHT), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.full((ph, pw), 255, np.uint8), m, (WIDTH, HEIGHT))
    out = scene.copy()
    out[mask > 0] = warped[mask > 0]
    return out


def make_footage(out_dir: Path, keys_dir: Path, start_epoch: int | None = None, seed: int = 7) -> Path:
    """Write footage.mp4 and footage.json under `out_dir`; returns the video's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    start = int(time.time()) if start_epoch is None else start_epoch
    issuers = _issuers(keys_dir)
    rng = np.random.default_rng(seed)
    scene = synthetic.background(rng)
    video = out_dir / "footage.mp4"
    tmp = out_dir / "footage.tmp.mp4"
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError("OpenCV cannot write mp4v video here")
    script: list[dict[str, Any]] = []
    cache: dict[str, str] = {}
    frame_no = 0

    # sensor noise, a few fixed fields in turn: real footage is never perfectly still
    noise = [rng.normal(0, 3, (HEIGHT, WIDTH, 3)).astype(np.int16) for _ in range(6)]

    def emit(image: np.ndarray) -> None:
        nonlocal frame_no
        noisy = cv2.add(image, noise[frame_no % len(noise)], dtype=cv2.CV_8U)
        writer.write(noisy)
        frame_no += 1

    for _ in range(int(GAP_S * FPS)):
        emit(scene)
    for n, person in enumerate(PEOPLE):
        text = code_for(person, issuers, start, cache, keys_dir)
        begin = frame_no / FPS
        frames = int(PERSON_S * FPS)
        phone = _phone(text, seed + n)
        for i in range(frames):
            emit(_with_phone(scene, phone, i / frames, n))
        end = frame_no / FPS
        # the person stands there a little before the code is readable and after it is gone
        script.append({"label": person.label, "from": round(begin - 0.2, 3), "to": round(end + 0.5, 3),
                       "temp_c": person.temp_c, "expect": person.expect})
        for _ in range(int(GAP_S * FPS)):
            emit(scene)
    writer.release()
    tmp.replace(video)
    (out_dir / "footage.json").write_text(json.dumps({"start_epoch": start, "fps": FPS, "people": script},
                                                     ensure_ascii=False, indent=1))
    return video


def write_demo_config(dest: Path, root: Path, *, store: Path, footage: Path | None = None) -> Path:
    """The demo gate's configuration (firmware_config/demo.toml) at `dest`, with its trust folder
    and device key made absolute and its store (and footage) elsewhere: for benchmarks and tests."""
    text = (root / "firmware_config" / "demo.toml").read_text()
    text = text.replace('"../keys/demo/trust"', f'"{root / "keys" / "demo" / "trust"}"')
    text = text.replace('"../keys/demo/device.key"', f'"{root / "keys" / "demo" / "device.key"}"')
    text = text.replace('"../var/demo/scans.db"', f'"{store}"')
    if footage is not None:
        text = text.replace('"../var/demo/footage.mp4"', f'"{footage}"')
    dest.write_text(text)
    return dest


def fresh_trust_folder(dest: Path, keys_dir: Path, now: float | None = None) -> Path:
    """A trust folder at `dest` holding the demo anchors and the demo's trust and status lists
    (keys/demo/trust, as committed) issued again at `now` and signed by the demo anchor key.

    The trust list keeps its keys and its expiry (or a year from `now`, when that is sooner past),
    the status list its entries; their versions stay, so a collector serving this folder and a
    gate reading it agree. Returns `dest`.
    """
    issued = int(time.time() if now is None else now)
    source = keys_dir / "trust"
    anchor = keylib.load_private_key(keys_dir / "anchor.demo.key")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source / "anchors", dest / "anchors")
    trust = json.loads((source / "trustlist.json").read_bytes())
    trust["issued_at"] = issued
    trust["expires_at"] = max(int(trust.get("expires_at", 0)), issued + 365 * 86400)
    status = json.loads((source / "statuslist.json").read_bytes())
    status["issued_at"] = issued
    for name, doc in (("trustlist.json", trust), ("statuslist.json", status)):
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
        (dest / name).write_bytes(data)
        (dest / (name + ".sig")).write_text(issuelib.sign_document(anchor, data) + "\n")
    return dest
