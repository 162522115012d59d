"""Enrolment: self-registration at /signup, the commune officer's counter at /officer, and
businesses and their authorised persons at /business (the people-facing pages of
``identity``, which itself stays a domain package)."""
