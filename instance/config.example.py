# Copy to instance/config.py for local settings; NUDGE_* environment variables win.
# SECRET_KEY = "..."  # production: 32+ bytes (development/demo generate instance/secrets.py)
# DATABASE_URL = "postgresql+psycopg://nudge@localhost/nudge"
# SMS_PROVIDER = "twilio"                                    # or "outbox" (records only)
# TWILIO_ACCOUNT_SID = "AC..."
# TWILIO_AUTH_TOKEN = "..."
# TWILIO_MESSAGING_SERVICE_SID = "MG..."
# PUBLIC_BASE_URL = "https://nudge.example.org"              # the URL Twilio calls
# ENV = "production"
# TRUSTED_PROXIES = 1                                        # nginx in front
# REDIS_URL = "redis://127.0.0.1:6379/0"                     # limits shared by every node
