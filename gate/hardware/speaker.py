"""The loudspeaker that says each decision aloud ("请通行"), for the person looking at their phone.

Wiring: any sound output ALSA knows as its default device: a USB sound card (the simplest: plug
it in, a small powered speaker on its 3.5 mm jack), the Pi 4's own 3.5 mm jack, HDMI audio, or
an I2S amplifier board (MAX98357A: VIN to 5V, GND to ground, BCLK to GPIO18, LRC to GPIO19, DIN
to GPIO21, `dtoverlay=max98357a` in /boot/firmware/config.txt; these pins must then not be used
in `[io]`). `aplay -l` lists the cards ALSA found; `speaker-test -c1 -twav` says "front left".

Usage: `Speaker(player)` with a player that plays one `Line` at a time (`AplayPlayer`: WAV files
made by espeak-ng and played by ALSA's `aplay`; `RecordingPlayer`: the simulated twin that
records what it was asked to play), or `Speaker(None)` when no speaker is fitted (or the voice is
off). `say(lines)` returns at once: the prompt is played by the speaker's own thread, so the relay
never waits for it, and a new prompt cuts the one still playing (the next person is at the gate).
A missing sound card is the fault `speaker_missing` (gate.faults), never an exception; a gate that
cannot make prompts (no espeak-ng) is `voice_unavailable`. `close()` is safe to call twice.

Why `aplay` and not a Python audio library: it is ALSA's own player from Debian's alsa-utils,
plays from a separate process that can be stopped at any moment and cannot take the gate's
process down with a driver fault, and needs no compiled Python extension (simpleaudio, the usual
choice, has had no release since 2019 and does not build on current Python).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol

from gate.voice import Line, PromptCache, PromptError, every_line
from gate.errors import GateError

log = logging.getLogger(__name__)

APLAY = "aplay"
PLAY_TIMEOUT_S = 30.0  # no prompt is this long: a player stuck longer is stopped
_NAMED_CARDS = ("default", "sysdefault", "hw:", "plughw:")  # ALSA devices that need a sound card


class SpeakerError(GateError):
    """A prompt could not be played; `fault` is the gate.faults code it puts the speaker in."""

    def __init__(self, message: str, fault: str = "speaker_missing") -> None:
        super().__init__(message)
        self.fault = fault


class Player(Protocol):
    """What the speaker needs of a player: why it cannot play, play one line, stop playing."""

    kind: str

    def problem(self) -> SpeakerError | None: ...

    def play(self, line: Line) -> None: ...

    def stop(self) -> None: ...


class AplayPlayer:
    """Plays lines through ALSA: the WAV from `prompts` (made on first use), played by `aplay`.

    `device` is the ALSA device (`default`; `null` plays nothing, for benchmarks without a card).
    `on_start(line)` is called as each playback process starts (the benchmark times it).
    """

    kind = "aplay"

    def __init__(self, prompts: PromptCache, device: str = "default", aplay: str = APLAY,
                 on_start: Callable[[Line], None] | None = None) -> None:
        self.prompts = prompts
        self.device = device
        self.aplay = aplay
        self.on_start = on_start
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def problem(self) -> SpeakerError | None:
        """Why nothing can be heard (no aplay, no sound card, no espeak-ng), or None."""
        if shutil.which(self.aplay) is None:
            return SpeakerError(f"{self.aplay} is not installed (Debian package alsa-utils)")
        if self.device.startswith(_NAMED_CARDS):
            try:
                listed = subprocess.run([self.aplay, "-l"], capture_output=True, timeout=5.0, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                return SpeakerError(f"{self.aplay} -l failed: {exc}")
            if b"card " not in listed.stdout:
                return SpeakerError("no sound card found (aplay -l lists none)")
        why = self.prompts.available()
        if why is not None:
            return SpeakerError(why, fault="voice_unavailable")
        return None

    def play(self, line: Line) -> None:
        """Say `line` and return when it has been said (or stopped). Raises SpeakerError."""
        try:
            wav = self.prompts.wav(line)
        except PromptError as exc:
            raise SpeakerError(str(exc), fault="voice_unavailable") from exc
        with self._lock:
            self._stopped = False
            try:
                process = subprocess.Popen([self.aplay, "-q", "-D", self.device, str(wav)],
                                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            except OSError as exc:
                raise SpeakerError(f"cannot start {self.aplay}: {exc.strerror or exc}") from exc
            self._process = process
        if self.on_start is not None:
            self.on_start(line)
        try:
            _, err = process.communicate(timeout=PLAY_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
            raise SpeakerError(f"{self.aplay} played for over {PLAY_TIMEOUT_S:.0f} s: stopped") from None
        finally:
            with self._lock:
                self._process = None
        if process.returncode != 0 and not self._stopped:
            lines = err.decode(errors="replace").strip().splitlines()
            raise SpeakerError(f"{self.aplay} could not play on {self.device!r}: "
                               f"{lines[-1] if lines else f'exit status {process.returncode}'}")

    def stop(self) -> None:
        """Cut the line being played, if any."""
        with self._lock:
            self._stopped = True
            if self._process is not None and self._process.poll() is None:
                self._process.terminate()


class RecordingPlayer:
    """The simulated twin: records each line it is asked to play, and plays nothing.

    `missing` makes it act as a gate without a sound card. With `blocking=True` each line "plays"
    until `release()` (or `stop()`), so a test can hold a prompt in the middle of playing.
    """

    kind = "simulated"

    def __init__(self, *, missing: bool = False, blocking: bool = False) -> None:
        self.missing = missing
        self.blocking = blocking
        self.played: list[Line] = []
        self.started = threading.Event()  # set when a line starts playing
        self._release = threading.Event()

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.played]

    def problem(self) -> SpeakerError | None:
        return SpeakerError("no sound card found (simulated)") if self.missing else None

    def play(self, line: Line) -> None:
        self.played.append(line)
        self.started.set()
        if self.blocking:
            self._release.wait(PLAY_TIMEOUT_S)
            self._release.clear()

    def release(self) -> None:
        """Let the line being held finish."""
        self._release.set()

    def stop(self) -> None:
        self._release.set()


class Speaker:
    """The gate's loudspeaker, or nothing when `player` is None (not fitted, or voice off).

    `voice` is the `[voice]` configuration it was made for (None: not fitted). The player's
    problem, if any, is checked once here: `fault` then names it and nothing is played.
    """

    def __init__(self, player: Player | None, *, voice: Any = None) -> None:
        self.player = player
        self.voice = voice
        self.fault: str | None = None
        self.problem: str | None = None
        self.spoken = 0  # lines played (to the end, or until a newer prompt cut them short)
        self._cond = threading.Condition()
        self._pending: tuple[Line, ...] = ()
        self._generation = 0
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        if player is not None:
            problem = player.problem()
            if problem is not None:
                self._set_fault(problem, at_start=True)

    @property
    def fitted(self) -> bool:
        return self.player is not None

    @property
    def can_speak(self) -> bool:
        return self.player is not None and self.fault is None and not self._closed

    def say(self, lines: Iterable[Line]) -> None:
        """Play `lines` in order, in the background; whatever was still playing is cut short."""
        lines = tuple(lines)
        if not lines or not self.can_speak:
            return
        with self._cond:
            self._generation += 1
            self._pending = lines
            if self._busy:
                self.player.stop()
            self._start()
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is pending or playing; False if still speaking after `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def warm(self, prompts: PromptCache) -> threading.Thread | None:
        """Make every prompt of this gate's `[voice]` settings in the background (first start)."""
        if not self.can_speak or self.voice is None:
            return None

        def run() -> None:
            try:
                made = prompts.warm(every_line(self.voice))
                if made:
                    log.info("voice: %d prompts made in %s", made, prompts.folder)
            except PromptError as exc:
                self._set_fault(SpeakerError(str(exc), fault="voice_unavailable"))

        thread = threading.Thread(target=run, name="gate-voice-warm", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        """Stop speaking and end the thread; safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._pending = ()
            if self._busy and self.player is not None:
                self.player.stop()
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    # -- the speaking thread -----------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gate-speaker", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                lines, self._pending = self._pending, ()
                generation = self._generation
                self._busy = True
            try:
                for line in lines:
                    with self._cond:
                        if self._generation != generation or self._closed:
                            break
                    self.player.play(line)
                    self.spoken += 1
            except SpeakerError as exc:
                self._set_fault(exc)
            except Exception:  # noqa: BLE001  (the voice must never take the gate down)
                log.exception("speaker failed; voice prompts off")
                self._set_fault(SpeakerError("the speaker failed (see the log)"))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _set_fault(self, error: SpeakerError, *, at_start: bool = False) -> None:
        # A card missing at start is a state the gate reports (the fault), said once as a warning;
        # a speaker that fails while the gate runs is an error.
        if self.fault is None:
            log.log(logging.WARNING if at_start else logging.ERROR, "speaker: %s", error)
        self.fault, self.problem = error.fault, str(error)


def open_speaker(voice: Any, prompt_folder: str | Path, *, simulated: bool = False,
                 player: Player | None = None, warm: bool = True) -> Speaker:
    """The speaker a `[voice]` configuration describes; prompts kept in `prompt_folder`.

    Off (`enabled = false` or `volume = 0`): not fitted. `simulated`: a RecordingPlayer (nothing
    is heard). Otherwise ALSA's default device through aplay, with every prompt made in the
    background now unless `warm` is False. `player` replaces the player chosen here.
    """
    if not voice.enabled or voice.volume == 0:
        return Speaker(None)
    prompts = PromptCache(prompt_folder, voice.volume)
    if player is None:
        player = RecordingPlayer() if simulated else AplayPlayer(prompts)
    speaker = Speaker(player, voice=voice)
    if warm and isinstance(player, AplayPlayer):
        speaker.warm(prompts)
    return speaker
