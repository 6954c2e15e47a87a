def partner_pairs(heights: list[int], target: int) -> list[tuple[int, int]]:
    ordered = sorted(heights)
    pairs = []
    left, right = 0, len(ordered) - 1
    while left < right:
        total = ordered[left] + ordered[right]
        if total < target:
            left += 1
        elif total > target:
            right -= 1
        else:
            a, b = ordered[left], ordered[right]
            pairs.append((a, b))
            while left < right and ordered[left] == a:
                left += 1
            while left < right and ordered[right] == b:
                right -= 1
    return pairs
