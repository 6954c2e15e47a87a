def count_stretches(log: str, wanted: dict[str, int]) -> int:
    n = len(log)
    if not wanted:
        return n * (n + 1) // 2
    need = dict(wanted)  # how many more of each letter the window [left, right) still needs (may go negative)
    missing = len(need)  # letters whose need is still positive
    total = 0
    right = 0
    for left in range(n):
        # extend until the window [left, right) qualifies
        while missing and right < n:
            c = log[right]
            right += 1
            if c in need:
                need[c] -= 1
                if need[c] == 0:
                    missing -= 1
        if missing:
            break  # no window starting here (or later) qualifies
        total += n - right + 1  # every end from right to n works
        c = log[left]
        if c in need:
            need[c] += 1
            if need[c] == 1:
                missing += 1
    return total
