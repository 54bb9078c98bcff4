"""`/v1` routes of consequences: lists, joint measures and their feed, dishonesty records (appeals and credit
repair), commitments and policies. Thin: parse, call one service (which authorises)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from chengxin.entrypoints.api.deps import AppDep, ViewerDep, get_viewer
from chengxin.entrypoints.api.openapi import NEEDS_KEY, errors
from chengxin.entrypoints.api.routes import MAX_INDEX, SourceQ, json_response
from chengxin.services import appeals, commitments, list_views, lists, policy

router = APIRouter(prefix="/v1", dependencies=[Depends(get_viewer)], responses=errors(401, 503))
ListName = Path(description="`black`, `red` or `watch` (see `GET /v1/lists`).", pattern="^[a-z_]+$")


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    source: str = Field(min_length=1, description="The reporting source of the shop or subject.")
    id: str = Field(min_length=1, description="The shop or subject id: the party behind it is listed.")
    action: Literal["add", "remove"] = Field(description=(
        "`add`: put the party on the list whatever the policies say; `remove`: keep it off the list."))
    reason: str = Field(min_length=3, max_length=500, description="Why (published for public lists).")
    basis: str = Field(min_length=3, max_length=500, description="Legal basis or decision number.")
    until: date | None = Field(None, description="Review date: the override lapses after it (default, and "
                                                  "latest allowed: today plus the list's `review_days`; a later "
                                                  "date is 422 naming the latest).")


class ApplicationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["appeal", "repair"] = Field(description=(
        "`appeal` (异议): the record is wrong; it moves to `appealed` (still in force) until decided. `repair` "
        "(信用修复): the party corrected its conduct and asks the record to leave public view."))
    grounds: str = Field(min_length=3, max_length=2000, description="The party's grounds, as filed.")
    conditions: dict[str, bool] = Field(default_factory=dict, description=(
        "For a repair, the conditions the applicant declares met: `penalty_fulfilled`, `harm_removed` (see "
        "`vocab/lifecycle.yaml`). The repair commitment is not declared: the check looks for the party's "
        "published `repair-commitment-v1` (`POST /v1/commitments`)."))


class ApplicationDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    decision: Literal["uphold", "overturn", "grant", "refuse"] = Field(description=(
        "An appeal: `uphold` the record or `overturn` it (it leaves force and public view; a fake-order "
        "record's orders count as genuine again). A repair: `grant` (only when the statutory check passes "
        "today; 409 with every unmet condition otherwise) or `refuse`."))
    reason: str = Field(min_length=3, max_length=1000)
    basis: str | None = Field(None, max_length=500, description="Legal basis (default: the rules' own).")


class CommitmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    subject_id: str = Field(min_length=1, description="The subject (as reported by the caller's source).")
    template: str = Field(min_length=1, description="A standard template id (`GET /v1/commitments/templates`).")
    valid_until: date | None = Field(None, description="Last day in force (China); today or later.")
    commitment_id: str | None = Field(None, max_length=100, description="Default: derived from the request.")
    source: str | None = Field(None, description="For a regulator: the source that reported the subject (a "
                                                  "platform: its own, or 422).")
    authority: str | None = Field(None, description=(
        "For a regulator key bound to no authority: the `urn:cx:regulator:` source the commitment is made to "
        "and published under (a bound key: its own; another is 422). A platform leaves it out."))


@router.get("/lists", tags=["lists"])
def get_lists(viewer: ViewerDep) -> dict[str, Any]:
    """The lists, their entry and stay policies (CEL conditions), legal bases, review periods, remedies and
    measures, and the measure catalog: everything 上海市社会信用条例 art. 25 and 32 say must be published."""
    return list_views.catalog_view()


@router.get("/lists/{name}", tags=["lists"], responses=errors(404, 422))
def get_list(cx: AppDep, viewer: ViewerDep, name: str = ListName,
             limit: int = Query(100, ge=1, le=500),
             after: int | None = Query(None, ge=0, le=MAX_INDEX, description="Page cursor: `next_after`.")) -> Response:
    """Current members, newest first: the party (masked if a natural person), its shops, the policy or
    regulator that put it there, reason, basis, since and review date. The watch list needs a key."""
    return json_response(list_views.members(cx, name, viewer, limit=limit, after=after))


@router.post("/lists/{name}/overrides", tags=["lists"], responses=errors(403, 404, 409, 422),
             openapi_extra=NEEDS_KEY)
def post_override(body: OverrideRequest, cx: AppDep, viewer: ViewerDep, name: str = ListName) -> Response:
    """A regulator adds a party to a list or keeps it off, with reason and basis, until a review date; the
    party is re-evaluated at once and the answer says what moved. Everything else follows the policies. An
    addition to a list that a list the party is on excludes (red, while on the black or watch list) is 409."""
    return json_response(list_views.override(cx, name, (body.source, body.id), body.action, viewer, body.reason,
                                             body.basis, body.until))


@router.get("/measures", tags=["measures"], responses=errors(422), openapi_extra=NEEDS_KEY)
def get_measure_changes(cx: AppDep, viewer: ViewerDep,
                        changed_since: str | None = Query(None, description=(
                            "A feed cursor (the previous answer's `next`) or an ISO time.")),
                        limit: int = Query(500, ge=1, le=5000)) -> Response:
    """The measures feed a platform polls: each change of the measures in force on a party, oldest first, with
    every measure in force after it (those the caller may see), what was added and removed, and the list
    moves behind it. The same changes go to NATS JetStream when `CHENGXIN_NATS_URL` is set."""
    return json_response(list_views.changes(cx, viewer, changed_since, limit))


@router.get("/measures/{entity_id}", tags=["measures"], responses=errors(404, 422))
def get_measures(entity_id: str, cx: AppDep, viewer: ViewerDep, source: str = SourceQ) -> Response:
    """The measures in force on the party behind a shop or subject, each with its value, what it applies to
    (shop, account, persons, carrier), its legal basis and the list memberships that impose it: what a
    platform asks before it ranks or admits a shop. Public measures for anyone; platform measures with a
    platform key; regulator measures (inspection frequency) with a regulator key."""
    return json_response(list_views.measures_of(cx, (source, entity_id), viewer))


@router.get("/records/{record}", tags=["records"], responses=errors(404, 422), openapi_extra=NEEDS_KEY)
def get_record(cx: AppDep, viewer: ViewerDep, record: int = Path(ge=1, le=MAX_INDEX)) -> Response:
    """A dishonesty record with its lifecycle (every transition: who, when, why, basis, credit-log index),
    its applications, and whether a repair could be granted today if its conditions were met."""
    return json_response(appeals.get_record(cx, record, viewer))


@router.post("/records/{record}/applications", tags=["records"], responses=errors(404, 409, 422),
             openapi_extra=NEEDS_KEY)
def post_application(body: ApplicationRequest, cx: AppDep, viewer: ViewerDep,
                     record: int = Path(ge=1, le=MAX_INDEX)) -> Response:
    """File an appeal or a repair application for a record (a regulator recording the party's filing, or the
    platform that reported the party)."""
    return json_response(appeals.file_application(cx, record, body.kind, viewer, body.grounds, body.conditions))


@router.get("/applications", tags=["records"], responses=errors(422), openapi_extra=NEEDS_KEY)
def get_applications(cx: AppDep, viewer: ViewerDep,
                     status: Literal["pending", "upheld", "overturned", "granted", "refused", "moot"] | None = Query(
                         "pending", description="Only applications in this state (default: pending)."),
                     limit: int = Query(100, ge=1, le=500),
                     after: int | None = Query(None, ge=0, le=MAX_INDEX, description="Page cursor: `next_after`.")
                     ) -> Response:
    """Appeals and repair applications in filing order, with their due dates: a regulator's work queue (a
    platform sees those about its own entities or records it decided)."""
    return json_response(appeals.list_applications(cx, viewer, status=status, limit=limit, after=after))


@router.post("/applications/{application}/decision", tags=["records"], responses=errors(403, 404, 409, 422),
             openapi_extra=NEEDS_KEY)
def post_application_decision(body: ApplicationDecision, cx: AppDep, viewer: ViewerDep,
                              application: int = Path(ge=1, le=MAX_INDEX)) -> Response:
    """Decide an appeal or repair application: a regulator, or the platform that decided the record."""
    done = appeals.decide_application(cx, application, viewer, body.decision, body.reason, body.basis)
    lists.drain(cx)
    return json_response(done)


@router.get("/commitments/templates", tags=["commitments"])
def get_templates() -> dict[str, Any]:
    """The standard commitment templates: clauses in full, the record categories each covers and the penalty
    the committing party agrees to."""
    return commitments.templates_view()


@router.post("/commitments", tags=["commitments"], responses=errors(403, 404, 409, 422), openapi_extra=NEEDS_KEY)
def post_commitment(body: CommitmentRequest, cx: AppDep, viewer: ViewerDep) -> Response:
    """Publish a standard commitment for a subject: stored as a `cx.commitment.published` event of the
    caller's source (a platform's; a regulator's authority, naming the reporting `source`'s subject by
    reference), so it is kept and logged like any event. A retry is the same commitment (`duplicates:
    1`); an event refused is 422 naming the field, another commitment under the same id 409, a platform's
    `source` other than its own 422, a `valid_until` past 422."""
    return json_response(commitments.publish(cx, viewer, body.subject_id, body.template, valid_until=body.valid_until,
                                             commitment_id=body.commitment_id, source=body.source,
                                             authority=body.authority))


@router.get("/policies/shadow", tags=["lists"], openapi_extra=NEEDS_KEY)
def get_shadow(cx: AppDep, viewer: ViewerDep) -> Response:
    """What the shadow policies would do now: who would enter or leave which list. No effect. A platform's
    report covers the parties it reported; one report at a time per process (503 while another runs)."""
    return json_response(policy.shadow_report(cx, viewer))
