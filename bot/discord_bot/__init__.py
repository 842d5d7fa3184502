"""The Discord layer: the bot, its cogs and buttons, rendering, and the `run`/`check` entry points.

Everything that imports discord lives here, so the search core and the CLI stay free of it.
"""
