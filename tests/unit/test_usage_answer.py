"""The usage API's hand-written answer is the JSON `json.dumps` would write, whatever the record ids hold."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from topup.channels.api.usage_body import usage_answer
from topup.services.usage import RecordOutcome, UsageResult

outcomes = st.builds(
    RecordOutcome,
    id=st.text(min_size=1, max_size=20),  # quotes, backslashes, control characters, non-ASCII, surrogates
    status=st.sampled_from(["rated", "duplicate", "refused"]),
    drawn_kb=st.integers(min_value=0, max_value=2**63 - 1),
    refused_kb=st.integers(min_value=0, max_value=2**63 - 1),
)


@given(
    st.lists(outcomes, max_size=30),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=10_000),
    st.integers(min_value=0, max_value=2**63 - 1),
)
def test_answer_is_what_json_dumps_writes(
    results: list[RecordOutcome], accepted: int, duplicates: int, refused_kb: int
) -> None:
    result = UsageResult(
        accepted, duplicates, refused_kb, [r["id"] for r in results], [r["status"] for r in results],
        [r["drawn_kb"] for r in results], [r["refused_kb"] for r in results],
    )  # fmt: skip
    assert result.results == results
    expected = {"accepted": accepted, "duplicates": duplicates, "refused_kb": refused_kb, "results": results}
    text = usage_answer(result)
    assert text == json.dumps(expected, separators=(",", ":"))
    assert json.loads(text) == expected
