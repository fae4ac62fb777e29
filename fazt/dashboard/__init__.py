"""The admin dashboard's static files (served by L{fazt.web.dashboard}); no Python lives here."""
