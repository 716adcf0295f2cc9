"""The subcommands' bodies; `cli` parses and calls one of them."""
