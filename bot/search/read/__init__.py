"""From a folder of files to articles and their sentences: what is read, and how."""
