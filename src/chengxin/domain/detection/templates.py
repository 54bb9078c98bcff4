"""Templated reviews: near-duplicate review texts posted by different accounts (rings' and sabotage campaigns'
copy-paste texts).

Pure: the service hands over every review that has a text, with its author. Steps:

1. **Normalise** (NFKC, keep letters and digits only: punctuation, spaces and emoji are what a copier varies)
   and set aside texts shorter than `min_chars` (short stock phrases such as 好评 collide by themselves).
2. **MinHash** each distinct normalised text over its character `shingle`-grams (`num_perm` hash functions
   (a·x + b) mod 2^32 over CRC-32 shingle hashes, fixed seed, so runs are reproducible), and **LSH** with
   `bands` bands: texts sharing a band are candidates, joined when their true shingle Jaccard similarity is at
   least `similarity` (union-find: a cluster is a chain of near-copies).
3. **A cluster is a template** when its reviews come from at least `min_accounts` distinct authors and its
   text is not a recombination of stock phrases: the clauses (between punctuation) of the cluster's most
   frequent text are looked up in every other text; a clause found in at least `stock_min_texts` distinct texts
   outside the cluster is stock, and a cluster whose text is at least `stock_share` stock (by characters) is
   ordinary wording that many people write (质量很好，物流很快), not a copied template.

Each template is one finding of kind `template_review` naming its reviews and their authors (parties), with the
template text, the similarity, the accounts and the variants as evidence. Score: min(1, accounts /
`full_accounts`) times the lowest similarity to the template.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chengxin.domain.detection.checks import RuleError
from chengxin.domain.detection.checks import keys as _keys
from chengxin.domain.detection.checks import number as _number
from chengxin.domain.events import Ref
from chengxin.domain.quality import Finding

KIND = "template_review"
_SPLIT = re.compile(r"[^\w]+|_+")  # clause boundaries: anything not a letter or digit
_MASK = np.uint64(0xFFFFFFFF)


@dataclass(frozen=True, slots=True)
class Review:
    review: Ref
    author: Ref
    text: str
    score: int


@dataclass(frozen=True, slots=True)
class Reviews:
    reviews: Sequence[Review]


@dataclass(frozen=True, slots=True)
class Rules:
    min_chars: int
    shingle: int
    num_perm: int
    bands: int
    similarity: float
    min_accounts: int
    stock_min_texts: int
    stock_share: float
    full_accounts: int


def parse_rules(doc: Any, where: str = "template_review") -> Rules:
    """Check the `template_review` section of vocab/detection.yaml."""
    d = _keys(doc, where, ("min_chars", "shingle", "num_perm", "bands", "similarity", "min_accounts",
                           "stock_min_texts", "stock_share", "full_accounts"))

    def whole(key: str, low: int, high: int) -> int:
        return int(_number(d[key], f"{where}.{key}", low, high, integer=True))

    rules = Rules(min_chars=whole("min_chars", 1, 10_000), shingle=whole("shingle", 1, 20),
                  num_perm=whole("num_perm", 8, 1024), bands=whole("bands", 1, 1024),
                  similarity=_number(d["similarity"], f"{where}.similarity", 0, 1),
                  min_accounts=whole("min_accounts", 2, 10**6), stock_min_texts=whole("stock_min_texts", 1, 10**6),
                  stock_share=_number(d["stock_share"], f"{where}.stock_share", 0, 1),
                  full_accounts=whole("full_accounts", 1, 10**6))
    if rules.num_perm % rules.bands:
        raise RuleError(f"{where}.bands: must divide num_perm ({rules.num_perm})")
    return rules


def normalise(text: str) -> str:
    """NFKC, letters and digits only."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if unicodedata.category(c)[0] in "LN")


def clauses(text: str) -> list[str]:
    """The normalised clauses of a text (split at punctuation, spaces, emoji)."""
    return [c for c in (normalise(x) for x in _SPLIT.split(unicodedata.normalize("NFKC", text))) if c]


def shingles(text: str, k: int) -> set[str]:
    return {text[i:i + k] for i in range(max(1, len(text) - k + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _perms(n: int) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    rng = np.random.default_rng(20161)  # fixed: the same signatures in every run
    a = rng.integers(1, 2**32, n, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**32, n, dtype=np.uint64)
    return a, b


def signature(sh: set[str], a: NDArray[np.uint64], b: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """MinHash signature: per hash function, the least (a·x + b) mod 2^32 over the shingles' CRC-32s."""
    x = np.fromiter((zlib.crc32(s.encode()) for s in sh), np.uint64, len(sh))
    return np.asarray(((x[:, None] * a[None, :] + b[None, :]) & _MASK).min(axis=0), np.uint64)


def detect(data: Reviews, rules: Rules) -> list[Finding]:
    """Every template: see the module's docstring."""
    by_text: dict[str, list[int]] = defaultdict(list)  # normalised text -> review indexes
    clause_texts: dict[str, set[str]] = defaultdict(set)  # clause -> distinct normalised texts holding it
    for i, r in enumerate(data.reviews):
        norm = normalise(r.text)
        if not norm:
            continue
        for c in clauses(r.text):
            clause_texts[c].add(norm)
        if len(norm) >= rules.min_chars:
            by_text[norm].append(i)
    texts = sorted(by_text)
    if not texts:
        return []
    a, b = _perms(rules.num_perm)
    sh = [shingles(t, rules.shingle) for t in texts]
    sigs = np.stack([signature(s, a, b) for s in sh])
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows = rules.num_perm // rules.bands
    for band in range(rules.bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        part = np.ascontiguousarray(sigs[:, band * rows:(band + 1) * rows])
        for i in range(len(texts)):
            buckets[part[i].tobytes()].append(i)
        for members in buckets.values():
            for j in members[1:]:
                ri, rj = root(members[0]), root(j)
                if ri != rj and jaccard(sh[members[0]], sh[j]) >= rules.similarity:
                    parent[max(ri, rj)] = min(ri, rj)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(texts)):
        clusters[root(i)].append(i)
    found = []
    for members in clusters.values():
        reviews = sorted((i for m in members for i in by_text[texts[m]]), key=lambda i: data.reviews[i].review)
        authors = sorted({data.reviews[i].author for i in reviews})
        if len(authors) < rules.min_accounts:
            continue
        inside = {texts[m] for m in members}
        counts = Counter(normalise(data.reviews[i].text) for i in reviews)
        top = max(members, key=lambda m: (counts[texts[m]], texts[m]))
        template_reviews = [i for i in reviews if normalise(data.reviews[i].text) == texts[top]]
        template = Counter(data.reviews[i].text for i in template_reviews).most_common(1)[0][0]
        parts = clauses(template)
        stock = [c for c in parts if len(clause_texts[c] - inside) >= rules.stock_min_texts]
        total = sum(map(len, parts))
        stock_share = sum(map(len, stock)) / total if total else 1.0
        if stock_share >= rules.stock_share:
            continue
        similarity = min(jaccard(sh[top], sh[m]) for m in members)
        score = round(min(1.0, len(authors) / rules.full_accounts) * similarity, 4)
        variants = Counter(data.reviews[i].text for i in reviews).most_common()
        evidence = {
            "template": template, "similarity": round(similarity, 4), "accounts": len(authors),
            "reviews": len(reviews), "texts": len(variants),
            "variants": [{"text": t, "reviews": n} for t, n in variants[:5]],
            "scores": {str(k): n for k, n in sorted(Counter(data.reviews[i].score for i in reviews).items())},
            "stock_share": round(stock_share, 4),
            "why": f"{len(reviews)} reviews by {len(authors)} accounts are near-copies (similarity >= "
                   f"{similarity:.2f}) of one text that is not made of common phrases",
        }
        found.append(Finding(KIND, score, {"parties": tuple(authors),
                                           "orders": (), "reviews": tuple(data.reviews[i].review for i in reviews),
                                           "products": ()}, evidence))
    found.sort(key=lambda f: (-(f.score or 0.0), f.refs("reviews")))
    return found


__all__ = ["KIND", "Review", "Reviews", "Rules", "clauses", "detect", "jaccard", "normalise", "parse_rules",
           "shingles", "signature"]
