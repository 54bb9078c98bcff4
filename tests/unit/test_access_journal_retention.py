"""The access journal is kept ten years (浙江省公共信用信息管理条例 第二十条: 如实记录公共信用信息查询情况，并自该记录
生成之日起保存十年; docs/security.md, "Credit agencies"): Chengxin keeps it as long as the store, so no code may
delete, truncate or drop its rows. A guard: pruning added later must keep ten years and say so here."""

from __future__ import annotations

import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "chengxin"
PRUNING = re.compile(r"access_journal\s*\.\s*delete\s*\(|delete\s*\(\s*(t\.)?access_journal\b|"
                     r"(DELETE\s+FROM|TRUNCATE(\s+TABLE)?|DROP\s+TABLE)\s+\"?access_journal", re.I)


def test_no_code_prunes_the_access_journal() -> None:
    found = [f"{p.relative_to(SRC)}: {m.group(0)}" for p in SRC.rglob("*.py") if "migrations" not in p.parts
             for m in PRUNING.finditer(p.read_text(encoding="utf-8"))]
    assert found == []


def test_the_guard_sees_a_deletion() -> None:
    assert PRUNING.search("conn.execute(delete(t.access_journal).where(j.at < cutoff))")
    assert PRUNING.search("conn.execute(t.access_journal.delete())")
    assert PRUNING.search('conn.exec_driver_sql("DELETE FROM access_journal WHERE at < ?")')
