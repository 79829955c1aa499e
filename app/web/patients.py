"""Patients pages: search by NHS number (a POST form, so the number is never in a URL or
an access log) and the patient's timeline; upload a practice's list (the same import as
`flask patients import`, streamed from the upload)."""

from __future__ import annotations

import io

from flask import Blueprint, current_app, render_template, request

from app.runtime import get_clock, get_db, get_settings
from app.services import audit, importing, patient_language, timeline
from app.web.display import chosen_practice, upload_limit
from app.web.security import client_ip, current_user, roles_required

bp = Blueprint("patients", __name__, url_prefix="/patients")


@bp.route("", methods=["GET", "POST"])
@roles_required("admin", "practice")
def search() -> str | tuple[str, int]:
    errors: dict[str, str] = {}
    results = None
    typed = ""
    if request.method == "POST":
        typed = request.form.get("nhs_number", "")[:20]
        scope = None if current_user.is_admin else current_user.practice_ids
        try:
            results = timeline.find(get_db(), typed, scope)
        except timeline.SearchError as exc:
            errors["nhs_number"] = str(exc)
        else:
            with get_db().transaction() as session:
                audit.record(
                    session,
                    now=get_clock().now(),
                    actor=current_user.email,
                    action="patient.view",
                    target=",".join(f"patient:{t.patient.id}" for t in results)[:200] or None,
                    detail={"found": len(results)},
                    ip=client_ip(),
                )
    page = render_template("patients/search.html", errors=errors, results=results, typed=typed)
    return page, (400 if errors else 200)


@bp.post("/language")
@roles_required("admin", "practice")
def language() -> tuple[str, int]:
    """Change a patient's language and interpreter flag; shows the patient again."""
    scope = None if current_user.is_admin else current_user.practice_ids
    errors: dict[str, str] = {}
    results = None
    typed = ""
    try:
        typed = patient_language.set_language(
            get_db(),
            int(request.form.get("patient_id", "0") or 0),
            language=request.form.get("language", ""),
            interpreter_needed=bool(request.form.get("interpreter_needed")),
            now=get_clock().now(),
            actor=current_user.email,
            practice_ids=scope,
        )
        results = timeline.find(get_db(), typed, scope)
    except (ValueError, patient_language.LanguageError) as exc:
        errors["nhs_number"] = str(exc)
    page = render_template("patients/search.html", errors=errors, results=results, typed=typed)
    return page, (400 if errors else 200)


SHOW_PROBLEMS = 50


@bp.route("/upload", methods=["GET", "POST"])
@roles_required("admin", "practice")
def upload() -> tuple[str, int]:
    """Load a practice's whole list from a CSV upload, as `flask patients import` does."""
    practice_id, practices = chosen_practice()
    errors: dict[str, str] = {}
    result = None
    problems_csv = io.StringIO()  # every problem, offered as a CSV download
    allow_removals = request.form.get("allow_removals") == "yes"
    if request.method == "POST":
        file = request.files.get("file")
        if practice_id is None:
            errors["practice"] = "Choose a practice"
        if file is None or not file.filename:
            errors["file"] = "Choose the CSV file of the practice's patient list"
        if not errors:
            assert file is not None
            ods = next(p.ods_code for p in practices if p.id == practice_id)
            events_file = request.files.get("events")
            try:
                stream = importing.open_text_upload(file.stream, file.filename or "patients.csv")
                events = None
                if events_file is not None and events_file.filename:
                    events = importing.open_text_upload(events_file.stream, events_file.filename)
                result = importing.import_patients(
                    get_db(),
                    stream,
                    practice_ods=ods,
                    now=get_clock().now(),
                    imported_by=current_user.email,
                    allow_test_numbers=current_app.config["ENV"] != "production",
                    file_name=(file.filename or "patients.csv")[:200],
                    allow_removals=allow_removals,
                    events=events,
                    problems_out=problems_csv,
                    settings=get_settings(),
                    events_file_name=(
                        ((events_file and events_file.filename) or "events.csv")[:200]
                        if events
                        else None
                    ),
                )
            except importing.PartialListError as exc:
                errors["file"] = (
                    f"{exc} If it is, tick “This is the whole list” below and upload it again."
                )
            except importing.ImportFileError as exc:
                errors["file"] = str(exc)
    page = render_template(
        "patients/upload.html",
        practices=practices,
        practice_id=practice_id,
        errors=errors,
        result=result,
        allow_removals=allow_removals,
        no_mobile=sum(result.no_usable_mobile.values()) if result else 0,
        groups=result.problem_groups[:SHOW_PROBLEMS] if result else [],
        problem_kinds=importing.PROBLEM_KINDS,
        problems_csv=problems_csv.getvalue() if result and result.problem_groups else "",
        upload_limit=upload_limit(),
    )
    return page, (400 if errors else 200)
