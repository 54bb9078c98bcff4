"""Licences a shop operator needs for the key categories it sells in.

R3; 电子商务法 第十条、第十二条、第十五条.

The rules are data: `vocab/key_categories.yaml`, parsed and checked by `load_key_categories`. The domain stays
free of I/O: the caller reads the file (e.g. through importlib.resources) and passes the text in.

`licence_gaps` answers, for one shop on one day: which rule (the `all_shops` registration requirement, then
each key category the shop sells in, in the order of the rules file) is not met by a licence valid that day,
and why, in English and Chinese.
"""

from __future__ import annotations

import datetime
import re
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from chengxin.domain import vocabulary

__all__ = [
    "ALL_SHOPS",
    "CategoryRule",
    "KeyCategories",
    "Licence",
    "LicenceGap",
    "LicenceType",
    "ShopRule",
    "VocabularyError",
    "licence_gaps",
    "load_key_categories",
]

ALL_SHOPS = "all_shops"  # the `category` of a gap in the registration rule that applies to every shop

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*", re.ASCII)
_TOP_KEYS = ("version", "effective", "licence_types", "all_shops", "categories")
_LICENCE_TYPE_KEYS = ("zh", "en")
_ALL_SHOPS_KEYS = ("licences", "basis", "exemption")
_CATEGORY_KEYS = ("zh", "en", "licences", "basis", "ecl10_exemption_applies")
_CATEGORY_OPTIONAL = ("note",)


class VocabularyError(vocabulary.VocabularyError):
    """The key-categories file is malformed (a `vocabulary.VocabularyError`, so one except clause catches
    every bad vocabulary file).

    `path` says where (e.g. "categories.food.licences"), `reason` what; `source` names the file.
    """

    def __init__(self, path: str, reason: str, source: str = "<string>") -> None:
        super().__init__(source, f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class LicenceType:
    """A `licence_type` string of cx.licence.published, with its labels."""

    name: str
    zh: str
    en: str


@dataclass(frozen=True)
class ShopRule:
    """What every shop operator needs: market-entity registration, unless exempt under 电子商务法 第十条."""

    licences: tuple[str, ...]
    basis: tuple[str, ...]
    exemption: str


@dataclass(frozen=True)
class CategoryRule:
    """A key category: holding any ONE of `licences`, valid on the day, satisfies it."""

    key: str
    zh: str
    en: str
    licences: tuple[str, ...]
    basis: tuple[str, ...]
    ecl10_exemption_applies: bool  # the only requirement is registration, so an ECL 10 exemption meets it
    note: str | None = None


@dataclass(frozen=True)
class KeyCategories:
    """The checked rules file."""

    version: str
    effective: datetime.date
    licence_types: Mapping[str, LicenceType]
    all_shops: ShopRule
    categories: Mapping[str, CategoryRule]


@dataclass(frozen=True)
class Licence:
    """A licence held by the shop's operator (from cx.licence.published)."""

    licence_type: str
    number: str
    valid_from: datetime.date
    valid_until: datetime.date | None = None  # None: open-ended; otherwise valid through this day

    def valid_at(self, day: datetime.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


@dataclass(frozen=True)
class LicenceGap:
    """A rule the shop does not meet on the day checked."""

    category: str  # a key category, or ALL_SHOPS
    needed: tuple[str, ...]  # licence types, any one of which would do
    reason: str
    reason_zh: str
    status: str  # "missing" (none held), "expired", or "not_yet_valid" (one held starts later)


# --- loading -------------------------------------------------------------------------------------------


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (plain YAML keeps the last one silently)."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def load_key_categories(text: str, source: str = "<string>") -> KeyCategories:
    """Parse and check the YAML text; raise VocabularyError naming the place and the problem."""
    try:
        doc = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "<document>"
        problem = getattr(exc, "problem", None) or str(exc)
        raise VocabularyError(where, f"not valid YAML: {problem}", source) from exc
    top = _mapping(doc, "<document>", _TOP_KEYS, (), source)

    version = top["version"]
    if not isinstance(version, str) or not version.strip():
        raise VocabularyError("version", 'must be a non-empty string (quote it: "2026.1")', source)
    effective = _date(top["effective"], "effective", source)

    raw_types = _named_mapping(top["licence_types"], "licence_types", source)
    licence_types: dict[str, LicenceType] = {}
    for name, spec in raw_types.items():
        where = f"licence_types.{name}"
        fields = _mapping(spec, where, _LICENCE_TYPE_KEYS, (), source)
        licence_types[name] = LicenceType(
            name=name,
            zh=_text(fields["zh"], f"{where}.zh", source),
            en=_text(fields["en"], f"{where}.en", source),
        )

    shop = _mapping(top["all_shops"], "all_shops", _ALL_SHOPS_KEYS, (), source)
    all_shops = ShopRule(
        licences=_licence_list(shop["licences"], "all_shops.licences", licence_types, source),
        basis=_text_list(shop["basis"], "all_shops.basis", source),
        exemption=_text(shop["exemption"], "all_shops.exemption", source),
    )

    raw_categories = _named_mapping(top["categories"], "categories", source)
    categories: dict[str, CategoryRule] = {}
    for key, spec in raw_categories.items():
        where = f"categories.{key}"
        if key == ALL_SHOPS:
            raise VocabularyError(where, f"`{ALL_SHOPS}` is reserved for the rule on every shop", source)
        fields = _mapping(spec, where, _CATEGORY_KEYS, _CATEGORY_OPTIONAL, source)
        exempt = fields["ecl10_exemption_applies"]
        if not isinstance(exempt, bool):
            raise VocabularyError(f"{where}.ecl10_exemption_applies", "must be true or false", source)
        note = fields.get("note")
        categories[key] = CategoryRule(
            key=key,
            zh=_text(fields["zh"], f"{where}.zh", source),
            en=_text(fields["en"], f"{where}.en", source),
            licences=_licence_list(fields["licences"], f"{where}.licences", licence_types, source),
            basis=_text_list(fields["basis"], f"{where}.basis", source),
            ecl10_exemption_applies=exempt,
            note=None if note is None else _text(note, f"{where}.note", source),
        )

    return KeyCategories(
        version=version.strip(),
        effective=effective,
        licence_types=types.MappingProxyType(licence_types),
        all_shops=all_shops,
        categories=types.MappingProxyType(categories),
    )


def _mapping(
    value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...], source: str
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise VocabularyError(where, "must be a mapping", source)
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise VocabularyError(
                where, f"unknown key {key!r} (allowed: {', '.join(required + optional)})", source
            )
    for key in required:
        if key not in value:
            raise VocabularyError(where, f"missing key {key!r}", source)
    return value


def _named_mapping(value: Any, where: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict) or not value:
        raise VocabularyError(where, "must be a non-empty mapping", source)
    for name in value:
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
            raise VocabularyError(where, f"name {name!r} must match [a-z][a-z0-9_]*", source)
    return value


def _text(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise VocabularyError(where, "must be a non-empty string", source)
    return value.strip()


def _text_list(value: Any, where: str, source: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise VocabularyError(where, "must be a non-empty list", source)
    return tuple(_text(item, f"{where}[{i}]", source) for i, item in enumerate(value))


def _licence_list(
    value: Any, where: str, licence_types: Mapping[str, LicenceType], source: str
) -> tuple[str, ...]:
    names = _text_list(value, where, source)
    for i, name in enumerate(names):
        if name not in licence_types:
            raise VocabularyError(
                f"{where}[{i}]", f"licence type {name!r} not declared in licence_types", source
            )
        if name in names[:i]:
            raise VocabularyError(f"{where}[{i}]", f"licence type {name!r} listed twice", source)
    return names


def _date(value: Any, where: str, source: str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        raise VocabularyError(where, "must be a date (YYYY-MM-DD), not a time", source)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise VocabularyError(where, "must be a date (YYYY-MM-DD)", source)


# --- checking ------------------------------------------------------------------------------------------


def _or_list(items: Sequence[str], sep: str, last: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return sep.join(items[:-1]) + last + items[-1]


def _gap(
    rules: KeyCategories,
    category: str,
    needed: tuple[str, ...],
    held: Sequence[Licence],
    at: datetime.date,
    what_en: str,
    what_zh: str,
    tail_en: str = "",
    tail_zh: str = "",
) -> LicenceGap | None:
    """None when a licence of a needed type is valid at `at`; else the gap, with held-but-invalid details."""
    relevant = [lic for lic in held if lic.licence_type in needed]
    if any(lic.valid_at(at) for lic in relevant):
        return None

    def zh_label(name: str) -> str:
        known = rules.licence_types.get(name)
        return known.zh if known is not None else name

    def en_label(name: str) -> str:  # the English name without its explanation ("food business permit")
        known = rules.licence_types.get(name)
        return known.en.split(" (")[0] if known is not None else name

    details_en: list[str] = []
    details_zh: list[str] = []
    expired = later = False
    for name in needed:  # in the order of the rules file, one line per state per type
        mine = [lic for lic in relevant if lic.licence_type == name]
        starts = [lic.valid_from for lic in mine if at < lic.valid_from]
        ends = [
            lic.valid_until
            for lic in mine
            if lic.valid_until is not None and lic.valid_until < at and lic.valid_from <= at
        ]
        if ends:
            expired = True
            details_en.append(f"{en_label(name)} expired (valid until {max(ends).isoformat()})")
            details_zh.append(f"{zh_label(name)}有效期至{max(ends).isoformat()}，已过期")
        if starts:
            later = True
            details_en.append(f"{en_label(name)} valid only from {min(starts).isoformat()}")
            details_zh.append(f"{zh_label(name)}自{min(starts).isoformat()}起才生效")

    # English names, as the Chinese text has Chinese ones: the codes showed on English pages (found by review)
    reason = f"{what_en} but holds no valid {_or_list([en_label(n) for n in needed], ', ', ' or ')}{tail_en}"
    reason_zh = f"{what_zh}，但未持有有效的{_or_list([zh_label(n) for n in needed], '、', '或')}{tail_zh}"
    if details_en:
        reason += ": " + "; ".join(details_en)
        reason_zh += "：" + "；".join(details_zh)
    status = "not_yet_valid" if later else "expired" if expired else "missing"
    return LicenceGap(category=category, needed=needed, reason=reason, reason_zh=reason_zh, status=status)


def licence_gaps(
    rules: KeyCategories,
    categories: Sequence[str],
    licences: Sequence[Licence],
    at: datetime.date,
    *,
    ecl10_exempt: bool = False,
) -> list[LicenceGap]:
    """The rules a shop selling `categories`, whose operator holds `licences`, does not meet on day `at`.

    - `all_shops` first: a valid business licence, unless the operator is exempt under 电子商务法 第十条
      (`ecl10_exempt`, which the operator must publish per 第十五条).
    - Then each key category sold, in the order of the rules file; categories not in the rules are ignored
      (open vocabulary), repeats count once. A category marked `ecl10_exemption_applies` is met by the
      exemption; no other is (第十二条: permits are needed regardless).
    - A licence counts when valid_from <= at <= valid_until (or no valid_until). Expired and not-yet-valid
      licences of a needed type are named in the reason.

    The result depends only on the sets given, not on their order.
    """
    gaps: list[LicenceGap] = []
    if not ecl10_exempt:
        gap = _gap(
            rules,
            ALL_SHOPS,
            rules.all_shops.licences,
            licences,
            at,
            "operates a shop",
            "开设网店",
            " and claims no exemption under E-Commerce Law art. 10",
            "，也未声明属于电子商务法第十条规定的不需要办理市场主体登记的情形",
        )
        if gap is not None:
            gaps.append(gap)
    sold = set(categories)
    for key, rule in rules.categories.items():
        if key not in sold or (ecl10_exempt and rule.ecl10_exemption_applies):
            continue
        gap = _gap(rules, key, rule.licences, licences, at, f"sells {rule.en}", f"经营{rule.zh}")
        if gap is not None:
            gaps.append(gap)
    return gaps
