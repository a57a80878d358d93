"""The Traditional Chinese catalogue: complete, in sync with the template, placeholders intact, compiled.

When the code gains or changes user-visible text, run ``make translations`` and translate the new
msgids in award/translations/zh_Hant_TW/LC_MESSAGES/messages.po (see award/translations/README.md).
"""

from __future__ import annotations

import gettext
import re
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parents[2] / "award" / "translations"
POT = TRANSLATIONS / "messages.pot"
LOCALE = "zh_Hant_TW"
PO = TRANSLATIONS / LOCALE / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / LOCALE / "LC_MESSAGES" / "messages.mo"

# %(name)s, %(name)d, %s, %d (a literal "%%" is not a placeholder).
PLACEHOLDER = re.compile(r"%(?:\([A-Za-z_][A-Za-z0-9_]*\))?[sd]")
CJK = re.compile(r"[\u3400-\u9fff]")
HOW_TO_FIX = ("Run `make translations`, then translate these msgids in "
              "award/translations/zh_Hant_TW/LC_MESSAGES/messages.po and compile "
              "(see award/translations/README.md):\n")


def _read(path: Path, locale: str | None = None):
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def _messages(catalog):
    return [m for m in catalog if m.id]


def _key(message):
    return message.id if isinstance(message.id, str) else message.id[0]


def _strings(message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string or ())


def _listing(ids) -> str:
    return "\n".join(f"  {i!r}" for i in sorted(ids))


def test_the_catalogue_is_in_sync_with_the_template():
    template = {_key(m) for m in _messages(_read(POT))}
    catalogue = {_key(m) for m in _messages(_read(PO, LOCALE))}
    missing, obsolete = template - catalogue, catalogue - template
    assert not missing, HOW_TO_FIX + "msgids in messages.pot but not in the .po:\n" + _listing(missing)
    assert not obsolete, ("Run `make translations` to drop msgids no longer in messages.pot:\n"
                          + _listing(obsolete))


def test_every_message_is_translated_and_not_fuzzy():
    catalog = _read(PO, LOCALE)
    untranslated = [_key(m) for m in _messages(catalog)
                    if not _strings(m) or not all(s.strip() for s in _strings(m))]
    fuzzy = [_key(m) for m in _messages(catalog) if m.fuzzy]
    assert not untranslated, HOW_TO_FIX + _listing(untranslated)
    assert not fuzzy, "Check these fuzzy translations and remove their fuzzy flag:\n" + _listing(fuzzy)


def test_translations_keep_exactly_the_placeholders_of_their_msgid():
    problems = []
    for m in _messages(_read(PO, LOCALE)):
        ids = [m.id] if isinstance(m.id, str) else list(m.id)
        for original in ids:
            expected = sorted(PLACEHOLDER.findall(original))
            for translation in _strings(m):
                found = sorted(PLACEHOLDER.findall(translation))
                if found != expected:
                    problems.append(f"  {original!r}: expected {expected}, found {found} in {translation!r}")
    assert not problems, "Placeholders lost or altered in translation:\n" + "\n".join(problems)


def test_the_compiled_catalogue_is_up_to_date():
    buffer = BytesIO()
    write_mo(buffer, _read(PO, LOCALE))
    buffer.seek(0)
    expected = gettext.GNUTranslations(buffer)._catalog
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)._catalog
    stale = sorted(str(k) for k in set(expected) ^ set(compiled)
                   | {k for k in set(expected) & set(compiled) if expected[k] != compiled[k]})
    assert not stale, ("messages.mo is out of date: run `.venv/bin/pybabel compile -d award/translations`. "
                       "Differing entries:\n" + _listing(stale))


def test_login_page_speaks_chinese_by_default_and_english_on_request(client):
    log_in = next(m for m in _read(PO, LOCALE) if m.id == "Log in").string
    assert CJK.search(log_in), log_in
    page = client.get("/login").get_data(as_text=True)
    assert log_in in page
    assert ">Log in<" not in page

    client.post("/language", data={"lang": "en"})
    page = client.get("/login").get_data(as_text=True)
    assert "Log in" in page
    assert log_in not in page


def test_the_template_holds_every_msgid_of_the_code(tmp_path):
    """messages.pot is what `make translations` extracts now: no user-visible text added to the code
    or the templates escapes translation because nobody re-extracted."""
    import subprocess
    import sys

    root = TRANSLATIONS.parents[1]
    fresh = tmp_path / "fresh.pot"
    # Only folders that hold no source are skipped: Babel's own default also skips every folder whose
    # name starts with "_", which once hid templates/_macros from translation.
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "_l", "--ignore-dirs", ".* __pycache__ instance node_modules",
                    "-o", str(fresh), "."], cwd=root, check=True, capture_output=True)
    extracted = {_key(m) for m in _messages(_read(fresh))}
    template = {_key(m) for m in _messages(_read(POT))}
    assert not extracted - template, HOW_TO_FIX + "msgids in the code but not in messages.pot:\n" + _listing(
        extracted - template)
    assert not template - extracted, ("Run `make translations`: msgids in messages.pot no longer in the code:\n"
                                      + _listing(template - extracted))


def test_every_template_with_text_to_translate_is_extracted():
    root = TRANSLATIONS.parents[1]
    scanned = {path for m in _messages(_read(POT)) for path, _line in m.locations}
    with_text = {p.relative_to(root).as_posix() for p in (root / "templates").rglob("*.html")
                 if re.search(r"\b_l?\(", p.read_text(encoding="utf-8"))}
    assert with_text, "no template with _( ) found: the test looks in the wrong place"
    assert not with_text - scanned, "templates never extracted:\n" + _listing(with_text - scanned)


def test_a_label_takes_the_colon_of_its_language(app):
    """Chinese text takes a full-width colon with no space after it; English ": "."""
    from flask_babel import force_locale

    from award.i18n import colon

    with app.test_request_context():
        with force_locale("zh_Hant_TW"):
            assert str(colon("評分表")) == "評分表："
        with force_locale("en"):
            assert str(colon("Score sheet")) == "Score sheet: "
        assert str(colon("<b>")) == "&lt;b&gt;: " or str(colon("<b>")).startswith("&lt;b&gt;")  # escaped
