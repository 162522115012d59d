"""The interaction side: sign-in, consent, passwords (the person in front of the browser)."""
