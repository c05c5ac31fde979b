"""Turn one inbound message or event into a reply."""
