"""Presentation helpers for the portal: plain descriptions of credit records, dates, labels and links.

Pure functions over the service views (no storage access); registered as Jinja2 globals and filters.
Every page shows its views through `public`: personal numbers in free text masked (`domain/redact.py`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from chengxin.domain import statutes
from chengxin.domain.identity import reason_zh
from chengxin.domain.redact import redact_tree
from chengxin.domain.vocabulary import source_kind
from chengxin.entrypoints.web.i18n import Translator
from chengxin.entrypoints.web.present_entities import plain_licence, reporter_name
from chengxin.services import parties, standing

CHINA = timezone(timedelta(hours=8), "CST")

# What a page shows as reported: identifiers (links are built from them) and codes; and the credit records, which
# `credit_file.public_record` already gave as the public reads them (masked, so their leaf bytes withheld).
PORTAL_CODES = frozenset({"source", "id", "url", "uscc", "number", "credit_records", "kind", "category",
                          "categories", "template", "list", "policy", "measure", "code", "dimension", "tier"})


def public(view: Any) -> Any:
    """A service view as a portal page shows it: every free text (a shop's closure reason, names, list reasons
    and bases, commitments ...) with phone, resident ID and bank card numbers masked; identifiers and codes as
    they are. Every page goes through it (found by review: a shop's closure reason quoting its owner's phone
    and resident ID number was shown whole)."""
    return redact_tree(view, PORTAL_CODES)


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
    """A shop category's name: a key category's from its rules, another known one's from the catalogue
    (`shopcat.*`); a category nobody named (the vocabulary is open) as the platform sent it."""
    if key == "all_shops":
        return t("req.all_shops")
    rule = parties.key_categories().categories.get(key)
    return (rule.zh if t.lang == "zh" else rule.en) if rule else t.label("shopcat", key)


def licence_label(t: Translator, licence_type: str) -> str:
    """A licence type's plain name: the English names in the vocabulary carry notes for developers ("(number JY
    + 14 digits)"), which the pages showed, in record sentences too (found by review)."""
    label = parties.key_categories().licence_types.get(licence_type)
    if label is None:
        return licence_type
    return label.zh if t.lang == "zh" else plain_licence(t, label.en)


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


# Digits after the decimal point in each currency's amounts (ISO 4217 minor units). events-v1 money is an integer
# count of its currency's minor unit (`currency`, default CNY: fen): 1000 is ¥10.00 in CNY, USD 10.00 in USD,
# JPY 1,000 in JPY. A currency not listed here is shown as that count, named as minor units of its code.
MINOR_UNITS = {"CNY": 2, "HKD": 2, "MOP": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "AUD": 2, "CAD": 2,
               "CHF": 2, "SGD": 2, "NZD": 2, "MYR": 2, "THB": 2, "INR": 2, "RUB": 2, "SEK": 2, "NOK": 2,
               "DKK": 2, "IDR": 2, "PHP": 2, "JPY": 0, "KRW": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3,
               "JOD": 3}


def money(t: Translator, amount: Any, currency: Any = None) -> str:
    """An amount in minor units of `currency` (default CNY) as the page writes it: "¥10.00" (CNY), "USD 10.00",
    "JPY 1,000"; an unknown currency: "1000 (XYZ, in minor units)". Every amount was shown as yuan, so
    USD 1000 read "¥10.00" (found by review)."""
    if not isinstance(amount, int) or isinstance(amount, bool):
        return "–"
    code = str(currency or "CNY").strip().upper()
    digits = MINOR_UNITS.get(code)
    if digits is None:
        return t("money.minor_units", amount=amount, currency=code)
    text = f"{amount / 10 ** digits:,.{digits}f}"
    return t("yuan", amount=text) if code == "CNY" else t("money.other", amount=text, currency=code)


def decider(t: Translator, value: Any, names: dict[str, str] | None = None) -> str:
    """Who decided, in the page's language: a role (监管部门 / regulator), a reporting source by its kind and
    its name when known (平台（示例电商平台有限公司）); never a key id, nor a raw code or URN."""
    if not isinstance(value, str) or not value:
        return "–"
    if value == "regulator" or value.startswith("regulator:"):
        return t("decider.regulator")
    if value in ("policy", "chengxin"):
        return t(f"decider.{value}")
    kind = source_kind(value) if value.startswith("urn:") else value.partition(":")[0]
    if not t.has(f"decider.{kind}"):
        return value
    role, name = t(f"decider.{kind}"), (names or {}).get(value)
    return t("decider.named", role=role, name=name) if name else role


def describe(t: Translator, record: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """One plain sentence about a credit record, in the translator's language; `names`: the names of the
    sources that decided, when known (`decider`)."""
    kind, p = record["kind"], record.get("payload") or {}
    build = _DESCRIBERS.get(kind)
    if build is None:
        return t("desc.other", kind=t.label("record", kind), payload=orjson.dumps(p).decode())
    if "decided_by" in p:
        p = {**p, "decided_by": decider(t, p["decided_by"], names)}
    return build(t, p)


def _identity(t: Translator, p: dict[str, Any]) -> str:
    scheme = {"uscc": t("party.uscc"), "ric": "ID"}.get(p.get("scheme", ""), p.get("scheme", "–"))
    if not p.get("valid", True):
        return t("desc.identity.invalid", scheme=scheme, reason=identity_reason(t, p) or "–")
    return t("desc.identity.verified" if p.get("verified") else "desc.identity.unverified", scheme=scheme)


def _licence(t: Translator, p: dict[str, Any]) -> str:
    label = licence_label(t, p.get("licence_type", "–"))  # inside a sentence: "Published food business permit"
    label = label[:1].lower() + label[1:] if t.lang == "en" and label[1:2].islower() else label
    return t("desc.licence", label=label, number=p.get("number"),
             valid_from=p.get("valid_from"), valid_until=p.get("valid_until") or t("lic.open_ended"))


def _rating(t: Translator, p: dict[str, Any]) -> str:
    text = t(f"desc.rating.{p.get('direction')}", score=p.get("score"))
    return text + (t("follow_up") if p.get("follows") else "")


def _complaint(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.complaint", channel=t.label("channel", p.get("channel")),
             category=t.label("category", p.get("category")))


def _complaint_outcome(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.complaint_outcome", outcome=t.label("outcome", p.get("outcome")),
             compensation=money(t, p.get("compensation"), p.get("currency")))


def commitment_title(t: Translator, template: Any) -> str:
    """A commitment template's title (vocab/commitments.yaml); a template of the reporter's own, its id."""
    from chengxin.services import lifecycle

    found = lifecycle.templates().templates.get(str(template))
    return (found.zh if t.lang == "zh" else found.en) if found else str(template or "–")


def _commitment(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.commitment", template=commitment_title(t, p.get("template")), clauses=p.get("clauses"),
             valid_until=p.get("valid_until") or t("lic.open_ended"))


def _sanction(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.sanction", authority=p.get("authority"),
             sanction_kind=t.label("sanction_kind", p.get("sanction_kind")),
             category=t.label("category", p.get("category")), decision_no=p.get("decision_no"),
             legal_basis=basis_text(t, p.get("legal_basis")), disclose_until=p.get("disclose_until") or "–")


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


def _ref_id(ref: Any) -> str:
    """The id of a [source, id] reference (the source is shown elsewhere), or "–"."""
    if isinstance(ref, (list, tuple)) and len(ref) == 2:
        return str(ref[1])
    return "–"


def _points_text(t: Translator, kind: str, p: dict[str, Any]) -> str:
    points = p.get("points")
    return t(f"desc.{kind}", order=_ref_id(p.get("order")), points=abs(points) if isinstance(points, int) else "–",
             decided_by=p.get("decided_by") or "–")


def _points_retracted(t: Translator, p: dict[str, Any]) -> str:
    return _points_text(t, "points_retracted", p)


def _points_restored(t: Translator, p: dict[str, Any]) -> str:
    return _points_text(t, "points_restored", p)


def evidence_brief(t: Translator, p: dict[str, Any]) -> str:
    """The evidence summary of a review record in words: flagged share of a roll-up, the tells, the orders."""
    raw = p.get("summary")
    summary: dict[str, Any] = raw if isinstance(raw, dict) else {}
    parts = []
    if isinstance(summary.get("flagged"), int) and isinstance(summary.get("parcels"), int):
        share = summary.get("share")
        parts.append(t("evidence.flagged", flagged=summary["flagged"], parcels=summary["parcels"],
                       share=f"{share * 100:.0f}%" if isinstance(share, int | float) else "–"))
    tells = summary.get("tells")
    if isinstance(tells, dict) and tells:
        sep = "、" if t.lang == "zh" else ", "
        parts.append(t("evidence.tells", tells=sep.join(t.label("tell", name) for name in tells)))
    if isinstance(p.get("orders"), int) and p["orders"] > 1:
        parts.append(t("evidence.orders", n=p["orders"]))
    return "".join(parts)


def _review_text(t: Translator, kind: str, p: dict[str, Any]) -> str:
    score = p.get("score")
    return t(f"desc.{kind}", finding=t.label("finding", p.get("finding_kind")),
             score=f"{score:.2f}" if isinstance(score, int | float) else "–", evidence=evidence_brief(t, p),
             reason=p.get("reason") or "–", basis=basis_text(t, p.get("basis")) or "–",
             decided_by=p.get("decided_by") or "–")


def _suspected(t: Translator, p: dict[str, Any]) -> str:
    return _review_text(t, "suspected", p)


def _confirmed(t: Translator, p: dict[str, Any]) -> str:
    return _review_text(t, "confirmed", p)


def _dismissed(t: Translator, p: dict[str, Any]) -> str:
    return _review_text(t, "dismissed", p)


def _list_name(t: Translator, name: Any) -> str:
    from chengxin.services import lists

    found = lists.policies().lists.get(str(name))
    return (found.zh if t.lang == "zh" else found.en) if found else str(name)


def _in_lang(t: Translator, value: Any) -> str:
    """A {zh, en} text in the page's language; a plain value as it is."""
    return localised(t, value) if isinstance(value, dict) else str(value or "–")


def _list_entered(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.list_entered", list=_list_name(t, p.get("list")), reason=_in_lang(t, p.get("reason")),
             basis=basis_text(t, p.get("basis")) or "–", review_at=p.get("review_at") or "–")


def _list_left(t: Translator, p: dict[str, Any]) -> str:
    return t("desc.list_left", list=_list_name(t, p.get("list")), reason=_in_lang(t, p.get("reason")))


def _commitment_breach(t: Translator, p: dict[str, Any]) -> str:
    breaks = p.get("breaks") or {}
    # by the merchant's own clause number when its published text carries the clause, else by the template's,
    # said so: "第 2 条" named the merchant's 7-day-return promise (public review finding 5)
    own = breaks.get("own_clause")
    return t("desc.commitment_breach_own" if own else "desc.commitment_breach", clause=own or breaks.get(
        "clause", "–"), clause_text=_in_lang(t, breaks), penalty=_in_lang(t, p.get("penalty")),
        title=commitment_title(t, breaks.get("template")))


_DESCRIBERS = {
    "identity": _identity, "licence": _licence, "rating": _rating, "complaint": _complaint,
    "complaint_outcome": _complaint_outcome, "commitment": _commitment, "sanction": _sanction,
    "sanction_lifted": _sanction_lifted, "inspection": _inspection,
    "points_retracted": _points_retracted, "points_restored": _points_restored,
    "suspected": _suspected, "confirmed": _confirmed, "dismissed": _dismissed,
    "list_entered": _list_entered, "list_left": _list_left, "commitment_breach": _commitment_breach,
}


# --- credit standing and score -------------------------------------------------------------------------
TIER_SYMBOLS = {"heart": "♥", "diamond": "◆", "crown": "♛", "gold_crown": "♛"}


def localised(t: Translator, item: dict[str, Any] | None, zh: str = "zh", en: str = "en") -> str:
    """The zh or en text of a service dict that carries both."""
    if not item:
        return ""
    return str(item.get(zh if t.lang == "zh" else en) or item.get(en) or "")


def reporter_label(t: Translator, source: str, names: dict[str, str] | None) -> str:
    """Who reported a record, as a reader names it (`present_entities.reporter_name`: never a URN)."""
    return reporter_name(t, source, names)


@cache
def _statute_titles() -> dict[str, str]:
    from chengxin.adapters.resources import vocab_text

    return statutes.load(vocab_text("statutes.yaml"), "statutes.yaml")


def basis_text(t: Translator, basis: Any) -> Any:
    """A legal basis as the page's language reads it: the English pages showed the Chinese statute names
    (found by review)."""
    return statutes.in_english(basis, _statute_titles()) if t.lang == "en" else basis


def level_badge(t: Translator, level: dict[str, Any] | None, points: int) -> dict[str, Any]:
    """What the level badge shows: symbols (decoration), the readable label, and the way to the next level."""
    if level is None:
        first = standing.rules().levels[0]
        label = f"1{first.zh}" if t.lang == "zh" else f"1 {first.en}"
        return {"tier": "none", "rank": 0, "symbols": "", "label": t("standing.no_level"),
                "next": t("standing.first_level", minimum=first.minimum, label=label)}
    nxt = level.get("next_minimum")
    return {"tier": level["tier"], "rank": level["rank"],
            "symbols": TIER_SYMBOLS.get(level["tier"], "★") * int(level["rank"]),
            "label": level["label_zh"] if t.lang == "zh" else level["label_en"],
            "next": t("standing.next", gap=nxt - points, next=nxt) if nxt is not None else t("standing.top")}


def percent(rate: float | None, digits: int = 2) -> str:
    return "–" if rate is None else f"{rate * 100:.{digits}f}%"


def dsr_rows(t: Translator, dsr: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each DSR dimension: the shop's mean, the category's, and the difference in words and arrow
    (e.g. "4.82 ↑ 3.1% above the category 4.67"); never colour alone."""
    if not dsr or not dsr.get("count"):
        return []
    average = dsr.get("category_average") or {}
    rows = []
    for dim in standing.rules().dsr_dimensions:
        value, avg = dsr.get(dim), average.get(dim)
        row: dict[str, Any] = {"dimension": dim, "label": t(f"dsr.{dim}"),
                               "value": "–" if value is None else f"{value:.2f}",
                               "avg": None if avg is None else f"{avg:.2f}", "direction": "none", "arrow": "",
                               "compare": t("dsr.no_category")}
        if dsr.get("compared") is False:  # too few ratings to compare (`standing_views.dsr_comparison`)
            row.update(direction="few", compare=(dsr.get("note") or {}).get(t.lang, ""))
        elif value is not None and avg:
            pct = (value - avg) / avg * 100
            if round(pct, 1) > 0:
                row.update(direction="up", arrow="↑", compare=t("dsr.higher", pct=f"{pct:.1f}"))
            elif round(pct, 1) < 0:
                row.update(direction="down", arrow="↓", compare=t("dsr.lower", pct=f"{-pct:.1f}"))
            else:
                row.update(direction="same", arrow="=", compare=t("dsr.same"))
        rows.append(row)
    return rows


def credit_history(t: Translator, credit: dict[str, Any] | None) -> list[dict[str, Any]]:
    """How the grade moved, newest first: the move, its cause and the parts whose points changed."""
    out = []
    for h in (credit or {}).get("history") or []:
        if h.get("previous_score") is None:
            move, changes = t("credit.first", grade=h["grade"], score=h["score"]), ""
        else:
            move = t("credit.moved", old_grade=h.get("previous_grade") or "–", old_score=h["previous_score"],
                     grade=h["grade"], score=h["score"])
            parts = [f"{t(f'dim.{d}')} {delta:+d}".replace("-", "−")
                     for d, delta in (h.get("dimension_changes") or {}).items() if delta]
            changes = t("credit.changes", changes="、".join(parts) if t.lang == "zh" else ", ".join(parts)) \
                if parts else ""
        direction = "first" if h.get("previous_score") is None else (
            "up" if h["score"] > h["previous_score"] else "down" if h["score"] < h["previous_score"] else "same")
        out.append({"at": h.get("at"), "move": move, "changes": changes, "direction": direction,
                    "cause": t.label("cause", h.get("cause"))})
    return out
