"""Who is asking: the role behind a request, and what each role may see (one rule, one place).

Roles: `public` (no key: the masked public view), `platform` (reads its own parties in full, others as the
public does, submits only events of its own source), `regulator` (reads all; may reveal an ID number,
which is journaled), `agency` (a credit agency, 信用服务机构: submits nothing; reads credit reports with a
stated purpose, each journaled, through `services/agency_report.py` only; docs/security.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from chengxin.domain.vocabulary import source_kind

PUBLIC, PLATFORM, REGULATOR, AGENCY = "public", "platform", "regulator", "agency"
ROLES = (PUBLIC, PLATFORM, REGULATOR, AGENCY)


@dataclass(frozen=True)
class Viewer:
    """The caller of a use case."""

    role: str = PUBLIC
    source: str | None = None  # a platform's own `source`; an agency's `urn:cx:agency:` name
    key_id: str | None = None

    def owns(self, source: str) -> bool:
        """Whether this viewer reported the entity (platforms see their own data in full; an agency reports
        nothing, so owns nothing, whatever its source)."""
        return self.role == PLATFORM and self.source == source

    def sees_full(self, source: str) -> bool:
        return self.role == REGULATOR or self.owns(source)

    def sees_full_beside_own(self, source: str) -> bool:
        """Whether a report of `source` is shown in full beside the viewer's own reports of the same party: its
        own and an authority's (a regulator's) are; another reporter's (a platform's, a logistics firm's)
        non-public records, such as complaints filed with it, stay that reporter's."""
        return self.sees_full(source) or source_kind(source) == "regulator"

    @property
    def may_reveal_pii(self) -> bool:
        return self.role == REGULATOR


ANONYMOUS = Viewer()
