"""Tables of cases for each catchment strategy, their combinations and the feed-tag verdicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from catchment import (
    LOCATION_FILTER_BEAN,
    CatchmentRuleError,
    PatientFacts,
    Verdict,
    rule_from_dict,
)


@dataclass(frozen=True)
class Tag:
    bean: str
    value: str


def _facts(**kw: Any) -> PatientFacts:
    return PatientFacts(**kw)


HOME_NAIROBI = {
    "use": "home",
    "country": "Kenya",
    "state": "Nairobi",
    "district": "Westlands",
    "city": "Nairobi",
    "postalCode": "00100",
}
OLD_KISUMU = {"use": "old", "country": "Kenya", "state": "Kisumu", "city": "Kisumu"}

ADDRESS_CASES = [
    # (patterns, addresses, inside, reason)
    (["Kenya%Nairobi%*%*%*"], [HOME_NAIROBI], True, "address: matched"),
    (["KENYA%nairobi%*%*%*"], [HOME_NAIROBI], True, "address: matched"),
    (["*%*%*%*%00100"], [HOME_NAIROBI], True, "address: matched"),
    (["Kenya%Kisumu%*%*%*"], [HOME_NAIROBI], False, "address: outside"),
    # the preferred (home) address decides, not an old one
    (["Kenya%Kisumu%*%*%*"], [OLD_KISUMU, HOME_NAIROBI], False, "address: outside"),
    (["Kenya%Kisumu%*%*%*", "Kenya%Nairobi%*%*%*"], [HOME_NAIROBI], True, "address: matched"),
    # no preferred flag at all: the first address
    (["Kenya%Kisumu%*%*%*"], [{"country": "Kenya", "state": "Kisumu"}], True, "address: matched"),
    # a missing part is the literal null, as atomfeed writes it
    (["Kenya%Kisumu%null%*%*"], [OLD_KISUMU], True, "address: matched"),
    (["Kenya%*%*%*%*"], [], False, "address: no address"),
]


@pytest.mark.parametrize(("patterns", "addresses", "inside", "reason"), ADDRESS_CASES)
def test_address(patterns: list[str], addresses: list[dict[str, str]], inside: bool, reason: str):
    rule = rule_from_dict({"strategy": "address", "patterns": patterns})
    decision = rule.decide(_facts(addresses=addresses))
    assert (decision.inside, decision.reason) == (inside, reason)


def test_address_if_missing_in():
    rule = rule_from_dict({"strategy": "address", "patterns": ["X%*%*%*%*"], "if_missing": "in"})
    assert rule.decide(_facts()).inside is True


TREE: dict[str, str | None] = {
    "ward": "hospital",
    "lab": "hospital",
    "hospital": "district",
    "district": None,
    "far": None,
}
NAMES = {"district": "Westlands District", "hospital": "Central", "ward": "Ward", "far": "Far"}

LOCATION_CASES = [
    # (locations, include_children, identifier location, encounter locations, inside, reason)
    (["district"], True, "ward", [], True, "location: identifier"),
    (["district"], True, None, ["far", "lab"], True, "location: encounter"),
    (["westlands district"], True, None, ["lab"], True, "location: encounter"),
    (["district"], False, "ward", ["lab"], False, "location: outside"),
    (["hospital"], False, "hospital", [], True, "location: identifier"),
    (["district"], True, "far", ["far"], False, "location: outside"),
    (["ward"], True, "hospital", [], False, "location: outside"),  # parents are not below
]


@pytest.mark.parametrize(
    ("locations", "children", "id_loc", "enc_locs", "inside", "reason"), LOCATION_CASES
)
def test_location(
    locations: list[str],
    children: bool,
    id_loc: str | None,
    enc_locs: list[str],
    inside: bool,
    reason: str,
):
    rule = rule_from_dict(
        {"strategy": "location", "locations": locations, "include_children": children}
    )
    facts = _facts(
        identifiers=[{"type": "OpenMRS ID", "value": "100-8", "location_uuid": id_loc}],
        encounter_locations=enc_locs,
        location_parents=TREE,
        location_names=NAMES,
    )
    decision = rule.decide(facts)
    assert (decision.inside, decision.reason) == (inside, reason)


NID = "National ID"
IDENTIFIER_CASES = [
    # (type, pattern, normalise, identifiers, inside)
    ("National ID", r"NID47\d{6}", True, [{"type": "National ID", "value": "nid-4712-3456"}], True),
    ("National ID", r"NID47\d{6}", True, [{"type": NID, "value": "NID-1112-3456"}], False),
    ("National ID", r"NID47\d{6}", True, [{"type": "OpenMRS ID", "value": "NID-4712-3456"}], False),
    ("national id", r"NID-47.*", False, [{"type": "National ID", "value": "NID-4712-3456"}], True),
    ("National ID", r"NID-47.*", True, [{"type": "National ID", "value": "NID-4712-3456"}], False),
    ("urn:nid", r"47\d+", True, [{"system": "urn:nid", "value": "47 12"}], True),
    ("abc-uuid", r".+", True, [{"type_uuid": "abc-uuid", "value": "x"}], True),
    ("National ID", r".*", True, [], False),
]


@pytest.mark.parametrize(("id_type", "pattern", "normalise", "idents", "inside"), IDENTIFIER_CASES)
def test_identifier(
    id_type: str, pattern: str, normalise: bool, idents: list[dict[str, str]], inside: bool
):
    rule = rule_from_dict(
        {
            "strategy": "identifier",
            "identifier_type": id_type,
            "pattern": pattern,
            "normalise": normalise,
        }
    )
    assert rule.decide(_facts(identifiers=idents)).inside is inside


@pytest.mark.parametrize(
    ("cohort", "nid", "inside"),
    [
        (["NID-1234-5678"], "NID12345678", True),
        (["nid 1234 5678", "NID-9"], "NID12345678", True),
        (["NID-1234-5678"], "NID12345679", False),
        (["NID-1234-5678"], None, False),
        ([], "NID12345678", False),
    ],
)
def test_cohort(cohort: list[str], nid: str | None, inside: bool):
    rule = rule_from_dict({"strategy": "cohort", "national_ids": cohort})
    assert rule.decide(_facts(national_id=nid)).inside is inside


@pytest.mark.parametrize("registered", [True, False])
def test_registered(registered: bool):
    rule = rule_from_dict({"strategy": "registered"})
    assert rule.decide(_facts(registered=registered)).inside is registered
    assert rule.standing("NID1", registered) == ("1" if registered else "0")


def test_all_is_no_filter():
    rule = rule_from_dict({"strategy": "all"})
    assert rule.decide(_facts()).inside is True
    assert rule.tag_verdict([Tag(LOCATION_FILTER_BEAN, "A%b%c%d%e")]) is Verdict.IN
    assert rule.needs == frozenset()


ADDR = {"strategy": "address", "patterns": ["Kenya%Nairobi%*%*%*"]}
COHORT = {"strategy": "cohort", "national_ids": ["NID-1"]}
REG = {"strategy": "registered"}

COMBINATION_CASES = [
    # (combinator, facts, inside, reason)
    ("any", {"addresses": [HOME_NAIROBI]}, True, "address: matched"),
    ("any", {"national_id": "NID1"}, True, "cohort: listed"),
    ("any", {"national_id": "NID2"}, False, "none of: address: no address; cohort: not listed"),
    ("all", {"addresses": [HOME_NAIROBI], "national_id": "NID1"}, True, "all"),
    ("all", {"addresses": [HOME_NAIROBI], "national_id": "NID2"}, False, "cohort: not listed"),
    ("all", {"addresses": [OLD_KISUMU], "national_id": "NID1"}, False, "address: outside"),
]


@pytest.mark.parametrize(("combinator", "facts", "inside", "reason"), COMBINATION_CASES)
def test_combinations(combinator: str, facts: dict[str, Any], inside: bool, reason: str):
    rule = rule_from_dict({"strategy": combinator, "rules": [ADDR, COHORT]})
    decision = rule.decide(_facts(**facts))
    assert (decision.inside, decision.reason) == (inside, reason)


def test_nested_combination_and_needs():
    rule = rule_from_dict(
        {
            "strategy": "any",
            "rules": [
                {"strategy": "all", "rules": [ADDR, REG]},
                {"strategy": "location", "locations": ["district"]},
            ],
        }
    )
    assert rule.needs == {"registered", "encounters", "locations"}
    assert rule.decide(_facts(addresses=[HOME_NAIROBI], registered=True)).inside
    assert not rule.decide(_facts(addresses=[HOME_NAIROBI], registered=False)).inside
    assert rule.decide(_facts(encounter_locations=["ward"], location_parents=TREE)).inside


FOREIGN = Tag(LOCATION_FILTER_BEAN, "Kenya%Kisumu%Kisumu East%Kisumu%40100")
OURS = Tag(LOCATION_FILTER_BEAN, "Kenya%Nairobi%Westlands%Nairobi%00100")
OTHER_BEAN = Tag("atomfeedFilters.LocationBasedFilterStrategy", "x%y")

TAG_CASES = [
    # (rule, tags, verdict)
    (ADDR, [OURS], Verdict.IN),
    (ADDR, [FOREIGN], Verdict.OUT),
    (ADDR, [FOREIGN, OURS], Verdict.IN),
    (ADDR, [], Verdict.UNKNOWN),
    (ADDR, [OTHER_BEAN], Verdict.UNKNOWN),  # a bean we do not know: lenient, as Sync 2.0
    (COHORT, [FOREIGN], Verdict.UNKNOWN),
    ({"strategy": "any", "rules": [ADDR, COHORT]}, [FOREIGN], Verdict.UNKNOWN),
    ({"strategy": "all", "rules": [ADDR, COHORT]}, [FOREIGN], Verdict.OUT),
    ({"strategy": "all", "rules": [ADDR, COHORT]}, [OURS], Verdict.UNKNOWN),
    ({"strategy": "any", "rules": [ADDR, {"strategy": "all"}]}, [FOREIGN], Verdict.IN),
]


@pytest.mark.parametrize(("spec", "tags", "verdict"), TAG_CASES)
def test_tag_verdict(spec: dict[str, Any], tags: list[Tag], verdict: Verdict):
    assert rule_from_dict(spec).tag_verdict(tags) is verdict


BAD_SPECS = [
    ({"strategy": "nearby"}, "unknown strategy 'nearby'"),
    ({"strategy": "address", "patterns": ["Kenya%*%*%*"]}, "has 4 parts"),
    ({"strategy": "address", "patterns": ["Kenya%%*%*%*"]}, "empty part"),
    ({"strategy": "address", "patterns": []}, "at least one pattern"),
    ({"strategy": "identifier", "identifier_type": "NID", "pattern": "(("}, "regular expression"),
    ({"strategy": "identifier", "identifier_type": "", "pattern": ".*"}, "identifier_type"),
    ({"strategy": "location", "locations": []}, "at least one location"),
    ({"strategy": "any", "rules": []}, "at least one rule"),
    ({"strategy": "all", "rules": [{"strategy": "bogus"}]}, "catchment.rules[0]: unknown"),
]


@pytest.mark.parametrize(("spec", "message"), BAD_SPECS)
def test_bad_rules_fail_clearly(spec: dict[str, Any], message: str):
    with pytest.raises(CatchmentRuleError, match=message.replace("[", r"\[").replace("(", r"\(")):
        rule_from_dict(spec)


def test_standing_changes_with_cohort_and_passport():
    rule = rule_from_dict({"strategy": "any", "rules": [ADDR, COHORT, REG]})
    assert rule.standing("NID1", False) == "10"
    assert rule.standing("NID2", True) == "01"
