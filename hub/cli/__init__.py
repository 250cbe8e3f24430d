"""The hub's subcommands of `voxhub` (voxhub/cli.py lists them): one module per subcommand,
named after it, each with `configure(parser)` and `run(args) -> int`, importing nothing heavy
at module level so that `voxhub --help` stays quick."""
