"""Fair-play signals: how alike two final codes are, and which edits were large pastes.

They are flags for a person (an instructor, a moderator) to look at, kept with the battle and shown in the
history; nothing here decides a result. Similarity compares *normalised tokens*: names, strings and numbers
become their kind and comments and layout vanish, so renaming variables or reformatting does not hide a copy;
what both players got from the starter code does not count.
"""

from __future__ import annotations

import io
import keyword
import token
import tokenize

#: Length of the token runs compared (k-grams, as document fingerprinting does).
GRAM = 5

_SKIP = {token.COMMENT, token.NL, token.NEWLINE, token.INDENT, token.DEDENT, token.ENCODING, token.ENDMARKER}


def normalised_tokens(code: str) -> list[str]:
    """The code's tokens with identifiers as ``ID``, strings as ``STR``, numbers as ``NUM``; keywords and
    operators as themselves. Code that does not tokenize (unfinished) counts as far as it does."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == token.NAME:
                out.append(tok.string if keyword.iskeyword(tok.string) else "ID")
            elif tok.type == token.STRING or tok.type in _FSTRING:
                out.append("STR")
            elif tok.type == token.NUMBER:
                out.append("NUM")
            else:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


_FSTRING = {getattr(token, n) for n in ("FSTRING_START", "FSTRING_MIDDLE", "FSTRING_END") if hasattr(token, n)}


def _grams(tokens: list[str]) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + GRAM]) for i in range(len(tokens) - GRAM + 1)}


def similarity(a: str, b: str, starter: str = "") -> float | None:
    """How alike two codes are, 0 (nothing in common) to 1 (the same up to names, literals and layout): the
    Jaccard index of their token k-grams, leaving out the starter code's. None when either code has nothing of
    its own to compare (an empty or untouched editor)."""
    common = _grams(normalised_tokens(starter))
    ga, gb = _grams(normalised_tokens(a)) - common, _grams(normalised_tokens(b)) - common
    if not ga or not gb:
        return None
    return round(len(ga & gb) / len(ga | gb), 3)


def inserted_chars(delta: list) -> int:
    """Characters one ``sync_code`` delta inserts (ops as dicts, as relayed, or as ``protocol`` models)."""
    total = 0
    for op in delta:
        text = op.get("insert") if type(op) is dict else getattr(op, "insert", None)
        if text is not None:
            total += len(text)
    return total
