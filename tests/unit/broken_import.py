"""A source module whose own code fails as it is imported (not an ImportError)."""

RATE = 1 / 0


class Source:
    name = "never"
