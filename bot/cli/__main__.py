"""`python -m bot.cli`: the `wxbot` command (how `wxbot run` starts its worker, and the tests)."""

from bot.cli import main

main()
