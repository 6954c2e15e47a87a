def group_anagrams(words: list[str]) -> list[list[str]]:
    families: dict[str, list[str]] = {}
    for word in words:
        families.setdefault("".join(sorted(word)), []).append(word)
    return list(families.values())
