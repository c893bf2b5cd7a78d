"""Lightning callbacks genlab adds to every run (configured in conf/callbacks/)."""
