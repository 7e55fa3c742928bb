"""One module per ``workbench`` subcommand; each defines ``register(subparsers)``."""
