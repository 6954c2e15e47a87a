def _sum_of_maxima(values: list[int]) -> int:
    # For each i: left[i] = number of starts where values[i] is the max (strictly greater on the left),
    # right[i] = number of ends (greater or equal on the right), so ties are counted once, at the leftmost max.
    n = len(values)
    total = 0
    stack: list[int] = []  # indices with strictly decreasing values
    for j in range(n + 1):
        v = values[j] if j < n else float("inf")
        while stack and values[stack[-1]] <= v:
            i = stack.pop()
            left = i - (stack[-1] if stack else -1)
            right = j - i
            total += values[i] * left * right
        stack.append(j)
    return total


def total_swing(readings: list[int]) -> int:
    return _sum_of_maxima(readings) + _sum_of_maxima([-x for x in readings])
