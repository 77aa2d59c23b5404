"""The subcommands that live in modules of their own."""
