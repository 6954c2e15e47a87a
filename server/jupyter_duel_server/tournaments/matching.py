"""Maximum-cardinality matching on general graphs (Edmonds' blossom algorithm) and the pairing searches built on it.

Small graphs only (a tournament's players): O(V·E) per augmentation, plain Python. Nodes are any hashable values.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

Node = TypeVar("Node", bound=Hashable)


def maximum_matching(
    nodes: Sequence[Node],
    adjacent: Callable[[Node, Node], bool],
    start: dict[Node, Node] | None = None,
) -> dict[Node, Node]:
    """A maximum matching of the graph on ``nodes`` whose edges are the pairs ``adjacent`` accepts.

    ``start`` is a matching to grow from (it must use only edges of the graph); the answer maps each matched node
    to its partner, both ways.
    """
    n = len(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    neighbours = [[j for j in range(n) if j != i and adjacent(nodes[i], nodes[j])] for i in range(n)]
    match = [-1] * n
    for a, b in (start or {}).items():
        if a in index and b in index:
            match[index[a]] = index[b]
    for root in range(n):
        if match[root] == -1:
            end, parent = _augmenting_path(root, neighbours, match)
            while end != -1:  # flip the path: every other edge joins the matching
                previous = parent[end]
                after = match[previous]
                match[end], match[previous] = previous, end
                end = after
    return {nodes[i]: nodes[j] for i, j in enumerate(match) if j != -1}


def _augmenting_path(root: int, neighbours: list[list[int]], match: list[int]) -> tuple[int, list[int]]:
    """Search an augmenting path from the exposed ``root``: its far end (or -1) and the parent links to follow."""
    n = len(neighbours)
    parent = [-1] * n
    base = list(range(n))
    in_tree = [False] * n
    in_tree[root] = True
    queue = deque([root])

    def common_base(a: int, b: int) -> int:
        seen = [False] * n
        while True:
            a = base[a]
            seen[a] = True
            if match[a] == -1:
                break
            a = parent[match[a]]
        while True:
            b = base[b]
            if seen[b]:
                return b
            b = parent[match[b]]

    def mark_blossom(v: int, stem: int, child: int, in_blossom: list[bool]) -> None:
        while base[v] != stem:
            in_blossom[base[v]] = in_blossom[base[match[v]]] = True
            parent[v] = child
            child = match[v]
            v = parent[match[v]]

    while queue:
        v = queue.popleft()
        for to in neighbours[v]:
            if base[v] == base[to] or match[v] == to:
                continue
            if to == root or (match[to] != -1 and parent[match[to]] != -1):
                # An odd cycle: shrink it into its base and keep searching from every node of it.
                stem = common_base(v, to)
                in_blossom = [False] * n
                mark_blossom(v, stem, to, in_blossom)
                mark_blossom(to, stem, v, in_blossom)
                for i in range(n):
                    if in_blossom[base[i]]:
                        base[i] = stem
                        if not in_tree[i]:
                            in_tree[i] = True
                            queue.append(i)
            elif parent[to] == -1:
                parent[to] = v
                if match[to] == -1:
                    return to, parent
                in_tree[match[to]] = True
                queue.append(match[to])
    return -1, parent


def has_perfect_matching(nodes: Sequence[Node], adjacent: Callable[[Node, Node], bool]) -> bool:
    """Whether every node of the graph can be paired at once."""
    return len(nodes) % 2 == 0 and len(maximum_matching(nodes, adjacent)) == len(nodes)


def pair_in_preference_order(
    nodes: Sequence[Node],
    adjacent: Callable[[Node, Node], bool],
    candidates: Callable[[Node, list[Node]], Iterable[Node]],
) -> list[tuple[Node, Node]] | None:
    """Pair every node, each in turn taking its first acceptable candidate, never making a full pairing impossible.

    Nodes are taken in the order given (skipping those already paired); ``candidates(node, unpaired)`` lists the
    partners it prefers, best first, among the still-unpaired others. A choice is kept only if the rest can still
    all be paired, so the answer is a full pairing whenever one exists; ``None`` when none does.
    """
    matching = maximum_matching(nodes, adjacent)
    if len(matching) != len(nodes) or len(nodes) % 2:
        return None
    unpaired = list(nodes)
    pairs: list[tuple[Node, Node]] = []
    for node in nodes:
        if node not in matching:
            continue
        others = [other for other in unpaired if other != node]
        for partner in candidates(node, others):
            if partner == node or partner not in matching or not adjacent(node, partner):
                continue
            if matching[node] == partner:
                rest = matching
            else:
                # Take both out; their old partners are left alone and must find each other an augmenting path.
                rest = {a: b for a, b in matching.items() if a not in (node, partner) and b not in (node, partner)}
                remaining = [other for other in others if other != partner]
                rest = maximum_matching(remaining, adjacent, rest)
                if len(rest) != len(remaining):
                    continue
            matching = {a: b for a, b in rest.items() if a not in (node, partner)}
            unpaired = [other for other in others if other != partner]
            pairs.append((node, partner))
            break
        else:  # no listed candidate fits: keep the partner of the full pairing found so far
            partner = matching[node]
            matching = {a: b for a, b in matching.items() if a not in (node, partner)}
            unpaired = [other for other in others if other != partner]
            pairs.append((node, partner))
    return pairs
