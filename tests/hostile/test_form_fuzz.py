"""Hypothesis posts generated values (CJK, control characters, huge text, numbers, missing fields) to
the app's forms as the role that may use them: never a 5xx, and a refused post changes nothing stored.

``FORMS`` names every WTForms form class of the app with the page that posts it; a form class in
``award/**/forms*.py`` (or a view module) that is missing from it fails ``test_every_form_is_fuzzed``.
"""

from __future__ import annotations

import ast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from demo_clients import demo_client as client_as
from pathlib import Path
from award.extensions import db
from award.models import Agency, AuditEvent, Edition

# form class → (who posts it, URL template filled from ``_ids``), or None with the test that covers it.
ROOT = Path(__file__).resolve().parents[2]

FORMS: dict[str, tuple[str | None, str] | None] = {
    "AgencyForm": ("organizer", "/agencies/{agency_id}/edit"),
    "ImportForm": None,  # a file upload: tests/agencies/test_import.py
    "LoginForm": (None, "/login"),
    "ForgotPasswordForm": (None, "/password/forgot"),
    "NewPasswordForm": (None, "/password/reset/not-a-token"),
    "AcceptInvitationForm": (None, "/invitations/not-a-token"),
    "InviteForm": ("organizer", "/users/invite"),
    "ChangePasswordForm": ("judge1", "/password/change"),
    "EditionForm": ("organizer", "/editions/{edition_id}/edit"),
    "CategoryForm": ("organizer", "/editions/{edition_id}/categories/{category_id}/edit"),
    "CriterionRowForm": ("organizer", "/editions/{edition_id}/categories/{category_id}/criteria"),
    "CriteriaForm": ("organizer", "/editions/{edition_id}/categories/{category_id}/criteria"),
    "StageForm": ("organizer", "/editions/{edition_id}/stages/{stage_id}/edit"),
    "TierForm": ("organizer", "/editions/{edition_id}/tiers/{tier_id}/edit"),
    "EntryForm": None,  # tests/hostile/test_hostile_text.py posts every hostile text to every field
    "ScreeningForm": ("organizer", "/entries/{entry_id}/screening"),
    "ExtensionForm": ("organizer", "/entries/admin/extensions"),
    "EntryFilterForm": ("organizer", "/entries/admin"),
    "TieForm": None,  # judges' declarations: tests/judging/test_conflicts.py; the state machine
    "OrganizerTieForm": None,
    "RetractForm": None,
    "AutoForm": None,  # numbers only: tests/judging/test_assignment_pages.py
    "WithdrawForm": None,
    "FreezeForm": None,  # no fields but the CSRF token: tests/results/test_freeze.py
    "UnfreezeForm": None,
    "WhatIfForm": None,  # choices only: tests/results/test_results_pages.py
    "UploadForm": None,  # a file upload: tests/judging/test_offline.py
    # Personal data requests: every post is recorded (a search shows personal data), so "a refusal
    # changes nothing" is checked per action in tests/privacy/test_personal_data.py.
    "RequestForm": None,
    "RecordForm": None,
    "CorrectForm": None,
    "EraseForm": None,
}

TEXT = st.one_of(st.text(max_size=60), st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
                 st.sampled_from(["", " ", "\x00", "=cmd|' /C calc'!A0", "<script>x</script>", "澎湖" * 20000,
                                  "-1", "1e309", "NaN", "99999999999999999999"]),
                 st.integers().map(str))


def _form_classes() -> set[str]:
    names = set()
    for path in list((ROOT / "award").rglob("forms*.py")) + list((ROOT / "award").rglob("*views.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Form"):
                names.add(node.name)
    return names


def test_every_form_is_fuzzed_or_covered():
    missing = sorted(_form_classes() - set(FORMS))
    assert missing == [], f"add these forms to FORMS in tests/hostile/test_form_fuzz.py: {missing}"


def _ids() -> dict[str, int]:
    edition = db.session.scalar(select(Edition).where(Edition.number == 3))
    return {"edition_id": edition.id, "category_id": edition.categories[0].id, "stage_id": edition.stages[0].id,
            "tier_id": edition.tiers[0].id, "agency_id": db.session.scalar(select(Agency.id).limit(1)),
            "entry_id": 1}


def _fields(form_name: str) -> list[str]:
    import award.agencies.forms, award.auth.forms, award.editions.forms, award.entries.forms  # noqa: E401

    for module in (award.agencies.forms, award.auth.forms, award.editions.forms, award.entries.forms):
        cls = getattr(module, form_name, None)
        if cls is not None:
            return [name for name, value in vars(cls).items() if hasattr(value, "field_class")] or ["name"]
    return ["name"]


def test_generated_values_never_crash_a_form_and_a_refusal_changes_nothing(app, demo):
    with app.app_context():
        ids = _ids()
    clients = {who: client_as(app, who) for who in {f[0] for f in FORMS.values() if f}}
    targets = [(name, spec) for name, spec in FORMS.items() if spec]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(target=st.sampled_from(targets), data=st.data())
    def post(target, data):
        name, (who, url) = target
        fields = _fields(name)
        values = {field: data.draw(TEXT) for field in fields if data.draw(st.booleans())}
        if name == "CriteriaForm" or name == "CriterionRowForm":
            values = {f"criteria-0-{k}": v for k, v in values.items()}
        with app.app_context():
            before = db.session.scalar(select(func.count(AuditEvent.id)))
        response = clients[who].post(url.format(**ids), data=values)
        assert response.status_code < 500, (name, values, response.status_code)
        if response.status_code >= 400 or response.status_code == 200:
            with app.app_context():
                assert db.session.scalar(select(func.count(AuditEvent.id))) == before, (name, values)

    post()
