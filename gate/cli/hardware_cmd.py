"""`gate hardware test --config FILE`: the technician's walk through the gate's outputs.

One step at a time, each announced and run on Enter: pulse the relay, light green, yellow and
red, sound the short and the long beep, say the allow prompt on the speaker, then show the inputs. After each step the technician
says whether it worked; the summary lists what did not. `--yes` runs every step without asking
(for a bench check); `--simulate` drives gpiozero's mock pins and prints what each pin did, on a
machine without GPIO.

The relay is off again after every step, on Ctrl-C, on an error and on SIGTERM.
"""

from __future__ import annotations

import signal
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click
from gpiozero.exc import PinFactoryFallback

from gate.cli.errors import fail, load_config_or_fail
from gate.faults import fault
from gate.hardware.body import GateBody, HardwareError, install_sigterm_handler
from gate.hardware.speaker import open_speaker
from gate.voice import lines_for, prompt_folder

DEFAULT_CONFIG = "/etc/gate/gate.toml"


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to try: what it is, the `[io]` key of its pin, what to look or listen for."""

    name: str
    pin_key: str | None  # None: not on a GPIO pin (the speaker)
    expect: str
    run: Callable[[GateBody, float], None]


def _pulse_relay(body: GateBody, step_s: float) -> None:
    body.pulse_relay()
    end = time.monotonic() + body.relay.pulse_s + 1.0
    while body.relay_open and time.monotonic() < end:
        time.sleep(0.02)
    body.shut()


def _light(colour: str) -> Callable[[GateBody, float], None]:
    def run(body: GateBody, step_s: float) -> None:
        body.lights.show(colour)
        time.sleep(step_s)
        body.lights.off()

    return run


def _beep(pattern: str) -> Callable[[GateBody, float], None]:
    def run(body: GateBody, step_s: float) -> None:
        body.buzzer.sound(pattern)
        time.sleep(max(step_s, body.buzzer.patterns[pattern].on_s + 0.1))
        body.buzzer.silence()

    return run


def _speak(body: GateBody, step_s: float) -> None:
    voice = body.speaker.voice
    body.speaker.say(lines_for("allow", ("temperature_normal",), None, 36.6, voice))
    body.speaker.wait_idle(SPEAK_TIMEOUT_S)  # the first time, the prompt is made first (espeak-ng)


STEPS: tuple[Step, ...] = (
    Step("relay", "relay_pin", "the lock clicks open for relay_pulse_s, then shuts", _pulse_relay),
    Step("green light", "led_green_pin", "the green light is on", _light("green")),
    Step("yellow light", "led_yellow_pin", "the yellow light is on", _light("yellow")),
    Step("red light", "led_red_pin", "the red light is on", _light("red")),
    Step("short beep", "buzzer_pin", "one short beep (allow)", _beep("short")),
    Step("long beep", "buzzer_pin", "one long beep (deny)", _beep("long")),
    Step("voice", None, "the speaker says the allow prompt (请通行 / Please go through)", _speak),
)
SPEAK_TIMEOUT_S = 30.0


def _pin_history(body: GateBody, pin: int) -> str:
    states = [s.state for s in body.pin_factory.pin(pin).states]
    return "→".join("high" if s else "low" for s in states)


@click.group("hardware")
def hardware() -> None:
    """Check the gate's relay, lights, buzzer and inputs (for the technician mounting it)."""


@hardware.command("test")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
              default=DEFAULT_CONFIG, show_default=True, help="The gate's configuration file.")
@click.option("--yes", "-y", is_flag=True, help="Run every step without prompts.")
@click.option("--simulate", is_flag=True, help="Use gpiozero's mock pins (a machine without GPIO).")
@click.option("--step-seconds", type=click.FloatRange(0.0, 30.0), default=1.5, show_default=True,
              help="How long each light or beep step lasts.")
def test(config_path: Path, yes: bool, simulate: bool, step_seconds: float) -> None:
    """Pulse the relay, cycle the lights and beep, one step at a time with a prompt."""
    cfg = load_config_or_fail(config_path)
    pin_factory: Any = None
    if simulate:
        from gpiozero.pins.mock import MockFactory

        pin_factory = MockFactory()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PinFactoryFallback)  # the one-line error below says it all
            speaker = open_speaker(cfg.voice, prompt_folder(cfg.store.path), simulated=simulate, warm=False)
            body = GateBody(cfg.io, pin_factory=pin_factory, speaker=speaker)
    except HardwareError as exc:
        fail(f"{exc}: run this on the gate's Raspberry Pi, or add --simulate")
    previous_handler: Any = None
    try:
        previous_handler = install_sigterm_handler(body)
    except ValueError:
        pass  # not the main thread (embedded use): the with-block still turns the relay off
    try:
        with body:
            results = _run_steps(cfg.io, body, yes, simulate, step_seconds)
            _show_inputs(cfg.io, body)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGTERM, previous_handler)
    click.echo("Summary: " + ", ".join(f"{name} {outcome}" for name, outcome in results))
    if any(outcome == "FAILED" for _, outcome in results):
        click.get_current_context().exit(1)


def _run_steps(io: Any, body: GateBody, yes: bool, simulate: bool, step_seconds: float) -> list[tuple[str, str]]:
    """Each step announced, run (after Enter unless --yes) and judged; returns (name, outcome)."""
    results: list[tuple[str, str]] = []
    for step in STEPS:
        if step.pin_key is None:
            if not body.speaker.fitted:
                click.echo(f"- {step.name}: not fitted ([voice] enabled = false or volume = 0), skipped")
                results.append((step.name, "not fitted"))
                continue
            if body.speaker.fault is not None:
                click.echo(f"- {step.name}: {fault(body.speaker.fault).en} ({body.speaker.problem})")
                results.append((step.name, "FAILED"))
                continue
            click.echo(f"- {step.name}: expect {step.expect}")
            pin = None
        else:
            pin = getattr(io, step.pin_key)
            if pin is None:
                click.echo(f"- {step.name}: not fitted (io.{step.pin_key} = false), skipped")
                results.append((step.name, "not fitted"))
                continue
            click.echo(f"- {step.name} on GPIO{pin}: expect {step.expect}")
        if simulate and pin is not None:
            body.pin_factory.pin(pin).clear_states()
        if not yes:
            answer = click.prompt("  Enter to run, s to skip, q to stop", default="", show_default=False)
            if answer.strip().lower() == "q":
                break
            if answer.strip().lower() == "s":
                results.append((step.name, "skipped"))
                continue
        said_before = len(body.speaker.player.texts) if simulate and pin is None else 0
        step.run(body, step_seconds)
        if simulate and pin is None:
            click.echo(f"  said: {' / '.join(body.speaker.player.texts[said_before:])}")
        elif simulate:
            note = " (active-low board: low = energised)" if step.pin_key == "relay_pin" and not io.relay_active_high else ""
            click.echo(f"  GPIO{pin}: {_pin_history(body, pin)}{note}")
        if yes:
            results.append((step.name, "done"))
        else:
            results.append((step.name, "ok" if click.confirm("  Did it work?", default=True) else "FAILED"))
    return results


def _show_inputs(io: Any, body: GateBody) -> None:
    if body.override_button is None:
        click.echo("- override button: not fitted (io.override_button_pin = false)")
    else:
        state = "pressed" if body.override_button.is_pressed else "not pressed"
        click.echo(f"- override button on GPIO{io.override_button_pin}: {state}")
    if body.fire_release is None:
        click.echo("- fire release: not fitted (io.fire_release_pin = false)")
    else:
        state = "ASSERTED (gate held open)" if body.fire_release.active else "not asserted"
        click.echo(f"- fire release on GPIO{io.fire_release_pin}: {state}")
