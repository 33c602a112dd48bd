"""The gate's voice: which prompts are said for a decision, and the WAV files they are played from.

What is said comes from gate.vocabulary (each decision and deciding reason has a short prompt in
Mandarin and English); `[voice] language` chooses Mandarin, English or both (Mandarin first) and
`speak_temperature` says the reading first ("体温三十六点六度", then "请通行"): two lines, so the
cache holds each prompt once and each temperature once (91 readings from 34.0 to 43.0 °C) rather
than every prompt for every temperature.

The WAV files are made offline by Debian's `espeak-ng` (voice `cmn` for Mandarin, `en` for
English) on first use, or all at once in the background when the gate starts (`PromptCache.warm`),
and kept in a cache folder keyed by text, voice and volume, so a prompt is made once per gate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from gate import vocabulary
from gate.errors import GateError

log = logging.getLogger(__name__)

ESPEAK = "espeak-ng"
VOICES: dict[str, str] = {"zh": "cmn", "en": "en"}  # language -> espeak-ng voice
SYNTH_TIMEOUT_S = 20.0
BODY_RANGE_TENTHS = range(340, 431)  # the temperatures that may be spoken, in tenths (policy.BODY_RANGE_C)


class PromptError(GateError):
    """A prompt could not be made (espeak-ng missing or failing)."""


@dataclass(frozen=True, slots=True)
class Line:
    """One thing to say: its text and the language it is said in (zh | en)."""

    text: str
    language: str


def prompt_folder(store_path: str | Path) -> Path:
    """Where a gate keeps its prompts' WAV files: `prompts/` beside the record store."""
    return Path(store_path).parent / "prompts"


def languages(setting: str) -> tuple[str, ...]:
    """The languages of `[voice] language`: zh, en, or both (Mandarin first)."""
    return ("zh", "en") if setting == "both" else (setting,)


def lines_for(decision: str, reasons: tuple[str, ...] | list[str], venue_type: str | None,
              temperature_c: float | None, voice: Any) -> tuple[Line, ...]:
    """What the speaker says for a decision decided by the last of `reasons`, in order.

    `voice` is the `[voice]` configuration; `temperature_c` a body temperature or None.
    Raises gate.vocabulary.UnknownSaying for a pair the vocabulary does not define.
    """
    said = vocabulary.saying(decision, reasons[-1] if reasons else None, venue_type)
    out = []
    for language in languages(voice.language):
        if voice.speak_temperature and temperature_c is not None:
            spoken = vocabulary.temperature_zh if language == "zh" else vocabulary.temperature_en
            out.append(Line(spoken(temperature_c), language))
        out.append(Line(said.prompt_zh if language == "zh" else said.prompt_en, language))
    return tuple(out)


def every_line(voice: Any) -> list[Line]:
    """Every line this gate may say with its `[voice]` settings: what `warm` makes in advance."""
    pairs = [(None, d, r) for d, r in vocabulary.SAYINGS] + list(vocabulary.VENUE_SAYINGS)
    seen: dict[Line, None] = {}
    for venue_type, decision, reason in pairs:
        for line in lines_for(decision, (reason,), venue_type, None, voice):
            seen[line] = None
    if voice.speak_temperature:
        for language in languages(voice.language):
            spoken = vocabulary.temperature_zh if language == "zh" else vocabulary.temperature_en
            for tenths in BODY_RANGE_TENTHS:
                seen[Line(spoken(tenths / 10), language)] = None
    return list(seen)


def espeak_amplitude(volume: int) -> int:
    """`[voice] volume` (0-100) as espeak-ng's amplitude (0-200, 100 its default): 50 is the default."""
    return max(0, min(200, round(volume * 2)))


class PromptCache:
    """WAV files of spoken lines, made by espeak-ng once and kept in `folder`.

    A file's name is a hash of its text, voice and volume: a changed prompt or volume makes a new
    file, never plays a stale one. Files are written to a temporary name and renamed, so a file in
    the cache is always whole.
    """

    def __init__(self, folder: str | Path, volume: int = 80, espeak: str = ESPEAK) -> None:
        self.folder = Path(folder)
        self.volume = volume
        self.espeak = espeak

    def available(self) -> str | None:
        """None when prompts can be made here; otherwise why not (one line)."""
        if shutil.which(self.espeak) is None:
            return f"{self.espeak} is not installed (Debian package espeak-ng): no voice prompts"
        return None

    def path(self, line: Line) -> Path:
        """Where the WAV of `line` is kept (made or not)."""
        voice = VOICES[line.language]
        key = hashlib.sha256(f"{voice}\0{self.volume}\0{line.text}".encode()).hexdigest()[:32]
        return self.folder / f"{line.language}-{key}.wav"

    def wav(self, line: Line) -> Path:
        """The WAV of `line`, made now if it is not in the cache yet. Raises PromptError."""
        target = self.path(line)
        if target.is_file():
            return target
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".making-", suffix=".wav", dir=self.folder)
            os.close(fd)
        except OSError as exc:
            raise PromptError(f"cannot write voice prompts to {self.folder}: {exc.strerror or exc}") from exc
        tmp = Path(tmp_name)
        try:
            command = [self.espeak, "-v", VOICES[line.language], "-a", str(espeak_amplitude(self.volume)),
                       "-w", str(tmp), "--", line.text]
            try:
                done = subprocess.run(command, capture_output=True, timeout=SYNTH_TIMEOUT_S, check=False)
            except FileNotFoundError as exc:
                raise PromptError(f"{self.espeak} is not installed (Debian package espeak-ng)") from exc
            except subprocess.TimeoutExpired as exc:
                raise PromptError(f"{self.espeak} took over {SYNTH_TIMEOUT_S:.0f} s for one prompt") from exc
            if done.returncode != 0 or tmp.stat().st_size <= 44:
                why = done.stderr.decode(errors="replace").strip().splitlines()
                raise PromptError(f"{self.espeak} failed for {line.text!r}: {why[-1] if why else done.returncode}")
            tmp.replace(target)
            return target
        finally:
            tmp.unlink(missing_ok=True)

    def warm(self, lines: Iterable[Line], prune: bool = True) -> int:
        """Make every line not yet in the cache; returns how many were made. Raises PromptError.

        With `prune`, WAV files of other lines (an old volume, a changed prompt) are deleted.
        """
        made = 0
        keep = set()
        for line in lines:
            path = self.path(line)
            keep.add(path.name)
            if not path.is_file():
                self.wav(line)
                made += 1
        if prune and self.folder.is_dir():
            for old in self.folder.glob("*.wav"):
                if old.name not in keep:
                    old.unlink(missing_ok=True)
        return made
