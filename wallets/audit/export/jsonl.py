"""journal.jsonl: a journal row as one JSON object per line, written by hand."""

from __future__ import annotations

from json.encoder import encode_basestring


def _json_text(value: str | None) -> str:
    """A JSON string. U+2028 and U+2029 are escaped (``\\u2028``, ``\\u2029``):
    the same value, but no raw line separator that a JavaScript or line-based
    reader could take for the end of a line."""
    if value is None:
        return "null"
    text = encode_basestring(value)
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text


def _json_int(value: int | None) -> str:
    return "null" if value is None else str(value)


def jsonl_line(v: tuple) -> str:
    """A row of journal_values as one JSON object (keys in JOURNAL_FIELDS order).
    Written by hand: json.dumps of a dict per row was most of the export's time.
    Amounts, times and hashes are plain ASCII; the texts are escaped."""
    return (
        f'{{"seq":{v[0]},"transfer_id":{v[1]},"kind":{_json_text(v[2])},'
        f'"debit_account":{_json_text(v[3])},"credit_account":{_json_text(v[4])},'
        f'"asset":{_json_text(v[5])},"amount":"{v[6]}","amount_fen":{v[7]},'
        f'"posted_at":"{v[8]}","prev_hash":"{v[9]}","hash":"{v[10]}",'
        f'"from_wallet":{_json_int(v[11])},"to_wallet":{_json_int(v[12])},'
        f'"from_operator":{_json_text(v[13])},"to_operator":{_json_text(v[14])},'
        f'"reference":{_json_text(v[15])}}}\n'
    )
