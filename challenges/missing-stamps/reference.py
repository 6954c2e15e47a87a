def missing_stamps(collection: list[int], series_size: int) -> set[int]:
    return set(range(1, series_size + 1)) - set(collection)
