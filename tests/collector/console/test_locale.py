"""The committed Chinese catalogue (.mo) says what its source (.po) says: no stale translation."""

from __future__ import annotations

import gettext
from pathlib import Path

import polib

import gate.collector.console

LOCALE = Path(gate.collector.console.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES"


def test_the_compiled_catalogue_matches_its_source():
    source = polib.pofile(str(LOCALE / "django.po"))
    with open(LOCALE / "django.mo", "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    assert source.percent_translated() == 100
    for entry in source:
        if entry.obsolete:
            continue
        if entry.msgid_plural:
            assert compiled.ngettext(entry.msgid, entry.msgid_plural, 1) == entry.msgstr_plural[0]
        else:
            assert compiled.gettext(entry.msgid) == entry.msgstr, entry.msgid
