"""Campaign pages (admins): create a draft, review its cohort and rendered variants,
approve, pause, resume and close it, and watch its progress."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from app.runtime import get_clock, get_db, get_settings
from app.services import campaign_review, campaigns
from app.services import practices as practice_service
from app.web.display import london_today
from app.web.security import current_user, roles_required

if TYPE_CHECKING:
    from app.data.models import Campaign, Practice

bp = Blueprint("campaign_pages", __name__, url_prefix="/campaigns")

FIELDS = (
    "name",
    "lawful_basis",
    "on",
    "hold_hours",
    "send_window",
    "send_days",
    "max_invitations",
    "reminder_hours",
    "info_url",
    "min_notice_hours",
)
DEFAULTS = {
    "hold_hours": "48",
    "send_window": "09:00-19:00",
    "send_days": "mon-sat",
    "max_invitations": "2",
    "reminder_hours": "24",
    "min_notice_hours": "12",
    "info_url": campaigns.DEFAULT_INFO_URL,
    "lawful_basis": "",
}


@bp.get("")
@roles_required("admin")
def index() -> str:
    listing = campaign_review.listing(get_db())
    return render_template("campaigns/index.html", listing=listing)


def _practices() -> list[Practice]:
    return practice_service.by_name(get_db())


@bp.route("/new", methods=["GET", "POST"])
@roles_required("admin")
def new() -> str | Response | tuple[str, int]:
    variants = campaign_review.available_variants()
    form: dict[str, Any] = {**DEFAULTS, "on": london_today().isoformat(), "name": ""}
    chosen_practices: list[str] = []
    chosen_variants: dict[str, str] = {"control": "1"} if "control" in variants else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: request.form.get(k, "").strip() for k in FIELDS}
        chosen_practices = request.form.getlist("practices")
        chosen_variants = {
            v: request.form.get(f"weight_{v}", "1").strip() or "1"
            for v in request.form.getlist("variants")
            if v in variants
        }
        spec, errors = _spec(form, chosen_practices, chosen_variants)
        if spec is not None and not errors:
            try:
                campaign_id = campaigns.create(
                    get_db(), spec, now=get_clock().now(), actor=current_user.email
                )
            except campaigns.CampaignError as exc:
                errors["name"] = str(exc)
            else:
                flash(
                    "Draft campaign created. Review the cohort and messages, then approve it.",
                    "success",
                )
                return redirect(url_for("campaign_pages.show", campaign_id=campaign_id))
    page = render_template(
        "campaigns/new.html",
        form=form,
        errors=errors,
        practices=_practices(),
        chosen_practices=chosen_practices,
        variants=variants,
        chosen_variants=chosen_variants,
    )
    return page, (400 if errors else 200)


def _spec(
    form: dict[str, Any], practices: list[str], variants: dict[str, str]
) -> tuple[campaigns.CampaignSpec | None, dict[str, str]]:
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = "Enter a name for the campaign"
    if not form["lawful_basis"]:
        errors["lawful_basis"] = "Enter the lawful basis for processing (UK GDPR Article 6 and 9)"
    if not practices:
        errors["practices"] = "Choose at least one practice"
    if not variants:
        errors["variants"] = "Choose at least one message variant"
    numbers: dict[str, int] = {}
    for name, label in (
        ("hold_hours", "hold time"),
        ("max_invitations", "invitation limit"),
        ("reminder_hours", "reminder delay"),
        ("min_notice_hours", "minimum notice"),
    ):
        if not str(form[name]).isdigit():
            errors[name] = f"Enter the {label} as a whole number"
        else:
            numbers[name] = int(form[name])
    weights: list[tuple[str, int]] = []
    for variant, weight in variants.items():
        if not weight.isdigit() or int(weight) < 1:
            errors["variants"] = f"Give variant {variant} a whole-number weight of 1 or more"
        else:
            weights.append((variant, int(weight)))
    try:
        on = date.fromisoformat(form["on"])
    except ValueError:
        errors["on"] = "Enter the cohort date as YYYY-MM-DD"
        on = None
    if errors:
        return None, errors
    # the control arm is the first variant: keep "control" first when chosen
    weights.sort(key=lambda item: (item[0] != "control", item[0]))
    return (
        campaigns.CampaignSpec(
            name=form["name"],
            practices=practices,
            lawful_basis=form["lawful_basis"],
            on=on,
            variants=weights,
            hold_hours=numbers["hold_hours"],
            send_window=form["send_window"],
            send_days=form["send_days"],
            max_invitations=numbers["max_invitations"],
            reminder_hours=numbers["reminder_hours"],
            info_url=form["info_url"] or None,
            min_notice_hours=numbers["min_notice_hours"],
        ),
        {},
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
    preview = None
    if campaign.state == "draft":
        preview = campaign_review.cohort_preview(
            get_db(), [p.id for p in practices], campaign.reference_date
        )
    first = practices[0] if practices else None
    examples = campaign_review.variant_examples(
        campaign.variants,
        practice_name=first.name if first else "Your GP practice",
        practice_phone=first.phone if first else None,
        info_url=campaign.info_url,
        hold_hours=campaign.hold_hours,
        now=get_clock().now(),
        settings=get_settings(),
    )
    by_language = []
    if campaign.state == "draft":
        by_language = campaign_review.language_review(
            get_db(),
            [p.id for p in practices],
            campaign.reference_date,
            campaign.variants,
            example={
                "practice_name": first.name if first else "Your GP practice",
                "practice_phone": first.phone if first else None,
                "info_url": campaign.info_url,
                "hold_hours": campaign.hold_hours,
                "now": get_clock().now(),
            },
            settings=get_settings(),
        )
    total_weight = sum(e.weight for e in examples) or 1
    mean_cost = sum(e.cost_gbp * e.weight for e in examples) / total_weight
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        practices=practices,
        status=status,
        preview=preview,
        examples=examples,
        mean_cost=mean_cost,
        by_language=by_language,
    )


def _act(campaign_id: int, action: str) -> Response:
    do = {
        "approve": campaigns.approve,
        "pause": campaigns.pause,
        "resume": campaigns.resume,
        "close": campaigns.close,
    }[action]
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
