"""The demo application (see main.py); started by demo/run-app.sh."""
