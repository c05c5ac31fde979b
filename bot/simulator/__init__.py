"""The local simulator of WeChat: a browser chat and a terminal chat over the real webhook."""
