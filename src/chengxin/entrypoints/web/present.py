"""Presentation helpers for the portal: plain descriptions of credit records, dates, labels and links.

Pure functions over the service views (no storage access); registered as Jinja2 globals and filters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from chengxin.domain.identity import reason_zh
from chengxin.entrypoints.web.i18n import Translator
from chengxin.services import parties

CHINA = timezone(timedelta(hours=8), "CST")


def shop_href(source: str, shop_id: str) -> str:
    return f"/shops/{quote(shop_id, safe='')}?source={quote(source, safe='')}"


def party_href(source: str, party_id: str) -> str:
    return f"/parties/{quote(party_id, safe='')}?source={quote(source, safe='')}"


def record_href(index: int) -> str:
    return f"/records/{int(index)}"


def view_href(view: dict[str, Any], before: int | None = None) -> str:
    """The page of a shop or party view; with `before`, its credit records older than that log index."""
    href = (shop_href if view["entity"] == "shop" else party_href)(view["source"], view["id"])
    return href if before is None else f"{href}&before={int(before)}"


def external_href(url: str | None) -> str | None:
    """A shop URL safe to link to (http or https only; anything else is shown as text)."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def cn_date(value: str | None) -> str:
    """An ISO timestamp as a Beijing-time date (YYYY-MM-DD); a plain date passes through."""
    parsed = _parse(value)
    if parsed is None:
        return value or "–"
    return parsed.astimezone(CHINA).strftime("%Y-%m-%d") if "T" in (value or "") else (value or "")


def cn_datetime(value: str | None) -> str:
    parsed = _parse(value)
    return parsed.astimezone(CHINA).strftime("%Y-%m-%d %H:%M (UTC+8)") if parsed else (value or "–")


def category_label(t: Translator, key: str) -> str:
    if key == "all_shops":
        return t("req.all_shops")
    rule = parties.key_categories().categories.get(key)
    return (rule.zh if t.lang == "zh" else rule.en) if rule else key


def licence_label(t: Translator, licence_type: str) -> str:
    label = parties.key_categories().licence_types.get(licence_type)
    if label is None:
        return licence_type
    return label.zh if t.lang == "zh" else label.en


def identity_reason(t: Translator, identity: dict[str, Any]) -> str | None:
    """Why an identity is invalid, in the translator's language (None when no reason is shown)."""
    reason = identity.get("reason")
    if not reason:
        return None
    return (identity.get("reason_zh") or reason_zh(reason)) if t.lang == "zh" else reason


def verification(identity: dict[str, Any]) -> str:
    """`verified`, `unverified` or `invalid`: the mark shown next to a party's name."""
    if not identity.get("valid", True):
        return "invalid"
    return "verified" if identity.get("verified") else "unverified"


def requirements(t: Translator, categories: list[str], gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every rule that applies to the shop (all shops + its key categories), each with its gap if any."""
    rules = parties.key_categories()
    by_category = {g["category"]: g for g in gaps}
    rows = [("all_shops", rules.all_shops.licences)]
    rows += [(c, rules.categories[c].licences) for c in categories if c in rules.categories]
    out = []
    for key, needed in rows:
        gap = by_category.pop(key, None)
        out.append(_requirement(t, key, gap["needed"] if gap else needed, gap))
    out += [_requirement(t, g["category"], g["needed"], g) for g in by_category.values()]
    return out


def _requirement(t: Translator, key: str, needed: Any, gap: dict[str, Any] | None) -> dict[str, Any]:
    return {"category": category_label(t, key), "needed": [licence_label(t, n) for n in needed], "gap": gap,
            "reason": (gap["reason_zh"] if t.lang == "zh" else gap["reason"]) if gap else None}


def _money(t: Translator, fen: Any) -> str:
    if not isinstance(fen, int):
        return "–"
    return t("yuan", amount=f"{fen / 100:,.2f}")


def describe(t: Translator, record: dict[str, Any]) -> str:
    """One plain sentence about a credit record, in the translator's language."""
    kind, p = record["kind"], record.get("payload") or {}
    build = _DESCRIBERS.get(kind)
    if build is None:
        return t("desc.other", kind=t.label("record", kind), payload=orjson.dumps(p).decode())
    return build(t, p)


def _identity(t: Translator, p: dict[str, Any]) -> str:
    scheme = {"uscc": t("party.uscc"), "ric": "ID"}.get(p.get("scheme", ""), p.get("scheme", "–"))
    if not p.get("valid", True):
        return t("desc.identity.invalid", scheme=scheme, reason=identity_reason(t, p) or "–")
    return t("desc.identity.verified" if p.get("verified") else "desc.identity.unverified", scheme=scheme)


def _licence(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.licence", label=licence_label(t, p.get("licence_type", "–")), number=p.get("number"),
             valid_from=p.get("valid_from"), valid_until=p.get("valid_until") or t("lic.open_ended"))


def _rating(t: Translator, p: dict[str, Any]) -> str:
    text = t(f"desc.rating.{p.get('direction')}", score=p.get("score"))
    return text + (t("follow_up") if p.get("follows") else "")


def _complaint(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.complaint", channel=t.label("channel", p.get("channel")),
             category=t.label("category", p.get("category")))


def _complaint_outcome(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.complaint_outcome", outcome=t.label("outcome", p.get("outcome")),
             compensation=_money(t, p.get("compensation")))


def _commitment(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.commitment", template=p.get("template"), clauses=p.get("clauses"),
             valid_until=p.get("valid_until") or t("lic.open_ended"))


def _sanction(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.sanction", authority=p.get("authority"),
             sanction_kind=t.label("sanction_kind", p.get("sanction_kind")),
             category=t.label("category", p.get("category")), decision_no=p.get("decision_no"),
             legal_basis=p.get("legal_basis"), disclose_until=p.get("disclose_until") or "–")


def lifted_note(t: Translator, record: dict[str, Any]) -> str | None:
    """The note "lifted on <date>: <reason>" for a sanction record whose sanction was lifted, else None."""
    lifted = record.get("lifted")
    if not lifted:
        return None
    return t("rec.lifted", date=cn_date(lifted.get("at")), reason=t.label("lifted", lifted.get("reason")))


def _sanction_lifted(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.sanction_lifted", reason=t.label("lifted", p.get("reason")))


def _inspection(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.inspection", authority=p.get("authority"), result=t.label("result", p.get("result")))


_DESCRIBERS = {
    "identity": _identity, "licence": _licence, "rating": _rating, "complaint": _complaint,
    "complaint_outcome": _complaint_outcome, "commitment": _commitment, "sanction": _sanction,
    "sanction_lifted": _sanction_lifted, "inspection": _inspection,
}
