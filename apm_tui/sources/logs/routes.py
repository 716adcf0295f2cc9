"""Endpoint normalisation: `/api/users/123?x=1` → `/api/users/{id}`, so requests group by route.

Built-in rules: a path segment of digits → `{id}` (also before an extension: `/img/42.jpg` →
`/img/{id}.jpg`); a UUID → `{uuid}`; a run of 16 or more hex
digits (with at least one digit, so words are safe) → `{hash}`, also inside a segment
(`app.3f9c…e1.js` → `app.{hash}.js`). The query string and fragment are dropped, and an
absolute URI (`http://host/x`, a proxy request; `host.example/x` in some W3C logs) keeps only its
path. User rules — `(regex, replacement)` pairs applied with `re.sub` to the path, in order —
run first, so they can name what the built-ins would not (`/u/alice` → `/u/{user}`) or pre-empt
them.

Paths repeat, so results are cached by the raw path (the cache is cleared past `CACHE_LIMIT`
entries: a log of unique ids must not grow memory without bound). New paths are normalised in
batches: the built-in rules run once over all of a batch's paths joined by newlines, which is
several times faster than a regex call per path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

Rule = tuple[str, str]

CACHE_LIMIT = 200_000
INVALID = "(invalid request)"

_HEX = "[0-9a-fA-F]"
_UUID = re.compile(
    rf"(?<![0-9A-Za-z]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Za-z])"
)
_ID = re.compile(r"(?<=/)[0-9]++(?=/|$|\.[A-Za-z][A-Za-z0-9]{0,7}+(?:/|$))", re.MULTILINE)
_HASH = re.compile(rf"(?<![0-9A-Za-z])(?=[a-fA-F]*[0-9]){_HEX}{{16,}}+(?![0-9A-Za-z])")
_QUERY = re.compile(r"[?#][^\n]*+")
_NOT_ROOTED = re.compile(r"^[^/\n]", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*+://[^/\n]*+", re.MULTILINE)
_HOST = re.compile(r"^[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++(?::\d++)?(?=/)", re.MULTILINE)


class RouteNormaliser:
    """Raw request paths → route templates, with user rules first and a cache by raw path."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        try:
            self.rules: tuple[tuple[re.Pattern[str], str], ...] = tuple(
                (re.compile(pattern), replacement) for pattern, replacement in rules
            )
        except re.error as exc:
            raise ValueError(f"bad endpoint rule: {exc}") from None
        self._cache: dict[str, str] = {}

    def __call__(self, path: str) -> str:
        return self.many([path])[0]

    def many(self, paths: Sequence[str]) -> list[str]:
        """The routes of many paths (in order)."""
        cache = self._cache
        new = list(dict.fromkeys(p for p in paths if p not in cache))
        if new:
            if len(cache) + len(new) > CACHE_LIMIT:
                cache.clear()
            cache.update(zip(new, self.text("\n".join(new)).split("\n"), strict=True))
        return [cache[p] or "/" for p in paths]

    def text(self, paths: str) -> str:
        """Routes of newline-separated paths, uncached: the rules run once over the whole
        text (a few regex passes instead of calls per path). An empty path stays empty."""
        text = _QUERY.sub("", paths)
        if _NOT_ROOTED.search(text):
            text = _SCHEME.sub("", text)
            text = _HOST.sub("", text)
        if self.rules:
            lines = text.split("\n")
            for pattern, replacement in self.rules:
                lines = [pattern.sub(replacement, line).replace("\n", " ") for line in lines]
            text = "\n".join(lines)
        text = _UUID.sub("{uuid}", text)
        text = _ID.sub("{id}", text)
        return _HASH.sub("{hash}", text)


def normalise(path: str, rules: Sequence[Rule] = ()) -> str:
    """One path's route (builds a normaliser; use `RouteNormaliser` for many paths)."""
    return RouteNormaliser(rules)(path)
