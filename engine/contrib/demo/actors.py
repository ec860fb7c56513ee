"""Who acts in the demo (illustrative people; the roles are those the workflows declare)."""

from __future__ import annotations

from engine.core.decision import Actor

COMMITTEE = Actor("chen.hong", frozenset({"party_committee", "higher_committee"}))
"""陈红, member of the Jinzhou community party committee and party-building instructor; the
community party committee is also the higher committee that approves admissions."""
STREET = Actor("liu.jian", frozenset({"street_committee"}))
"""刘建, Jinshan street party working committee (金山街道党工委)."""
INCUBATOR = Actor("xu.li", frozenset({"branch"}))
"""徐丽, secretary of the community's joint "incubator" branch (孵化器支部)."""
SHANGGU = Actor("huang.min", frozenset({"branch"}))
"""黄敏, director of the Shanggu centre and, from April 2025, secretary of its branch."""
CASEWORKER = Actor("wang.fang", frozenset({"caseworker"}))
"""王芳, community social worker who records activities and services."""

DEMO_ACTORS = frozenset(a.id for a in (COMMITTEE, STREET, INCUBATOR, SHANGGU, CASEWORKER))
