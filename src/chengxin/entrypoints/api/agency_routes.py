"""`/v1` routes of credit agencies (信用服务机构): the credit report. Thin: parse, call one service (which
authorises and journals). Which other routes an agency's key may call: `deps.AGENCY_ROUTES`."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from chengxin.entrypoints.api.deps import AppDep, ViewerDep, get_viewer
from chengxin.entrypoints.api.openapi import NEEDS_KEY, errors
from chengxin.entrypoints.api.routes import SourceQ, json_response
from chengxin.exc import NotAuthenticated
from chengxin.services import agency_report
from chengxin.services.viewer import PUBLIC

router = APIRouter(prefix="/v1", dependencies=[Depends(get_viewer)], responses=errors(401, 503))


class AuthorizationRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sha256: str = Field(pattern="^[0-9a-f]{64}$", description=(
        "SHA-256 (lower-case hex) of the person's signed authorization, which the agency keeps."))
    signed_on: date = Field(description=(
        "The day the person signed it: not after today, nor more than a year ago (vocab/agency_authorization.yaml)."))


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    purpose: str = Field(min_length=3, max_length=200, description=(
        "Why the report is asked for (journaled with the key and the party: 浙江省公共信用信息管理条例 第二十条)."))
    authorization: AuthorizationRef | None = Field(None, description=(
        "The natural person's authorization of the query (浙江省公共信用信息管理条例 第十九条): required for a "
        "person, a courier, or a shop a person runs; ignored otherwise but journaled."))
    since_size: int | None = Field(None, ge=0, le=2**62, description=(
        "An earlier report's `log.tree_size`: only the records appended since, and in "
        "`records_withdrawn.since` those it may have carried that are withdrawn now (to delete downstream)."))


@router.post("/reports/{entity_id}", tags=["agencies"], responses=errors(403, 404, 422), openapi_extra=NEEDS_KEY)
async def post_report(entity_id: str, body: ReportRequest, cx: AppDep, viewer: ViewerDep,
                      source: str = SourceQ) -> Response:
    """A credit report of a party or shop for a credit agency's key (`chengxin keys create --role agency`),
    journaled with the key, the purpose and the party, whatever its outcome.

    `report` (who asked, why, when, the law it follows), `subject` (identity, masked: a person's name and
    province only, never an ID number), `credit` (score, grade, reasons, the score's dimensions with their
    facts, what capped the grade), a business's `shops` and `licences`, `lists` and `measures` in force (as
    the public sees them), `commitments`, `log.tree_size` (the log's size the report was cut at: give it as
    `since_size` next time for what changed since), `records`: the credit records about the party, public or
    not (never the machine's suspicions, nor the non-public watch list), each with the `state` of its
    dishonesty record (`disputed` while under objection), `negative` or not (a complaint filing with no
    outcome is `alleged`, not negative); a negative one with its `basis` and `query_period`
    {from, until}: five years from the end of the act (上海市社会信用条例 第三十五条), after which it is left out
    (`records_withheld_past_window` counts them). A natural person (or a shop a person runs) needs
    `authorization`: 403 without it. The purpose and authorization go in the body, never the URL."""
    if viewer.role == PUBLIC:
        raise NotAuthenticated("a credit report needs a credit agency's API key")
    auth = agency_report.Authorization(body.authorization.sha256, body.authorization.signed_on) \
        if body.authorization else None
    return json_response(await run_in_threadpool(
        agency_report.report, cx, viewer, source, entity_id, body.purpose, auth, body.since_size))
