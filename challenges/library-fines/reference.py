def library_fine(days_late: list[int]) -> int:
    total = 0
    for days in days_late:
        if days > 0:
            fine = 10 * min(days, 7) + 25 * max(days - 7, 0)
            total += min(fine, 500)
    return total
