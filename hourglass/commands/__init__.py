"""Command-line subcommands (each module: ``add_parser(subparsers)`` and ``main(args)``)."""
