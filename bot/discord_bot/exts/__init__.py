"""Cogs, one small file each, loaded by the bot's setup_hook."""
