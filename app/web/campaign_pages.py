"""Campaign pages (admins): create, edit or delete a draft, review its cohort and rendered
variants, approve it after seeing what approval will do, pause, resume and close it, and
watch its progress (with the reason when nothing is being sent)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db, get_settings
from app.services import (
    campaign_drafts,
    campaign_plan,
    campaign_review,
    campaigns,
    condition_review,
)
from app.services import practices as practice_service
from app.web import campaign_form
from app.web.display import london_today
from app.web.security import current_user, roles_required

if TYPE_CHECKING:
    from app.data.models import Campaign, Practice

bp = Blueprint("campaign_pages", __name__, url_prefix="/campaigns")


@bp.get("")
@roles_required("admin")
def index() -> str:
    listing = campaign_review.listing(get_db())
    return render_template("campaigns/index.html", listing=listing)


def _practices() -> list[Practice]:
    return practice_service.by_name(get_db())


def _form_page(
    campaign: Campaign | None,
    form: dict[str, Any],
    practices: list[str],
    chosen_variants: dict[str, str],
    errors: dict[str, str],
) -> tuple[str, int]:
    page = render_template(
        "campaigns/new.html",
        campaign=campaign,
        form=form,
        errors=errors,
        practices=_practices(),
        chosen_practices=practices,
        variants=campaign_review.available_variants(),
        chosen_variants=chosen_variants,
    )
    return page, (400 if errors else 200)


def _save(campaign: Campaign | None) -> Response | tuple[str, int]:
    """Check and save the posted form (a new draft, or changes to `campaign`)."""
    form, practices, chosen_variants = campaign_form.posted(campaign_review.available_variants())
    spec, form_errors = campaign_form.spec(form, practices, chosen_variants)
    now = get_clock().now()
    try:
        if form_errors:
            campaigns.check(spec, today=london_today())
        elif campaign is None:
            campaign_id = campaigns.create(get_db(), spec, now=now, actor=current_user.email)
        else:
            campaign_id = campaign.id
            campaign_drafts.update(get_db(), campaign_id, spec, now=now, actor=current_user.email)
    except campaigns.CampaignError as exc:
        domain_errors = exc.errors or {"name": str(exc)}
    else:
        domain_errors = {}
    errors = campaign_form.ordered(form_errors, domain_errors)
    if errors:
        return _form_page(campaign, form, practices, chosen_variants, errors)
    flash(
        "Draft campaign saved. Review the cohort and messages, then approve it."
        if campaign is not None
        else "Draft campaign created. Review the cohort and messages, then approve it.",
        "success",
    )
    return redirect(url_for("campaign_pages.show", campaign_id=campaign_id))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new() -> Response | tuple[str, int]:
    if request.method == "POST":
        return _save(None)
    variants = campaign_review.available_variants()
    chosen = {"control": "1"} if "control" in variants else {}
    return _form_page(None, campaign_form.blank(), [], chosen, {})


def _draft(campaign_id: int) -> Campaign:
    campaign, _ = _load(campaign_id)
    if campaign.state != "draft":
        flash(
            f"Only a draft can be approved, changed or deleted: this campaign is {campaign.state}.",
            "error",
        )
        abort(redirect(url_for("campaign_pages.show", campaign_id=campaign_id)))
    return campaign


@bp.route("/<int:campaign_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(campaign_id: int) -> Response | tuple[str, int]:
    campaign = _draft(campaign_id)
    if request.method == "POST":
        return _save(campaign)
    _, practices = _load(campaign_id)
    return _form_page(
        campaign,
        campaign_form.from_campaign(campaign),
        [p.ods_code for p in practices],
        {k: str(v) for k, v in campaign.variants.items()},
        {},
    )


@bp.route("/<int:campaign_id>/delete", methods=["GET", "POST"])
@roles_required("admin")
def delete(campaign_id: int) -> str | Response:
    campaign = _draft(campaign_id)
    if request.method == "GET":
        return render_template("campaigns/delete.html", campaign=campaign)
    try:
        name = campaign_drafts.delete(
            get_db(), campaign_id, now=get_clock().now(), actor=current_user.email
        )
    except campaigns.CampaignError as exc:
        flash(str(exc), "error")
        return redirect(url_for("campaign_pages.show", campaign_id=campaign_id))
    flash(f"Draft campaign “{name}” deleted.", "success")
    return redirect(url_for("campaign_pages.index"))


def _languages(campaign: Campaign, practices: list[Practice]) -> list[Any]:
    """The draft's languages: who would get a translation, who English, and why."""
    return campaign_review.language_review(
        get_db(), campaign, practices, now=get_clock().now(), settings=get_settings()
    )


def _load(campaign_id: int) -> tuple[Campaign, list[Practice]]:
    found = campaign_review.with_practices(get_db(), campaign_id)
    if found is None:
        abort(404)
    return found


@bp.get("/<int:campaign_id>")
@roles_required("admin")
def show(campaign_id: int) -> str:
    campaign, practices = _load(campaign_id)
    status = campaigns.status(get_db(), campaign_id)
    now = get_clock().now()
    preview = None
    if campaign.state == "draft":
        preview = campaign_review.cohort_preview(
            get_db(), [p.id for p in practices], campaign.reference_date
        )
    first = practices[0] if practices else None
    examples = campaign_review.variant_examples(
        campaign,
        practice_name=first.name if first else "Your GP practice",
        practice_phone=first.phone if first else None,
        now=now,
        settings=get_settings(),
    )
    by_language = _languages(campaign, practices) if campaign.state == "draft" else []
    total_weight = sum(e.weight for e in examples) or 1
    mean_cost = sum(e.cost_gbp * e.weight for e in examples) / total_weight
    blockers = campaign_plan.why_not_inviting(
        get_db(), campaign_id, now=now, members=status["members"], waiting=status["waiting"]
    )
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        practices=practices,
        status=status,
        preview=preview,
        examples=examples,
        mean_cost=mean_cost,
        blockers=blockers,
        by_language=by_language,
    )


@bp.get("/<int:campaign_id>/approve")
@roles_required("admin")
def confirm_approve(campaign_id: int) -> str | Response:
    campaign = _draft(campaign_id)
    _, practices = _load(campaign_id)
    plan = campaign_plan.approval_plan(get_db(), campaign_id, now=get_clock().now())
    return render_template(
        "campaigns/approve.html",
        campaign=campaign,
        plan=plan,
        today=london_today(),
        by_language=_languages(campaign, practices),
    )


def _act(campaign_id: int, action: str) -> Response:
    actions: dict[str, Callable[..., Any]] = {
        "approve": campaigns.approve,
        "pause": campaigns.pause,
        "resume": campaigns.resume,
        "close": campaigns.close,
    }
    do = actions[action]
    _load(campaign_id)  # 404 for a missing campaign
    extra_args: dict[str, Any] = {}
    if action == "approve":
        extra_args = {
            "settings": get_settings(),
            "english_for": tuple(request.form.getlist("english_for")),
        }
    try:
        result = do(
            get_db(), campaign_id, now=get_clock().now(), actor=current_user.email, **extra_args
        )
    except campaigns.CampaignError as exc:
        flash(str(exc), "error")
    else:
        done = {
            "approve": "approved: invitations start in the next send window",
            "pause": "paused: nothing more is sent until you resume it",
            "resume": "resumed",
            "close": "closed",
        }[action]
        extra = ""
        if action == "approve" and result is not None:
            extra = f" {result.eligible} eligible, {result.not_textable} not textable."
        flash(f"Campaign {done}.{extra}", "success")
    return redirect(url_for("campaign_pages.show", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/approve")
@roles_required("admin")
def approve(campaign_id: int) -> Response:
    return _act(campaign_id, "approve")


@bp.post("/<int:campaign_id>/recheck-conditions")
@roles_required("admin")
def recheck_conditions(campaign_id: int) -> Response:
    """Read the held patients' condition terms again (after the vocabulary learnt a term)
    at the campaign's practices."""
    _, practices = _load(campaign_id)
    changed = still_held = 0
    for practice in practices:
        result = condition_review.recheck(
            get_db(),
            now=get_clock().now(),
            practice_ods=practice.ods_code,
            actor=current_user.email,
        )
        changed += result.changed
        still_held += result.still_held
    flash(
        f"Conditions read again: {changed} changed, {still_held} still held for review.",
        "success",
    )
    return redirect(url_for("campaign_pages.show", campaign_id=campaign_id))


@bp.post("/<int:campaign_id>/pause")
@roles_required("admin")
def pause(campaign_id: int) -> Response:
    return _act(campaign_id, "pause")


@bp.post("/<int:campaign_id>/resume")
@roles_required("admin")
def resume(campaign_id: int) -> Response:
    return _act(campaign_id, "resume")


@bp.post("/<int:campaign_id>/close")
@roles_required("admin")
def close(campaign_id: int) -> Response:
    return _act(campaign_id, "close")
