from collections import Counter

MOD = (1 << 61) - 1
BASE = 1_000_003


def longest_echo(text: str, k: int) -> str:
    n = len(text)
    # prefix hashes: h[i] is the hash of text[:i]; the hash of text[i:j] is h[j] - h[i] * BASE**(j-i)
    h = [0] * (n + 1)
    for i, ch in enumerate(text):
        h[i + 1] = (h[i] * BASE + ord(ch)) % MOD

    def first_echo(length: int) -> int:
        """The start of the earliest substring of this length occurring at least k times, or -1."""
        p = pow(BASE, length, MOD)
        hashes = [(h[i + length] - h[i] * p) % MOD for i in range(n - length + 1)]
        counts = Counter(hashes)
        if max(counts.values()) < k:
            return -1
        for i, value in enumerate(hashes):
            if counts[value] >= k:
                return i
        return -1

    # the longest length with an echo: echoes of length L imply echoes of every shorter length
    lo, hi, start = 0, n - k + 1, 0  # an echo of length lo exists (length 0: the empty string), starting at `start`
    while lo < hi:
        mid = (lo + hi + 1) // 2
        i = first_echo(mid)
        if i >= 0:
            lo, start = mid, i
        else:
            hi = mid - 1
    return text[start:start + lo]
