"""The foundation: settings and errors. Imports nothing of callscope."""
