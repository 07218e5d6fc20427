"""Qinyuan Ops entry point: page set-up, language, login gate, navigation for the user's role."""

from qinyuan.ui.nav import main

main()
