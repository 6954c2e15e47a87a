import re
from collections import Counter


def length_tally(text: str) -> dict[int, int]:
    return dict(Counter(len(word) for word in re.findall(r"[A-Za-z]+", text)))
