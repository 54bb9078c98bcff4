"""The repair commitment is looked up, not declared (a box the filer ticked: found by review): the check
reports it missing, the rules name a repair template of vocab/commitments.yaml and refuse the old checkbox."""

from __future__ import annotations

from datetime import date

import pytest

from chengxin.adapters.resources import vocab_text
from chengxin.domain import lifecycle as L
from chengxin.domain.vocabulary import VocabularyError

TEXT = vocab_text("lifecycle.yaml")
RULES = L.load_rules(TEXT, "lifecycle.yaml")


def check(commitment: bool, **conditions: bool) -> L.RepairCheck:
    met = {"penalty_fulfilled": True, "harm_removed": True, "repair_commitment": True, **conditions}
    return L.check_repair(RULES, state="confirmed", severity="serious", repair_on=date(2027, 3, 1),
                          today=date(2027, 3, 1), conditions=met, commitment=commitment, repeats=0, lists=[])


def test_a_repair_needs_a_commitment_on_file_whatever_the_filer_declares() -> None:
    assert check(True).eligible
    assert check(False).unmet == ("repair commitment not on file: no repair-commitment-v1 commitment of the party "
                                  "published since the record was confirmed and in force",)
    assert check(True, repair_commitment=False).eligible  # the old box counts for nothing either way
    assert check(True, harm_removed=False).unmet == ("condition not met: harm_removed",)


def test_the_rules_name_the_repair_template() -> None:
    assert RULES.repair.commitment_template == "repair-commitment-v1"
    L.check_templates(RULES, {"repair-commitment-v1": "repair"}, "lifecycle.yaml", "commitments.yaml")
    with pytest.raises(VocabularyError, match=r"repair\.commitment_template: 'repair-commitment-v1' is not a repair "
                                              r"template of commitments\.yaml"):
        L.check_templates(RULES, {"repair-commitment-v1": "voluntary"}, "lifecycle.yaml", "commitments.yaml")
    with pytest.raises(VocabularyError, match="missing or malformed entry: 'commitment_template'"):
        L.load_rules(TEXT.replace("  commitment_template: repair-commitment-v1\n", ""), "bad.yaml")
    with pytest.raises(VocabularyError, match="repair_commitment is not declared but looked up"):
        L.load_rules(TEXT.replace("requires: [penalty_fulfilled, harm_removed]",
                                  "requires: [penalty_fulfilled, harm_removed, repair_commitment]"), "bad.yaml")
