"""The collector's directive key (directives.md): where it is, what it is, whether gates trust it.

The key is made and kept by the collector (`gate keys new directive --out PATH`); its path is given
to `gate collector serve --directive-key PATH` (env ``GATE_DIRECTIVE_KEY``, default
``directive.key`` beside the lists folder). `directive_key_state(path, lists)` reads it and the
trust list the collector serves, and says in one line what is wrong when the console cannot sign
with it: no key configured, a file that is not an Ed25519 private key, or a trust list that does not
delegate it (gates would then refuse everything it signs).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from gate.codes import keys as keylib
from gate.collector.lists import ListNotFound, ListsDirectory
from gate.directives.keys import DirectiveKey, parse_directive_keys
from gate.errors import GateError


class NoDirectiveKey(GateError):
    """The console cannot sign: the message says why in one line."""


@dataclass(frozen=True)
class DirectiveKeyState:
    """The directive key as the console shows it."""

    path: Path | None
    private_key: keylib.PrivateKey | None
    public_key_b64: str  # base64 SPKI: what the trust list's directive_keys entry carries
    public_pem: str
    kid: str  # base64url
    problem: str  # "" when the key is loaded; else why there is none, one line
    delegation: DirectiveKey | None  # the served trust list's entry for this key, if any
    trust_problem: str  # "" when the served trust list delegates the key now; else why not

    @property
    def usable(self) -> bool:
        """True when the console may sign with it: loaded, and delegated by the served trust list."""
        return self.private_key is not None and not self.trust_problem

    def signing_key(self) -> keylib.PrivateKey:
        """The private key to sign with; NoDirectiveKey (one line) when gates would not accept it."""
        if self.private_key is None:
            raise NoDirectiveKey(self.problem)
        if self.trust_problem:
            raise NoDirectiveKey(self.trust_problem)
        return self.private_key


def _served_directive_keys(lists: ListsDirectory) -> tuple[dict[bytes, DirectiveKey], str]:
    try:
        doc = json.loads(lists.trustlist().body)
    except ListNotFound:
        return {}, "the collector serves no trust list"
    except ValueError:
        return {}, "the trust list the collector serves is not JSON"
    if not isinstance(doc, dict):
        return {}, "the trust list the collector serves is not a JSON object"
    try:
        keys, _ = parse_directive_keys(doc.get("directive_keys"))
    except ValueError as exc:
        return {}, f"the trust list the collector serves: {exc}"
    return keys, ""


def directive_key_state(path: Path | None, lists: ListsDirectory, now: float) -> DirectiveKeyState:
    """Load the key at `path` and check it against the trust list in `lists` at `now`."""
    if path is None:
        return DirectiveKeyState(None, None, "", "", "", "no directive key is configured "
                                 "(gate collector serve --directive-key PATH)", None, "")
    if not path.exists():
        return DirectiveKeyState(path, None, "", "", "", f"no directive key at {path} (make one: "
                                 f"gate keys new directive --out {path})", None, "")
    try:
        private_key = keylib.load_private_key(path)
    except ValueError as exc:
        return DirectiveKeyState(path, None, "", "", "", f"the directive key cannot be used: {exc}",
                                 None, "")
    if keylib.alg_of(private_key) != "EdDSA":
        return DirectiveKeyState(path, None, "", "", "", f"{path} is not an Ed25519 key; a "
                                 "directive key must be one", None, "")
    der = keylib.spki_der(private_key.public_key())
    kid = keylib.kid_of(der)
    served, trust_problem = _served_directive_keys(lists)
    delegation = served.get(kid)
    if not trust_problem:
        if delegation is None:
            trust_problem = ("the trust list the collector serves does not delegate this directive "
                             "key: gates would refuse what it signs")
        elif not delegation.in_force(now):
            trust_problem = ("the trust list the collector serves delegates this directive key "
                             "only outside its validity: gates would refuse what it signs")
    return DirectiveKeyState(
        path=path, private_key=private_key, public_key_b64=base64.b64encode(der).decode("ascii"),
        public_pem=keylib.public_pem(private_key.public_key()).decode("ascii"),
        kid=keylib.b64url(kid), problem="", delegation=delegation, trust_problem=trust_problem)
