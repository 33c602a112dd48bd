"""`gate scan-image`: the QR texts in image files, through the same decoder chain as the kiosk."""

from __future__ import annotations

import json
import os
import time

import click


@click.command("scan-image")
@click.option("--json", "as_json", is_flag=True, help='One JSON line per image: {"file", "codes", "ms"}.')
@click.option("--budget-ms", type=click.FloatRange(min=0), default=200.0, show_default=True,
              help="Time allowed per image for the decoder's slower rescue passes.")
@click.argument("images", nargs=-1, required=True, type=click.Path(dir_okay=False))
def scan_image(as_json: bool, budget_ms: float, images: tuple[str, ...]) -> None:
    """Decode the QR codes in each IMAGE and print every text found, with the decode time.

    An image that cannot be read is reported on stderr (and, with --json, as a line with an
    "error" key) and the others are still scanned; the exit status is then 1.
    """
    import cv2

    from gate.vision.decode import QRDecoder

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # our own one-line errors suffice
    decoder = QRDecoder(budget_ms=budget_ms)
    failed = 0
    for name in images:
        image = cv2.imread(name, cv2.IMREAD_COLOR)
        if image is None:
            failed += 1
            why = ("it is not an image OpenCV can decode (PNG, JPEG, BMP, TIFF, WebP...)"
                   if os.path.isfile(name) else "there is no such file")
            click.echo(f"Cannot read {name}: {why}.", err=True)
            if as_json:
                click.echo(json.dumps({"file": name, "codes": [], "ms": 0.0, "error": "unreadable_image"}))
            continue
        start = time.perf_counter()
        codes = decoder.decode(image)
        ms = round((time.perf_counter() - start) * 1000.0, 2)
        if as_json:
            click.echo(json.dumps({"file": name, "codes": codes, "ms": ms}))
        elif not codes:
            click.echo(f"{name}: no QR code ({ms:.1f} ms)")
        else:
            click.echo(f"{name}: {len(codes)} QR code{'s' if len(codes) > 1 else ''} ({ms:.1f} ms)")
            for text in codes:
                click.echo(f"  {text}")
    if failed:
        raise SystemExit(1)
