"""Logger helpers: the always-on run CSV logger and image logging to loggers that show images."""
