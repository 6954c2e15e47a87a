def longest_echo(text: str, k: int) -> str:
    n = len(text)
    for length in range(n, 0, -1):
        counts = {}
        for i in range(n - length + 1):
            piece = text[i:i + length]
            counts[piece] = counts.get(piece, 0) + 1
        for i in range(n - length + 1):
            if counts[text[i:i + length]] >= k:
                return text[i:i + length]
    return ""
