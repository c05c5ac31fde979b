"""Redis: the embedded server, the client, and the key layout."""
