"""How soon the gate starts speaking after a decision, and that the relay does not wait for it.

    .venv/bin/python bench/voice.py [--rounds N] [--device null|default] [--language zh|en|both]

Each round shows every decision on a gate body (gpiozero mock pins) whose speaker is the real
one: espeak-ng WAVs played by ALSA's aplay. Timed from just before `body.show()` to the moment
the aplay process playing the prompt has started; "cold" rounds start with an empty prompt
cache (espeak-ng makes the WAV first), "warm" rounds find it made (the gate makes every prompt
in the background when it starts). The goal is 200 ms. `--device null` needs no sound card
(ALSA's null device); on a gate use `default`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from gate.config import IOConfig, VoiceConfig
from gate.hardware.body import simulated_body
from gate.hardware.speaker import AplayPlayer, Speaker
from gate.vocabulary import SAYINGS
from gate.voice import Line, PromptCache, lines_for

GOAL_MS = 200.0


def figures(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return f"median {statistics.median(values):6.1f} ms, p95 {p95:6.1f} ms, max {values[-1]:6.1f} ms (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--device", default="null")
    parser.add_argument("--language", default="zh", choices=("zh", "en", "both"))
    args = parser.parse_args()
    for tool in ("espeak-ng", "aplay"):
        if shutil.which(tool) is None:
            print(f"bench/voice.py: {tool} is not installed (scripts/install-system-deps.sh)", file=sys.stderr)
            return 2
    voice = VoiceConfig(language=args.language)
    # one (decision, reasons) per saying: every prompt the gate has
    cases = [(decision, ("code_valid", reason)) for decision, reason in SAYINGS]
    started = threading.Event()
    start_at: list[float] = []

    def on_start(line: Line) -> None:
        if not started.is_set():
            start_at.append(time.perf_counter())
            started.set()

    latency: dict[str, list[float]] = {"cold": [], "warm": []}
    show_ms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gate-voice-bench-") as tmp:
        for round_ in range(args.rounds):
            folder = Path(tmp) / f"round-{round_}"
            cache = PromptCache(folder, voice.volume)
            speaker = Speaker(AplayPlayer(cache, device=args.device, on_start=on_start), voice=voice)
            if speaker.fault:
                print(f"bench/voice.py: {speaker.problem}", file=sys.stderr)
                return 2
            body = simulated_body(IOConfig(), speaker=speaker, timer=False)
            try:
                for kind in ("cold", "warm"):
                    for decision, reasons in cases:
                        lines = lines_for(decision, reasons, None, None, voice)
                        started.clear()
                        start_at.clear()
                        t0 = time.perf_counter()
                        body.show(decision, lines)
                        show_ms.append((time.perf_counter() - t0) * 1000)
                        if not started.wait(30) or not speaker.wait_idle(60):
                            print(f"bench/voice.py: no prompt played for {decision}: {speaker.problem}",
                                  file=sys.stderr)
                            return 1
                        latency[kind].append((start_at[0] - t0) * 1000)
            finally:
                body.close()
    print(f"voice prompts through aplay on ALSA device {args.device!r}, language {args.language}, "
          f"{len(cases)} prompts x {args.rounds} rounds")
    print(f"  decision to playing, prompt made (warm): {figures(latency['warm'])}")
    print(f"  decision to playing, first use (cold):   {figures(latency['cold'])}")
    print(f"  body.show() returned after (relay, lights, buzzer; the voice queued): {figures(show_ms)}")
    worst = max(latency["warm"])
    print(f"  goal {GOAL_MS:.0f} ms with prompts made: {'met' if worst <= GOAL_MS else 'NOT met'} (max {worst:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
