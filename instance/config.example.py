# Copy to instance/config.py for local settings; NUDGE_* environment variables win.
# SECRET_KEY = "a long random string"                       # required in production
# DATABASE_URL = "postgresql+psycopg://nudge@localhost/nudge"
# SMS_PROVIDER = "twilio"                                    # or "outbox" (records only)
# TWILIO_ACCOUNT_SID = "AC..."
# TWILIO_AUTH_TOKEN = "..."
# TWILIO_MESSAGING_SERVICE_SID = "MG..."
# PUBLIC_BASE_URL = "https://nudge.example.org"              # the URL Twilio calls
# ENV = "production"
