"""SMS: the provider interface and its implementations, and rendering of message_templates/."""
