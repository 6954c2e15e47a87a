def team_sizes(reports: dict[int, list[int]], boss: int) -> dict[int, int]:
    sizes: dict[int, int] = {}

    def visit(person: int) -> int:
        size = 1 + sum(visit(report) for report in reports.get(person, []))
        sizes[person] = size
        return size

    visit(boss)
    return sizes
