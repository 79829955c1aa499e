"""Patients pages: uploading a practice's list (scoped, with the whole-list guard) and search,
where a patient who has left the list says so (screenshots in tests/artifacts/)."""

from __future__ import annotations

import io
import urllib.parse
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from app.data.models import AuditEvent, Patient
from tests.builders import STAFF_PASSWORD, add_patient, add_practice, add_user, nhs_numbers
from tests.web.browser import ARTIFACTS, launch
from tests.web.staff import post, sign_in


def test_a_patient_who_left_the_list_is_shown_as_left_and_not_to_be_invited(client, db):
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "admin@example.nhs.uk", "admin")
        gone = add_patient(session, practice, given_name="Gwen")
        gone.left_list_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
        stays = add_patient(session, practice, given_name="Stella")
        numbers = gone.nhs_number, stays.nhs_number
    sign_in(client, "admin@example.nhs.uk")
    page = post(client, "/patients", {"nhs_number": numbers[0]}).get_data(as_text=True)
    assert "Left the list" in page and "since 10 January 2026: will not be invited" in page
    assert "Left the practice list" in page  # the timeline event
    page = post(client, "/patients", {"nhs_number": numbers[1]}).get_data(as_text=True)
    assert "Stella" in page and "Left the list" not in page


@pytest.mark.browser
def test_the_left_the_list_tag_in_chromium(live_server):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session, name="Riverside Medical Centre")
        add_user(session, "admin@example.nhs.uk", "admin")
        gone = add_patient(session, practice, given_name="Gwen", family_name="Moved")
        gone.left_list_at = datetime(2026, 1, 10, 12, tzinfo=UTC)
        number = gone.nhs_number
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "admin@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/patients")
        page.fill("#nhs_number", number)
        page.click("button[type=submit]")
        tag = page.locator(".nhsuk-tag", has_text="Left the list")
        tag.wait_for()
        colour = tag.evaluate("e => getComputedStyle(e).backgroundColor")
        page.screenshot(path=str(ARTIFACTS / "patient-left-list.png"), full_page=True)
        browser.close()
    assert colour not in {"", "rgba(0, 0, 0, 0)"}  # styled as a tag, not bare text


def _upload(client, practice_id: int, text: str, **extra: str):  # type: ignore[no-untyped-def]
    data = {"practice": str(practice_id), "file": (io.BytesIO(text.encode()), "list.csv"), **extra}
    return post(client, "/patients/upload", data, content_type="multipart/form-data")


def _list(numbers: list[str]) -> str:
    return "NHS Number,Forename,DOB,Mobile\n" + "".join(
        f"{n},Pat,1975-06-01,07700 900{i % 1000:03d}\n" for i, n in enumerate(numbers)
    )


@pytest.fixture
def practices(db):  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        mine = add_practice(session, ods="A00001", name="Practice A")
        other = add_practice(session, ods="B00001", name="Practice B")
        add_user(session, "gp@example.nhs.uk", "practice", [mine])
        return mine.id, other.id


def test_practice_staff_upload_their_list_and_see_what_happened(client, db, practices):
    mine, _ = practices
    numbers = nhs_numbers(120, start=70_000)
    sign_in(client, "gp@example.nhs.uk")
    text = _list(numbers) + "1234567890,Bad,1975-06-01,\n"
    response = _upload(client, mine, text)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'Patients added</dt><dd class="nhsuk-summary-list__value">120' in page
    assert 'Rows not loaded</dt><dd class="nhsuk-summary-list__value">1' in page
    assert "Fails the modulus 11 check" not in page and "line 122<" in page  # the bad row
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 120
        assert (
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(
                    AuditEvent.action == "patients.imported",
                    AuditEvent.actor == "gp@example.nhs.uk",
                )
            )
            == 1
        )

    # a file missing most of the list is refused and changes nothing ...
    response = _upload(client, mine, _list(numbers[:30]))
    assert response.status_code == 400
    refusal = response.get_data(as_text=True)
    assert "does not list 90 of the practice&#39;s 120 patients" in refusal
    assert "tick “This is the whole list” below" in refusal and "--allow" not in refusal
    # ... unless staff say it is the whole list
    response = _upload(client, mine, _list(numbers[:30]), allow_removals="yes")
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    assert 'Left the list</dt><dd class="nhsuk-summary-list__value">90: no longer' in page


def test_uploading_to_another_practice_or_a_broken_file_is_refused(client, db, practices):
    mine, other = practices
    sign_in(client, "gp@example.nhs.uk")
    assert _upload(client, other, _list(nhs_numbers(3, start=71_000))).status_code == 404
    response = _upload(client, mine, "Forename,DOB\nAnn,1975-06-01\n")
    assert response.status_code == 400
    assert "has no &#39;NHS Number&#39; column" in response.get_data(as_text=True)
    response = post(client, "/patients/upload", {"practice": str(mine)})
    assert "Choose the CSV file" in response.get_data(as_text=True)
    data = {"practice": str(mine), "file": (io.BytesIO(b"NHS Number,DOB\n\x81\x8d\n"), "x.csv")}
    response = post(client, "/patients/upload", data, content_type="multipart/form-data")
    assert response.status_code == 400 and "cannot be read as text" in response.get_data(
        as_text=True
    )
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


@pytest.mark.browser
def test_uploading_a_list_in_chromium(live_server, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api")
    app, base = live_server
    with app.extensions["nudge.db"].transaction() as session:
        practice = add_practice(session, name="Riverside Medical Centre")
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
    path = tmp_path / "riverside.csv"
    numbers = nhs_numbers(40, start=72_000)
    unknown = "".join(f"{n},Pat,1975-06-01,,gout flare\n" for n in nhs_numbers(30, start=72_100))
    text = _list(numbers).replace("Mobile\n", "Mobile,Conditions\n") + unknown
    # saved by Excel on Windows: Windows-1252, with a name Excel writes as one byte
    path.write_bytes((text + "9990000000,Renée,31/02/1970,\n").encode("cp1252"))
    with playwright.sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(f"{base}/sign-in")
        page.fill("#email", "gp@example.nhs.uk")
        page.fill("#password", STAFF_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{base}/patients")
        page.click("text=Upload a practice's patient list")
        page.set_input_files("#file", str(path))
        page.click("button[type=submit]")
        summary = page.locator("[data-testid=import-summary]")
        summary.wait_for()
        text = summary.inner_text()
        groups = page.locator("[data-testid=problem-groups]").inner_text()
        with page.expect_download() as download:
            page.click("[data-testid=problems-csv]")
        problems = download.value.path().read_text(encoding="utf-8").splitlines()
        page.screenshot(path=str(ARTIFACTS / "patients-upload.png"), full_page=True)
        browser.close()
    assert "Patients added\t70" in text and "Rows not loaded\t1" in text
    assert "30\tWarning\tUnknown condition 'gout flare'" in groups
    assert "lines 42, 43, 44, 45, 46 and 25 more" in groups
    assert len(problems) == 1 + 30 + 1 and problems[-1].startswith("72,Not loaded,")


def test_a_file_over_the_upload_limit_gets_a_page_that_says_so(app, client, db, practices):
    mine, _ = practices
    app.config["MAX_CONTENT_LENGTH"] = 4096
    sign_in(client, "gp@example.nhs.uk")
    response = _upload(client, mine, _list(nhs_numbers(100, start=73_000)))
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "This file is too big to upload" in page and "Files up to 4 KB can be" in page
    assert "load it on the server" in page and "flask" not in page
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 0


def test_repeated_problems_are_grouped_and_every_one_is_a_csv_download(client, db, practices):
    mine, _ = practices
    sign_in(client, "gp@example.nhs.uk")
    numbers = nhs_numbers(150, start=74_000)
    rows = "".join(f"{n},1975-06-01,lumbago\n" for n in numbers[:141])
    rows += "".join(f"{n},31/02/1970,\n" for n in numbers[141:144])
    rows += "1234567890,1975-06-01,\n1234567891,1975-06-01,\n"
    response = _upload(client, mine, "NHS Number,DOB,Conditions\n" + rows)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    groups = page[page.index('data-testid="problem-groups"') :]
    assert '>141</td><td class="nhsuk-table__cell">Warning</td>' in groups
    assert "Unknown condition &#39;lumbago&#39;" in groups
    assert "lines 2, 3, 4, 5, 6 and 136 more" in groups
    assert '>3</td><td class="nhsuk-table__cell">Not loaded</td>' in groups
    assert "For example: NHS number 1234567890" in groups
    href = page[page.index('data-testid="problems-csv"') :].split('href="', 1)[1].split('"')[0]
    assert href.startswith("data:text/csv;charset=utf-8,")
    rows_in_csv = urllib.parse.unquote(href.split(",", 1)[1]).splitlines()
    assert rows_in_csv[0] == "line,what,problem" and len(rows_in_csv) == 1 + 141 + 3 + 2
    assert "flask" not in page and "--allow" not in page
