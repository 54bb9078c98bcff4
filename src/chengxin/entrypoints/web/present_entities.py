"""Presentation of who reported a party and who verified it, of a record's fields in words, and of Chinese text
on English pages. Pure functions over service views; registered as Jinja2 globals (render.py).

Public review (findings 2, 6, 11): one business reported by a platform (verified) and by a regulator (no
check) showed as two cards with opposite marks and raw URNs; record pages showed code keys; English pages
did not mark Chinese names as Chinese for screen readers. The search results (`_results.html`) can use
`group_entities` and `entity_verification` too: one entity per USCC, its reports explained.
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

from chengxin.domain import identity
from chengxin.domain.vocabulary import source_kind
from chengxin.entrypoints.web.i18n import Translator

_HAN = "\u3400-\u9fff\u3000-\u303f\uff00-\uffef"
# a run of Chinese: Han characters and Chinese punctuation, with digits, Latin letters and spaces inside it
# ("杭西市监罚〔2026〕12号", "上海市普陀区市场监督管理局"), not around it ("电话138****5678": the number is not)
_RUN = re.compile(f"[{_HAN}](?:[{_HAN}0-9A-Za-z·\\- ]*[{_HAN}])?")


def zh(t: Translator, text: Any) -> Markup:
    """Text as the page shows it (escaped), each run of Chinese in it marked `lang="zh-CN"` on an English page
    (a name, an authority, a commitment's wording, a decision number): an English screen reader otherwise
    mispronounces or skips it (WCAG 3.1.2; found by review). A zh page: the text, escaped."""
    value = "" if text is None else str(text)
    if t.lang == "zh" or not _RUN.search(value):
        return escape(value)
    out, at = [], 0
    for m in _RUN.finditer(value):
        out.append(escape(value[at:m.start()]))
        out.append(Markup('<span lang="zh-CN">{}</span>').format(m.group()))
        at = m.end()
    out.append(escape(value[at:]))
    return Markup("").join(out)


def reporter_name(t: Translator, source: str, names: dict[str, str] | None = None) -> str:
    """A reporting source as a reader names it: the name it registered for itself (a platform, a logistics
    firm), a regulator by the region it serves ("上海市市场监管部门": its code is that region's), a hotline or
    payment institution by its kind, Chengxin as itself; never a URN (found by review: "urn:cx:regulator:310000",
    "监管部门（310000）")."""
    if names and source in names:
        return names[source]
    kind, code = source_kind(source), source.rsplit(":", 1)[-1]
    if kind == "regulator":
        region = identity.region_name(code) if code.isdigit() and len(code) == 6 else None
        return t("reporter.regulator_named", region=region) if region else t("reporter.regulator", code=code)
    if kind in ("hotline", "payment"):
        return t(f"reporter.{kind}", code=code)
    if source.startswith("urn:cx:chengxin:"):
        return t("reporter.chengxin")
    return t("reporter.unknown_source")


def report_state(report: dict[str, Any]) -> str:
    """`verified`, `unverified` or `invalid`: one report's identity as its reporter sent it."""
    mark = report.get("identity") or {}
    if not mark.get("valid", True):
        return "invalid"
    return "verified" if mark.get("verified") else "unverified"


def group_entities(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Party summaries (`parties.search_parties`) as legal entities: reports of one USCC together, in the order
    first seen; each entity links to its first report (the party page lists the others)."""
    entities: dict[str, dict[str, Any]] = {}
    for r in reports:
        key = r.get("uscc") or f"{r['source']}\x1f{r['id']}"
        entity = entities.setdefault(key, {"name": r["name"], "kind": r["kind"], "uscc": r.get("uscc"),
                                           "source": r["source"], "id": r["id"], "reports": []})
        entity["reports"].append(r)
    return list(entities.values())


def entity_verification(t: Translator, reports: list[dict[str, Any]],
                        names: dict[str, str] | None = None) -> dict[str, Any]:
    """One legal entity's verification, reconciled over its reports: one mark (`invalid` when a reporter sent
    identity details that are not valid, else `verified` when any reporter verified it, else `unverified`), a
    sentence naming who verified it and why the others' reports carry no check, and each report's row. No
    report is hidden: the reader sees every reporter and what each said."""
    sep = t("reporter.sep")
    rows = [{"source": r["source"], "id": r["id"], "reporter": reporter_name(t, r["source"], names),
             "state": report_state(r), "verified_at": (r.get("identity") or {}).get("verified_at"),
             "reason": _reason(t, r)} for r in reports]
    by_state: dict[str, list[str]] = {"verified": [], "unverified": [], "invalid": []}
    for row in rows:
        if row["reporter"] not in by_state[row["state"]]:
            by_state[row["state"]].append(row["reporter"])
    sentences = []
    if by_state["invalid"]:
        state = "invalid"
        sentences.append(t("entity.invalid_by", who=sep.join(by_state["invalid"])))
    elif by_state["verified"]:
        state = "verified"
    else:
        state = "unverified"
    if by_state["verified"]:
        sentences.append(t("entity.verified_by", who=sep.join(by_state["verified"])))
    elif state == "unverified":
        sentences.append(t("entity.none_verified"))
    if by_state["unverified"] and (by_state["verified"] or by_state["invalid"]):
        sentences.append(t("entity.others_unverified", who=sep.join(by_state["unverified"])))
    end = "。" if t.lang == "zh" else ". "
    sentences = [s[:1].upper() + s[1:] for s in sentences]  # "market regulator of …" opens a sentence in en
    summary = "".join(s if s.endswith(("。", ".")) else s + end for s in sentences).strip()
    return {"state": state, "summary": summary, "rows": rows, "mixed": len({r["state"] for r in rows}) > 1,
            "verifiers": by_state["verified"]}


def _reason(t: Translator, report: dict[str, Any]) -> str | None:
    mark = report.get("identity") or {}
    if mark.get("valid", True) or not mark.get("reason"):
        return None
    return (mark.get("reason_zh") or identity.reason_zh(mark["reason"])) if t.lang == "zh" else mark["reason"]


def plain_licence(t: Translator, label: str) -> str:
    """A licence type's English name without the notes for developers the vocabulary keeps beside it
    ("food business permit (number JY + 14 digits)" reads "Food business permit"); zh as it is."""
    if t.lang == "zh":
        return label
    plain = re.split(r"\s*[(;]", label, maxsplit=1)[0].strip() or label
    return plain[:1].upper() + plain[1:]


# The record fields a reader is told about, in words; the rest (run ids, evidence hashes, detector statistics)
# only under the page's technical details. Values of coded fields are labelled from the catalogue.
PLAIN_FIELDS = ("finding_kind", "category", "sanction_kind", "authority", "decision_no", "licence_type", "number",
                "issuer", "valid_from", "valid_until", "channel", "outcome", "compensation", "result", "list",
                "orders", "score", "points", "clauses", "reason", "basis", "legal_basis", "decided_by",
                "disclose_until", "review_at")
_REVIEW_KINDS = ("suspected", "confirmed", "dismissed")  # their score is the detector's, not a buyer's rating
_CODED = {"finding_kind": "finding", "category": "category", "sanction_kind": "sanction_kind",
          "channel": "channel", "outcome": "outcome", "result": "result"}


def plain_fields(t: Translator, record: dict[str, Any], names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A record's payload as rows of label and value in the page's language: only the fields a reader can use,
    codes named, who decided by name. The logged keys and codes stay available in the technical details."""
    from chengxin.entrypoints.web import present

    raw = record.get("payload")
    payload: dict[str, Any] = raw if isinstance(raw, dict) else {}
    rows = []
    for key in PLAIN_FIELDS:
        value = payload.get(key)
        if value is None or value == "" or isinstance(value, dict | list):
            if not isinstance(value, dict):
                continue
            value = present.localised(t, value) or None
            if value is None:
                continue
        label = "field.machine_score" if key == "score" and record.get("kind") in _REVIEW_KINDS else f"field.{key}"
        rows.append({"key": key, "label": t(label), "value": _field_value(t, key, value, payload, names)})
    return rows


def _field_value(t: Translator, key: str, value: Any, payload: dict[str, Any], names: dict[str, str] | None) -> Any:
    from chengxin.entrypoints.web import present

    if key in _CODED:
        return t.label(_CODED[key], value)
    if key == "licence_type":
        return present.licence_label(t, str(value))
    if key == "decided_by":
        return present.decider(t, value, names)
    if key == "compensation":
        return present.money(t, value, payload.get("currency"))
    if key in ("basis", "legal_basis"):
        return present.basis_text(t, value)
    if key == "score" and isinstance(value, float):
        return f"{value:.2f}"
    if key == "list":
        return present._list_name(t, value)
    return value


def subject_line(t: Translator, subject: dict[str, Any] | None) -> Markup:
    """What a record page says it is about: the shop's or party's name linked to its page (escaped here)."""
    if not subject:
        return Markup("–")
    name = zh(t, subject["name"])
    if subject.get("href"):
        return Markup('<a href="{}" data-testid="record-subject-link">{}</a>').format(subject["href"], name)
    return Markup("{}").format(name) if not subject.get("label") else Markup("{} · {}").format(
        escape(subject["label"]), name)
