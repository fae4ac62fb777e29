"""The OpenAPI document says what the API enforces: no U+0000 in a JSON body's strings or keys."""

import re

from fazt.api.nonul import NO_NUL, NO_NUL_REF, without_nul
from fazt.base.errors import ApiError, refuse_nul_within


def test_every_level_of_a_body_schema_forbids_nul_in_strings_and_keys():
    declared = {"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "maxLength": 64},
        "tags": {"type": ["array", "null"], "items": {"type": "string"}},
        "value": {},
        "slug": {"type": "string", "pattern": "^[a-z]+$"},
        "www": {"enum": ["serve", "none"]},
        "count": {"type": "integer"},
    }}
    schema = without_nul(declared)
    members = schema["properties"]
    assert members["name"]["pattern"] == NO_NUL and members["name"]["maxLength"] == 64
    assert members["tags"]["items"]["pattern"] == NO_NUL
    assert members["value"]["pattern"] == NO_NUL and members["value"]["propertyNames"] == {"pattern": NO_NUL}
    assert members["value"]["additionalProperties"] == NO_NUL_REF == members["value"]["items"]  # every depth
    assert members["slug"]["pattern"] == "^[a-z]+$"  # its own pattern already excludes NUL
    assert "pattern" not in members["www"] and "pattern" not in members["count"]
    assert schema["propertyNames"] == {"pattern": NO_NUL}  # unknown keys too: the API refuses them
    assert declared["properties"]["name"] == {"type": "string", "maxLength": 64}  # the declaration is untouched


def test_the_pattern_matches_exactly_what_the_api_refuses():
    for text in ("", "plain", "tab\tand ünïcode", "\x01"):
        assert re.fullmatch(NO_NUL, text)
        refuse_nul_within({text: [text]})
    for text in ("\x00", "a\x00b"):
        assert not re.fullmatch(NO_NUL, text)
        try:
            refuse_nul_within({"k": text})
        except ApiError as error:
            assert error.status == 400
        else:
            raise AssertionError("NUL accepted")
