"""The same files are read (or refused in the same plain words) by every upload path:
the patient list and slots pages and `flask patients import` / `flask slots import`."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from app.data.models import Patient, Slot
from tests.builders import add_practice, add_user
from tests.web.staff import post, sign_in

SLOTS = "date,start,duration_minutes,location\n2026-01-20,09:00,20,Salle Renée\n"
LIST = "NHS Number,Forename,DOB,Mobile\n9990000018,Zoë,1975-06-01,07700 900001\n"


def _practice(db) -> int:  # type: ignore[no-untyped-def]
    with db.transaction() as session:
        practice = add_practice(session)
        add_user(session, "gp@example.nhs.uk", "practice", [practice])
        return practice.id


def _post(client, url: str, practice_id: int, data: bytes, name: str):  # type: ignore[no-untyped-def]
    form = {"practice": str(practice_id), "file": (io.BytesIO(data), name)}
    return post(client, url, form, content_type="multipart/form-data")


def test_the_web_pages_read_windows_1252_and_utf16(client, db) -> None:
    practice_id = _practice(db)
    sign_in(client, "gp@example.nhs.uk")
    response = _post(client, "/patients/upload", practice_id, LIST.encode("cp1252"), "l.csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    response = _post(client, "/slots/upload", practice_id, SLOTS.encode("utf-16"), "s.csv")
    assert response.status_code == 200, response.get_data(as_text=True)
    with db.transaction() as session:
        assert session.scalars(select(Patient.given_name)).one() == "Zoë"
        assert session.scalars(select(Slot.location)).one() == "Salle Renée"


def test_the_web_pages_say_a_file_is_empty_or_not_text(client, db) -> None:
    practice_id = _practice(db)
    sign_in(client, "gp@example.nhs.uk")
    page = _post(client, "/slots/upload", practice_id, b"", "slots.csv").get_data(as_text=True)
    assert "slots.csv is empty" in page
    header_only = SLOTS.splitlines()[0].encode()
    page = _post(client, "/slots/upload", practice_id, header_only, "s.csv").get_data(as_text=True)
    assert "header row but no slots" in page
    response = _post(client, "/patients/upload", practice_id, b"PK\x03\x04xx", "list.xlsx")
    assert response.status_code == 400
    assert "list.xlsx is an Excel workbook (.xlsx)" in response.get_data(as_text=True)


def test_the_commands_read_the_same_files(runner, db, tmp_path: Path) -> None:
    _practice(db)
    slots_file, list_file, empty = tmp_path / "s.csv", tmp_path / "l.csv", tmp_path / "e.csv"
    slots_file.write_bytes(SLOTS.encode("utf-16"))
    list_file.write_bytes(LIST.replace("Zoë", "Renée").encode("cp1252"))
    empty.write_bytes(b"")
    result = runner.invoke(args=["slots", "import", str(slots_file), "--practice", "F84003"])
    assert result.exit_code == 0 and "1 added" in result.output, result.output
    result = runner.invoke(args=["patients", "import", str(list_file), "--practice", "F84003"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["slots", "import", str(empty), "--practice", "F84003"])
    assert result.exit_code == 1 and "Error: e.csv is empty" in result.output
    assert "Traceback" not in result.output
    with db.transaction() as session:
        assert session.scalars(select(Patient.given_name)).one() == "Renée"


def test_the_users_page_names_the_practice_field_not_a_command_option(client, db) -> None:
    with db.transaction() as session:
        add_user(session, "admin@example.nhs.uk", "admin")
    sign_in(client, "admin@example.nhs.uk")
    form = {"email": "new@example.nhs.uk", "role": "practice", "practice": ""}
    page = post(client, "/admin/users", form).get_data(as_text=True)
    assert "Practice staff need at least one practice" in page and "--practice" not in page
