"""How an OCR'd report is held to its truth: exact where the parser vouches for a cell, null with a
warning elsewhere, never a different number."""
from __future__ import annotations

TABLE4_GROUPS = ("review", "litigation_direct", "litigation_after_review")


def ocr_mismatches(parsed: dict, entry: dict, min_share: float = 0.9) -> list:
    """What an OCR'd parse gets wrong against a manifest entry (empty when it is acceptable): a number
    that differs from the truth, a null row without a warning, or fewer than min_share cells read."""
    bad: list = []
    if parsed.get("ocr") is not True or not parsed.get("ocr_engine"):
        bad.append(("not marked ocr", parsed.get("ocr")))
    t2 = {k: v for k, v in (parsed["table2"] or {}).items() if k != "raw"}
    if t2 != entry["table2"]:          # all null: table 2 has no identities to confirm OCR
        bad.append(("table2", t2))
    right = total = 0
    pairs = [(f"table3 row {k}", (parsed["table3"] or {"rows": {}})["rows"].get(k), v)
             for k, v in entry["table3"]["rows"].items()]
    pairs += [(f"table4 {g}", (parsed["table4"] or {}).get(g), entry["table4"][g]) for g in TABLE4_GROUPS]
    for where, got, truth in pairs:
        got = got or [None] * len(truth)
        total += len(truth)
        for g, t in zip(got, truth):
            if g is not None and g != t:
                bad.append((where, got, truth))
            right += g == t
        if got != truth and not any(w.startswith(where) for w in parsed["warnings"]):
            bad.append((where, "null without a warning"))
    if right < min_share * total:
        bad.append(("cells right", right, total))
    return bad
